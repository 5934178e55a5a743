/**
 * Turns what a controller backend decides (ControllerNetworkConfig: JSON-shaped rules, CIDR text)
 * into the NetworkConfig the node signs and sends, and reads the member metadata a request
 * carries into the backend's ConfigRequestMetadata. Rule objects use the controller API's names
 * ({"type":"MATCH_ETHERTYPE","etherType":2048}); a rule we cannot encode is an error, never a
 * silently dropped rule.
 */
import type { Dictionary } from '../wire/dictionary.js';
import type { ConfigRequestMetadata, ControllerNetworkConfig, ControllerRule } from './controller-backend.js';
import { JOIN_TOKEN_KEY, NetworkConfigFlag, NetworkType, defaultNetworkConfig, type NetworkConfig } from '../network/network-config.js';
import type { MemberName } from '../network/network-names.js';
import type { Rule } from '../network/network-rules.js';
import { RuleType } from '../network/rules-engine.js';
import { ipv6Bytes } from '../peer/endpoint.js';
import { parseAddress } from '../wire/address.js';
import { Writer, fail, ok, type Parsed } from '../wire/bytes.js';
import { ipv4Bytes, type InetAddress } from '../wire/inet-address.js';

/** Longest join token read from a request; anything longer is no token at all. */
export const MAX_JOIN_TOKEN_LENGTH = 256;

/** Rule type numbers by the controller JSON's type names. */
const TYPE_NUMBER: Readonly<Record<string, number>> = RuleType;

/** "a.b.c.d/bits", "v6/bits" or a bare address (full-length prefix). */
export function parseCidrInet(text: string): InetAddress | null {
  const [ip, bitsText] = text.split('/');
  if (ip === undefined) return null;
  const v4 = ipv4Bytes(ip);
  const family = v4 ? 4 : ipv6Bytes(ip) ? 6 : 0;
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { family, ip: family === 4 ? ip : ip.toLowerCase(), port: bits };
}

function num(o: ControllerRule, k: string, max: number): number | null {
  const v = o[k];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : null;
}

function bigintOf(v: unknown, hex: boolean): bigint | null {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v !== 'string') return null;
  const s = v.replace(/^0x/, '');
  if (hex ? !/^[0-9a-fA-F]{1,16}$/.test(s) : !/^-?\d{1,20}$/.test(s)) return null;
  return BigInt.asUintN(64, BigInt(hex ? `0x${s}` : s));
}

