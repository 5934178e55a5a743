/**
 * IPv6 header codec (RFC 8200), zero-copy: the fixed 40-byte header, the walk along the
 * extension-header chain (hop-by-hop, routing, fragment, destination options) with RFC 8200's
 * rules for what a host does with headers and options it does not know, and the IPv6
 * pseudo-header sum TCP, UDP and ICMPv6 checksums start from (RFC 8200 §8.1).
 *
 * Parsing never throws: `parseIpv6` returns 0 or a negative `Ipv6ParseError`; `walkIpv6Chain`
 * returns 0 or a negative `Ipv6ChainError` and, for the errors RFC 8200 answers with an ICMPv6
 * parameter problem, says which code and pointer.
 */
import { sum16 } from './checksum.js';

export const IPV6_FIXED_HEADER_LEN = 40;
/** Largest payload length the 16-bit field carries (jumbograms, RFC 2675, are not supported). */
export const IPV6_MAX_PAYLOAD = 65535;
/** RFC 8200 §5: every link carries packets of this size. */
export const IPV6_MIN_MTU = 1280;

// Next Header values (IANA "Assigned Internet Protocol Numbers")
export const NH_HOP_BY_HOP = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DEST_OPTIONS = 60;

export const FRAGMENT_HEADER_LEN = 8;

// Options in hop-by-hop and destination options headers (RFC 8200 §4.2)
export const OPT_PAD1 = 0;
export const OPT_PADN = 1;
/** Router alert (RFC 2711), carried by MLD messages. */
export const OPT_ROUTER_ALERT = 5;

export const enum Ipv6ParseError {
  Ok = 0,
  Truncated = -1,
  BadVersion = -2,
  BadPayloadLength = -3,
}

export function ipv6ParseErrorName(e: number): string {
  switch (e) {
    case Ipv6ParseError.Truncated:
      return 'rx_truncated';
    case Ipv6ParseError.BadVersion:
      return 'rx_bad_version';
    case Ipv6ParseError.BadPayloadLength:
      return 'rx_bad_payload_length';
    default:
      return 'rx_error';
  }
}

/** One parsed fixed header. Reused across packets. */
export class Ipv6Header {
  trafficClass = 0;
  flowLabel = 0;
  payloadLen = 0;
  nextHeader = 0;
  hopLimit = 0;
  src = '';
  dst = '';

  /** Where the packet ends (40 + payload length). */
  get totalLen(): number {
    return IPV6_FIXED_HEADER_LEN + this.payloadLen;
  }
}

/**
 * Parses the fixed header at the start of `buf`. `buf` may be longer than the packet (link
 * padding); `out.totalLen` says where it ends. A payload length of 0 (a jumbogram's) is refused.
 */
export function parseIpv6(buf: Buffer, out: Ipv6Header): number {
  const e = parseIpv6Quoted(buf, out);
  if (e !== Ipv6ParseError.Ok) return e;
  if (out.payloadLen === 0 && out.nextHeader === NH_HOP_BY_HOP) return Ipv6ParseError.BadPayloadLength;
  if (IPV6_FIXED_HEADER_LEN + out.payloadLen > buf.length) return Ipv6ParseError.BadPayloadLength;
  return Ipv6ParseError.Ok;
}

/**
 * Parses a header whose packet may be cut short (as quoted inside an ICMPv6 error): checks the
 * version only; `out.payloadLen` is the field as sent.
 */
export function parseIpv6Quoted(buf: Buffer, out: Ipv6Header): number {
  if (buf.length < IPV6_FIXED_HEADER_LEN) return Ipv6ParseError.Truncated;
  const b0 = buf[0]!;
  if (b0 >>> 4 !== 6) return Ipv6ParseError.BadVersion;
  const b1 = buf[1]!;
  out.trafficClass = ((b0 & 0x0f) << 4) | (b1 >>> 4);
  out.flowLabel = ((b1 & 0x0f) << 16) | (buf[2]! << 8) | buf[3]!;
  out.payloadLen = (buf[4]! << 8) | buf[5]!;
  out.nextHeader = buf[6]!;
  out.hopLimit = buf[7]!;
  out.src = addrAt(buf, 8, lastSrc);
  out.dst = addrAt(buf, 24, lastDst);
  return Ipv6ParseError.Ok;
}

