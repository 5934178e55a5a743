/**
 * ARP for IPv4 over Ethernet (RFC 826), zero-copy. Only hardware type 1 / protocol 0x0800 with
 * 6- and 4-byte addresses is accepted; anything else is an error the caller counts.
 */
import { writeMacAt } from './ethernet.js';

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

const HTYPE_ETHERNET = 1;
const PTYPE_IPV4 = 0x0800;

export const enum ArpParseError {
  Ok = 0,
  Truncated = -1,
  Unsupported = -2,
  BadOperation = -3,
}

export function arpParseErrorName(e: number): string {
  switch (e) {
    case ArpParseError.Truncated:
      return 'rx_truncated';
    case ArpParseError.Unsupported:
      return 'rx_unsupported';
    case ArpParseError.BadOperation:
      return 'rx_bad_operation';
    default:
      return 'rx_error';
  }
}

/** One parsed ARP packet. Reused: `senderMac`/`targetMac` are views of the parsed buffer. */
export class ArpPacket {
  op = 0;
  senderMac: Buffer = Buffer.alloc(6);
  senderIp = 0;
  targetMac: Buffer = Buffer.alloc(6);
  targetIp = 0;
}

/** Parses the ARP packet at buf[0...] (the Ethernet payload). */
export function parseArp(buf: Buffer, out: ArpPacket): number {
  if (buf.length < ARP_LEN) return ArpParseError.Truncated;
  const htype = (buf[0]! << 8) | buf[1]!;
  const ptype = (buf[2]! << 8) | buf[3]!;
  if (htype !== HTYPE_ETHERNET || ptype !== PTYPE_IPV4 || buf[4] !== 6 || buf[5] !== 4) return ArpParseError.Unsupported;
  const op = (buf[6]! << 8) | buf[7]!;
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return ArpParseError.BadOperation;
  out.op = op;
  out.senderMac = buf.subarray(8, 14);
  out.senderIp = buf.readUInt32BE(14);
  out.targetMac = buf.subarray(18, 24);
  out.targetIp = buf.readUInt32BE(24);
  return ArpParseError.Ok;
}

/** Writes a 28-byte ARP packet at buf[off...]. */
export function emitArp(
  buf: Buffer,
  off: number,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
): void {
  buf[off] = 0;
  buf[off + 1] = HTYPE_ETHERNET;
  buf[off + 2] = PTYPE_IPV4 >>> 8;
  buf[off + 3] = PTYPE_IPV4 & 0xff;
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf[off + 6] = 0;
  buf[off + 7] = op;
  writeMacAt(buf, off + 8, senderMac);
  buf.writeUInt32BE(senderIp >>> 0, off + 14);
  writeMacAt(buf, off + 18, targetMac);
  buf.writeUInt32BE(targetIp >>> 0, off + 24);
}
