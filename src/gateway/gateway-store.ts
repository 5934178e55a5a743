/**
 * What a daemon keeps of its gateway roles across restarts: `<home>/gateway.d/<nwid>.json`,
 * `{ "enabled": true, "publish": [PublishSpec…], "outbound": {"allowHostLoopback"?, "hostLoopbackAlias"?} }`,
 * written atomically (0600). A damaged file is
 * reported and treated as empty rather than stopping the daemon.
 */
import { join } from 'node:path';
import { forEachNetworkFile, saveNetworkFile } from './network-files.js';
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

const SUFFIX = '.json';

export class GatewayStore {
  readonly dir: string;

  constructor(homeDir: string) {
    this.dir = join(homeDir, 'gateway.d');
  }

  /** Every network with a saved state; `problem` hears each file that could not be read. */
  loadAll(problem: (file: string, message: string) => void): Map<string, GatewayNetworkState> {
    const out = new Map<string, GatewayNetworkState>();
    forEachNetworkFile(
      this.dir,
      SUFFIX,
      (nwid, raw) => {
        if (typeof raw !== 'object' || raw === null) throw new Error('not a JSON object');
        const r = raw as { enabled?: unknown; publish?: unknown; outbound?: unknown };
        const publish = Array.isArray(r.publish) ? r.publish.map((p) => specFromJson(p)) : [];
        out.set(nwid, { enabled: r.enabled === true, publish, outbound: outboundOptionsFromJson(r.outbound) });
      },
      problem,
    );
    return out;
  }

  save(nwid: string, state: GatewayNetworkState): void {
    saveNetworkFile(this.dir, nwid, SUFFIX, !state.enabled && state.publish.length === 0 ? null : state);
  }
}
