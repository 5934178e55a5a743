/**
 * FRAME (verb 6): network id (8), ethertype (2), Ethernet payload — the MACs follow from the
 * ZeroTier addresses. EXT_FRAME (verb 7): network id, flags (1), [COM if flag 0x01, deprecated],
 * destination MAC (6), source MAC (6), ethertype, payload; OK(EXT_FRAME) carries the network id.
 */
import { readCom, writeCom, type CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export const FRAME_HEADER_LENGTH = 10;

export interface Frame {
  networkId: bigint;
  etherType: number;
  data: Buffer;
}

/** Hot path: reads the two fields directly. */
export function parseFrame(payload: Buffer): Parsed<Frame> {
  if (payload.length < FRAME_HEADER_LENGTH) return fail(`FRAME: payload of ${payload.length} bytes`);
  return ok({ networkId: payload.readBigUInt64BE(0), etherType: payload.readUInt16BE(8), data: payload.subarray(FRAME_HEADER_LENGTH) });
}

/** FRAME's ethertype read in place, for the hot path (no objects); -1 when the payload is too short. */
export function frameEtherType(payload: Buffer): number {
  return payload.length < FRAME_HEADER_LENGTH ? -1 : (payload[8]! << 8) | payload[9]!;
}

export function emitFrame(networkId: bigint, etherType: number, data: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + data.length);
  b.writeBigUInt64BE(BigInt.asUintN(64, networkId), 0);
  b.writeUInt16BE(etherType & 0xffff, 8);
  b.set(data, FRAME_HEADER_LENGTH);
  return b;
}

export const ExtFrameFlag = {
  COM_ATTACHED: 0x01,
  ACK_REQUESTED: 0x10,
} as const;

export interface ExtFrame {
  networkId: bigint;
  flags: number;
  /** Bits 1–3 of the flags: 0 normal, 1 TEE out, 2 REDIRECT out, 3 WATCH out, 4–6 the same inbound. */
  subtype: number;
  com: CertificateOfMembership | null;
  destMac: bigint;
  sourceMac: bigint;
  etherType: number;
  data: Buffer;
}

export function parseExtFrame(payload: Buffer): Parsed<ExtFrame> {
  const r = new Reader(payload);
  const networkId = r.u64('network id');
  const flags = r.u8('flags');
  const com = !r.failed && (flags & ExtFrameFlag.COM_ATTACHED) !== 0 ? readCom(r) : null;
  const destMac = r.mac('destination MAC');
  const sourceMac = r.mac('source MAC');
  const etherType = r.u16('ethertype');
  if (r.failed) return fail(`EXT_FRAME: ${r.failed}`);
  return ok({ networkId, flags, subtype: (flags >> 1) & 7, com, destMac, sourceMac, etherType, data: r.rest() });
}

export function emitExtFrame(f: Omit<ExtFrame, 'subtype'>): Buffer {
  const w = new Writer(24 + f.data.length);
  const flags = f.com ? f.flags | ExtFrameFlag.COM_ATTACHED : f.flags & ~ExtFrameFlag.COM_ATTACHED;
  w.u64(f.networkId).u8(flags);
  if (f.com) writeCom(w, f.com);
  w.mac(f.destMac).mac(f.sourceMac).u16(f.etherType).bytes(f.data);
  return Buffer.from(w.finish());
}

export function parseOkExtFrame(body: Buffer): Parsed<bigint> {
  return body.length >= 8 ? ok(body.readBigUInt64BE(0)) : fail('OK(EXT_FRAME): truncated');
}
