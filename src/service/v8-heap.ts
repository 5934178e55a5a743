/**
 * The V8 heap settings the daemon runs under. A daemon moving a TCP stream allocates a few hundred
 * MB/s of short-lived frames and buffers: the young generation grows to its maximum, and with
 * V8's small initial old-generation limit the room left in the old generation is then below the
 * young generation's size, which V8 takes as "start marking" — one full mark-compact after another
 * (~60 in 6 s on the sending daemon), on helper threads competing with the data path for cores.
 * A larger initial old-generation limit ends that (~6 in 6 s; about a third more throughput
 * between two daemons on two cores). 32 MB was not enough at 1.8 Gbit/s (~25 in 6 s again).
 *
 * Node takes these flags on its command line only (not in NODE_OPTIONS), and the daemon is
 * started many ways (the npm bin, `-d`, wrappers, container entrypoints), so it checks at start
 * and, when they are missing, runs itself again under them with execve: same pid, same fds.
 */
import { execve } from '../native/binding.js';

export const DAEMON_V8_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Set across the re-run so that a Node that drops the flags cannot make it loop. */
const RERUN_ENV = 'ZTNC_V8_FLAGS_RERUN';

/** The daemon flags missing from `execArgv` (a flag given with another value counts as present). */
export function missingV8Flags(execArgv: readonly string[] = process.execArgv): string[] {
  return DAEMON_V8_FLAGS.filter((f) => {
    const name = f.split('=')[0]!;
    return !execArgv.some((a) => a === name || a.startsWith(`${name}=`) || a.replaceAll('_', '-').startsWith(`${name}=`));
  });
}

/**
 * Runs this program again under the daemon's V8 flags when they are missing; returns when they
 * are in place, or with the reason it could not re-run (the daemon then runs without them).
 */
export function ensureDaemonV8Flags(): string | null {
  const rerun = process.env[RERUN_ENV] === '1';
  delete process.env[RERUN_ENV];
  const missing = missingV8Flags();
  if (missing.length === 0) return null;
  if (rerun) return `started again with ${missing.join(' ')} but node did not keep them`;
  const script = process.argv[1];
  if (!script) return 'no script path to run again';
  try {
    execve(process.execPath, [process.argv0 || process.execPath, ...missing, ...process.execArgv, script, ...process.argv.slice(2)], {
      ...process.env,
      [RERUN_ENV]: '1',
    });
  } catch (e) {
    return `cannot run again with ${missing.join(' ')}: ${(e as Error).message}`;
  }
}
