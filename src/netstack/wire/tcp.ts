/**
 * TCP header and options codec (RFC 9293 §3.1, RFC 7323, RFC 2018), zero-copy.
 *
 * `parseTcp` fills a caller-owned `TcpSegment` (reused across packets, so parsing allocates
 * nothing) from a view of the IP payload and returns 0 or a negative `TcpParseError` the caller
 * counts; it never throws. `emitTcpHeader` writes a header and options into a caller buffer.
 */
import { fastSum16, finish, ipPseudoHeaderSum } from './checksum.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

/** Bytes of the timestamp option as sent on every segment (NOP NOP TS). */
export const TS_OPTION_SPACE = 12;
/** Maximum SACK blocks carried (3 with timestamps, 4 without). */
export const MAX_SACK_BLOCKS = 4;

export const enum TcpParseError {
  Ok = 0,
  Truncated = -1,
  BadDataOffset = -2,
  BadChecksum = -3,
  BadOption = -4,
}

export function tcpParseErrorName(e: number): string {
  switch (e) {
    case TcpParseError.Truncated:
      return 'rx_truncated';
    case TcpParseError.BadDataOffset:
      return 'rx_bad_data_offset';
    case TcpParseError.BadChecksum:
      return 'rx_bad_checksum';
    case TcpParseError.BadOption:
      return 'rx_bad_option';
    default:
      return 'rx_error';
  }
}

/** The TCP options a segment carries (parsed) or is to carry (sent); -1 / false when absent. */
class TcpOptionValues {
  mss = -1;
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  sackCount = 0;
  /** SACK blocks as pairs (left, right), host numbers. */
  readonly sack = new Uint32Array(2 * MAX_SACK_BLOCKS);
}

/** One parsed segment. Reused: callers must copy what they keep beyond the current packet. */
export class TcpSegment extends TcpOptionValues {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgent = 0;
  headerLen = 0;
  /** The IP payload the header was parsed from; data is buf[dataStart, dataEnd). */
  buf: Buffer = EMPTY;
  dataStart = 0;
  dataEnd = 0;

