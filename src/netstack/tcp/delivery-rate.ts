/**
 * Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation, as Linux's tcp_rate.c):
 * every transmitted segment remembers how much had been delivered, and when, at the time it was
 * sent; when the peer acknowledges it (cumulatively or by SACK), the data delivered since then
 * over the time it took gives one sample of the path's delivery rate. BBR's bandwidth model is
 * built from these samples.
 *
 * Segments are kept in sequence order (new data is always sent at SND.NXT); a retransmission
 * refreshes the snapshot of the segment it covers. A SACK block is walked from both of its edges
 * inwards until an already-SACKed segment, so blocks reported again and again cost nothing.
 * Times are in ms (fractional), amounts in bytes.
 */
import type { RateSample } from './congestion/congestion.js';
import type { TcpSegment } from '../wire/tcp.js';
import { firstEndingAfter, seqDiff, seqGt, seqLeq } from './seq.js';

/** One transmitted segment and the connection's delivery state when it was (last) sent. */
interface SentSegment {
  start: number;
  end: number;
  txTime: number;
  delivered: number;
  deliveredTime: number;
  firstTxTime: number;
  appLimited: boolean;
  retransmitted: boolean;
  sacked: boolean;
}

export class DeliveryRate {
  /** Bytes delivered so far (cumulatively ACKed or SACKed). */
  delivered = 0;
  /** When `delivered` last grew. */
  deliveredTime = 0;
  /** Send time of the most recently delivered segment (start of the current send interval). */
  private firstTxTime = 0;
  /** Non-zero while the application limits the flow: the delivered count at which that ends. */
  appLimitedUntil = 0;
  /** Lowest RTT of the samples so far (an interval shorter than this is not a usable sample). */
  minRtt = Infinity;
  /** The latest usable rate (bytes per ms) and whether it was app-limited, for TCP_INFO. */
  lastRate = 0;
  lastAppLimited = false;
  /** The latest sample (reused: no allocation per ACK). */
  readonly sample: RateSample = {
    delivered: 0,
    intervalMs: 0,
    rate: 0,
    rttMs: -1,
    priorDelivered: 0,
    appLimited: false,
    newlyDelivered: 0,
  };
  private segs: SentSegment[] = [];
  private head = 0;
  /** Best candidate of the ACK being processed (the most recently sent segment it delivered). */
  private best: SentSegment | null = null;
  private newly = 0;

  /** Forget everything (a new connection attempt). */
  reset(now: number): void {
    this.segs = [];
    this.head = 0;
    this.delivered = 0;
    this.deliveredTime = now;
    this.firstTxTime = now;
    this.appLimitedUntil = 0;
    this.minRtt = Infinity;
    this.lastRate = 0;
    this.lastAppLimited = false;
  }

  /** New data [start, end) sent at `now`; `outstanding` bytes were in flight before it. */
  onSend(start: number, end: number, now: number, outstanding: number): void {
    if (outstanding === 0) {
      // restarting from idle: the send interval starts now
      this.firstTxTime = now;
      this.deliveredTime = now;
    }
    const segs = this.segs;
    const last = segs.length > this.head ? segs[segs.length - 1]! : null;
    if (last !== null && seqGt(last.end, start)) {
      // a resend of data above the last record (after an RTO, SND.NXT moved back): refresh
      this.onRetransmit(start, end, now);
      return;
    }
    segs.push({
      start,
      end,
      txTime: now,
      delivered: this.delivered,
      deliveredTime: this.deliveredTime,
      firstTxTime: this.firstTxTime,
      appLimited: this.appLimitedUntil !== 0,
      retransmitted: false,
      sacked: false,
    });
  }

  /** [start, end) was sent again at `now`: the segments it covers take a fresh snapshot. */
  onRetransmit(start: number, end: number, now: number): void {
    let i = this.find(start);
    const segs = this.segs;
    for (; i < segs.length; i++) {
      const s = segs[i]!;
      if (!seqGt(end, s.start)) break;
      s.txTime = now;
      s.delivered = this.delivered;
      s.deliveredTime = this.deliveredTime;
      s.firstTxTime = this.firstTxTime;
      s.appLimited = this.appLimitedUntil !== 0;
      s.retransmitted = true;
    }
  }

