/**
 * The gateway's settings in `local.conf` (`{"settings": {"gateway": {…}}}`), read by the gateway
 * itself (local-conf.ts ignores keys it does not know, as stock does):
 *   "networks": ["<nwid>", …]      this daemon is the gateway of these networks from the start
 *   "allowHostLoopback": false     outbound flows may reach 127.0.0.0/8 of the host
 *   "allow": ["CIDR", …]           outbound flows reach only these (empty: anywhere not denied)
 *   "deny": ["CIDR", …]            outbound flows never reach these
 *   "maxFlowsPerMember": 256       open outbound flows per member
 *   "hostLoopbackAlias": null      an address that stands for the host's 127.0.0.1 (outbound.ts)
 * `ztnc-cli gateway enable <nwid> --allow-host-loopback --host-loopback-alias A` sets the last two
 * for one network (kept in gateway.d/, over these).
 * A wrong type is an error naming the key (the daemon logs it and uses the defaults).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OUTBOUND_POLICY, parseCidr, parseHostLoopbackAlias, type OutboundPolicy } from './outbound.js';

export interface GatewayConf {
  networks: string[];
  policy: OutboundPolicy;
}

export function readGatewayConf(homeDir: string): GatewayConf {
  const out: GatewayConf = { networks: [], policy: { ...DEFAULT_OUTBOUND_POLICY } };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(join(homeDir, 'local.conf'), 'utf8'));
  } catch {
    return out; // no local.conf (or one local-conf.ts already reported)
  }
  const g = (doc as { settings?: { gateway?: unknown } } | null)?.settings?.gateway;
  if (g === undefined) return out;
  if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new Error('local.conf: settings.gateway must be an object');
  const r = g as Record<string, unknown>;
  const list = (key: string): string[] => {
    const v = r[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new Error(`local.conf: settings.gateway.${key} must be a list of strings`);
    return v as string[];
  };
  out.networks = list('networks').map((n) => {
    if (!/^[0-9a-f]{16}$/i.test(n)) throw new Error(`local.conf: settings.gateway.networks: ${JSON.stringify(n)} is not a network id`);
    return n.toLowerCase();
  });
  out.policy.allow = list('allow');
  out.policy.deny = list('deny');
  for (const c of [...out.policy.allow, ...out.policy.deny]) {
    try {
      parseCidr(c);
    } catch (e) {
      throw new Error(`local.conf: settings.gateway: ${(e as Error).message}`, { cause: e });
    }
  }
  if (r.allowHostLoopback !== undefined) {
    if (typeof r.allowHostLoopback !== 'boolean') throw new Error('local.conf: settings.gateway.allowHostLoopback must be true or false');
    out.policy.allowHostLoopback = r.allowHostLoopback;
  }
  if (r.hostLoopbackAlias !== undefined && r.hostLoopbackAlias !== null) {
    if (typeof r.hostLoopbackAlias !== 'string')
      throw new Error('local.conf: settings.gateway.hostLoopbackAlias must be an IPv4 address or null');
    try {
      parseHostLoopbackAlias(r.hostLoopbackAlias);
    } catch (e) {
      throw new Error(`local.conf: settings.gateway: ${(e as Error).message}`, { cause: e });
    }
    out.policy.hostLoopbackAlias = r.hostLoopbackAlias;
  }
  if (r.maxFlowsPerMember !== undefined) {
    const n = r.maxFlowsPerMember;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
      throw new Error('local.conf: settings.gateway.maxFlowsPerMember must be a positive integer');
    out.policy.maxPerMember = n;
  }
  return out;
}