/** Encodes one controller rule object. */
export function ruleFromObject(o: ControllerRule): Parsed<Rule> {
  const type = TYPE_NUMBER[o.type];
  if (type === undefined) return fail(`unknown rule type ${JSON.stringify(o.type)}`);
  const w = new Writer(20);
  const bad = (field: string): Parsed<Rule> => fail(`${o.type}: bad ${field}`);
  switch (o.type) {
    case 'ACTION_DROP':
    case 'ACTION_ACCEPT':
    case 'ACTION_BREAK':
    case 'ACTION_PRIORITY':
      break;
    case 'ACTION_TEE':
    case 'ACTION_WATCH':
    case 'ACTION_REDIRECT': {
      const a = typeof o.address === 'string' ? parseAddress(o.address) : null;
      if (a === null) return bad('address');
      w.u64(a)
        .u32(num(o, 'flags', 0xffffffff) ?? 0)
        .u16(num(o, 'length', 0xffff) ?? 0);
      break;
    }
    case 'MATCH_SOURCE_ZEROTIER_ADDRESS':
    case 'MATCH_DEST_ZEROTIER_ADDRESS': {
      const a = typeof o.zt === 'string' ? parseAddress(o.zt) : null;
      if (a === null) return bad('zt');
      w.address(a);
      break;
    }
    case 'MATCH_VLAN_ID': {
      const v = num(o, 'vlanId', 0xffff);
      if (v === null) return bad('vlanId');
      w.u16(v);
      break;
    }
    case 'MATCH_VLAN_PCP':
    case 'MATCH_VLAN_DEI': {
      const v = num(o, o.type === 'MATCH_VLAN_PCP' ? 'vlanPcp' : 'vlanDei', 0xff);
      if (v === null) return bad('value');
      w.u8(v);
      break;
    }
    case 'MATCH_MAC_SOURCE':
    case 'MATCH_MAC_DEST': {
      const hex = typeof o.mac === 'string' ? o.mac.replace(/:/g, '') : '';
      if (!/^[0-9a-fA-F]{12}$/.test(hex)) return bad('mac');
      w.bytes(Buffer.from(hex, 'hex'));
      break;
    }
    case 'MATCH_IPV4_SOURCE':
    case 'MATCH_IPV4_DEST':
    case 'MATCH_IPV6_SOURCE':
    case 'MATCH_IPV6_DEST': {
      const c = typeof o.ip === 'string' ? parseCidrInet(o.ip) : null;
      const want = o.type.startsWith('MATCH_IPV4') ? 4 : 6;
      if (!c || c.family !== want) return bad('ip');
      w.bytes(want === 4 ? ipv4Bytes(c.ip)! : ipv6Bytes(c.ip)!).u8(c.port);
      break;
    }
    case 'MATCH_IP_TOS': {
      const m = num(o, 'mask', 0xff);
      const s = num(o, 'start', 0xff);
      const e = num(o, 'end', 0xff);
      if (m === null || s === null || e === null) return bad('mask/start/end');
      w.u8(m).u8(s).u8(e);
      break;
    }
    case 'MATCH_IP_PROTOCOL': {
      const v = num(o, 'ipProtocol', 0xff);
      if (v === null) return bad('ipProtocol');
      w.u8(v);
      break;
    }
    case 'MATCH_ETHERTYPE': {
      const v = num(o, 'etherType', 0xffff);
      if (v === null) return bad('etherType');
      w.u16(v);
      break;
    }
    case 'MATCH_ICMP': {
      const t = num(o, 'icmpType', 0xff);
      if (t === null) return bad('icmpType');
      const code = o.icmpCode === null || o.icmpCode === undefined ? null : num(o, 'icmpCode', 0xff);
      if (o.icmpCode !== null && o.icmpCode !== undefined && code === null) return bad('icmpCode');
      w.u8(t)
        .u8(code ?? 0)
        .u8(code === null ? 0 : 0x01);
      break;
    }
    case 'MATCH_IP_SOURCE_PORT_RANGE':
    case 'MATCH_IP_DEST_PORT_RANGE':
    case 'MATCH_FRAME_SIZE_RANGE': {
      const s = num(o, 'start', 0xffff);
      const e = num(o, 'end', 0xffff) ?? s;
      if (s === null || e === null) return bad('start/end');
      w.u16(s).u16(e);
      break;
    }
    case 'MATCH_CHARACTERISTICS': {
      const m = bigintOf(o.mask, true);
      if (m === null) return bad('mask');
      w.u64(m);
      break;
    }
    case 'MATCH_RANDOM': {
      const p = num(o, 'probability', 0xffffffff);
      if (p === null) return bad('probability');
      w.u32(p);
      break;
    }
    case 'INTEGER_RANGE': {
      const s = bigintOf(o.start, false);
      const e = bigintOf(o.end ?? 0, false);
      const idx = num(o, 'idx', 0xffff) ?? 0;
      const bits = num(o, 'bits', 64) ?? 0;
      if (s === null || e === null) return bad('start/end');
      w.u64(s)
        .u64(e)
        .u16(idx)
        .u8((o.little === true ? 0x80 : 0) | ((bits - 1) & 63));
      break;
    }
    default: {
      // the tag matches: id and value
      const id = num(o, 'id', 0xffffffff);
      const value = num(o, 'value', 0xffffffff);
      if (id === null || value === null) return bad('id/value');
      w.u32(id).u32(value);
    }
  }
  return ok({ type, not: o.not === true, or: o.or === true, value: Buffer.from(w.finish()) });
}

