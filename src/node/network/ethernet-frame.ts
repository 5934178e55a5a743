/**
 * The Ethernet framing the overlay needs at the boundary with a network's stack: ZeroTier carries
 * frames without their 14-byte header (FRAME: ethertype + payload; the MACs are implied or given
 * separately), so frames are split on the way out and rebuilt on the way in.
 */
import { writeMac } from './network-mac.js';
import { FRAME_HEADER_LENGTH } from '../wire/frame.js';

export const ETHERNET_HEADER_LEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

export interface EthernetView {
  dst: Buffer;
  src: Buffer;
  etherType: number;
  payload: Buffer;
}

/** Splits a frame; null when it is shorter than a header. */
export function splitFrame(frame: Buffer): EthernetView | null {
  if (frame.length < ETHERNET_HEADER_LEN) return null;
  return {
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    etherType: frame.readUInt16BE(12),
    payload: frame.subarray(ETHERNET_HEADER_LEN),
  };
}

export function buildFrame(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(ETHERNET_HEADER_LEN + payload.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  f.writeUInt16BE(etherType, 12);
  f.set(payload, ETHERNET_HEADER_LEN);
  return f;
}

/**
 * buildFrame without the copy: the header goes into the 14 bytes right before `payload` in its
 * buffer, which the caller guarantees are free.
 */
export function frameAroundPayload(dst: bigint, src: bigint, etherType: number, payload: Uint8Array): Buffer {
  const f = Buffer.from(payload.buffer, payload.byteOffset - ETHERNET_HEADER_LEN, ETHERNET_HEADER_LEN + payload.length);
  writeMac(f, 0, dst);
  writeMac(f, 6, src);
  f[12] = etherType >>> 8;
  f[13] = etherType & 0xff;
  return f;
}

/**
 * A FRAME payload (network id, ethertype, data) made inside an Ethernet frame: the network id
 * overwrites bytes 4–11 (the MACs' tail), the ethertype and data stay where they are.
 */
export function frameInEthernet(networkId: Uint8Array, frame: Buffer): Buffer {
  const payload = frame.subarray(ETHERNET_HEADER_LEN - FRAME_HEADER_LENGTH);
  payload.set(networkId.subarray(0, 8), 0);
  return payload;
}

/** The target IPv4 address (host order) of an ARP request for IPv4 over Ethernet, else null. */
export function arpRequestTarget(payload: Uint8Array): number | null {
  if (payload.length < 28) return null;
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  // htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request)
  if (dv.getUint16(0) !== 1 || dv.getUint16(2) !== ETHERTYPE_IPV4 || payload[4] !== 6 || payload[5] !== 4 || dv.getUint16(6) !== 1) return null;
  return dv.getUint32(24);
}
