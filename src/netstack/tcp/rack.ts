/**
 * RACK (RFC 8985, as Linux's tcp_recovery.c): loss detection by time instead of by counting.
 * A segment is lost when one sent after it has been delivered and it has had RACK.rtt plus a
 * reordering window to arrive; the window is min_RTT/4 (0 before any reordering is seen once in
 * recovery or with DupThresh segments SACKed), grows by one step per round that brings a D-SACK
 * and shrinks back after 16 recoveries without one. Segments still inside their window arm the
 * reordering timer (the connection reads `endAck`'s answer). Lost retransmissions are found the
 * same way, so RFC 6675's DupThresh rule and the head-only lost-retransmit check are not used.
 *
 * Built on `SackRecovery` for the SACK scoreboard (held bytes, holes); the per-segment state
 * (`SentSegments`) answers NextSeg and pipe as Linux does: outstanding − SACKed − lost + resent.
 * It also tells F-RTO (RFC 5682, `undo.ts`) whether an ACK delivered never-retransmitted data.
 */
import { TcpLossState } from '../socket-api.js';
import { SackRecovery } from './sack-recovery.js';
import { DUP_THRESH } from './sack-scoreboard.js';
import { type SentRecord, SentSegments } from './sent-segments.js';
import { seqDiff, seqGeq, seqGt, seqLeq, seqLt } from './seq.js';

/** Recoveries without a D-SACK before the reordering window returns to one step (RFC 8985 §6.2). */
const REO_WND_PERSIST = 16;
/** Timer slack: a segment this close (ms) to its deadline counts as due (float clock readings). */
const DUE_SLACK_MS = 1e-6;

/** RACK.xmit_ts/end_seq ordering: was (t1, s1) sent after (t2, s2)? */
function sentAfter(t1: number, s1: number, t2: number, s2: number): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(s1, s2));
}

export class RackRecovery extends SackRecovery {
  override readonly proportionalRateReduction = true;
  readonly segments = new SentSegments();
  /** Send time and end of the most recently sent segment delivered (RACK.xmit_ts, RACK.end_seq). */
  private xmitTs = -Infinity;
  private endSeq = 0;
  /** RTT of that segment (RACK.rtt), ms. */
  private rackRtt = 0;
  /** Highest end of a delivered, never-retransmitted segment (RACK.fack). */
  private fack = 0;
  /** Reordering has been observed (a segment delivered below RACK.fack). */
  reorderingSeen = false;
  /** The reordering window in steps of min_RTT/4 (RACK.reo_wnd_mult) and its persistence. */
  reoWndMult = 1;
  private reoWndPersist = 0;
  private dsackRound = -1;
  private hasDsackRound = false;
  // the ACK being processed
  private now = 0;
  private minRtt = Infinity;
  private srtt = 0;
  private mss = 1;
  /** F-RTO's mark: data at or below it sent before the RTO; -1 = not watching. */
  frtoHigh = -1;
  /** This ACK delivered never-retransmitted data below `frtoHigh` (Linux's FLAG_ORIG_SACK_ACKED). */
  origDelivered = false;

  private readonly delivered = (r: SentRecord): void => {
    const rtt = this.now - r.xmit;
    if (!r.retransmitted) {
      if (seqGt(r.end, this.fack)) this.fack = r.end;
      else if (seqLt(r.end, this.fack)) this.reorderingSeen = true;
      if (this.frtoHigh !== -1 && seqLeq(r.end, this.frtoHigh)) this.origDelivered = true;
    } else if (rtt < this.minRtt || (this.cumulative && this.tsEcr !== 0 && seqLt(this.tsEcr, r.ts))) {
      // delivered sooner than the path allows, or by a cumulative ACK echoing a timestamp older
      // than the retransmission (RFC 8985 §6.2 step 2): the original arrived, not the
      // retransmission. (A SACK's echo says nothing here: RFC 7323 receivers echo the last
      // in-order segment for data above a hole.)
      return;
    }
    if (sentAfter(r.xmit, r.end, this.xmitTs, this.endSeq)) {
      this.xmitTs = r.xmit;
      this.endSeq = r.end;
      this.rackRtt = rtt;
    }
  };

  override reset(iss: number): void {
    super.reset(iss);
    this.xmitTs = -Infinity;
    this.endSeq = iss;
    this.fack = iss;
    this.rackRtt = 0;
    this.reorderingSeen = false;
    this.reoWndMult = 1;
    this.reoWndPersist = 0;
    this.hasDsackRound = false;
    this.frtoHigh = -1;
    this.lostReported = this.segments.lostTotal;
  }

  override dropScoreboard(): void {
    super.dropScoreboard();
    this.segments.clear();
  }

  /** The timestamp the ACK being processed echoes (0: none). */
  private tsEcr = 0;
  /** Walking what the cumulative ACK delivered (not SACK blocks). */
  private cumulative = false;