/**
 * The controller's member names as the config carries them. A controller hands every member the
 * same list object until a name changes, so it is translated once per change, not per config.
 */
const translatedNames = new WeakMap<object, MemberName[]>();
function namesFromController(names: NonNullable<ControllerNetworkConfig['names']>): MemberName[] {
  let out = translatedNames.get(names);
  if (!out) {
    out = names.map((n) => ({
      name: n.name,
      addrs: n.ips.flatMap((ip) => {
        const a = parseCidrInet(ip);
        return a ? [{ ...a, port: 0 }] : [];
      }),
    }));
    translatedNames.set(names, out);
  }
  return out;
}

/**
 * The NetworkConfig for one member. Certificates (COM, COOs) are added by the node when it signs;
 * capabilities and tags need signed credentials and are not issued yet.
 */
export function networkConfigFromController(c: ControllerNetworkConfig): Parsed<NetworkConfig> {
  const out = defaultNetworkConfig(c.nwid, c.issuedTo);
  out.timestamp = BigInt(c.timestamp);
  out.credentialTimeMaxDelta = BigInt(c.credentialTimeMaxDelta);
  out.revision = BigInt(c.revision);
  out.name = c.name;
  out.type = c.private ? NetworkType.PRIVATE : NetworkType.PUBLIC;
  out.flags =
    (c.enableBroadcast ? NetworkConfigFlag.ENABLE_BROADCAST : 0n) |
    (c.ndpEmulation ? NetworkConfigFlag.ENABLE_IPV6_NDP_EMULATION : 0n) |
    (c.allowPassiveBridging ? 0x01n : 0n);
  out.mtu = c.mtu;
  out.multicastLimit = c.multicastLimit;
  out.specialists = [...c.specialists];
  out.routes = [];
  for (const r of c.routes) {
    const target = parseCidrInet(r.target);
    const via = r.via ? parseCidrInet(r.via) : null;
    if (!target || (r.via && !via)) return fail(`bad route ${r.target} via ${r.via}`);
    out.routes.push({ target, via: via ? { ...via, port: 0 } : null, flags: r.flags, metric: r.metric });
  }
  out.staticIps = [];
  for (const ip of c.staticIps) {
    const a = parseCidrInet(ip);
    if (!a) return fail(`bad static IP ${ip}`);
    out.staticIps.push(a);
  }
  out.rules = [];
  for (const r of c.rules) {
    const rule = ruleFromObject(r);
    if (!rule.ok) return rule;
    out.rules.push(rule.value);
  }
  if (c.dns) {
    const servers: InetAddress[] = [];
    for (const s of c.dns.servers.slice(0, 4)) {
      const a = parseCidrInet(s);
      if (!a) return fail(`bad DNS server ${s}`);
      servers.push({ ...a, port: 0 });
    }
    out.dns = { domain: c.dns.domain, servers };
  }
  if (c.names) out.names = namesFromController(c.names);
  return ok(out);
}

/** The backend's view of a request's member metadata. */
export function requestMetadataFromDictionary(d: Dictionary): ConfigRequestMetadata {
  const n = (k: string): number | undefined => {
    const v = d.getU64(k);
    return v === undefined || v > 0xffffffffn ? undefined : Number(v);
  };
  const m: ConfigRequestMetadata = {};
  const pairs: [Exclude<keyof ConfigRequestMetadata, 'joinToken'>, string][] = [
    ['majorVersion', 'majv'],
    ['minorVersion', 'minv'],
    ['revision', 'revv'],
    ['protocolVersion', 'pv'],
    ['rulesEngineRev', 'revr'],
  ];
  for (const [field, key] of pairs) {
    const v = n(key);
    if (v !== undefined) m[field] = v;
  }
  const token = d.getString(JOIN_TOKEN_KEY);
  if (token !== undefined && token.length > 0 && token.length <= MAX_JOIN_TOKEN_LENGTH) m.joinToken = token;
  return m;
}
