/**
 * The daemon's open-file limit. Every app socket holds one of the daemon's descriptors (its end of
 * the socketpair), so a daemon serving many connections needs far more than the usual 1,024. Node
 * already lifts the soft limit to the hard one at start; a daemon running with CAP_SYS_RESOURCE
 * (root) also lifts the hard limit, up to the kernel's fs.nr_open.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { type FdLimit, raiseFdLimit } from '../native/binding.js';

/** What the daemon asks for when fs.nr_open cannot be read: Linux's default nr_open. */
const DEFAULT_NR_OPEN = 1 << 20;

/** fs.nr_open: the most RLIMIT_NOFILE may be. */
function kernelMaxOpenFiles(): number {
  try {
    const n = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_NR_OPEN;
  } catch {
    return DEFAULT_NR_OPEN;
  }
}

/** Raises the limit as far as this process may; logs the result (a warning when it stays low). */
export function raiseOpenFileLimit(log: Logger): FdLimit | null {
  try {
    const limit = raiseFdLimit(kernelMaxOpenFiles());
    const fields = { soft: limit.soft, hard: limit.hard };
    if (limit.soft !== -1 && limit.soft < 65536) log.warn(fields, 'open-file limit is low: each app socket uses one descriptor');
    else log.info(fields, 'open-file limit');
    return limit;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'cannot read or raise the open-file limit');
    return null;
  }
}
