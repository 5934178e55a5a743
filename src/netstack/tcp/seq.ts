/** Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Values are unsigned 32-bit numbers. */

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** a - b as a signed 32-bit distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGeq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/** True when lo <= x < hi (mod 2^32). */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return ((x - lo) | 0) >= 0 && ((x - hi) | 0) < 0;
}

/**
 * In records kept in send order (each ending at `end`), from index `from` on: the index of the
 * first one ending after `seq` (binary search; `records.length` when none does).
 */
export function firstEndingAfter(records: readonly { end: number }[], from: number, seq: number): number {
  let lo = from;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqLeq(records[mid]!.end, seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
