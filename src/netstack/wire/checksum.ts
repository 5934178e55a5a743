/**
 * The Internet checksum (RFC 1071) with incremental update (RFC 1624).
 *
 * `sum16` returns the unfolded 32-bit-safe running sum so callers can chain a pseudo-header,
 * a header and a payload without copying; `finish` folds and complements it.
 */

/** Adds the 16-bit big-endian words of buf[start, end) to `acc` (an odd trailing byte is padded). */
export function sum16(buf: Uint8Array, start = 0, end = buf.length, acc = 0): number {
  let s = acc;
  let i = start;
  // Sum 4 bytes at a time into two independent 16-bit lanes; fold every so often so the JS
  // number stays an exact integer (well below 2^53).
  const end4 = end - ((end - i) & 3);
  let n = 0;
  while (i < end4) {
    s += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!);
    i += 4;
    if (++n === 1 << 20) {
      s = (s & 0xffff) + Math.floor(s / 65536);
      n = 0;
    }
  }
  if (i + 1 < end) {
    s += (buf[i]! << 8) | buf[i + 1]!;
    i += 2;
  }
  if (i < end) s += buf[i]! << 8;
  return s;
}

/** A drop-in for `fastSum16` (same result), e.g. native code the host installs. */
export type Sum16Function = (buf: Uint8Array, start: number, end: number) => number;

let accelerated: Sum16Function | null = null;
/** Ranges shorter than this stay in TypeScript: a call out costs more than it saves. */
const ACCELERATE_FROM = 256;

/**
 * Installs a faster `fastSum16` for the whole process (the daemon installs the binding's native
 * one); null goes back to the TypeScript loop.
 */
export function setSum16Accelerator(fn: Sum16Function | null): void {
  accelerated = fn;
}

/**
 * The same running sum as `sum16` (folded to at most 17 bits), computed four bytes
 * at a time through a Uint32Array view: the one's-complement sum is byte-order independent, so
 * the little-endian words are summed and the folded result byte-swapped (RFC 1071 §2(B)).
 */
let cacheAb0: ArrayBufferLike | null = null;
let cacheAb1: ArrayBufferLike | null = null;
let cacheU32a: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
let cacheU32b: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

export function fastSum16(buf: Buffer, start: number, end: number): number {
  if (accelerated !== null && end - start >= ACCELERATE_FROM) return accelerated(buf, start, end);
  return typeScriptSum16(buf, start, end);
}

function typeScriptSum16(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  const abs = buf.byteOffset + start;
  if (len < 64 || abs & 1) return sum16(buf, start, end);
  let i = start;
  let s = 0;
  if (abs & 2) {
    s += buf[i]! | (buf[i + 1]! << 8);
    i += 2;
  }
  const n = (end - i) >>> 2;
  // one Uint32Array per underlying ArrayBuffer (segments are often carved from one slab)
  const ab = buf.buffer;
  let u32: Uint32Array<ArrayBufferLike>;
  if (ab === cacheAb0) u32 = cacheU32a;
  else if (ab === cacheAb1) u32 = cacheU32b;
  else {
    u32 = new Uint32Array(ab, 0, ab.byteLength >>> 2);
    cacheAb1 = cacheAb0;
    cacheU32b = cacheU32a;
    cacheAb0 = ab;
    cacheU32a = u32;
  }
  let k = (buf.byteOffset + i) >>> 2;
  const stop = k + n;
  const n4 = stop - (n & 3);
  let fold = 0;
  while (k < n4) {
    // four words per step; each < 2^32, the sum of a packet stays far below 2^53
    s += u32[k]! + u32[k + 1]! + u32[k + 2]! + u32[k + 3]!;
    k += 4;
    if (++fold === 1 << 18) {
      s = (s % 4294967296) + Math.floor(s / 4294967296);
      fold = 0;
    }
  }
  while (k < stop) s += u32[k++]!;
  i += n << 2;
  if (i + 1 < end) {
    s += buf[i]! | (buf[i + 1]! << 8);
    i += 2;
  }
  if (i < end) s += buf[i]!;
  // fold to 16 bits (little-endian lanes), then swap to network order
  s = (s % 65536) + Math.floor(s / 65536);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ((s & 0xff) << 8) | (s >>> 8);
}

/** Folds a running sum to 16 bits and complements it. */
export function finish(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

/** Checksum of buf[start, end). */
export function checksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return finish(sum16(buf, start, end));
}

/** Running sum of the IPv4 pseudo-header used by TCP and UDP. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * Running sum of the IPv6 pseudo-header (RFC 8200 §8.1) used by TCP, UDP and ICMPv6: both
 * addresses (the stack's 32 hex digits), the upper-layer length and the next header.
 */
export function pseudoHeaderSum6(src: string, dst: string, protocol: number, length: number): number {
  return protocol + (length >>> 16) + (length & 0xffff) + ipv6AddrSum(src) + ipv6AddrSum(dst);
}

/** Running sum of an address's eight 16-bit words, read from its hex digits (per packet: no substrings made). */
function ipv6AddrSum(addr: string): number {
  let s = 0;
  for (let i = 0; i < 32; i += 4)
    s += (hexDigit(addr, i) << 12) | (hexDigit(addr, i + 1) << 8) | (hexDigit(addr, i + 2) << 4) | hexDigit(addr, i + 3);
  return s;
}

/** The value of the lowercase hex digit at addr[i]. */
function hexDigit(addr: string, i: number): number {
  const c = addr.charCodeAt(i);
  return c <= 57 ? c - 48 : c - 87;
}

/** The pseudo-header sum of either family (a number is IPv4, a string IPv6); IPv4 stays the cheap path. */
export function ipPseudoHeaderSum(src: number | string, dst: number | string, protocol: number, length: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return pseudoHeaderSum(src, dst, protocol, length);
  return pseudoHeaderSum6(String(src), String(dst), protocol, length);
}

/**
 * RFC 1624 incremental update: the new checksum after a 16-bit field changes from `oldWord` to
 * `newWord`, without re-summing the packet.
 */
export function updateChecksum16(oldChecksum: number, oldWord: number, newWord: number): number {
  let s = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Incremental update for a 32-bit field (two words), e.g. an address rewrite. */
export function updateChecksum32(oldChecksum: number, oldValue: number, newValue: number): number {
  const c = updateChecksum16(oldChecksum, oldValue >>> 16, newValue >>> 16);
  return updateChecksum16(c, oldValue & 0xffff, newValue & 0xffff);
}
