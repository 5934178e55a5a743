/**
 * The endpoints bench's memory reference: the resident memory of one slirp4netns process (the
 * rootless default for container networking) serving a fresh network namespace, the way rootless
 * podman starts it for each container: a `sleep` in `unshare -rn` holds the namespace, then
 * `slirp4netns --configure --mtu=65520 <pid> tap0` gives it a TAP with an address. Its VmRSS is read
 * once the TAP is configured and it has settled; both processes are stopped by the pids started here.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { GiveUp, type LongRunning, run, sleep, start, waitFor } from '../src/demo/processes.js';

export interface SlirpReference {
  rssKb: number | null;
  /** Why there is no figure (null when there is one). */
  reason: string | null;
  version: string | null;
}

/** VmRSS of a process in KB (null when it is gone). */
export function vmRssKb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function slirpReference(settleMs = 1000): Promise<SlirpReference> {
  const v = await run('slirp4netns', ['--version'], { timeoutMs: 10_000 });
  if (v.code !== 0) {
    return {
      rssKb: null,
      reason: `slirp4netns is not installed (Debian package slirp4netns): ${v.stderr.trim().slice(0, 200)}`,
      version: null,
    };
  }
  const version = /slirp4netns version (\S+)/.exec(v.stdout)?.[1] ?? null;
  let holder: LongRunning | null = null;
  let slirp: LongRunning | null = null;
  try {
    holder = start('unshare', ['-rn', 'sleep', '120']);
    const holderPid = holder.proc.pid;
    if (holderPid === undefined) throw new Error('unshare -rn sleep did not start');
    // unshare execs sleep in the new namespaces: the pid is the namespace holder once its netns differs.
    const ownNetns = readlinkNetns(process.pid);
    await waitFor(
      'unshare -rn sleep to enter its namespace',
      () => {
        if (holder!.exited()) throw new GiveUp(`unshare -rn exited: ${holder!.output().trim()}`);
        const ns = readlinkNetns(holderPid);
        return ns !== null && ns !== ownNetns;
      },
      10_000,
      20,
    );
    slirp = start('slirp4netns', ['--configure', '--mtu=65520', String(holderPid), 'tap0']);
    await waitFor(
      'slirp4netns to configure tap0',
      () => {
        if (slirp!.exited()) throw new GiveUp(`slirp4netns exited: ${slirp!.output().trim().slice(-300)}`);
        return slirp!.output().includes('received tapfd');
      },
      10_000,
      20,
    );
    await sleep(settleMs);
    const rssKb = vmRssKb(slirp.proc.pid);
    return rssKb === null ? { rssKb, reason: 'slirp4netns exited before its memory was read', version } : { rssKb, reason: null, version };
  } catch (e) {
    return { rssKb: null, reason: (e as Error).message.replace(/\s+/g, ' ').slice(0, 300), version };
  } finally {
    await slirp?.stop(2000);
    await holder?.stop(2000);
  }
}

function readlinkNetns(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}
