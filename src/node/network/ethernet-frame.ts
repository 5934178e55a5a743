/**
 * The Ethernet framing the overlay needs at the boundary with a network's stack: ZeroTier carries
 * frames without their 14-byte header (FRAME: ethertype + payload; the MACs are implied or given
 * separately), so frames are split on the way out and rebuilt on the way in. The header's layout
 * and the ARP codec are the netstack's.
 */
import { ARP_REQUEST, ArpPacket, ETH_HEADER_LEN, parseArp } from '../../netstack/index.js';
import { FRAME_HEADER_LENGTH } from '../wire/frame.js';

export interface EthernetView {
  dst: Buffer;
  src: Buffer;
  etherType: number;
  payload: Buffer;
}

/** Splits a frame; null when it is shorter than a header. */
export function splitFrame(frame: Buffer): EthernetView | null {
  if (frame.length < ETH_HEADER_LEN) return null;
  return {
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    etherType: frame.readUInt16BE(12),
    payload: frame.subarray(ETH_HEADER_LEN),
  };
}

export function buildFrame(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(ETH_HEADER_LEN + payload.length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  f.writeUInt16BE(etherType, 12);
  f.set(payload, ETH_HEADER_LEN);
  return f;
}

/**
 * buildFrame without the copy: the header goes into the 14 bytes right before the payload
 * (`body` from `dataStart` on) in its buffer, which the caller guarantees are free.
 */
export function frameAroundPayload(dst: Uint8Array, src: Uint8Array, etherType: number, body: Uint8Array, dataStart = 0): Buffer {
  const f = Buffer.from(body.buffer, body.byteOffset + dataStart - ETH_HEADER_LEN, ETH_HEADER_LEN + body.length - dataStart);
  for (let i = 0; i < 6; i++) {
    f[i] = dst[i]!;
    f[6 + i] = src[i]!;
  }
  f[12] = etherType >>> 8;
  f[13] = etherType & 0xff;
  return f;
}

/**
 * A FRAME payload (network id, ethertype, data) made inside an Ethernet frame: the network id
 * overwrites bytes 4–11 (the MACs' tail), the ethertype and data stay where they are.
 */
export function frameInEthernet(networkId: Uint8Array, frame: Buffer): Buffer {
  const payload = frame.subarray(ETH_HEADER_LEN - FRAME_HEADER_LENGTH);
  payload.set(networkId.subarray(0, 8), 0);
  return payload;
}

/** Scratch for arpRequestTarget (synchronous, so no call can interleave another). */
const arp = new ArpPacket();

/** The target IPv4 address (host order) of an ARP request for IPv4 over Ethernet, else null. */
export function arpRequestTarget(payload: Buffer): number | null {
  if (parseArp(payload, arp) !== 0 || arp.op !== ARP_REQUEST) return null;
  return arp.targetIp;
}