  get dataLen(): number {
    return this.dataEnd - this.dataStart;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Parses the TCP segment in `buf` (the whole IP payload). When `src`/`dst` are given (non-null)
 * the checksum is verified against the pseudo-header of their family (number IPv4, string IPv6).
 */
export function parseTcp(buf: Buffer, out: TcpSegment, src?: number | string, dst?: number | string): number {
  const len = buf.length;
  if (len < TCP_HEADER_LEN) return TcpParseError.Truncated;
  const hl = (buf[12]! >>> 4) * 4;
  if (hl < TCP_HEADER_LEN || hl > len) return TcpParseError.BadDataOffset;
  if (src !== undefined && dst !== undefined) {
    const s = fastSum16(buf, 0, len) + ipPseudoHeaderSum(src, dst, 6, len);
    if (finish(s) !== 0) return TcpParseError.BadChecksum;
  }
  out.srcPort = (buf[0]! << 8) | buf[1]!;
  out.dstPort = (buf[2]! << 8) | buf[3]!;
  out.seq = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  out.ack = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  out.flags = buf[13]!;
  out.window = (buf[14]! << 8) | buf[15]!;
  out.urgent = (buf[18]! << 8) | buf[19]!;
  out.headerLen = hl;
  out.buf = buf;
  out.dataStart = hl;
  out.dataEnd = len;
  out.mss = -1;
  out.wscale = -1;
  out.sackPermitted = false;
  out.hasTimestamp = false;
  out.tsVal = 0;
  out.tsEcr = 0;
  out.sackCount = 0;
  if (hl > TCP_HEADER_LEN) return parseOptions(buf, TCP_HEADER_LEN, hl, out);
  return TcpParseError.Ok;
}

function parseOptions(buf: Buffer, start: number, end: number, out: TcpSegment): number {
  let i = start;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return TcpParseError.BadOption;
    const olen = buf[i + 1]!;
    if (olen < 2 || i + olen > end) return TcpParseError.BadOption;
    switch (kind) {
      case TCPOPT_MSS:
        if (olen === 4) out.mss = (buf[i + 2]! << 8) | buf[i + 3]!;
        break;
      case TCPOPT_WSCALE:
        if (olen === 3) out.wscale = buf[i + 2]!;
        break;
      case TCPOPT_SACK_PERMITTED:
        if (olen === 2) out.sackPermitted = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (olen === 10) {
          out.hasTimestamp = true;
          out.tsVal = buf.readUInt32BE(i + 2);
          out.tsEcr = buf.readUInt32BE(i + 6);
        }
        break;
      case TCPOPT_SACK: {
        const n = (olen - 2) >>> 3;
        if ((olen - 2) & 7) break; // malformed block list: ignore the option
        let c = 0;
        for (let b = 0; b < n && c < MAX_SACK_BLOCKS; b++) {
          const o = i + 2 + 8 * b;
          out.sack[2 * c] = buf.readUInt32BE(o);
          out.sack[2 * c + 1] = buf.readUInt32BE(o + 4);
          c++;
        }
        out.sackCount = c;
        break;
      }
      default:
        break; // unknown options are skipped
    }
    i += olen;
  }
  return TcpParseError.Ok;
}

/** Options to put on an outgoing segment. Reused by the sender; fields describe one segment. */
export class TcpOptionsOut extends TcpOptionValues {
  reset(): this {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.sackCount = 0;
    return this;
  }
}

/** Length of the options `o` would produce (a multiple of 4, at most 40). */
export function tcpOptionsLength(o: TcpOptionsOut | null): number {
  if (!o) return 0;
  let n = 0;
  if (o.mss >= 0) n += 4;
  if (o.sackPermitted && o.hasTimestamp)
    n += 12; // SACK_PERM(2) + TS(10) packed
  else {
    if (o.sackPermitted) n += 4; // NOP NOP SACK_PERM
    if (o.hasTimestamp) n += 12; // NOP NOP TS
  }
  if (o.wscale >= 0) n += 4; // NOP WS
  if (o.sackCount > 0) {
    const max = Math.min(o.sackCount, Math.floor((40 - n - 4) / 8));
    if (max > 0) n += 4 + 8 * max; // NOP NOP SACK
  }
  return n;
}

/**
 * Writes a TCP header with options at buf[off...]. Returns the header length. The checksum field
 * is left zero; call `setTcpChecksum` after the payload is in place.
 */
export function emitTcpHeader(
  buf: Buffer,
  off: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  o: TcpOptionsOut | null,
): number {
  buf[off] = srcPort >>> 8;
  buf[off + 1] = srcPort & 0xff;
  buf[off + 2] = dstPort >>> 8;
  buf[off + 3] = dstPort & 0xff;
  buf.writeUInt32BE(seq >>> 0, off + 4);
  buf.writeUInt32BE(ack >>> 0, off + 8);
  buf[off + 13] = flags;
  buf[off + 14] = (window >>> 8) & 0xff;
  buf[off + 15] = window & 0xff;
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  buf[off + 18] = 0;
  buf[off + 19] = 0;
  let i = off + TCP_HEADER_LEN;
  if (o) {
    if (o.mss >= 0) {
      buf[i] = TCPOPT_MSS;
      buf[i + 1] = 4;
      buf[i + 2] = (o.mss >>> 8) & 0xff;
      buf[i + 3] = o.mss & 0xff;
      i += 4;
    }
    if (o.sackPermitted && o.hasTimestamp) {
      buf[i] = TCPOPT_SACK_PERMITTED;
      buf[i + 1] = 2;
      buf[i + 2] = TCPOPT_TIMESTAMP;
      buf[i + 3] = 10;
      buf.writeUInt32BE(o.tsVal >>> 0, i + 4);
      buf.writeUInt32BE(o.tsEcr >>> 0, i + 8);
      i += 12;
    } else {
      if (o.sackPermitted) {
        buf[i] = TCPOPT_NOP;
        buf[i + 1] = TCPOPT_NOP;
        buf[i + 2] = TCPOPT_SACK_PERMITTED;
        buf[i + 3] = 2;
        i += 4;
      }
      if (o.hasTimestamp) {
        buf[i] = TCPOPT_NOP;
        buf[i + 1] = TCPOPT_NOP;
        buf[i + 2] = TCPOPT_TIMESTAMP;
        buf[i + 3] = 10;
        buf.writeUInt32BE(o.tsVal >>> 0, i + 4);
        buf.writeUInt32BE(o.tsEcr >>> 0, i + 8);
        i += 12;
      }
    }
    if (o.wscale >= 0) {
      buf[i] = TCPOPT_NOP;
      buf[i + 1] = TCPOPT_WSCALE;
      buf[i + 2] = 3;
      buf[i + 3] = o.wscale;
      i += 4;
    }
    if (o.sackCount > 0) {
      const used = i - off - TCP_HEADER_LEN;
      const max = Math.min(o.sackCount, Math.floor((40 - used - 4) / 8));
      if (max > 0) {
        buf[i] = TCPOPT_NOP;
        buf[i + 1] = TCPOPT_NOP;
        buf[i + 2] = TCPOPT_SACK;
        buf[i + 3] = 2 + 8 * max;
        i += 4;
        for (let b = 0; b < max; b++) {
          buf.writeUInt32BE(o.sack[2 * b]! >>> 0, i);
          buf.writeUInt32BE(o.sack[2 * b + 1]! >>> 0, i + 4);
          i += 8;
        }
      }
    }
  }
  const hl = i - off;
  buf[off + 12] = (hl >>> 2) << 4;
  return hl;
}

/** Computes and stores the checksum of the segment buf[off, end) sent from src to dst. */
export function setTcpChecksum(buf: Buffer, off: number, end: number, src: number | string, dst: number | string): void {
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  const c = finish(fastSum16(buf, off, end) + ipPseudoHeaderSum(src, dst, 6, end - off));
  buf[off + 16] = c >>> 8;
  buf[off + 17] = c & 0xff;
}
