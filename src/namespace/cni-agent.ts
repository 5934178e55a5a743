/**
 * The part of `ztnc-cni` ADD that runs inside the container's network namespace (started as
 * `nsenter --net=<CNI_NETNS> node cni-agent.js '<CniAgentSpec JSON>'`, since Node cannot setns):
 * creates the TAP named CNI_IFNAME there, hands its fd to the daemon over `<home>/namespace.sock`
 * with `hold` (the daemon goes on serving it after this process ends, until DEL's `detach`),
 * applies the member's addresses, routes and MTU from the network JSON the daemon answers, and
 * prints that interface state as JSON on stdout. Exit status 0 on success; otherwise 2 when the
 * interface already exists, 1 for anything else, with the reason on stderr.
 */
import type { UnixChannel } from '../native/unix-channel.js';
import { encodeMessage, LineReader, type AttachMessage } from '../service/namespace-wire.js';
import { AGENT_EXIT_EXISTS, type CniAgentSpec } from './cni-protocol.js';
import { connectNamespaceSocket, createTap } from './daemon-channel.js';
import { applyLink, ip } from './link-apply.js';
import { linkState, type LinkState } from './link-config.js';

function die(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** The first `network` answer with an address, or the daemon's refusal. */
function firstState(ch: UnixChannel, timeoutMs: number): Promise<LinkState> {
  return new Promise((resolve, reject) => {
    const reader = new LineReader();
    const timer = setTimeout(() => reject(new Error(`the daemon gave the interface no address within ${timeoutMs / 1000} s`)), timeoutMs);
    ch.handlers = {
      onMessage: (data) => {
        try {
          for (const m of reader.push(data)) {
            if (m.t === 'error') throw new Error(`the daemon refused the TAP: ${m.message}`);
            if (m.t !== 'network') continue;
            const state = linkState(m.network);
            if (state.addresses.length === 0) continue;
            clearTimeout(timer);
            resolve(state);
          }
        } catch (e) {
          clearTimeout(timer);
          reject(e as Error);
        }
      },
      onClose: () => {
        clearTimeout(timer);
        reject(new Error('the daemon closed the namespace connection'));
      },
    };
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as CniAgentSpec;
  if (ip(['link', 'show', 'dev', spec.ifname]) === null) die(`interface ${spec.ifname} already exists in the namespace`, AGENT_EXIT_EXISTS);
  const tap = createTap(spec.ifname);
  const ch = await connectNamespaceSocket(spec.socket);
  const attach: AttachMessage = { t: 'attach', nwid: spec.nwid, endpoint: spec.endpoint, ifname: tap.name, stay: true, hold: true };
  ch.send(encodeMessage(attach), [tap.fd], { closeFds: true });
  const state = await firstState(ch, spec.timeoutMs);
  // the daemon holds the TAP from here on: closing this connection does not end it
  ch.handlers = {};
  ch.close();
  const errors = applyLink(tap.name, null, state);
  if (errors.length > 0) die(`configuring ${tap.name}: ${errors.join('; ')}`);
  process.stdout.write(`${JSON.stringify(state)}\n`);
}

main().catch((e: unknown) => die((e as Error).message));
