/** ZeroTier addresses (40 bits) and network ids (64 bits) as bigints, with their text forms. */

export const ADDRESS_LENGTH = 5;

/** The address in b[at, at + 5), big-endian. */
export function readAddress(b: Uint8Array, at: number): bigint {
  // 40 bits are exact in a double: one BigInt conversion instead of one per byte
  return BigInt(readAddressNumber(b, at));
}

/**
 * The address in b[at, at + 5) as a number (40 bits are exact in a double): for comparing the
 * addresses of every packet with a known one without making a bigint.
 */
export function readAddressNumber(b: Uint8Array, at: number): number {
  return b[at]! * 0x100000000 + ((b[at + 1]! << 24) >>> 0) + (b[at + 2]! << 16) + (b[at + 3]! << 8) + b[at + 4]!;
}

/** Writes the address into b[at, at + 5), big-endian. */
export function writeAddress(b: Uint8Array, at: number, a: bigint): void {
  // in range (as addresses are), no bigint is made: Number() of the value itself
  const n = a >= 0n && a <= 0xffffffffffn ? Number(a) : Number(BigInt.asUintN(40, a));
  const lo = n >>> 0;
  b[at] = Math.floor(n / 0x100000000) & 0xff;
  b[at + 1] = lo >>> 24;
  b[at + 2] = (lo >>> 16) & 0xff;
  b[at + 3] = (lo >>> 8) & 0xff;
  b[at + 4] = lo & 0xff;
}

export function formatAddress(a: bigint): string {
  return a.toString(16).padStart(10, '0');
}

/** Parses 10 hex digits; null otherwise. */
export function parseAddress(text: string): bigint | null {
  return /^[0-9a-fA-F]{10}$/.test(text) ? BigInt(`0x${text}`) : null;
}

export function formatNetworkId(nwid: bigint): string {
  return nwid.toString(16).padStart(16, '0');
}

export function parseNetworkId(text: string): bigint | null {
  return /^[0-9a-fA-F]{16}$/.test(text) ? BigInt(`0x${text}`) : null;
}

/** The controller of a network is the node whose address is the network id's top 40 bits. */
export function controllerOf(nwid: bigint): bigint {
  return (nwid >> 24n) & 0xffffffffffn;
}
