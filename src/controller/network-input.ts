/**
 * Applies a network POST body to a network's settings. Both input shapes are accepted: the 2016
 * one (apiVersion 2: `v4AssignMode: "zt"`, `v6AssignMode: "rfc4193,6plane,zt"`,
 * `{ruleNo, etherType, action}` rules, `ipLocalRoutes`) and stock 1.14's (objects for the assign
 * modes, rules-engine rules, capabilities, tags, mtu, dns). Unknown and read-only fields are
 * ignored, as stock does; a writable field with a wrong type or impossible value is a FieldError.
 * Where stock 1.14 accepts what controller UIs send (pools outside the routes, a route's `via`
 * that is no address, rules of types it does not know), so does this.
 */
import { formatCidr, formatIp, parseCidr, parseIp } from './ip-assignment.js';
import { parseRules } from './rules.js';
import type { CapabilityObject, DnsObject, NetworkSettings, PoolObject, RouteObject, TagObject, V6AssignMode } from './types.js';
import { FieldError, wantArray, wantBool, wantInt, wantObject, wantString, wantZtAddress } from './validation.js';

export const MIN_MTU = 1280;
export const MAX_MTU = 10000;
const MAX_ARRAY = 1024;

function parseV4AssignMode(v: unknown): { zt: boolean } {
  if (typeof v === 'string')
    return {
      zt: v
        .split(',')
        .map((s) => s.trim())
        .includes('zt'),
    };
  const o = wantObject(v, 'v4AssignMode');
  return { zt: o.zt === undefined ? false : wantBool(o.zt, 'v4AssignMode.zt') };
}

function parseV6AssignMode(v: unknown, current: V6AssignMode): V6AssignMode {
  if (typeof v === 'string') {
    const modes = new Set(v.split(',').map((s) => s.trim()));
    return { rfc4193: modes.has('rfc4193'), zt: modes.has('zt'), '6plane': modes.has('6plane') };
  }
  const o = wantObject(v, 'v6AssignMode');
  const out = { ...current };
  for (const k of ['rfc4193', 'zt', '6plane'] as const) if (o[k] !== undefined) out[k] = wantBool(o[k], `v6AssignMode.${k}`);
  return out;
}

function parseRoutes(v: unknown, field: string): RouteObject[] {
  return wantArray(v, field, MAX_ARRAY).map((r, i) => {
    const f = `${field}[${i}]`;
    // ipLocalRoutes (2016) is a list of CIDR strings.
    const o = typeof r === 'string' ? { target: r, via: null } : wantObject(r, f);
    const targetText = wantString(o.target, `${f}.target`);
    const target = parseCidr(targetText);
    if (!target) throw new FieldError(`${f}.target`, `${JSON.stringify(targetText)} is not an IPv4 or IPv6 CIDR`);
    // As stock: a via that is not an address of the target's family ("lan", an IPv6 gateway for
    // an IPv4 route, a number) is stored as null, a route on the network itself.
    const viaIp = typeof o.via === 'string' ? parseIp(o.via) : null;
    const via = viaIp && viaIp.family === target.family ? formatIp(viaIp) : null;
    return { target: formatCidr(target), via };
  });
}

/**
 * Pools are stored as given, as stock does, whether or not a managed route contains them yet:
 * UIs post pools before the route (zero-ui's quick-pick), and a routes change may leave a pool
 * outside them. Assignment skips addresses outside every managed route (ip-assignment.ts).
 */
function parsePools(v: unknown): PoolObject[] {
  return wantArray(v, 'ipAssignmentPools', MAX_ARRAY).map((p, i) => {
    const f = `ipAssignmentPools[${i}]`;
    const o = wantObject(p, f);
    const s = parseIp(wantString(o.ipRangeStart, `${f}.ipRangeStart`));
    if (!s) throw new FieldError(`${f}.ipRangeStart`, 'is not an IP address');
    const e = parseIp(wantString(o.ipRangeEnd, `${f}.ipRangeEnd`));
    if (!e) throw new FieldError(`${f}.ipRangeEnd`, 'is not an IP address');
    if (s.family !== e.family) throw new FieldError(f, 'ipRangeStart and ipRangeEnd must be of the same family');
    if (e.value < s.value) throw new FieldError(f, 'ipRangeEnd is before ipRangeStart');
    return { ipRangeStart: formatIp(s), ipRangeEnd: formatIp(e) };
  });
}

