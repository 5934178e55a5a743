/**
 * Applies a network's rules to one Ethernet frame, as ZeroTier's filter does (node/Network.cpp
 * `_doZtFilter`): match rules AND together (or OR, with the OR flag; NOT inverts one) until an
 * action rule, which fires when the set matched; evaluation ends at ACCEPT or DROP; no action
 * reached means DROP. A match on a field the frame does not have (an IPv4 rule on an IPv6 frame,
 * ICMP on TCP) is a "hard no": it fails whether or not the rule has NOT, as stock's does. IP rules
 * read IPv6 headers as stock does: the payload protocol after hop-by-hop, routing, destination
 * and mobility options headers (a fragment header ends the walk: its protocol is 44), the traffic
 * class for IP_TOS, ICMPv6 type/code for MATCH_ICMP. Rule types we do not implement fail closed:
 * the frame is dropped and the reason named.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../netstack/index.js';

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

/** The IP fields rules look at, of either family. */
interface IpFacts {
  family: 4 | 6;
  /** The header: for IPv6 the source is at 8, the destination at 24. */
  header: Uint8Array;
  /** IPv4 addresses (host order); 0 for IPv6. */
  src: number;
  dst: number;
  /** The payload protocol (IPv6: after the extension headers stock skips). */
  proto: number;
  tos: number;
  srcPort: number;
  dstPort: number;
  icmpType: number;
  icmpCode: number;
}

function ipFacts(f: FrameFacts): IpFacts | null {
  if (f.etherType === ETHERTYPE_IPV6) return ipv6Facts(f.payload);
  const p = f.payload;
  if (f.etherType !== ETHERTYPE_IPV4 || p.length < 20 || p[0]! >> 4 !== 4) return null;
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || p.length < ihl) return null;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const proto = p[9]!;
  const fragOffset = dv.getUint16(6) & 0x1fff;
  const l4 = fragOffset === 0 && p.length >= ihl + 4 ? ihl : -1;
  return {
    family: 4,
    header: p,
    src: dv.getUint32(12),
    dst: dv.getUint32(16),
    proto,
    tos: p[1]!,
    srcPort: l4 >= 0 && isPortProtocol(proto) ? dv.getUint16(l4) : -1,
    dstPort: l4 >= 0 && isPortProtocol(proto) ? dv.getUint16(l4 + 2) : -1,
    icmpType: l4 >= 0 && proto === 1 ? p[l4]! : -1,
    icmpCode: l4 >= 0 && proto === 1 ? p[l4 + 1]! : -1,
  };
}

/**
 * Where the payload starts and its protocol, walking the extension headers stock's
 * `_ipv6GetPayload` walks; null when the chain runs past the frame.
 */
function ipv6Payload(p: Uint8Array): { pos: number; proto: number } | null {
  if (p.length < 40) return null;
  let pos = 40;
  let proto = p[6]!;
  while (pos <= p.length) {
    if (proto !== 0 && proto !== 43 && proto !== 60 && proto !== 135) return { pos, proto };
    if (pos + 8 > p.length) return null;
    proto = p[pos]!;
    pos += p[pos + 1]! * 8 + 8;
  }
  return null;
}

/** The IPv6 facts; as stock, the version nibble is not checked, and a header of 40 bytes is enough. */
function ipv6Facts(p: Uint8Array): IpFacts | null {
  if (p.length < 40) return null;
  const payload = ipv6Payload(p);
  const pos = payload?.pos ?? -1;
  const proto = payload?.proto ?? -1;
  const ports = pos >= 0 && isPortProtocol(proto) && p.length > pos + 4;
  const icmp = pos >= 0 && proto === 58 && p.length >= pos + 2;
  const port = (at: number): number => {
    const v = (p[at]! << 8) | p[at + 1]!;
    // stock's IPv6 port match takes only p > 0: port 0 never matches a range
    return v > 0 ? v : -1;
  };
  return {
    family: 6,
    header: p,
    src: 0,
    dst: 0,
    proto,
    tos: ((p[0]! << 4) & 0xf0) | (p[1]! >> 4),
    srcPort: ports ? port(pos) : -1,
    dstPort: ports ? port(pos + 2) : -1,
    icmpType: icmp ? p[pos]! : -1,
    icmpCode: icmp ? p[pos + 1]! : -1,
  };
}

