/**
 * What a daemon keeps of its gateway roles across restarts: `<home>/gateway.d/<nwid>.json`,
 * `{ "enabled": true, "publish": [PublishSpec…], "outbound": {"allowHostLoopback"?, "hostLoopbackAlias"?} }`,
 * written atomically (0600). A damaged file is
 * reported and treated as empty rather than stopping the daemon.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostLoopbackAlias } from './outbound.js';
import { specFromJson, type PublishSpec } from './publish-spec.js';

/** One network's outbound options, over local.conf's (gateway-conf.ts); absent: local.conf's. */
export interface GatewayOutboundOptions {
  allowHostLoopback?: boolean;
  hostLoopbackAlias?: string | null;
}

export interface GatewayNetworkState {
  enabled: boolean;
  publish: PublishSpec[];
  outbound?: GatewayOutboundOptions;
}

/** The outbound options of a stored or posted object (unknown keys ignored); throws naming a wrong one. */
export function outboundOptionsFromJson(v: unknown): GatewayOutboundOptions {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('outbound: must be an object');
  const r = v as Record<string, unknown>;
  const out: GatewayOutboundOptions = {};
  if (r.allowHostLoopback !== undefined) {
    if (typeof r.allowHostLoopback !== 'boolean') throw new Error('allowHostLoopback: must be true or false');
    out.allowHostLoopback = r.allowHostLoopback;
  }
  if (r.hostLoopbackAlias !== undefined) {
    if (r.hostLoopbackAlias !== null && typeof r.hostLoopbackAlias !== 'string')
      throw new Error('hostLoopbackAlias: must be an IPv4 address or null');
    if (typeof r.hostLoopbackAlias === 'string') parseHostLoopbackAlias(r.hostLoopbackAlias);
    out.hostLoopbackAlias = r.hostLoopbackAlias;
  }
  return out;
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
        out.set(m[1]!, { enabled: r.enabled === true, publish, outbound: outboundOptionsFromJson((r as { outbound?: unknown }).outbound) });
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
