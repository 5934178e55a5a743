/**
 * The sender's record of every segment in flight, for RACK-TLP (RFC 8985) and F-RTO (RFC 5682):
 * when each was last sent, whether it was ever retransmitted, and whether it is SACKed, marked
 * lost, or has a retransmission in flight (Linux's TCPCB_SACKED_ACKED / LOST / SACKED_RETRANS).
 *
 * Records are kept twice: in sequence order (an array with a moving head, for the cumulative ACK
 * and SACK blocks) and in transmit-time order (a linked list, Linux's tsorted_sent_queue), from
 * which records leave when SACKed, ACKed or marked lost and to whose tail a retransmission moves
 * its record. RACK's loss detection walks that list from the oldest send and stops at the first
 * record sent after the most recently delivered one, so an ACK costs what it changes, not the flight.
 */
import { firstEndingAfter, seqAdd, seqDiff, seqGt, seqLeq, seqLt } from './seq.js';

/** One segment's worth of sequence space [start, end) (a FIN counts one) and its state. */
export interface SentRecord {
  start: number;
  end: number;
  /** When it was last sent, ms, and our timestamp value then (0 without timestamps). */
  xmit: number;
  ts: number;
  /** Sent more than once (an RTT measured from it is ambiguous). */
  retransmitted: boolean;
  sacked: boolean;
  lost: boolean;
  /** A retransmission of it is in flight (counted in pipe again). */
  inRtx: boolean;
  prev: SentRecord | null;
  next: SentRecord | null;
  /** In the transmit-time list. */
  linked: boolean;
}

export class SentSegments {
  private segs: SentRecord[] = [];
  private head = 0;
  /** The transmit-time list: oldest send first. */
  oldest: SentRecord | null = null;
  private newest: SentRecord | null = null;
  /** Bytes of unSACKed records marked lost, and of those with a retransmission in flight. */
  lostBytes = 0;
  rtxBytes = 0;
  /** Bytes marked lost that have no retransmission in flight yet (what NextSeg looks for). */
  private lostPending = 0;
  /** No lost-and-unsent record lies below this index (a hint for `firstLostPending`). */
  private lostHint = 0;
  /** Every byte ever marked lost (what BBR's loss accounting reads differences of). */
  lostTotal = 0;

  clear(): void {
    this.segs = [];
    this.head = 0;
    this.oldest = this.newest = null;
    this.lostBytes = this.rtxBytes = this.lostPending = 0;
    this.lostHint = 0;
  }

  get size(): number {
    return this.segs.length - this.head;
  }

  /** New data [start, end) sent at `now` (always at SND.NXT, so it goes last in both orders). */
  onSend(start: number, end: number, now: number, ts: number): void {
    const segs = this.segs;
    const last = segs.length > this.head ? segs[segs.length - 1]! : null;
    if (last !== null && seqGt(last.end, start)) {
      this.onRetransmit(start, end, now, ts);
      return;
    }
    const r: SentRecord = {
      start,
      end,
      xmit: now,
      ts,
      retransmitted: false,
      sacked: false,
      lost: false,
      inRtx: false,
      prev: null,
      next: null,
      linked: false,
    };
    segs.push(r);
    this.link(r);
  }

  /** [start, end) sent again at `now`: its records are in flight again, newest in time. */
  onRetransmit(start: number, end: number, now: number, ts: number): void {
    let i = this.split(start);
    this.split(end);
    const segs = this.segs;
    for (; i < segs.length; i++) {
      const r = segs[i]!;
      if (!seqLt(r.start, end)) break;
      if (r.sacked) continue;
      r.xmit = now;
      r.ts = ts;
      r.retransmitted = true;
      if (r.lost && !r.inRtx) this.lostPending -= this.len(r);
      if (!r.inRtx) {
        r.inRtx = true;
        this.rtxBytes += this.len(r);
      }
      this.unlink(r);
      this.link(r);
    }
  }

  /** The cumulative ACK reached `ack`: `each` sees every record it delivers that was not SACKed before. */
  ackTo(ack: number, each: (r: SentRecord) => void): void {
    const segs = this.segs;
    this.split(ack);
    while (this.head < segs.length && seqLeq(segs[this.head]!.end, ack)) {
      const r = segs[this.head]!;
      if (!r.sacked) {
        this.forget(r);
        each(r);
      }
      this.head++;
    }
    if (this.lostHint < this.head) this.lostHint = this.head;
    if (this.head > 1024 && this.head * 2 > segs.length) {
      this.segs = segs.slice(this.head);
      this.lostHint -= this.head;
      this.head = 0;
    }
  }

  /** [left, right) is SACKed: `each` sees every record inside it that was not SACKed before. */
  sackRange(left: number, right: number, each: (r: SentRecord) => void): void {
    const segs = this.segs;
    for (let i = this.find(left); i < segs.length; i++) {
      const r = segs[i]!;
      if (seqGt(r.end, right)) break;
      if (r.sacked || seqLt(r.start, left)) continue;
      this.forget(r);
      r.sacked = true;
      each(r);
    }
  }