/** The last address read at each position: a flow's packets repeat them, and a compare is cheaper than hex. */
interface AddrMemo {
  bytes: Buffer;
  text: string;
}
const lastSrc: AddrMemo = { bytes: Buffer.alloc(16), text: '0'.repeat(32) };
const lastDst: AddrMemo = { bytes: Buffer.alloc(16), text: '0'.repeat(32) };

function addrAt(buf: Buffer, off: number, memo: AddrMemo): string {
  const m = memo.bytes;
  let i = 0;
  while (i < 16 && buf[off + i] === m[i]) i++;
  if (i === 16) return memo.text;
  buf.copy(m, 0, off, off + 16);
  memo.text = m.toString('hex');
  return memo.text;
}

/** Writes a 40-byte header at buf[off...]; `src`/`dst` are the stack's 32-hex-digit addresses. */
export function emitIpv6Header(
  buf: Buffer,
  off: number,
  trafficClass: number,
  flowLabel: number,
  payloadLen: number,
  nextHeader: number,
  hopLimit: number,
  src: string,
  dst: string,
): void {
  buf[off] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buf[off + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  buf[off + 2] = (flowLabel >>> 8) & 0xff;
  buf[off + 3] = flowLabel & 0xff;
  buf[off + 4] = payloadLen >>> 8;
  buf[off + 5] = payloadLen & 0xff;
  buf[off + 6] = nextHeader;
  buf[off + 7] = hopLimit;
  writeAddr(buf, off + 8, src, outSrc);
  writeAddr(buf, off + 24, dst, outDst);
}

const outSrc: AddrMemo = { bytes: Buffer.alloc(16), text: '0'.repeat(32) };
const outDst: AddrMemo = { bytes: Buffer.alloc(16), text: '0'.repeat(32) };

/** Writes `addr` at buf[off, off+16), from the bytes of the last address written there when it is the same. */
function writeAddr(buf: Buffer, off: number, addr: string, memo: AddrMemo): void {
  if (addr !== memo.text) {
    memo.bytes.write(addr, 0, 16, 'hex');
    memo.text = addr;
  }
  const m = memo.bytes;
  for (let i = 0; i < 16; i++) buf[off + i] = m[i]!;
}

/** Writes a fragment header at buf[off, off+8). `fragOffset` in bytes (a multiple of 8). */
export function emitFragmentHeader(buf: Uint8Array, off: number, nextHeader: number, fragOffset: number, more: boolean, id: number): void {
  buf[off] = nextHeader;
  buf[off + 1] = 0;
  const f = (fragOffset & 0xfff8) | (more ? 1 : 0);
  buf[off + 2] = f >>> 8;
  buf[off + 3] = f & 0xff;
  buf[off + 4] = (id >>> 24) & 0xff;
  buf[off + 5] = (id >>> 16) & 0xff;
  buf[off + 6] = (id >>> 8) & 0xff;
  buf[off + 7] = id & 0xff;
}

// ───────────────────────── pseudo-header ─────────────────────────

/** The IPv6 pseudo-header sum (checksum.ts pseudoHeaderSum6), taking the addresses from the IPv6 header at buf[ipOff...] (no string made). */
export function ipv6PseudoHeaderSumAt(buf: Uint8Array, ipOff: number, protocol: number, length: number): number {
  return sum16(buf, ipOff + 8, ipOff + 40) + (length >>> 16) + (length & 0xffff) + protocol;
}

// ───────────────────────── extension headers ─────────────────────────

/** True for the Next Header values a host walks past (as opposed to an upper-layer protocol). */
export function isExtensionHeader(nh: number): boolean {
  return nh === NH_HOP_BY_HOP || nh === NH_ROUTING || nh === NH_FRAGMENT || nh === NH_DEST_OPTIONS;
}

export const enum Ipv6ChainError {
  Ok = 0,
  /** A header runs past the end of the packet. */
  Truncated = -1,
  /** Hop-by-hop somewhere other than first (RFC 8200 §4.1): parameter problem code 1. */
  HopByHopNotFirst = -2,
  /** An option with action 01, or a malformed option area: silently dropped. */
  OptionDiscard = -3,
  /** An option with action 10/11, or a routing header we cannot process: parameter problem. */
  ParamProblem = -4,
  /** More headers than a host accepts. */
  TooManyHeaders = -5,
}

export function ipv6ChainErrorName(e: number): string {
  switch (e) {
    case Ipv6ChainError.Truncated:
      return 'rx_ext_truncated';
    case Ipv6ChainError.HopByHopNotFirst:
      return 'rx_hop_by_hop_not_first';
    case Ipv6ChainError.OptionDiscard:
      return 'rx_option_discard';
    case Ipv6ChainError.ParamProblem:
      return 'rx_param_problem';
    case Ipv6ChainError.TooManyHeaders:
      return 'rx_too_many_ext_headers';
    default:
      return 'rx_ext_error';
  }
}

/** Parameter problem codes (RFC 4443 §3.4, RFC 7112). */
export const PP_ERRONEOUS_FIELD = 0;
export const PP_UNKNOWN_NEXT_HEADER = 1;
export const PP_UNKNOWN_OPTION = 2;
export const PP_INCOMPLETE_CHAIN = 3;

/** Where the chain walk ended, and what it found on the way. Reused across packets. */
export class Ipv6Chain {
  /** The upper-layer protocol (or NH_FRAGMENT when the walk stopped at a fragment header). */
  protocol = 0;
  /** Offset of the upper-layer header (or of the fragment header) from the start of the packet. */
  offset = 0;
  /** Offset of the Next Header field that named `protocol` (the pointer of a code-1 parameter problem). */
  nextHeaderAt = 0;
  /** The router alert option's value, or -1 when none (RFC 2711). */
  routerAlert = -1;
  // the fragment header (when protocol === NH_FRAGMENT)
  fragOffset = 0;
  moreFragments = false;
  fragId = 0;
  /** The Next Header field inside the fragment header. */
  fragNextHeader = 0;
  // a parameter problem to send (when the walk returned ParamProblem or HopByHopNotFirst)
  ppCode = 0;
  ppPointer = 0;
  /** RFC 8200 §4.2 action 10: the error goes even when the packet was sent to a multicast group. */
  ppEvenMulticast = false;

  /** True when the walk stopped at a fragment of a larger datagram (not an atomic fragment). */
  get isFragment(): boolean {
    return this.protocol === NH_FRAGMENT;
  }
}

/** Most extension headers one packet may carry before it is dropped (Linux stops far earlier in practice). */
export const MAX_EXT_HEADERS = 16;

/**
 * Walks the header chain of the packet buf[0, end) starting with the Next Header `first` at byte
 * `start` (40 for a whole packet; `nhAt` is the offset of the field that named it, 6 for the
 * fixed header). Stops at the first upper-layer header, or at a fragment header unless
 * `throughFragments` (then an atomic or any fragment header is stepped over, as for quoted packets
 * and reassembled ones). With `quoted`, headers cut short end the walk without error (the protocol
 * found so far is reported with offset = end).
 */
export function walkIpv6Chain(
  buf: Uint8Array,
  start: number,
  end: number,
  first: number,
  nhAt: number,
  out: Ipv6Chain,
  throughFragments = false,
  quoted = false,
): number {
  let nh = first;
  let at = start;
  let count = 0;
  out.routerAlert = -1;
  out.ppEvenMulticast = false;
  for (;;) {
    out.protocol = nh;
    out.offset = at;
    out.nextHeaderAt = nhAt;
    if (!isExtensionHeader(nh)) return Ipv6ChainError.Ok;
    if (++count > MAX_EXT_HEADERS) return Ipv6ChainError.TooManyHeaders;
    if (nh === NH_HOP_BY_HOP && at !== IPV6_FIXED_HEADER_LEN) {
      out.ppCode = PP_UNKNOWN_NEXT_HEADER;
      out.ppPointer = nhAt;
      return Ipv6ChainError.HopByHopNotFirst;
    }
    if (at + 8 > end) return quoted ? Ipv6ChainError.Ok : Ipv6ChainError.Truncated;
    const next = buf[at]!;
    if (nh === NH_FRAGMENT) {
      const f = (buf[at + 2]! << 8) | buf[at + 3]!;
      out.fragNextHeader = next;
      out.fragOffset = f & 0xfff8;
      out.moreFragments = (f & 1) !== 0;
      out.fragId = ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) | buf[at + 7]!) >>> 0;
      // RFC 6946: an atomic fragment (offset 0, M clear) is processed in isolation
      if (!throughFragments && (out.fragOffset !== 0 || out.moreFragments)) return Ipv6ChainError.Ok;
      nhAt = at;
      at += FRAGMENT_HEADER_LEN;
      nh = next;
      continue;
    }
    const len = (buf[at + 1]! + 1) << 3;
    if (at + len > end) return quoted ? Ipv6ChainError.Ok : Ipv6ChainError.Truncated;
    if (nh === NH_ROUTING) {
      const segmentsLeft = buf[at + 3]!;
      // RFC 8200 §4.4: a header with no segments left is ignored; we are a host and route no
      // type onwards (type 0 is deprecated, RFC 5095), so any other is a parameter problem
      // pointing at its routing type
      if (segmentsLeft !== 0 && !quoted) {
        out.ppCode = PP_ERRONEOUS_FIELD;
        out.ppPointer = at + 2;
        return Ipv6ChainError.ParamProblem;
      }
    } else if (!quoted) {
      const e = walkOptions(buf, at + 2, at + len, nh === NH_HOP_BY_HOP, out);
      if (e !== Ipv6ChainError.Ok) return e;
    }
    nhAt = at;
    at += len;
    nh = next;
  }
}