  override beginAck(now: number, minRtt: number, srtt: number, mss: number, tsEcr: number): void {
    super.beginAck(now, minRtt, srtt, mss, tsEcr);
    this.tsEcr = tsEcr;
    this.now = now;
    this.minRtt = minRtt;
    this.srtt = srtt;
    this.mss = mss;
    this.origDelivered = false;
  }

  override onTransmit(start: number, end: number, now: number, ts: number, rtx: boolean): void {
    if (rtx) this.segments.onRetransmit(start, end, now, ts);
    else this.segments.onSend(start, end, now, ts);
  }

  override onCumulativeAck(ack: number): void {
    super.onCumulativeAck(ack);
    this.cumulative = true;
    this.segments.ackTo(ack, this.delivered);
    this.cumulative = false;
  }

  protected override sackedRange(left: number, right: number): void {
    this.segments.sackRange(left, right, this.delivered);
  }

  override endAck(sndUna: number, sndNxt: number): number {
    // a D-SACK means a retransmission was needless: the original came late (Linux counts the
    // reordering the D-SACK reveals too, else a late segment resent before it arrives would never
    // show RACK reordering)
    if (this.ackHadDsack) this.reorderingSeen = true;
    // the window grows by a step per round trip that brings D-SACKs (RFC 8985 §6.2 step 4)
    if (this.hasDsackRound && seqGeq(sndUna, this.dsackRound)) this.hasDsackRound = false;
    if (!this.hasDsackRound && this.ackHadDsack) {
      this.hasDsackRound = true;
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
    return this.detect(this.now);
  }

  override reorderTimeout(now: number): number {
    this.now = now;
    return this.detect(now);
  }

  /** RACK's reordering window, ms (RFC 8985 §6.2 step 4, Linux's tcp_rack_reo_wnd). */
  reoWnd(): number {
    if (!this.reorderingSeen) {
      if (this.state !== TcpLossState.Open) return 0;
      if (this.sackedBytes() >= DUP_THRESH * this.mss) return 0;
    }
    const minRtt = this.minRtt === Infinity ? this.srtt : this.minRtt;
    return Math.min((this.reoWndMult * minRtt) / 4, this.srtt);
  }

  /** RACK_detect_loss: marks what is overdue; returns ms until the next segment is due, 0 for none. */
  private detect(now: number): number {
    if (this.xmitTs === -Infinity) return 0;
    const reo = this.reoWnd();
    let wait = 0;
    let r = this.segments.oldest;
    while (r !== null) {
      const next = r.next;
      if (!sentAfter(this.xmitTs, this.endSeq, r.xmit, r.end)) break;
      const remaining = this.rackRtt + reo - (now - r.xmit);
      if (remaining <= DUE_SLACK_MS) this.segments.markLost(r);
      else if (remaining > wait) wait = remaining;
      r = next;
    }
    return wait;
  }

  override exitRecovery(): void {
    super.exitRecovery();
    if (this.reoWndPersist > 0 && --this.reoWndPersist === 0) this.reoWndMult = 1;
  }

  override detectLoss(): boolean {
    return this.segments.lostBytes > 0;
  }

  override nextLost(sndUna: number): number {
    const r = this.segments.firstLostPending();
    if (r === null) return -1;
    return seqLt(r.start, sndUna) ? sndUna : r.start;
  }

  override holeEnd(s: number, sndNxt: number): number {
    const hole = super.holeEnd(s, sndNxt);
    const run = this.segments.lostRunEnd(s, sndNxt);
    return seqLt(run, hole) ? run : hole;
  }

  override pipe(sndUna: number, sndNxt: number): number {
    const outstanding = seqDiff(sndNxt, sndUna);
    if (outstanding <= 0) return 0;
    const p = outstanding - this.sackedBytes() - this.segments.lostBytes + this.segments.rtxBytes;
    return p > 0 ? p : 0;
  }

  /** Lost bytes already reported to the congestion control (the reordering timer marks some between ACKs). */
  private lostReported = 0;

  override lossMark(): number {
    return this.lostReported;
  }

  override newlyLost(): number {
    const n = this.segments.lostTotal - this.lostReported;
    this.lostReported = this.segments.lostTotal;
    return n;
  }

  override onRto(sndUna: number, sndNxt: number): void {
    super.onRto(sndUna, sndNxt);
    this.segments.markAllLost();
  }

  override onMtuReduced(sndUna: number, sndNxt: number): void {
    super.onMtuReduced(sndUna, sndNxt);
    this.segments.markAllLost();
  }

  override undoLoss(): void {
    super.undoLoss();
    this.segments.unmarkLost();
  }

  override headRetransmitLost(): boolean {
    return false;
  }
}
