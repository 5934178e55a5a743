/**
 * ICMPv4 codec (RFC 792, RFC 1191 for fragmentation-needed), zero-copy. `parseIcmp` checks length
 * and checksum and returns 0 or a negative `IcmpParseError`; it never throws.
 */
import { checksum } from './checksum.js';
import { Errno } from '../errno.js';

export const ICMP_HEADER_LEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;

// destination unreachable codes
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROTO_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
// time exceeded codes
export const ICMP_TTL_EXCEEDED = 0;
export const ICMP_REASSEMBLY_EXCEEDED = 1;

export const enum IcmpParseError {
  Ok = 0,
  Truncated = -1,
  BadChecksum = -2,
}

export function icmpParseErrorName(e: number): string {
  return e === IcmpParseError.Truncated ? 'rx_truncated' : e === IcmpParseError.BadChecksum ? 'rx_bad_checksum' : 'rx_error';
}

/** One parsed message. Reused across packets. */
export class IcmpMessage {
  type = 0;
  code = 0;
  /** Echo identifier / sequence (bytes 4..8 of echo messages). */
  id = 0;
  seq = 0;
  /** Next-hop MTU of a fragmentation-needed message (0 when absent). */
  nextHopMtu = 0;
}

/** True for the error types that quote an offending datagram. */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAM_PROBLEM
  );
}

/** Parses the ICMP message filling `buf` (the whole IP payload); the body starts at byte 8. */
export function parseIcmp(buf: Uint8Array, out: IcmpMessage): number {
  if (buf.length < ICMP_HEADER_LEN) return IcmpParseError.Truncated;
  if (checksum(buf, 0, buf.length) !== 0) return IcmpParseError.BadChecksum;
  out.type = buf[0]!;
  out.code = buf[1]!;
  out.id = (buf[4]! << 8) | buf[5]!;
  out.seq = (buf[6]! << 8) | buf[7]!;
  out.nextHopMtu = out.type === ICMP_DEST_UNREACH && out.code === ICMP_FRAG_NEEDED ? (buf[6]! << 8) | buf[7]! : 0;
  return IcmpParseError.Ok;
}

/** Writes an echo request/reply header at buf[off...]; the data must already follow it. Sets the checksum over buf[off, end). */
export function emitIcmpEcho(buf: Uint8Array, off: number, end: number, type: number, id: number, seq: number): void {
  buf[off] = type;
  buf[off + 1] = 0;
  buf[off + 4] = (id >>> 8) & 0xff;
  buf[off + 5] = id & 0xff;
  buf[off + 6] = (seq >>> 8) & 0xff;
  buf[off + 7] = seq & 0xff;
  setIcmpChecksum(buf, off, end);
}

/**
 * Writes an error header (destination unreachable, time exceeded…) at buf[off...]; the quoted
 * datagram must already follow it. `nextHopMtu` is used for fragmentation-needed.
 */
export function emitIcmpError(buf: Uint8Array, off: number, end: number, type: number, code: number, nextHopMtu = 0): void {
  buf[off] = type;
  buf[off + 1] = code;
  buf[off + 4] = 0;
  buf[off + 5] = 0;
  buf[off + 6] = (nextHopMtu >>> 8) & 0xff;
  buf[off + 7] = nextHopMtu & 0xff;
  setIcmpChecksum(buf, off, end);
}

export function setIcmpChecksum(buf: Uint8Array, off: number, end: number): void {
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  const c = checksum(buf, off, end);
  buf[off + 2] = c >>> 8;
  buf[off + 3] = c & 0xff;
}

/** The errno an application sees for an ICMP error (as Linux's icmp_err_convert), or 0 for none. */
export function icmpErrno(type: number, code: number): number {
  if (type === ICMP_DEST_UNREACH) {
    switch (code) {
      case ICMP_NET_UNREACH:
        return Errno.ENETUNREACH;
      case ICMP_PROTO_UNREACH:
      case ICMP_PORT_UNREACH:
        return Errno.ECONNREFUSED;
      case ICMP_FRAG_NEEDED:
        return Errno.EMSGSIZE;
      default:
        return Errno.EHOSTUNREACH;
    }
  }
  if (type === ICMP_TIME_EXCEEDED) return Errno.EHOSTUNREACH;
  if (type === ICMP_PARAM_PROBLEM) return Errno.EHOSTUNREACH;
  return 0;
}
