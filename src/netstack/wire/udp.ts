/**
 * UDP header codec (RFC 768), zero-copy. `parseUdp` checks the length field and, when present,
 * the checksum; it returns 0 or a negative `UdpParseError` and never throws.
 */
import { fastSum16, finish, ipPseudoHeaderSum, sum16 } from './checksum.js';

export const UDP_HEADER_LEN = 8;
export const IPPROTO_UDP_NUMBER = 17;

export const enum UdpParseError {
  Ok = 0,
  Truncated = -1,
  BadLength = -2,
  BadChecksum = -3,
}

export function udpParseErrorName(e: number): string {
  switch (e) {
    case UdpParseError.Truncated:
      return 'rx_truncated';
    case UdpParseError.BadLength:
      return 'rx_bad_length';
    case UdpParseError.BadChecksum:
      return 'rx_bad_checksum';
    default:
      return 'rx_error';
  }
}

/** One parsed header. Reused across datagrams; data is buf[8, length). */
export class UdpHeader {
  srcPort = 0;
  dstPort = 0;
  /** The length field (header + data), already checked against the IP payload. */
  length = 0;
  checksum = 0;
}

/**
 * Parses the UDP datagram in `buf` (the whole IP payload; bytes past the length field are link or
 * IP padding and ignored). With `src`/`dst` the checksum is verified unless it is 0 (none sent),
 * which IPv4 allows and IPv6 does not (RFC 8200 §8.1: a zero checksum over IPv6 is discarded).
 */
export function parseUdp(buf: Buffer, out: UdpHeader, src?: number | string, dst?: number | string): number {
  if (buf.length < UDP_HEADER_LEN) return UdpParseError.Truncated;
  const len = (buf[4]! << 8) | buf[5]!;
  if (len < UDP_HEADER_LEN || len > buf.length) return UdpParseError.BadLength;
  const ck = (buf[6]! << 8) | buf[7]!;
  if (src !== undefined && dst !== undefined) {
    if (ck === 0) {
      if (typeof src === 'string') return UdpParseError.BadChecksum;
    } else if (finish(fastSum16(buf, 0, len) + ipPseudoHeaderSum(src, dst, IPPROTO_UDP_NUMBER, len)) !== 0)
      return UdpParseError.BadChecksum;
  }
  out.srcPort = (buf[0]! << 8) | buf[1]!;
  out.dstPort = (buf[2]! << 8) | buf[3]!;
  out.length = len;
  out.checksum = ck;
  return UdpParseError.Ok;
}

/** Writes the header of the datagram buf[off, end) and its checksum (src → dst). */
export function emitUdp(
  buf: Buffer,
  off: number,
  end: number,
  srcPort: number,
  dstPort: number,
  src: number | string,
  dst: number | string,
): void {
  const len = end - off;
  buf[off] = srcPort >>> 8;
  buf[off + 1] = srcPort & 0xff;
  buf[off + 2] = dstPort >>> 8;
  buf[off + 3] = dstPort & 0xff;
  buf[off + 4] = len >>> 8;
  buf[off + 5] = len & 0xff;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  let c = finish(
    sum16(buf, off, off + UDP_HEADER_LEN) +
      fastSum16(buf, off + UDP_HEADER_LEN, end) +
      ipPseudoHeaderSum(src, dst, IPPROTO_UDP_NUMBER, len),
  );
  // a computed zero is sent as all ones (zero means "no checksum")
  if (c === 0) c = 0xffff;
  buf[off + 6] = c >>> 8;
  buf[off + 7] = c & 0xff;
}
