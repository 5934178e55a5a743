/**
 * The endpoints bench's memory reference: the resident memory of one slirp4netns process (the
 * rootless default for container networking) serving a fresh network namespace, the way rootless
 * podman starts it for each container (`_slirp.ts`). Its VmRSS is read once the TAP is configured
 * and it has settled.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sleep } from '../src/demo/processes.js';
import { SlirpNamespace, slirpAvailable } from './_slirp.js';

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
  const { reason, version } = await slirpAvailable();
  if (reason !== null) return { rssKb: null, reason, version };
  let ns: SlirpNamespace | null = null;
  try {
    ns = await SlirpNamespace.create(tmpdir());
    await sleep(settleMs);
    const rssKb = vmRssKb(ns.pid);
    return rssKb === null ? { rssKb, reason: 'slirp4netns exited before its memory was read', version } : { rssKb, reason: null, version };
  } catch (e) {
    return { rssKb: null, reason: (e as Error).message.replace(/\s+/g, ' ').slice(0, 300), version };
  } finally {
    await ns?.stop();
  }
}
