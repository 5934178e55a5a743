/**
 * Log lines for the systemd journal: when ztnc-service's stdout is the journal's stream
 * (`JOURNAL_STREAM` names its device and inode, as systemd sets it for units), each record is one
 * plain line `<priority>message key=value …` with no time of its own (journald stamps every line)
 * and the syslog priority prefix journald reads (sd-daemon(3)), so `journalctl -p warning` works.
 */
import { fstatSync, writeSync } from 'node:fs';

/** pino level → syslog priority (sd-daemon's `<N>` prefix). */
function priority(level: number): number {
  if (level >= 60) return 2; // fatal: crit
  if (level >= 50) return 3; // error: err
  if (level >= 40) return 4; // warn: warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

/** Fields pino adds that the journal has already (time, pid, host) or that are the message itself. */
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

function valueText(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]*$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON record as a journal line (newline included); a line that is not JSON passes as is. */
export function journalLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${valueText(v)}`);
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  const text = [msg, ...fields]
    .filter((s) => s.length > 0)
    .join(' ')
    .replace(/\n/g, '\\n');
  return `<${priority(typeof rec.level === 'number' ? rec.level : 30)}>${text}\n`;
}

/** True when `fd` is the stream JOURNAL_STREAM (`<device>:<inode>`) names: systemd connected it to the journal. */
export function isJournalStream(env: NodeJS.ProcessEnv = process.env, fd = 1): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** A pino destination writing journal lines to `fd`, synchronously (nothing lost at exit). */
export function journalDestination(fd = 1): { write(chunk: string): boolean } {
  return {
    write(chunk: string): boolean {
      for (const line of chunk.split('\n')) if (line.length > 0) writeSync(fd, journalLine(line));
      return true;
    },
  };
}
