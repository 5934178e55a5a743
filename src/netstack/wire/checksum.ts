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