/** TCP, UDP, SCTP, UDP-Lite: protocols whose header starts with the two ports (stock's list). */
function isPortProtocol(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 0x84 || proto === 0x88;
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

/** `addr` (16 bytes at `off` of `b`) inside the rule's network: 16 address bytes, then the prefix length. */
function ipv6InNet(b: Uint8Array, off: number, v: Uint8Array): boolean {
  const bits = Math.min(128, v[16]!);
  for (let i = 0; i < 16 && i * 8 < bits; i++) {
    const left = bits - i * 8;
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((b[off + i]! & mask) !== (v[i]! & mask)) return false;
  }
  return true;
}

/**
 * A match rule's result on the frame: true/false (NOT inverts it), HARD_NO (the frame lacks the
 * field: fails even under NOT), or null = not a rule type we evaluate.
 */
const HARD_NO = 'hard-no';
type MatchResult = boolean | typeof HARD_NO | null;

function matches(rule: RuleView, f: FrameFacts, ip: IpFacts | null): MatchResult {
  const v = rule.value;
  const v4 = ip !== null && ip.family === 4 ? ip : null;
  const v6 = ip !== null && ip.family === 6 ? ip : null;
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
      if (v.length < 5) return false;
      return v4 !== null ? ipv4InNet(v4.src, v) : HARD_NO;
    case RuleType.MATCH_IPV4_DEST:
      if (v.length < 5) return false;
      return v4 !== null ? ipv4InNet(v4.dst, v) : HARD_NO;
    case RuleType.MATCH_IPV6_SOURCE:
      if (v.length < 17) return false;
      return v6 !== null ? ipv6InNet(v6.header, 8, v) : HARD_NO;
    case RuleType.MATCH_IPV6_DEST:
      if (v.length < 17) return false;
      return v6 !== null ? ipv6InNet(v6.header, 24, v) : HARD_NO;
    case RuleType.MATCH_IP_PROTOCOL:
      if (v.length < 1) return false;
      return ip !== null && ip.proto >= 0 ? ip.proto === v[0] : HARD_NO;
    case RuleType.MATCH_IP_TOS: {
      if (v.length < 3) return false;
      if (ip === null) return HARD_NO;
      const t = ip.tos & v[0]!;
      return t >= v[1]! && t <= v[2]!;
    }
    case RuleType.MATCH_ICMP: {
      if (v.length < 3) return false;
      // ICMP for IPv4, ICMPv6 for IPv6; a type that differs is a hard no, as stock
      if (ip === null || ip.icmpType < 0 || ip.icmpType !== v[0]) return HARD_NO;
      // flags bit 0: the code must match too
      return (v[2]! & 0x01) === 0 || ip.icmpCode === v[1];
    }
    case RuleType.MATCH_IP_SOURCE_PORT_RANGE:
    case RuleType.MATCH_IP_DEST_PORT_RANGE: {
      if (v.length < 4) return false;
      // an IP frame without ports is a plain no (stock: p = -1), a frame without (parsable) IP a hard no
      if (ip === null || (ip.family === 6 && ip.proto < 0)) return HARD_NO;
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
  // the IP fields are read once, and only when a match needs them (accept-all never does)
  let ip: IpFacts | null | undefined;
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
    if (ip === undefined) ip = ipFacts(f);
    const m = matches(rule, f, ip);
    if (m === null) return { accept: false, reason: `rule: unsupported match ${rule.type}` };
    const r = m === HARD_NO ? false : m !== rule.not;
    setMatches = rule.or ? setMatches || r : setMatches && r;
  }
  return { accept: false, reason: 'rule: no action reached (default drop)' };
}
