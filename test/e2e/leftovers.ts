/** What a scenario may leave behind: processes still mentioning its temp directory. */
import { readdirSync, readFileSync } from 'node:fs';

/** Processes whose command line mentions `text` (pid: command line). */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) found.push(`${pid}: ${cmd}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}
