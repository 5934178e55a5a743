/**
 * Out-of-order segments waiting for the hole before them to fill (receiver side), kept sorted by
 * sequence number and non-overlapping, plus the merged ranges they cover for SACK generation
 * (RFC 2018). Sequence numbers are compared relative to the caller's RCV.NXT.
 */
import { seqDiff } from './seq.js';

export class Reassembly {
  private segSeq: number[] = [];
  private segData: Buffer[] = [];
  /** Merged ranges (left, right) sorted ascending. */
  private ranges: number[] = [];
  /** Bytes held. */
  bytes = 0;
  /** Left edge of the range containing the most recent arrival (for SACK block order), or -1. */
  private recentLeft = -1;
  /** Sequence number of an out-of-order FIN, or -1. */
  finSeq = -1;

  get empty(): boolean {
    return this.segSeq.length === 0;
  }

  get count(): number {
    return this.segSeq.length;
  }

  /**
   * Stores data at `seq` (> rcvNxt). Parts already held are dropped (first copy wins).
   * Returns the number of new bytes stored.
   */
  insert(seq: number, data: Buffer, rcvNxt: number): number {
    let s = seqDiff(seq, rcvNxt);
    const e = s + data.length;
    if (e <= 0) return 0;
    let dataOff = 0;
    if (s < 0) {
      dataOff = -s;
      s = 0;
    }
    const segs = this.segSeq;
    // find first index whose end > s
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ms = seqDiff(segs[mid]!, rcvNxt);
      if (ms + this.segData[mid]!.length <= s) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let stored = 0;
    let cur = s;
    while (cur < e) {
      if (i < segs.length) {
        const ns = seqDiff(segs[i]!, rcvNxt);
        const ne = ns + this.segData[i]!.length;
        if (ns <= cur) {
          cur = ne;
          i++;
          continue;
        }
        const pieceEnd = ns < e ? ns : e;
        const piece = data.subarray(dataOff + (cur - s), dataOff + (pieceEnd - s));
        segs.splice(i, 0, (rcvNxt + cur) >>> 0);
        this.segData.splice(i, 0, piece);
        stored += piece.length;
        i++;
        cur = pieceEnd;
      } else {
        const piece = data.subarray(dataOff + (cur - s), dataOff + (e - s));
        segs.push((rcvNxt + cur) >>> 0);
        this.segData.push(piece);
        stored += piece.length;
        cur = e;
      }
    }
    this.bytes += stored;
    this.addRange((rcvNxt + s) >>> 0, (rcvNxt + e) >>> 0, rcvNxt);
    return stored;
  }

  private addRange(left: number, right: number, base: number): void {
    const r = this.ranges;
    const l = seqDiff(left, base);
    const rr = seqDiff(right, base);
    let i = 0;
    while (i < r.length && seqDiff(r[i + 1]!, base) < l) i += 2;
    let nl = l;
    let nr = rr;
    let j = i;
    while (j < r.length && seqDiff(r[j]!, base) <= nr) {
      const a = seqDiff(r[j]!, base);
      const b = seqDiff(r[j + 1]!, base);
      if (a < nl) nl = a;
      if (b > nr) nr = b;
      j += 2;
    }
    r.splice(i, j - i, (base + nl) >>> 0, (base + nr) >>> 0);
    this.recentLeft = (base + nl) >>> 0;
  }

  /**
   * Takes the segments that are now in order at `rcvNxt`, calling `out` for each piece. Returns the
   * new rcvNxt.
   */
  drain(rcvNxt: number, out: (b: Buffer) => void): number {
    let nxt = rcvNxt;
    let n = 0;
    const segs = this.segSeq;
    while (n < segs.length) {
      const d = seqDiff(segs[n]!, nxt);
      if (d > 0) break;
      const data = this.segData[n]!;
      const skip = -d;
      if (skip < data.length) {
        out(skip === 0 ? data : data.subarray(skip));
        nxt = (nxt + data.length - skip) >>> 0;
      }
      this.bytes -= data.length;
      n++;
    }
    if (n > 0) {
      segs.splice(0, n);
      this.segData.splice(0, n);
    }
    // drop ranges now below nxt
    const r = this.ranges;
    let k = 0;
    while (k < r.length && seqDiff(r[k + 1]!, nxt) <= 0) k += 2;
    if (k > 0) r.splice(0, k);
    if (r.length > 0 && seqDiff(r[0]!, nxt) < 0) r[0] = nxt;
    return nxt;
  }

  /**
   * Writes up to `max` SACK blocks into `dst` (pairs), the block with the latest arrival first,
   * then the others from the lowest. Returns the count.
   */
  sackBlocks(dst: Uint32Array, dstIndex: number, max: number): number {
    const r = this.ranges;
    if (r.length === 0 || max <= 0) return 0;
    let c = 0;
    let recentIdx = -1;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i] === this.recentLeft) {
        recentIdx = i;
        break;
      }
    }
    if (recentIdx >= 0) {
      dst[2 * (dstIndex + c)] = r[recentIdx]!;
      dst[2 * (dstIndex + c) + 1] = r[recentIdx + 1]!;
      c++;
    }
    for (let i = 0; i < r.length && c < max; i += 2) {
      if (i === recentIdx) continue;
      dst[2 * (dstIndex + c)] = r[i]!;
      dst[2 * (dstIndex + c) + 1] = r[i + 1]!;
      c++;
    }
    return c;
  }

  clear(): void {
    this.segSeq = [];
    this.segData = [];
    this.ranges = [];
    this.bytes = 0;
    this.finSeq = -1;
    this.recentLeft = -1;
  }
}
