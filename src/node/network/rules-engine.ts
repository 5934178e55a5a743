/**
 * Applies a network's rules to one Ethernet frame, as ZeroTier's filter does: match rules AND
 * together (or OR, with the OR flag; NOT inverts one) until an action rule, which fires when the
 * set matched; evaluation ends at ACCEPT or DROP; no action reached means DROP. Rule types we do
 * not implement fail closed: the frame is dropped and the reason named.
 */
import { ETHERTYPE_IPV4 } from '../../netstack/index.js';

/** One rule as carried in the config: type byte (without NOT/OR bits), flags and its value bytes. */
export interface RuleView {
  type: number;
  not: boolean;
  or: boolean;
  value: Uint8Array;
}

export const RuleType = {
  ACTION_DROP: 0,
  ACTION_ACCEPT: 1,
  ACTION_TEE: 2,
  ACTION_WATCH: 3,
  ACTION_REDIRECT: 4,
  ACTION_BREAK: 5,
  ACTION_PRIORITY: 6,
  MATCH_SOURCE_ZEROTIER_ADDRESS: 24,
  MATCH_DEST_ZEROTIER_ADDRESS: 25,
  MATCH_VLAN_ID: 26,
  MATCH_VLAN_PCP: 27,
  MATCH_VLAN_DEI: 28,
  MATCH_MAC_SOURCE: 29,
  MATCH_MAC_DEST: 30,
  MATCH_IPV4_SOURCE: 31,
  MATCH_IPV4_DEST: 32,
  MATCH_IPV6_SOURCE: 33,
  MATCH_IPV6_DEST: 34,
  MATCH_IP_TOS: 35,
  MATCH_IP_PROTOCOL: 36,
  MATCH_ETHERTYPE: 37,
  MATCH_ICMP: 38,
  MATCH_IP_SOURCE_PORT_RANGE: 39,
  MATCH_IP_DEST_PORT_RANGE: 40,
  MATCH_CHARACTERISTICS: 41,
  MATCH_FRAME_SIZE_RANGE: 42,
  MATCH_RANDOM: 43,
  MATCH_TAGS_DIFFERENCE: 44,
  MATCH_TAGS_BITWISE_AND: 45,
  MATCH_TAGS_BITWISE_OR: 46,
  MATCH_TAGS_BITWISE_XOR: 47,
  MATCH_TAGS_EQUAL: 48,
  MATCH_TAG_SENDER: 49,
  MATCH_TAG_RECEIVER: 50,
  INTEGER_RANGE: 51,
} as const;

/** What the filter looks at. `payload` is the frame after the Ethernet header. */
export interface FrameFacts {
  ztSource: bigint;
  ztDest: bigint;
  macSource: bigint;
  macDest: bigint;
  etherType: number;
  payload: Uint8Array;
}

export type FilterVerdict = { accept: true } | { accept: false; reason: string };

interface Ipv4Facts {
  src: number;
  dst: number;
  proto: number;
  tos: number;
  srcPort: number;
  dstPort: number;
  icmpType: number;
  icmpCode: number;
}

function ipv4Facts(f: FrameFacts): Ipv4Facts | null {
  const p = f.payload;
  if (f.etherType !== ETHERTYPE_IPV4 || p.length < 20 || p[0]! >> 4 !== 4) return null;
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || p.length < ihl) return null;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const proto = p[9]!;
  const fragOffset = dv.getUint16(6) & 0x1fff;
  const l4 = fragOffset === 0 && p.length >= ihl + 4 ? ihl : -1;
  return {
    src: dv.getUint32(12),
    dst: dv.getUint32(16),
    proto,
    tos: p[1]!,
    srcPort: l4 >= 0 && (proto === 6 || proto === 17) ? dv.getUint16(l4) : -1,
    dstPort: l4 >= 0 && (proto === 6 || proto === 17) ? dv.getUint16(l4 + 2) : -1,
    icmpType: l4 >= 0 && proto === 1 ? p[l4]! : -1,
    icmpCode: l4 >= 0 && proto === 1 ? p[l4 + 1]! : -1,
  };
}

function readUint(v: Uint8Array, off: number, len: number): bigint {
  let x = 0n;
  for (let i = 0; i < len; i++) x = (x << 8n) | BigInt(v[off + i] ?? 0);
  return x;
}

