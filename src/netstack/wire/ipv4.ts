/**
 * IPv4 header codec (RFC 791), zero-copy. Options are skipped (their length is honoured, their
 * content ignored). `parseIpv4` validates version, header length, total length and the header
 * checksum and returns 0 or a negative `Ipv4ParseError`; it never throws.
 */
import { checksum } from './checksum.js';

export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_PACKET = 65535;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAG_OFFSET_MASK = 0x1fff;

export const enum Ipv4ParseError {
  Ok = 0,
  Truncated = -1,
  BadVersion = -2,
  BadHeaderLength = -3,
  BadTotalLength = -4,
  BadChecksum = -5,
}

export function ipv4ParseErrorName(e: number): string {
  switch (e) {
    case Ipv4ParseError.Truncated:
      return 'rx_truncated';
    case Ipv4ParseError.BadVersion:
      return 'rx_bad_version';
    case Ipv4ParseError.BadHeaderLength:
      return 'rx_bad_header_length';
    case Ipv4ParseError.BadTotalLength:
      return 'rx_bad_total_length';
    case Ipv4ParseError.BadChecksum:
      return 'rx_bad_checksum';
    default:
      return 'rx_error';
  }
}

/** One parsed header. Reused across packets. */
export class Ipv4Header {
  headerLen = 0;
  tos = 0;
  totalLen = 0;
  id = 0;
  dontFragment = false;
  moreFragments = false;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  ttl = 0;
  protocol = 0;
  src = 0;
  dst = 0;

  get isFragment(): boolean {
    return this.moreFragments || this.fragOffset !== 0;
  }
}

/**
 * Parses the IPv4 header at the start of `buf`. `buf` may be longer than the datagram (link
 * padding); `out.totalLen` says where it ends. With `verifyChecksum` false the checksum is not
 * checked (for quoted headers inside ICMP errors).
 */
export function parseIpv4(buf: Uint8Array, out: Ipv4Header, verifyChecksum = true): number {
  const e = parseIpv4Quoted(buf, out);
  if (e !== Ipv4ParseError.Ok) return e;
  if (out.totalLen < out.headerLen || out.totalLen > buf.length) return Ipv4ParseError.BadTotalLength;
  if (verifyChecksum && headerChecksum(buf, out.headerLen) !== 0) return Ipv4ParseError.BadChecksum;
  return Ipv4ParseError.Ok;
}

/**
 * Parses a header whose datagram may be cut short (as quoted inside an ICMP error): checks the
 * version and header length only; `out.totalLen` is the field as sent.
 */
export function parseIpv4Quoted(buf: Uint8Array, out: Ipv4Header): number {
  if (buf.length < IPV4_MIN_HEADER_LEN) return Ipv4ParseError.Truncated;
  const b0 = buf[0]!;
  if (b0 >>> 4 !== 4) return Ipv4ParseError.BadVersion;
  const hl = (b0 & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER_LEN || hl > buf.length) return Ipv4ParseError.BadHeaderLength;
  const ff = (buf[6]! << 8) | buf[7]!;
  out.headerLen = hl;
  out.tos = buf[1]!;
  out.totalLen = (buf[2]! << 8) | buf[3]!;
  out.id = (buf[4]! << 8) | buf[5]!;
  out.dontFragment = (ff & IPV4_FLAG_DF) !== 0;
  out.moreFragments = (ff & IPV4_FLAG_MF) !== 0;
  out.fragOffset = (ff & IPV4_FRAG_OFFSET_MASK) << 3;
  out.ttl = buf[8]!;
  out.protocol = buf[9]!;
  out.src = ((buf[12]! << 24) | (buf[13]! << 16) | (buf[14]! << 8) | buf[15]!) >>> 0;
  out.dst = ((buf[16]! << 24) | (buf[17]! << 16) | (buf[18]! << 8) | buf[19]!) >>> 0;
  return Ipv4ParseError.Ok;
}

/** Checksum over the first `hl` bytes (0 when a received header is intact). */
function headerChecksum(buf: Uint8Array, hl: number): number {
  if (hl !== 20) return checksum(buf, 0, hl);
  // the common 20-byte header, unrolled
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Writes a 20-byte header (no options) with its checksum at buf[off...]. */
export function emitIpv4Header(
  buf: Uint8Array,
  off: number,
  tos: number,
  totalLen: number,
  id: number,
  flagsFrag: number,
  ttl: number,
  protocol: number,
  src: number,
  dst: number,
): void {
  buf[off] = 0x45;
  buf[off + 1] = tos;
  buf[off + 2] = totalLen >>> 8;
  buf[off + 3] = totalLen & 0xff;
  buf[off + 4] = (id >>> 8) & 0xff;
  buf[off + 5] = id & 0xff;
  buf[off + 6] = flagsFrag >>> 8;
  buf[off + 7] = flagsFrag & 0xff;
  buf[off + 8] = ttl;
  buf[off + 9] = protocol;
  buf[off + 12] = src >>> 24;
  buf[off + 13] = (src >>> 16) & 0xff;
  buf[off + 14] = (src >>> 8) & 0xff;
  buf[off + 15] = src & 0xff;
  buf[off + 16] = dst >>> 24;
  buf[off + 17] = (dst >>> 16) & 0xff;
  buf[off + 18] = (dst >>> 8) & 0xff;
  buf[off + 19] = dst & 0xff;
  // checksum from the fields, without re-reading the buffer
  let s =
    0x4500 +
    tos +
    totalLen +
    (id & 0xffff) +
    flagsFrag +
    ((ttl << 8) | protocol) +
    (src >>> 16) +
    (src & 0xffff) +
    (dst >>> 16) +
    (dst & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c & 0xff;
}
