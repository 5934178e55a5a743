/**
 * The reverse proxy's other mode: instead of serving HTTP itself, the gateway writes the members
 * its routes select into an upstream file that nginx or haproxy includes, and makes the server
 * re-read it — SIGHUP to the pid the user gave (nginx's master and haproxy in master-worker mode
 * reload on it), or a command the user gave, run without a shell. The file is rewritten
 * atomically (write, rename) and only when its text changes, so a config push that changes
 * nothing the routes select does not reload the server.
 *
 * nginx: one `upstream <group> { server <ip>:<port>; … }` block per group; a group with no
 * member holds one `server 127.0.0.1:9 down;` so the file stays valid (nginx refuses an empty
 * upstream) and requests to it fail at once (502). haproxy: one `backend <group>` with a
 * `server <member>-<n> <ip>:<port>` line per member.
 */
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { formatIpv4 } from '../netstack/index.js';
import type { Upstream } from './proxy-members.js';
import type { UpstreamFileSpec, UpstreamFormat } from './proxy-spec.js';

export interface UpstreamFileStats {
  writes: number;
  reloads: number;
  reloadErrors: number;
  lastError: string;
}

/** The file's text for these groups (sorted, so the same members give the same bytes). */
export function renderUpstreamFile(format: UpstreamFormat, nwid: string, groups: ReadonlyMap<string, readonly Upstream[]>): string {
  const lines = [`# Written by ztnc-service: the members of network ${nwid} its reverse proxy routes select. Do not edit.`];
  for (const name of [...groups.keys()].sort()) {
    const ups = [...groups.get(name)!].sort((a, b) => a.member.localeCompare(b.member) || a.addr - b.addr || a.port - b.port);
    if (format === 'nginx') {
      lines.push(`upstream ${name} {`);
      if (ups.length === 0) lines.push('    server 127.0.0.1:9 down; # no member now');
      for (const u of ups) lines.push(`    server ${formatIpv4(u.addr)}:${u.port}; # ${u.member}`);
      lines.push('}');
    } else {
      lines.push(`backend ${name}`);
      ups.forEach((u, i) => lines.push(`    server ${u.member}-${i + 1} ${formatIpv4(u.addr)}:${u.port}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

export class UpstreamFileWriter {
  readonly stats: UpstreamFileStats = { writes: 0, reloads: 0, reloadErrors: 0, lastError: '' };
  private last: string | null = null;

  constructor(
    private readonly spec: UpstreamFileSpec,
    private readonly problem: (message: string) => void,
  ) {
    try {
      this.last = readFileSync(spec.path, 'utf8');
    } catch {
      this.last = null; // not written yet
    }
  }

  /** Writes `text` when it differs from the file's, then reloads the server; true when it wrote. */
  update(text: string): boolean {
    if (text === this.last) return false;
    try {
      const tmp = `${this.spec.path}.ztnc-${process.pid}`;
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, this.spec.path);
    } catch (e) {
      this.fail(`cannot write ${this.spec.path}: ${(e as Error).message}`);
      return false;
    }
    this.last = text;
    this.stats.writes++;
    this.reload();
    return true;
  }

  private fail(message: string): void {
    this.stats.lastError = message;
    this.problem(message);
  }

  private reload(): void {
    const { reloadPid, reloadCmd } = this.spec;
    if (reloadPid !== null) {
      try {
        process.kill(reloadPid, 'SIGHUP');
        this.stats.reloads++;
      } catch (e) {
        this.stats.reloadErrors++;
        this.fail(`cannot signal pid ${reloadPid}: ${(e as Error).message}`);
      }
      return;
    }
    if (reloadCmd !== null) {
      execFile(reloadCmd[0]!, reloadCmd.slice(1), { timeout: 30_000 }, (err, _out, stderr) => {
        if (!err) {
          this.stats.reloads++;
          return;
        }
        this.stats.reloadErrors++;
        this.fail(`${reloadCmd.join(' ')} failed: ${String(stderr).trim() || err.message}`);
      });
    }
  }
}
