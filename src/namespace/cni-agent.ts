/**
 * The part of `ztnc-cni` ADD that runs inside the container's network namespace (started as
 * `nsenter --net=<CNI_NETNS> node cni-agent.js '<CniAgentSpec JSON>'`, since Node cannot setns).
 * It has two roles:
 *
 * - Started by the plugin, it starts itself again with `--keep` as a process of its own session
 *   whose stdio are pipes to this one only (a runtime reading the plugin's output waits for every
 *   holder of that pipe), relays the kept process's first answer — the interface state on stdout,
 *   or its failure on stderr with its exit status — and exits.
 * - The kept process creates the TAP named CNI_IFNAME, hands its fd to the daemon over
 *   `<home>/namespace.sock` with `hold` (the daemon goes on serving it whatever happens to this
 *   process, until DEL's `detach`), applies the member's addresses, routes and MTU from the
 *   network JSON the daemon answers, prints that state as JSON, and stays: every later config
 *   change the daemon sends (new addresses, routes, MTU) is applied inside the namespace, as
 *   ztnc-run's agent does, until the daemon closes the connection (detach, network left, daemon
 *   stopped).
 *
 * Exit status 0 on success; otherwise 2 when the interface already exists, 1 for anything else,
 * with the reason on stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { UnixChannel } from '../native/unix-channel.js';
import { encodeMessage, LineReader, type AttachMessage } from '../service/namespace-wire.js';
import { AGENT_EXIT_EXISTS, type CniAgentSpec } from './cni-protocol.js';
import { connectNamespaceSocket, createTap } from './daemon-channel.js';
import { applyLink, ip } from './link-apply.js';
import { linkState, type LinkState } from './link-config.js';

const KEEP = '--keep';

function die(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Serves the connection after the first state: applies each change; exits when the daemon closes it. */
function follow(ch: UnixChannel, reader: LineReader, ifname: string, first: LinkState): void {
  let current = first;
  ch.handlers = {
    onMessage: (data) => {
      let msgs;
      try {
        msgs = reader.push(data);
      } catch {
        return process.exit(1); // the daemon speaks nonsense: its TAP stays held until DEL
      }
      for (const m of msgs) {
        if (m.t !== 'network') continue;
        const next = linkState(m.network);
        // nobody reads this process's output any more: a failed command is retried at the next change
        applyLink(ifname, current, next);
        current = next;
      }
    },
    onClose: () => process.exit(0),
  };
}

/** The kept process: attach, first state, then follow the network's changes. */
async function keep(spec: CniAgentSpec): Promise<void> {
  if (ip(['link', 'show', 'dev', spec.ifname]) === null) die(`interface ${spec.ifname} already exists in the namespace`, AGENT_EXIT_EXISTS);
  const tap = createTap(spec.ifname);
  const ch = await connectNamespaceSocket(spec.socket);
  const attach: AttachMessage = { t: 'attach', nwid: spec.nwid, endpoint: spec.endpoint, ifname: tap.name, stay: true, hold: true };
  ch.send(encodeMessage(attach), [tap.fd], { closeFds: true });
  const reader = new LineReader();
  const state = await new Promise<LinkState>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the daemon gave the interface no address within ${spec.timeoutMs / 1000} s`)),
      spec.timeoutMs,
    );
    ch.handlers = {
      onMessage: (data) => {
        try {
          for (const m of reader.push(data)) {
            if (m.t === 'error') throw new Error(`the daemon refused the TAP: ${m.message}`);
            if (m.t !== 'network') continue;
            const s = linkState(m.network);
            if (s.addresses.length === 0) continue;
            clearTimeout(timer);
            return resolve(s);
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
  const errors = applyLink(tap.name, null, state);
  if (errors.length > 0) die(`configuring ${tap.name}: ${errors.join('; ')}`);
  process.stdout.write(`${JSON.stringify(state)}\n`);
  follow(ch, reader, tap.name, state);
}

/** The plugin's child: starts the kept process and relays its first answer. */
function start(specText: string, spec: CniAgentSpec): void {
  const kept = spawn(process.execPath, [fileURLToPath(import.meta.url), KEEP, specText], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const timer = setTimeout(() => die(`the namespace agent did not answer within ${spec.timeoutMs / 1000 + 10} s`), spec.timeoutMs + 10_000);
  kept.stderr.on('data', (d: Buffer) => (err += d.toString()));
  kept.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const nl = out.indexOf('\n');
    if (nl < 0) return;
    clearTimeout(timer);
    process.stdout.write(out.slice(0, nl + 1), () => process.exit(0));
  });
  kept.once('error', (e) => die(`cannot start the namespace agent: ${e.message}`));
  kept.once('close', (code) => {
    if (out.includes('\n')) return;
    clearTimeout(timer);
    die(err.trim() || `the namespace agent ended (status ${String(code)}) without an answer`, code ?? 1);
  });
  kept.unref();
}

const [first, second] = process.argv.slice(2);
if (first === KEEP) keep(JSON.parse(second ?? '{}') as CniAgentSpec).catch((e: unknown) => die((e as Error).message));
else start(first ?? '{}', JSON.parse(first ?? '{}') as CniAgentSpec);
