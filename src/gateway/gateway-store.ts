/**
 * What a daemon keeps of its gateway roles across restarts: `<home>/gateway.d/<nwid>.json`,
 * `{ "enabled": true, "publish": [PublishSpec…] }`, written atomically (0600). A damaged file is
 * reported and treated as empty rather than stopping the daemon.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specFromJson, type PublishSpec } from './publish-spec.js';

export interface GatewayNetworkState {
  enabled: boolean;
  publish: PublishSpec[];
}

export class GatewayStore {
  readonly dir: string;

  constructor(homeDir: string) {
    this.dir = join(homeDir, 'gateway.d');
  }

  private file(nwid: string): string {
    return join(this.dir, `${nwid}.json`);
  }

  /** Every network with a saved state; `problem` hears each file that could not be read. */
  loadAll(problem: (file: string, message: string) => void): Map<string, GatewayNetworkState> {
    const out = new Map<string, GatewayNetworkState>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const n of names) {
      const m = /^([0-9a-f]{16})\.json$/.exec(n);
      if (!m) continue;
      try {
        const raw = JSON.parse(readFileSync(join(this.dir, n), 'utf8')) as unknown;
        if (typeof raw !== 'object' || raw === null) throw new Error('not a JSON object');
        const r = raw as { enabled?: unknown; publish?: unknown };
        const publish = Array.isArray(r.publish) ? r.publish.map((p) => specFromJson(p)) : [];
        out.set(m[1]!, { enabled: r.enabled === true, publish });
      } catch (e) {
        problem(join(this.dir, n), (e as Error).message);
      }
    }
    return out;
  }

  save(nwid: string, state: GatewayNetworkState): void {
    if (!state.enabled && state.publish.length === 0) {
      rmSync(this.file(nwid), { force: true });
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(nwid);
    const tmp = `${f}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, f);
  }
}
