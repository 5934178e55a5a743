/**
 * Sender-side SACK scoreboard (RFC 2018, RFC 6675): the merged ranges above SND.UNA the receiver
 * reported holding, with the loss estimate used for recovery (IsLost, NextSeg, pipe).
 */
import { seqDiff } from './seq.js';

export const DUP_THRESH = 3;

export class SackScoreboard {
  /** Merged SACKed ranges (left, right), ascending. */
  private r: number[] = [];
  sacked = 0;

  get empty(): boolean {
    return this.r.length === 0;
  }

  /** Highest SACKed sequence (right edge), or `una` when none. */
  highest(una: number): number {
    return this.r.length > 0 ? this.r[this.r.length - 1]! : una;
  }

  /** Adds a block already validated to lie in (una, sndMax]. Returns true if it added new bytes. */
  add(left: number, right: number, una: number): boolean {
    const r = this.r;
    const l = seqDiff(left, una);
    const rr = seqDiff(right, una);
    if (rr <= l) return false;
    let i = 0;
    while (i < r.length && seqDiff(r[i + 1]!, una) < l) i += 2;
    let nl = l;
    let nr = rr;
    let j = i;
    let covered = 0;
    while (j < r.length && seqDiff(r[j]!, una) <= nr) {
      const a = seqDiff(r[j]!, una);
      const b = seqDiff(r[j + 1]!, una);
      covered += b - a;
      if (a < nl) nl = a;
      if (b > nr) nr = b;
      j += 2;
    }
    const added = nr - nl - covered;
    if (added <= 0) return false;
    r.splice(i, j - i, (una + nl) >>> 0, (una + nr) >>> 0);
    this.sacked += added;
    return true;
  }

  /** The cumulative ACK moved to `una`: forget everything below it. */
  advance(una: number): void {
    const r = this.r;
    let k = 0;
    while (k < r.length && seqDiff(r[k + 1]!, una) <= 0) {
      this.sacked -= seqDiff(r[k + 1]!, r[k]!);
      k += 2;
    }
    if (k > 0) r.splice(0, k);
    if (r.length > 0 && seqDiff(r[0]!, una) < 0) {
      this.sacked -= seqDiff(una, r[0]!);
      r[0] = una;
    }
  }

  /** If `seq` lies inside a SACKed range, the end of that range; else `seq`. */
  skipSacked(seq: number): number {
    const r = this.r;
    for (let i = 0; i < r.length; i += 2) {
      if (seqDiff(seq, r[i]!) < 0) return seq;
      if (seqDiff(seq, r[i + 1]!) < 0) return r[i + 1]!;
    }
    return seq;
  }

  /** Start of the next SACKed range at or above `seq`, or `limit`. */
  nextSackedStart(seq: number, limit: number): number {
    const r = this.r;
    for (let i = 0; i < r.length; i += 2) {
      if (seqDiff(r[i + 1]!, seq) > 0) {
        const s = seqDiff(r[i]!, seq) > 0 ? r[i]! : seq;
        return seqDiff(s, limit) < 0 ? s : limit;
      }
    }
    return limit;
  }

  /**
   * RFC 6675 IsLost as an edge: every unSACKed byte below the returned sequence has at least
   * DupThresh discontiguous SACKed ranges or more than (DupThresh-1)*MSS SACKed bytes above it.
   * Returns `una` when nothing is lost.
   */
  lossEdge(una: number, mss: number, dupThresh = DUP_THRESH): number {
    const r = this.r;
    let bytes = 0;
    let count = 0;
    for (let i = r.length - 2; i >= 0; i -= 2) {
      bytes += seqDiff(r[i + 1]!, r[i]!);
      count++;
      if (count >= dupThresh || bytes > (dupThresh - 1) * mss) return r[i]!;
    }
    return una;
  }

  /** UnSACKed bytes in [from, to). */
  holeBytes(from: number, to: number): number {
    const span = seqDiff(to, from);
    if (span <= 0) return 0;
    let inside = 0;
    const r = this.r;
    for (let i = 0; i < r.length; i += 2) {
      let a = seqDiff(r[i]!, from);
      let b = seqDiff(r[i + 1]!, from);
      if (b <= 0) continue;
      if (a >= span) break;
      if (a < 0) a = 0;
      if (b > span) b = span;
      inside += b - a;
    }
    return span - inside;
  }

  clear(): void {
    this.r = [];
    this.sacked = 0;
  }
}
