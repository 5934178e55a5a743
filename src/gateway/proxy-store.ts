/**
 * What a daemon keeps of its reverse proxies across restarts: `<home>/gateway.d/<nwid>.proxies.json`,
 * `{ "proxies": [ProxySpec…] }`, written atomically (0600) beside the network's gateway state
 * (gateway-store.ts, whose `<nwid>.json` it leaves alone). A damaged file is reported and treated
 * as empty rather than stopping the daemon.
 */
import { join } from 'node:path';
import { forEachNetworkFile, saveNetworkFile } from './network-files.js';
import { proxySpecFromJson, type ProxySpec } from './proxy-spec.js';

const SUFFIX = '.proxies.json';

export class ProxyStore {
  readonly dir: string;

  constructor(homeDir: string) {
    this.dir = join(homeDir, 'gateway.d');
  }

  /** Every network's saved proxies; `problem` hears each file (or proxy) that could not be read. */
  loadAll(problem: (file: string, message: string) => void): Map<string, ProxySpec[]> {
    const out = new Map<string, ProxySpec[]>();
    forEachNetworkFile(
      this.dir,
      SUFFIX,
      (nwid, raw, file) => {
        const r = raw as { proxies?: unknown } | null;
        if (typeof r !== 'object' || r === null || !Array.isArray(r.proxies)) throw new Error('not { "proxies": [...] }');
        const list: ProxySpec[] = [];
        for (const p of r.proxies) {
          try {
            list.push(proxySpecFromJson(p));
          } catch (e) {
            problem(file, (e as Error).message);
          }
        }
        out.set(nwid, list);
      },
      problem,
    );
    return out;
  }

  save(nwid: string, proxies: readonly ProxySpec[]): void {
    saveNetworkFile(this.dir, nwid, SUFFIX, proxies.length === 0 ? null : { proxies });
  }
}