  /** The sender ran out of data with room in cwnd: samples until it is all delivered are app-limited. */
  markAppLimited(inflight: number): void {
    this.appLimitedUntil = Math.max(1, this.delivered + inflight);
  }

  /**
   * Processes an ACK: the cumulative ACK `ack` and the SACK blocks of `seg`; `sackedTotal` is the
   * scoreboard's SACKed bytes after it, `ackedBytes` all bytes cumulatively ACKed so far. Returns the rate sample (its `delivered` is 0 when the
   * ACK delivered nothing; `rate` 0 when the interval is not usable).
   */
  onAck(ack: number, seg: TcpSegment, sackedTotal: number, ackedBytes: number, now: number): RateSample {
    this.best = null;
    this.newly = 0;
    const segs = this.segs;
    // cumulatively acknowledged segments
    while (this.head < segs.length && seqLeq(segs[this.head]!.end, ack)) {
      const s = segs[this.head]!;
      if (!s.sacked) this.consider(s);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > segs.length) {
      this.segs = segs.slice(this.head);
      this.head = 0;
    }
    for (let b = 0; b < seg.sackCount; b++) {
      const l = seg.sack[2 * b]!;
      const r = seg.sack[2 * b + 1]!;
      if (seqLeq(r, ack)) continue;
      this.sackBlock(l, r);
    }
    // delivered: what was ACKed cumulatively plus what is SACKed now
    const total = ackedBytes + sackedTotal;
    const rs = this.sample;
    rs.newlyDelivered = total > this.delivered ? total - this.delivered : 0;
    rs.delivered = 0;
    rs.rate = 0;
    rs.rttMs = -1;
    if (rs.newlyDelivered > 0) {
      this.delivered = total;
      this.deliveredTime = now;
    }
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    const p = this.best as SentSegment | null; // set by the walks above
    if (p === null || rs.newlyDelivered === 0) return rs;
    rs.priorDelivered = p.delivered;
    rs.appLimited = p.appLimited;
    rs.delivered = this.delivered - p.delivered;
    if (!p.retransmitted) {
      // in whole microseconds (as Linux): float noise in a difference of two clock readings must
      // not count as a new, lower min RTT and keep that filter from ever expiring
      rs.rttMs = Math.round((now - p.txTime) * 1000) / 1000;
      if (rs.rttMs < this.minRtt) this.minRtt = rs.rttMs;
    }
    const sendElapsed = p.txTime - p.firstTxTime;
    const ackElapsed = this.deliveredTime - p.deliveredTime;
    this.firstTxTime = p.txTime;
    const interval = sendElapsed > ackElapsed ? sendElapsed : ackElapsed;
    rs.intervalMs = interval;
    // an interval shorter than the path's min RTT means ACKs were compressed: not a usable sample
    if (interval > 0 && !(interval < this.minRtt)) {
      rs.rate = rs.delivered / interval;
      this.lastRate = rs.rate;
      this.lastAppLimited = rs.appLimited;
    }
    return rs;
  }

  /** Bytes of newly delivered segments seen by the last `onAck` walk (for tests). */
  get walked(): number {
    return this.newly;
  }

  /** Segments kept (in flight, SACKed or not). */
  get size(): number {
    return this.segs.length - this.head;
  }

  private consider(s: SentSegment): void {
    this.newly += seqDiff(s.end, s.start);
    const b = this.best;
    if (b === null || s.delivered > b.delivered || (s.delivered === b.delivered && s.txTime > b.txTime)) this.best = s;
  }

  private sackBlock(l: number, r: number): void {
    const segs = this.segs;
    const first = this.find(l);
    // from the right edge down, until a segment already SACKed
    // segments ending at or below r come before find(r) (the first ending above it)
    const hi = this.find(r);
    let stopLow = hi;
    for (let i = hi - 1; i >= first; i--) {
      const s = segs[i]!;
      if (s.sacked || seqGt(l, s.start)) break;
      s.sacked = true;
      this.consider(s);
      stopLow = i;
    }
    // from the left edge up, until a segment already SACKed
    for (let i = first; i < stopLow; i++) {
      const s = segs[i]!;
      if (s.sacked) break;
      if (seqGt(l, s.start)) continue;
      s.sacked = true;
      this.consider(s);
    }
  }

  /** Index of the first kept segment ending after `seq`. */
  private find(seq: number): number {
    return firstEndingAfter(this.segs, this.head, seq);
  }
}
