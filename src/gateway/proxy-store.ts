/**
 * What a daemon keeps of its reverse proxies across restarts: `<home>/gateway.d/<nwid>.proxies.json`,
 * `{ "proxies": [ProxySpec…] }`, written atomically (0600) beside the network's gateway state
 * (gateway-store.ts, whose `<nwid>.json` it leaves alone). A damaged file is reported and treated
 * as empty rather than stopping the daemon.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxySpecFromJson, type ProxySpec } from './proxy-spec.js';

export class ProxyStore {
  readonly dir: string;

  constructor(homeDir: string) {
    this.dir = join(homeDir, 'gateway.d');
  }

  private file(nwid: string): string {
    return join(this.dir, `${nwid}.proxies.json`);
  }

  /** Every network's saved proxies; `problem` hears each file (or proxy) that could not be read. */
  loadAll(problem: (file: string, message: string) => void): Map<string, ProxySpec[]> {
    const out = new Map<string, ProxySpec[]>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const n of names) {
      const m = /^([0-9a-f]{16})\.proxies\.json$/.exec(n);
      if (!m) continue;
      const file = join(this.dir, n);
      try {
        const raw = JSON.parse(readFileSync(file, 'utf8')) as { proxies?: unknown } | null;
        if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.proxies)) throw new Error('not { "proxies": [...] }');
        const list: ProxySpec[] = [];
        for (const p of raw.proxies) {
          try {
            list.push(proxySpecFromJson(p));
          } catch (e) {
            problem(file, (e as Error).message);
          }
        }
        out.set(m[1]!, list);
      } catch (e) {
        problem(file, (e as Error).message);
      }
    }
    return out;
  }

  save(nwid: string, proxies: readonly ProxySpec[]): void {
    if (proxies.length === 0) {
      rmSync(this.file(nwid), { force: true });
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(nwid);
    const tmp = `${f}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify({ proxies }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, f);
  }
}