function parseCapabilities(v: unknown): CapabilityObject[] {
  const byId = new Map<number, CapabilityObject>();
  wantArray(v, 'capabilities', MAX_ARRAY).forEach((c, i) => {
    const f = `capabilities[${i}]`;
    const o = wantObject(c, f);
    const id = wantInt(o.id, `${f}.id`, 0, 0xffffffff);
    byId.set(id, {
      id,
      default: o.default === undefined ? false : wantBool(o.default, `${f}.default`),
      rules: o.rules === undefined ? [] : parseRules(o.rules, `${f}.rules`),
    });
  });
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function parseTags(v: unknown): TagObject[] {
  const byId = new Map<number, TagObject>();
  wantArray(v, 'tags', MAX_ARRAY).forEach((t, i) => {
    const f = `tags[${i}]`;
    const o = wantObject(t, f);
    const id = wantInt(o.id, `${f}.id`, 0, 0xffffffff);
    byId.set(id, { id, default: o.default === undefined || o.default === null ? null : wantInt(o.default, `${f}.default`, 0, 0xffffffff) });
  });
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function parseDns(v: unknown): DnsObject {
  const o = wantObject(v, 'dns');
  const domain = o.domain === undefined || o.domain === null ? '' : wantString(o.domain, 'dns.domain', 253);
  const servers = (o.servers === undefined ? [] : wantArray(o.servers, 'dns.servers', 32)).map((s, i) => {
    const ip = parseIp(wantString(s, `dns.servers[${i}]`));
    if (!ip) throw new FieldError(`dns.servers[${i}]`, 'is not an IP address');
    return formatIp(ip);
  });
  return { domain, servers };
}

function parseRelays(v: unknown): NetworkSettings['relays'] {
  return wantArray(v, 'relays', 64).map((r, i) => {
    const o = wantObject(r, `relays[${i}]`);
    return {
      address: wantZtAddress(o.address, `relays[${i}].address`),
      phyAddress: o.phyAddress === undefined || o.phyAddress === null ? null : wantString(o.phyAddress, `relays[${i}].phyAddress`, 64),
    };
  });
}

/** Returns new settings: `current` with the body's writable fields applied. */
export function applyNetworkBody(current: NetworkSettings, body: unknown): NetworkSettings {
  if (body === undefined) return current;
  const b = wantObject(body, 'body');
  const n: NetworkSettings = structuredClone(current);
  if (b.name !== undefined) n.name = wantString(b.name, 'name', 127);
  if (b.private !== undefined) n.private = wantBool(b.private, 'private');
  if (b.enableBroadcast !== undefined) n.enableBroadcast = wantBool(b.enableBroadcast, 'enableBroadcast');
  if (b.allowPassiveBridging !== undefined) n.allowPassiveBridging = wantBool(b.allowPassiveBridging, 'allowPassiveBridging');
  if (b.multicastLimit !== undefined) n.multicastLimit = wantInt(b.multicastLimit, 'multicastLimit', 0, 0xffffffff);
  if (b.mtu !== undefined) n.mtu = wantInt(b.mtu, 'mtu', MIN_MTU, MAX_MTU);
  if (b.v4AssignMode !== undefined) n.v4AssignMode = parseV4AssignMode(b.v4AssignMode);
  if (b.v6AssignMode !== undefined) n.v6AssignMode = parseV6AssignMode(b.v6AssignMode, n.v6AssignMode);
  if (b.routes !== undefined) n.routes = parseRoutes(b.routes, 'routes');
  else if (b.ipLocalRoutes !== undefined) n.routes = parseRoutes(b.ipLocalRoutes, 'ipLocalRoutes');
  if (b.ipAssignmentPools !== undefined) n.ipAssignmentPools = parsePools(b.ipAssignmentPools);
  if (b.rules !== undefined) n.rules = parseRules(b.rules, 'rules');
  if (b.capabilities !== undefined) n.capabilities = parseCapabilities(b.capabilities);
  if (b.tags !== undefined) n.tags = parseTags(b.tags);
  if (b.dns !== undefined) n.dns = parseDns(b.dns);
  if (b.relays !== undefined) n.relays = parseRelays(b.relays);
  if (b.rulesSource !== undefined) n.rulesSource = wantString(b.rulesSource, 'rulesSource', 1 << 16);
  if (b.remoteTraceTarget !== undefined) {
    n.remoteTraceTarget =
      b.remoteTraceTarget === null || b.remoteTraceTarget === '' ? null : wantZtAddress(b.remoteTraceTarget, 'remoteTraceTarget');
  }
  if (b.defaultRouteVia !== undefined) {
    n.defaultRouteVia = b.defaultRouteVia === null || b.defaultRouteVia === '' ? null : wantZtAddress(b.defaultRouteVia, 'defaultRouteVia');
  }
  if (b.remoteTraceLevel !== undefined) n.remoteTraceLevel = wantInt(b.remoteTraceLevel, 'remoteTraceLevel', 0, 255);
  return n;
}
