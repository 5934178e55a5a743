/**
 * The part of `ztnc-run` that runs inside the new user + network + mount (+ UTS) namespace, as the
 * caller mapped to root there (started by util-linux `unshare`, since Node cannot unshare itself):
 *
 *   node ns-agent.js '<AgentSpec JSON>' program args…
 *
 * It creates the TAP (IFF_TAP | IFF_NO_PI) in the namespace, hands its fd to the daemon over
 * `<home>/namespace.sock` (SCM_RIGHTS, see src/service/namespace-server.ts), sets `lo` up, applies
 * the member's addresses, routes and MTU from the network JSON the daemon sends (and every later
 * change while the program runs), bind-mounts generated /etc/resolv.conf and /etc/hosts, then runs
 * the program and exits with its status (128 + signal number when a signal ended it). Its
 * connection to the daemon is the namespace's life: when this process ends, the daemon closes the
 * TAP and leaves the network (unless the spec says stay).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UnixChannel } from '../native/unix-channel.js';
import { encodeMessage, LineReader } from '../service/namespace-wire.js';
import { connectNamespaceSocket, createTap } from './daemon-channel.js';
import { hostsFile, linkState, resolvConf, type LinkState } from './link-config.js';
import { applyLink, ip } from './link-apply.js';

export interface AgentSpec {
  socket: string;
  nwid: string;
  ifname: string;
  stay: boolean;
  /** The daemon's endpoint whose member this namespace is (absent: the daemon's own identity). */
  endpoint?: string;
  /** Hostname in the namespace (its own UTS namespace). */
  hostname: string;
  /** How long to wait for an OK network with an address. */
  timeoutMs: number;
}

const EXIT_RUNNER = 125;

function say(message: string): void {
  process.stderr.write(`ztnc-run: ${message}\n`);
}

function die(message: string): never {
  say(message);
  process.exit(EXIT_RUNNER);
}

function apply(ifname: string, prev: LinkState | null, next: LinkState): void {
  for (const err of applyLink(ifname, prev, next)) say(err);
}

/** Binds generated files over /etc/resolv.conf and /etc/hosts (this mount namespace only). */
function bindEtc(state: LinkState, hostname: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ztnc-run-'));
  const files: Array<[string, string]> = [
    ['resolv.conf', resolvConf(state)],
    ['hosts', hostsFile(state, hostname)],
  ];
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text, { mode: 0o644 });
    const r = spawnSync('mount', ['--bind', join(dir, name), `/etc/${name}`], { encoding: 'utf8' });
    if (r.status !== 0) say(`/etc/${name} not replaced: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return dir;
}

function setHostname(name: string): void {
  try {
    writeFileSync('/proc/sys/kernel/hostname', name);
  } catch (e) {
    say(`hostname not set: ${(e as Error).message}`);
  }
}

function runProgram(argv: string[], done: (code: number) => void): void {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
  child.once('error', (e) => {
    say(`${argv[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`);
    done((e as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126);
  });
  child.once('exit', (code, signal) => {
    const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6 };
    done(code ?? 128 + (signal ? (signals[signal] ?? 1) : 1));
  });
}

async function main(): Promise<void> {
  const [specText, ...program] = process.argv.slice(2);
  if (!specText || program.length === 0) die('usage: ns-agent <spec> program args…');
  const spec = JSON.parse(specText) as AgentSpec;
  if (ip(['link', 'set', 'dev', 'lo', 'up'])) die('cannot set lo up in the namespace (is iproute2 installed?)');
  let tap: { fd: number; name: string };
  try {
    tap = createTap(spec.ifname);
  } catch (e) {
    die((e as Error).message);
  }
  let ch: UnixChannel;
  try {
    ch = await connectNamespaceSocket(spec.socket);
  } catch (e) {
    die((e as Error).message);
  }
  ch.send(
    encodeMessage({
      t: 'attach',
      nwid: spec.nwid,
      ifname: tap.name,
      stay: spec.stay,
      ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
    }),
    [tap.fd],
    { closeFds: true },
  );
  setHostname(spec.hostname);

  let current: LinkState | null = null;
  let etcDir: string | null = null;
  let running = false;
  const reader = new LineReader();
  const finish = (code: number): void => {
    ch.close();
    if (etcDir) rmSync(etcDir, { recursive: true, force: true });
    process.exit(code);
  };
  const timer = setTimeout(() => {
    const status = current ? 'no managed address' : 'no answer from the daemon';
    say(`network ${spec.nwid} not ready within ${spec.timeoutMs / 1000} s (${status})`);
    finish(EXIT_RUNNER);
  }, spec.timeoutMs);
  ch.handlers = {
    onMessage: (data) => {
      let msgs;
      try {
        msgs = reader.push(data);
      } catch (e) {
        return die(`bad message from the daemon: ${(e as Error).message}`);
      }
      for (const m of msgs) {
        if (m.t === 'error') {
          if (!running) {
            say(m.message);
            return finish(EXIT_RUNNER);
          }
          say(`${m.message}: the namespace's interface carries nothing more`);
          continue;
        }
        if (m.t !== 'network') continue;
        const next = linkState(m.network);
        if (m.network.status !== 'OK' && current !== null && running) say(`network ${spec.nwid} is now ${String(m.network.status)}`);
        apply(tap.name, current, next);
        current = next;
        if (!running && next.addresses.length > 0) {
          running = true;
          clearTimeout(timer);
          etcDir = bindEtc(next, spec.hostname);
          runProgram(program, finish);
        }
      }
    },
    onClose: () => {
      if (!running) {
        say('the daemon closed the namespace connection');
        finish(EXIT_RUNNER);
      } else say('the daemon went away: the namespace is cut off from the network');
    },
  };
}

main().catch((e: unknown) => die((e as Error).message));