/** The TLV options in buf[at, end) of a hop-by-hop or destination options header (RFC 8200 §4.2). */
function walkOptions(buf: Uint8Array, at: number, end: number, hopByHop: boolean, out: Ipv6Chain): number {
  while (at < end) {
    const type = buf[at]!;
    if (type === OPT_PAD1) {
      at++;
      continue;
    }
    if (at + 2 > end) return Ipv6ChainError.OptionDiscard;
    const len = buf[at + 1]!;
    if (at + 2 + len > end) return Ipv6ChainError.OptionDiscard;
    if (type === OPT_PADN) {
      at += 2 + len;
      continue;
    }
    if (type === OPT_ROUTER_ALERT && hopByHop) {
      if (len !== 2) return Ipv6ChainError.OptionDiscard;
      out.routerAlert = (buf[at + 2]! << 8) | buf[at + 3]!;
      at += 4;
      continue;
    }
    // unknown: the two high bits of the type say what to do
    switch (type >>> 6) {
      case 0:
        at += 2 + len;
        continue;
      case 1:
        return Ipv6ChainError.OptionDiscard;
      default:
        out.ppCode = PP_UNKNOWN_OPTION;
        out.ppPointer = at;
        out.ppEvenMulticast = type >>> 6 === 2;
        return Ipv6ChainError.ParamProblem;
    }
  }
  return Ipv6ChainError.Ok;
}

/**
 * Writes a hop-by-hop header with a router alert option (value `value`, RFC 2711: 0 = MLD) at
 * buf[off, off+8), naming `nextHeader` after it.
 */
export function emitRouterAlertHopByHop(buf: Uint8Array, off: number, nextHeader: number, value: number): void {
  buf[off] = nextHeader;
  buf[off + 1] = 0;
  buf[off + 2] = OPT_ROUTER_ALERT;
  buf[off + 3] = 2;
  buf[off + 4] = value >>> 8;
  buf[off + 5] = value & 0xff;
  buf[off + 6] = OPT_PADN;
  buf[off + 7] = 0;
}
