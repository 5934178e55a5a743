/**
 * A member's Ethernet address on a network, derived as ZeroTier does so that every member can map
 * a MAC back to the overlay address without asking: first octet from the network id's low byte
 * (locally administered, unicast), then the 40-bit address XORed with network id bytes 1..5.
 */

/** The first MAC octet ZeroTier uses on network `nwid`. */
export function firstOctetForNetwork(nwid: bigint): number {
  const a = (Number(nwid & 0xfen) | 0x02) & 0xff;
  // 0x52 is avoided: it is what QEMU/KVM use for their own virtual NICs
  return a === 0x52 ? 0x32 : a;
}

/** The 48-bit MAC of ZeroTier address `address` (40 bits) on network `nwid`, as a bigint. */
export function macIntForMember(address: bigint, nwid: bigint): bigint {
  let m = (BigInt(firstOctetForNetwork(nwid)) << 40n) | (address & 0xffffffffffn);
  m ^= ((nwid >> 8n) & 0xffn) << 32n;
  m ^= ((nwid >> 16n) & 0xffn) << 24n;
  m ^= ((nwid >> 24n) & 0xffn) << 16n;
  m ^= ((nwid >> 32n) & 0xffn) << 8n;
  m ^= (nwid >> 40n) & 0xffn;
  return m;
}

/** The 6-byte MAC of a member. */
export function macForMember(address: bigint, nwid: bigint): Buffer {
  return macToBytes(macIntForMember(address, nwid));
}

/** The ZeroTier address a MAC on `nwid` belongs to, or null when the MAC is not derived from one. */
export function addressFromMac(mac: Uint8Array, nwid: bigint): bigint | null {
  if (mac.length < 6 || mac[0] !== firstOctetForNetwork(nwid)) return null;
  let m = macFromBytes(mac);
  m ^= ((nwid >> 8n) & 0xffn) << 32n;
  m ^= ((nwid >> 16n) & 0xffn) << 24n;
  m ^= ((nwid >> 24n) & 0xffn) << 16n;
  m ^= ((nwid >> 32n) & 0xffn) << 8n;
  m ^= (nwid >> 40n) & 0xffn;
  const addr = m & 0xffffffffffn;
  if (addr === 0n || addr >> 32n === 0xffn) return null;
  return addr;
}

export function macToBytes(m: bigint): Buffer {
  const b = Buffer.alloc(6);
  writeMac(b, 0, m);
  return b;
}

/** Writes a 48-bit MAC into b[off, off + 6). */
export function writeMac(b: Buffer, off: number, mac: bigint): void {
  // 48 bits are exact in a double: one conversion, no intermediate BigInts
  const n = Number(mac & 0xffffffffffffn);
  const hi = Math.floor(n / 0x100000000);
  b[off] = hi >>> 8;
  b[off + 1] = hi & 0xff;
  b.writeUInt32BE(n >>> 0, off + 2);
}

export function macFromBytes(mac: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < 6; i++) v = (v << 8n) | BigInt(mac[i]!);
  return v;
}

export function isBroadcastMac(mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (mac[i] !== 0xff) return false;
  return true;
}

/** Group bit: multicast and broadcast destinations. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return (mac[0]! & 0x01) !== 0;
}
