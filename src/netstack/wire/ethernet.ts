/**
 * Ethernet II header codec (IEEE 802.3 / RFC 894), zero-copy: reads and writes in place.
 * Parsing never throws; it returns 0 or a negative `EthernetParseError` the caller counts.
 */
export const ETH_HEADER_LEN = 14;
export const ETH_ADDR_LEN = 6;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export const enum EthernetParseError {
  Ok = 0,
  Truncated = -1,
}

/** One parsed frame header. Reused across frames: copy what you keep. */
export class EthernetHeader {
  etherType = 0;
  /** Destination is ff:ff:ff:ff:ff:ff. */
  broadcast = false;
  /** Destination has the group bit set (includes broadcast). */
  multicast = false;
}

export function parseEthernet(buf: Uint8Array, out: EthernetHeader): number {
  if (buf.length < ETH_HEADER_LEN) return EthernetParseError.Truncated;
  out.etherType = (buf[12]! << 8) | buf[13]!;
  out.multicast = (buf[0]! & 1) === 1;
  out.broadcast = out.multicast && isBroadcastMacAt(buf, 0);
  return EthernetParseError.Ok;
}

export function isBroadcastMacAt(buf: Uint8Array, off: number): boolean {
  return (buf[off]! & buf[off + 1]! & buf[off + 2]! & buf[off + 3]! & buf[off + 4]! & buf[off + 5]!) === 0xff;
}

/** True when buf[off, off+6) equals `mac`. */
export function macEqualsAt(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return (
    buf[off] === mac[0] &&
    buf[off + 1] === mac[1] &&
    buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] &&
    buf[off + 4] === mac[4] &&
    buf[off + 5] === mac[5]
  );
}

/** Copies a 6-byte address to buf[off, off+6). */
export function writeMacAt(buf: Uint8Array, off: number, mac: Uint8Array): void {
  buf[off] = mac[0]!;
  buf[off + 1] = mac[1]!;
  buf[off + 2] = mac[2]!;
  buf[off + 3] = mac[3]!;
  buf[off + 4] = mac[4]!;
  buf[off + 5] = mac[5]!;
}

/** Writes an Ethernet II header at buf[off, off+14). */
export function emitEthernetHeader(buf: Uint8Array, off: number, dst: Uint8Array, src: Uint8Array, etherType: number): void {
  writeMacAt(buf, off, dst);
  writeMacAt(buf, off + 6, src);
  buf[off + 12] = etherType >>> 8;
  buf[off + 13] = etherType & 0xff;
}
