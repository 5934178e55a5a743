/**
 * Comparison of secret-dependent bytes (MACs, tags) in time that depends only on the length, so a
 * forger learns nothing from how fast a wrong MAC is rejected.
 */

/** True when a[aOffset, aOffset+length) equals b[bOffset, bOffset+length); false when either range is out of bounds. */
export function constantTimeEqual(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, length: number): boolean {
  if (aOffset < 0 || bOffset < 0 || aOffset + length > a.length || bOffset + length > b.length) return false;
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= a[aOffset + i]! ^ b[bOffset + i]!;
  return diff === 0;
}