  /** Marks a record lost (RACK found it so): it leaves the time list until it is retransmitted. */
  markLost(r: SentRecord): void {
    const n = this.len(r);
    const wasPending = r.lost && !r.inRtx;
    if (r.inRtx) {
      r.inRtx = false;
      this.rtxBytes -= n;
    }
    if (!r.lost) {
      r.lost = true;
      this.lostBytes += n;
      this.lostTotal += n;
    }
    if (!wasPending) this.lostPending += n;
    this.unlink(r);
    const i = this.find(r.start);
    if (i < this.lostHint) this.lostHint = i;
  }

  /** An RTO (or a smaller path MTU): everything not SACKed is lost, nothing is being resent. */
  markAllLost(): void {
    const segs = this.segs;
    for (let i = this.head; i < segs.length; i++) {
      const r = segs[i]!;
      if (!r.sacked) this.markLost(r);
    }
    this.lostHint = this.head;
  }

  /**
   * The losses proved needless (an undo): no record is lost any more; those waiting to be resent
   * go back into the transmit-time list where their last send puts them.
   */
  unmarkLost(): void {
    const segs = this.segs;
    const waiting: SentRecord[] = [];
    for (let i = this.head; i < segs.length; i++) {
      const r = segs[i]!;
      if (r.lost && !r.inRtx && !r.sacked) waiting.push(r);
      r.lost = false;
    }
    this.lostBytes = this.lostPending = 0;
    if (waiting.length === 0) return;
    // rebuild the list in transmit-time order (rare: once per undo)
    const all: SentRecord[] = waiting;
    for (let r = this.oldest; r !== null; r = r.next) all.push(r);
    all.sort((a, b) => a.xmit - b.xmit || seqDiff(a.start, b.start));
    this.oldest = this.newest = null;
    for (const r of all) this.link(r);
  }

  /** The lowest lost record without a retransmission in flight, or null. */
  firstLostPending(): SentRecord | null {
    if (this.lostPending <= 0) return null;
    const segs = this.segs;
    for (let i = Math.max(this.lostHint, this.head); i < segs.length; i++) {
      const r = segs[i]!;
      if (r.lost && !r.inRtx && !r.sacked) {
        this.lostHint = i;
        return r;
      }
    }
    this.lostHint = segs.length;
    return null;
  }

  /** End of the run of lost, unsent records starting at the one holding `s` (at most `limit`). */
  lostRunEnd(s: number, limit: number): number {
    const segs = this.segs;
    let end = s;
    for (let i = this.find(s); i < segs.length; i++) {
      const r = segs[i]!;
      if (r.start !== end && seqGt(r.start, end)) break;
      if (!r.lost || r.inRtx || r.sacked) break;
      end = r.end;
      if (!seqLt(end, limit)) return limit;
    }
    return seqGt(end, s) ? end : seqAdd(s, 1);
  }

  private len(r: SentRecord): number {
    return seqDiff(r.end, r.start);
  }

  /** A record leaves every count (delivered). */
  private forget(r: SentRecord): void {
    const n = this.len(r);
    if (r.lost) {
      this.lostBytes -= n;
      if (!r.inRtx) this.lostPending -= n;
    }
    if (r.inRtx) this.rtxBytes -= n;
    r.lost = false;
    r.inRtx = false;
    this.unlink(r);
  }

  /** Splits the record holding `seq` so that one starts there; returns the index of the first record at or after `seq`. */
  private split(seq: number): number {
    const segs = this.segs;
    const i = this.find(seq);
    if (i >= segs.length) return i;
    const r = segs[i]!;
    if (!seqLt(r.start, seq)) return i;
    const tail: SentRecord = { ...r, start: seq, prev: null, next: null, linked: false };
    r.end = seq;
    segs.splice(i + 1, 0, tail);
    if (r.linked) this.linkAfter(r, tail);
    if (this.lostHint > i) this.lostHint = i;
    return i + 1;
  }

  /** Index of the first kept record ending after `seq`. */
  private find(seq: number): number {
    return firstEndingAfter(this.segs, this.head, seq);
  }

  private link(r: SentRecord): void {
    r.prev = this.newest;
    r.next = null;
    if (this.newest) this.newest.next = r;
    else this.oldest = r;
    this.newest = r;
    r.linked = true;
  }

  private linkAfter(a: SentRecord, r: SentRecord): void {
    r.prev = a;
    r.next = a.next;
    if (a.next) a.next.prev = r;
    else this.newest = r;
    a.next = r;
    r.linked = true;
  }

  private unlink(r: SentRecord): void {
    if (!r.linked) return;
    if (r.prev) r.prev.next = r.next;
    else this.oldest = r.next;
    if (r.next) r.next.prev = r.prev;
    else this.newest = r.prev;
    r.prev = r.next = null;
    r.linked = false;
  }
}
