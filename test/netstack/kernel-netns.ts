/**
 * A network namespace with a TAP device whose fd stays in this process: the kernel side of the
 * link lives in the namespace (address `kernelIp`), and frames the kernel sends out of it arrive
 * on `fd`. Tests attach a userspace stack (or a hand-written responder) to that fd.
 *
 * TUNSETIFF creates the interface in the caller's namespace, so the TAP is made in the host
 * namespace under a unique name and then moved; the fd keeps working after the move.
 * Nothing here touches the host's own interfaces beyond that short-lived TAP.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeFd, openTap } from '../../src/native/binding.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface NetnsTap {
  readonly ns: string;
  readonly tapName: string;
  /** The TAP fd; ownership passes to whoever wraps it (tapDevice). cleanup() closes it if still ours. */
  readonly fd: number;
  readonly kernelIp: string;
  readonly stackIp: string;
  readonly prefixLen: number;
  /** With `{ ipv6: true }`: the kernel's and the stack's IPv6 addresses (text) in a /64; else ''. */
  readonly kernelIp6: string;
  readonly stackIp6: string;
  /** Runs a command inside the namespace to completion, without blocking the event loop. */
  run(cmd: string, args: string[], opts?: { timeoutMs?: number; input?: Buffer }): Promise<RunResult>;
  /** Starts a command inside the namespace; it is killed by cleanup(). */
  start(cmd: string, args: string[]): ChildProcess;
  /** Synchronous `ip netns exec` for setup steps (tc, sysctl); throws on failure. */
  execSync(cmd: string, args: string[]): string;
  /** Marks the fd as handed over (its new owner closes it). */
  releaseFd(): void;
  cleanup(): void;
}

const live = new Set<NetnsTap>();
let exitHookInstalled = false;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Makes namespace `ztnc-t-<random>` with TAP `zt<random>` inside it, configured as
 * 10.77.<n>.1/24 (kernel) and up; the stack is expected at 10.77.<n>.2. IPv6 is off unless
 * `ipv6`: then the kernel also has fd77::<n>:0:0:1/64 (no DAD, no router advertisements taken)
 * and the stack is expected at fd77::<n>:0:0:2.
 */
export function createNetnsTap(opts: { ipv6?: boolean } = {}): NetnsTap {
  const id = randomBytes(4).toString('hex');
  const ns = `ztnc-t-${id}`;
  const tapName = `zt${id}`;
  const subnet = 1 + (randomBytes(1)[0]! % 250);
  const kernelIp = `10.77.${subnet}.1`;
  const stackIp = `10.77.${subnet}.2`;
  const prefixLen = 24;
  const kernelIp6 = opts.ipv6 ? `fd77::${subnet.toString(16)}:0:0:1` : '';
  const stackIp6 = opts.ipv6 ? `fd77::${subnet.toString(16)}:0:0:2` : '';
  const children = new Set<ChildProcess>();
  let fd = -1;
  let fdOwned = false;
  let cleaned = false;

  const nsExecArgs = (cmd: string, args: string[]) => ['netns', 'exec', ns, cmd, ...args];

  const self: NetnsTap = {
    ns,
    tapName,
    get fd() {
      return fd;
    },
    kernelIp,
    stackIp,
    prefixLen,
    kernelIp6,
    stackIp6,
    run(cmd, args, opts = {}) {
      return new Promise<RunResult>((resolve, reject) => {
        const child = spawn('ip', nsExecArgs(cmd, args), { stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const timer = opts.timeoutMs
          ? setTimeout(() => {
              err += `\n[killed after ${opts.timeoutMs} ms]`;
              child.kill('SIGKILL');
            }, opts.timeoutMs)
          : undefined;
        child.on('error', reject);
        child.on('close', (code, signal) => {
          if (timer) clearTimeout(timer);
          children.delete(child);
          resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
        });
        child.stdin.on('error', () => {});
        child.stdin.end(opts.input);
      });
    },
    start(cmd, args) {
      const child = spawn('ip', nsExecArgs(cmd, args), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('close', () => children.delete(child));
      return child;
    },
    execSync(cmd, args) {
      return execFileSync('ip', nsExecArgs(cmd, args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    },
    releaseFd() {
      fdOwned = false;
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      live.delete(self);
      for (const c of children) c.kill('SIGKILL');
      children.clear();
      if (fdOwned && fd >= 0) {
        try {
          closeFd(fd);
        } catch {
          // already closed
        }
      }
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // never created, or already gone
      }
      try {
        // Only present if setup failed before the move into the namespace.
        ip(['link', 'del', tapName]);
      } catch {
        // the usual case: it went with the namespace
      }
    },
  };

  live.add(self);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const t of [...live]) t.cleanup();
    });
  }

  try {
    ip(['netns', 'add', ns]);
    const tap = openTap(tapName);
    fd = tap.fd;
    fdOwned = true;
    ip(['link', 'set', tapName, 'netns', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    if (opts.ipv6) {
      for (const k of ['all', 'default', tapName]) {
        self.execSync('sysctl', [
          '-q',
          '-w',
          `net.ipv6.conf.${k}.disable_ipv6=0`,
          `net.ipv6.conf.${k}.accept_dad=0`,
          `net.ipv6.conf.${k}.accept_ra=0`,
        ]);
      }
      ip(['-n', ns, '-6', 'addr', 'add', `${kernelIp6}/64`, 'dev', tapName, 'nodad']);
    } else {
      // IPv6 would add router/neighbour solicitations on the link that these tests do not need.
      self.execSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      self.execSync('sysctl', ['-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    ip(['-n', ns, 'addr', 'add', `${kernelIp}/${prefixLen}`, 'dev', tapName]);
    ip(['-n', ns, 'link', 'set', tapName, 'up']);
  } catch (e) {
    self.cleanup();
    throw e;
  }
  return self;
}

/** The namespace's view of the TAP's MAC, to check the kernel learned the stack's via ARP. */
export function kernelNeighbour(t: NetnsTap, addr: string): string {
  return t.execSync('ip', ['neigh', 'show', addr, 'dev', t.tapName]).trim();
}
