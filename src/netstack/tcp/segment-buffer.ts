/**
 * Memory for outgoing segments: carved from 64 KiB slabs (never reused: each segment gets fresh
 * bytes, because the link may still hold the previous ones), cheaper than an allocation each.
 */
const SLAB = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabOff = 0;

export function allocSegment(n: number): Buffer {
  if (n > SLAB >>> 2) return Buffer.allocUnsafeSlow(n);
  if (slabOff + n > SLAB) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabOff = 0;
  }
  const b = slab.subarray(slabOff, slabOff + n);
  slabOff = (slabOff + n + 7) & ~7;
  return b;
}