function ipv4InNet(addr: number, v: Uint8Array): boolean {
  const net = Number(readUint(v, 0, 4));
  const bits = v[4] ?? 32;
  const mask = bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  return (addr & mask) >>> 0 === (net & mask) >>> 0;
}

/** Does one match rule hold for the frame? null = not a rule type we evaluate. */
function matches(rule: RuleView, f: FrameFacts, ip: Ipv4Facts | null): boolean | null {
  const v = rule.value;
  switch (rule.type) {
    case RuleType.MATCH_SOURCE_ZEROTIER_ADDRESS:
      return v.length >= 5 && readUint(v, 0, 5) === f.ztSource;
    case RuleType.MATCH_DEST_ZEROTIER_ADDRESS:
      return v.length >= 5 && readUint(v, 0, 5) === f.ztDest;
    case RuleType.MATCH_MAC_SOURCE:
      return v.length >= 6 && readUint(v, 0, 6) === f.macSource;
    case RuleType.MATCH_MAC_DEST:
      return v.length >= 6 && readUint(v, 0, 6) === f.macDest;
    case RuleType.MATCH_ETHERTYPE:
      return v.length >= 2 && Number(readUint(v, 0, 2)) === f.etherType;
    case RuleType.MATCH_IPV4_SOURCE:
      return ip !== null && v.length >= 5 && ipv4InNet(ip.src, v);
    case RuleType.MATCH_IPV4_DEST:
      return ip !== null && v.length >= 5 && ipv4InNet(ip.dst, v);
    case RuleType.MATCH_IP_PROTOCOL:
      return ip !== null && v.length >= 1 && ip.proto === v[0];
    case RuleType.MATCH_IP_TOS: {
      if (ip === null || v.length < 3) return false;
      const t = ip.tos & v[0]!;
      return t >= v[1]! && t <= v[2]!;
    }
    case RuleType.MATCH_ICMP: {
      if (ip === null || ip.icmpType < 0 || v.length < 3) return false;
      // flags bit 0: the code must match too
      return ip.icmpType === v[0] && ((v[2]! & 0x01) === 0 || ip.icmpCode === v[1]);
    }
    case RuleType.MATCH_IP_SOURCE_PORT_RANGE:
    case RuleType.MATCH_IP_DEST_PORT_RANGE: {
      if (ip === null || v.length < 4) return false;
      const port = rule.type === RuleType.MATCH_IP_SOURCE_PORT_RANGE ? ip.srcPort : ip.dstPort;
      return port >= 0 && port >= Number(readUint(v, 0, 2)) && port <= Number(readUint(v, 2, 2));
    }
    case RuleType.MATCH_FRAME_SIZE_RANGE: {
      if (v.length < 4) return false;
      const size = f.payload.length + 14;
      return size >= Number(readUint(v, 0, 2)) && size <= Number(readUint(v, 2, 2));
    }
    default:
      return null;
  }
}

/** Runs the rules over one frame. */
const ACCEPTED: FilterVerdict = { accept: true };

/**
 * True when the rules take every frame (the first is ACCEPT, as in the default rule set): callers
 * then skip gathering a frame's facts at all.
 */
export function acceptsEverything(rules: readonly RuleView[]): boolean {
  return rules.length > 0 && rules[0]!.type === RuleType.ACTION_ACCEPT;
}

export function filterFrame(rules: readonly RuleView[], f: FrameFacts): FilterVerdict {
  // the IPv4 fields are read once, and only when a match needs them (accept-all never does)
  let ip: Ipv4Facts | null | undefined;
  let setMatches = true;
  for (const rule of rules) {
    if (rule.type < 24) {
      if (setMatches) {
        switch (rule.type) {
          case RuleType.ACTION_ACCEPT:
            return ACCEPTED;
          case RuleType.ACTION_DROP:
            return { accept: false, reason: 'rule: drop' };
          case RuleType.ACTION_BREAK:
            return { accept: false, reason: 'rule: break (no capability grants it)' };
          case RuleType.ACTION_PRIORITY:
            break;
          default:
            return { accept: false, reason: `rule: unsupported action ${rule.type}` };
        }
      }
      setMatches = true;
      continue;
    }
    if (ip === undefined) ip = ipv4Facts(f);
    const m = matches(rule, f, ip);
    if (m === null) return { accept: false, reason: `rule: unsupported match ${rule.type}` };
    const r = m !== rule.not;
    setMatches = rule.or ? setMatches || r : setMatches && r;
  }
  return { accept: false, reason: 'rule: no action reached (default drop)' };
}
