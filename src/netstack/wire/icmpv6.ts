/**
 * ICMPv6 codec (RFC 4443), zero-copy: the common header, echo, the four error messages and their
 * parameter (packet too big's MTU, parameter problem's pointer), checksums over the IPv6
 * pseudo-header, and the errno an application sees for each error (Linux's icmpv6_err_convert).
 * `parseIcmpv6` checks length and checksum and returns 0 or a negative `Icmpv6ParseError`; it
 * never throws. Neighbor discovery and MLD bodies are in ndp.ts and mld.ts.
 */
import { Errno } from '../errno.js';
import { finish, pseudoHeaderSum6, sum16 } from './checksum.js';
import { NH_ICMPV6 } from './ipv6.js';

export const ICMPV6_HEADER_LEN = 8;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_MLD_QUERY = 130;
export const ICMPV6_MLD_REPORT = 131;
export const ICMPV6_MLD_DONE = 132;
export const ICMPV6_ROUTER_SOLICIT = 133;
export const ICMPV6_ROUTER_ADVERT = 134;
export const ICMPV6_NEIGHBOR_SOLICIT = 135;
export const ICMPV6_NEIGHBOR_ADVERT = 136;
export const ICMPV6_REDIRECT = 137;
export const ICMPV6_MLD2_REPORT = 143;

// destination unreachable codes
export const ICMPV6_NO_ROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_BEYOND_SCOPE = 2;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
// time exceeded codes
export const ICMPV6_HOP_LIMIT_EXCEEDED = 0;
export const ICMPV6_REASSEMBLY_EXCEEDED = 1;

/**
 * Most of an offending packet an error we send quotes: as much as fits in a minimum-MTU packet
 * (RFC 4443 §2.4(c): 1280 − 40 − 8).
 */
export const ICMPV6_MAX_QUOTE = 1280 - 40 - ICMPV6_HEADER_LEN;

export const enum Icmpv6ParseError {
  Ok = 0,
  Truncated = -1,
  BadChecksum = -2,
}

export function icmpv6ParseErrorName(e: number): string {
  return e === Icmpv6ParseError.Truncated ? 'rx_truncated' : e === Icmpv6ParseError.BadChecksum ? 'rx_bad_checksum' : 'rx_error';
}

/** One parsed message. Reused across packets. */
export class Icmpv6Message {
  type = 0;
  code = 0;
  /** Echo identifier / sequence (bytes 4..8 of echo messages). */
  id = 0;
  seq = 0;
  /** Bytes 4..8 as one number: packet too big's MTU, parameter problem's pointer. */
  param = 0;
}

/** RFC 4443 §2.1: types below 128 are errors. */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

/**
 * Parses the ICMPv6 message filling `buf` (the whole upper-layer payload). `pseudoSum` is the
 * running sum of the pseudo-header (`ipv6PseudoHeaderSumAt(packet, 0, 58, buf.length)`).
 */
export function parseIcmpv6(buf: Uint8Array, pseudoSum: number, out: Icmpv6Message): number {
  if (buf.length < 4) return Icmpv6ParseError.Truncated;
  if (finish(sum16(buf, 0, buf.length, pseudoSum)) !== 0) return Icmpv6ParseError.BadChecksum;
  out.type = buf[0]!;
  out.code = buf[1]!;
  if (buf.length < ICMPV6_HEADER_LEN) {
    // only echo and the error messages need the second word; NDP/MLD bodies check their own length
    if (out.type < 130) return Icmpv6ParseError.Truncated;
    out.id = out.seq = out.param = 0;
    return Icmpv6ParseError.Ok;
  }
  out.id = (buf[4]! << 8) | buf[5]!;
  out.seq = (buf[6]! << 8) | buf[7]!;
  out.param = ((out.id << 16) | out.seq) >>> 0;
  return Icmpv6ParseError.Ok;
}

/** Sets the checksum of the ICMPv6 message buf[off, end) sent from `src` to `dst`. */
export function setIcmpv6Checksum(buf: Uint8Array, off: number, end: number, src: string, dst: string): void {
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  const c = finish(sum16(buf, off, end, pseudoHeaderSum6(src, dst, NH_ICMPV6, end - off)));
  buf[off + 2] = c >>> 8;
  buf[off + 3] = c & 0xff;
}

/** Writes an echo request/reply header at buf[off...] (the data already follows) and its checksum. */
export function emitIcmpv6Echo(
  buf: Uint8Array,
  off: number,
  end: number,
  type: number,
  id: number,
  seq: number,
  src: string,
  dst: string,
): void {
  buf[off] = type;
  buf[off + 1] = 0;
  buf[off + 4] = (id >>> 8) & 0xff;
  buf[off + 5] = id & 0xff;
  buf[off + 6] = (seq >>> 8) & 0xff;
  buf[off + 7] = seq & 0xff;
  setIcmpv6Checksum(buf, off, end, src, dst);
}

/**
 * Writes an error header at buf[off...] (the quoted packet already follows): `param` is packet too
 * big's MTU or parameter problem's pointer (0 for the others).
 */
export function emitIcmpv6Error(
  buf: Uint8Array,
  off: number,
  end: number,
  type: number,
  code: number,
  param: number,
  src: string,
  dst: string,
): void {
  buf[off] = type;
  buf[off + 1] = code;
  buf[off + 4] = (param >>> 24) & 0xff;
  buf[off + 5] = (param >>> 16) & 0xff;
  buf[off + 6] = (param >>> 8) & 0xff;
  buf[off + 7] = param & 0xff;
  setIcmpv6Checksum(buf, off, end, src, dst);
}

/** The errno an application sees for an ICMPv6 error (Linux's icmpv6_err_convert), 0 for non-errors. */
export function icmpv6Errno(type: number, code: number): number {
  switch (type) {
    case ICMPV6_DEST_UNREACH:
      switch (code) {
        case ICMPV6_NO_ROUTE:
          return Errno.ENETUNREACH;
        case ICMPV6_ADM_PROHIBITED:
        case 5: // source address failed ingress/egress policy
        case 6: // reject route to destination
          return Errno.EACCES;
        case ICMPV6_BEYOND_SCOPE:
        case ICMPV6_ADDR_UNREACH:
          return Errno.EHOSTUNREACH;
        case ICMPV6_PORT_UNREACH:
          return Errno.ECONNREFUSED;
        default:
          return Errno.EPROTO;
      }
    case ICMPV6_PACKET_TOO_BIG:
      return Errno.EMSGSIZE;
    case ICMPV6_PARAM_PROBLEM:
      return Errno.EPROTO;
    case ICMPV6_TIME_EXCEEDED:
      return Errno.EHOSTUNREACH;
    default:
      return isIcmpv6Error(type) ? Errno.EPROTO : 0;
  }
}
