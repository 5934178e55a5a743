/**
 * slirp4netns, the rootless default podman uses, as the benches' reference: a `sleep` in
 * `unshare -rn` holds a network namespace the bench makes; `slirp4netns --configure --mtu=65520
 * --api-socket S <pid> tap0` gives it its TAP (guest address 10.0.2.100, as podman runs it). The
 * gateway bench forwards host ports into it with the API's `add_hostfwd` (what `podman run -p` does
 * with the slirp4netns port handler) and runs servers in it through `nsenter -n`; the endpoints
 * bench reads its memory. Every process is stopped by the pid started here.
 */
import { readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { GiveUp, type LongRunning, run, start, waitFor } from '../src/demo/processes.js';

/** The guest's address slirp4netns --configure gives the namespace. */
export const SLIRP_GUEST_IP = '10.0.2.100';

function netnsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/** Why slirp4netns cannot be the reference here (null when it can), and its version. */
export async function slirpAvailable(): Promise<{ reason: string | null; version: string | null }> {
  const v = await run('slirp4netns', ['--version'], { timeoutMs: 10_000 });
  if (v.code !== 0)
    return { reason: `slirp4netns is not installed (Debian package slirp4netns): ${v.stderr.trim().slice(0, 200)}`, version: null };
  return { reason: null, version: /slirp4netns version (\S+)/.exec(v.stdout)?.[1] ?? null };
}

/** One request on slirp4netns' API socket; its answer's `return`, or an error naming the request. */
function slirpApi(socketPath: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('error', reject);
    s.on('end', () => {
      try {
        const a = JSON.parse(text) as { return?: unknown; error?: { desc?: string } };
        if (a.error || a.return === undefined) reject(new Error(`slirp4netns API: ${a.error?.desc ?? text.slice(0, 200)}`));
        else resolve(a.return);
      } catch {
        reject(new Error(`slirp4netns API answered ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
    s.end(JSON.stringify(request));
  });
}

export class SlirpNamespace {
  private constructor(
    private readonly holder: LongRunning,
    private readonly slirp: LongRunning,
    private readonly apiSocket: string,
    private readonly started: LongRunning[] = [],
  ) {}

  static async create(dir: string): Promise<SlirpNamespace> {
    const holder = start('unshare', ['-rn', 'sleep', '600']);
    let slirp: LongRunning | null = null;
    try {
      const pid = holder.proc.pid;
      if (pid === undefined) throw new Error('unshare -rn sleep did not start');
      const own = netnsOf(process.pid);
      await waitFor(
        'unshare -rn sleep to enter its namespace',
        () => {
          if (holder.exited()) throw new GiveUp(`unshare -rn exited: ${holder.output().trim()}`);
          const ns = netnsOf(pid);
          return ns !== null && ns !== own;
        },
        10_000,
        20,
      );
      const apiSocket = join(dir, `slirp-${process.pid}.sock`);
      const s = start('slirp4netns', ['--configure', '--mtu=65520', '--api-socket', apiSocket, String(pid), 'tap0']);
      slirp = s;
      await waitFor(
        'slirp4netns to configure tap0',
        () => {
          if (s.exited()) throw new GiveUp(`slirp4netns exited: ${s.output().trim().slice(-300)}`);
          return s.output().includes('received tapfd');
        },
        10_000,
        20,
      );
      return new SlirpNamespace(holder, s, apiSocket);
    } catch (e) {
      await slirp?.stop(2000);
      await holder.stop(2000);
      throw e;
    }
  }

  /** Starts a program in the namespace (its network only: the host's files and users). */
  start(cmd: string, args: readonly string[]): LongRunning {
    const p = start('nsenter', ['-t', String(this.holder.proc.pid), '-n', cmd, ...args]);
    this.started.push(p);
    return p;
  }

  /** Forwards TCP 127.0.0.1:hostPort on the host to guestPort in the namespace. */
  async forwardTcp(hostPort: number, guestPort: number): Promise<void> {
    await slirpApi(this.apiSocket, {
      execute: 'add_hostfwd',
      arguments: { proto: 'tcp', host_addr: '127.0.0.1', host_port: hostPort, guest_addr: SLIRP_GUEST_IP, guest_port: guestPort },
    });
  }

  /** slirp4netns' process id (for its CPU time). */
  get pid(): number | undefined {
    return this.slirp.proc.pid;
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((p) => p.stop(2000)));
    await this.slirp.stop(2000);
    await this.holder.stop(2000);
  }
}
