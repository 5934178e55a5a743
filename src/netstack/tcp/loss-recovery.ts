/**
 * Loss detection and recovery for the sender, behind one interface (as gVisor's lossRecovery):
 * `SackRecovery` (RFC 6675, `sack-recovery.ts`) when the peer agreed to SACK, `RenoRecovery`
 * (RFC 6582 NewReno, `reno-recovery.ts`) when it did not. The state they share — the recovery
 * point, HighRxt, the forced loss edge, duplicate ACKs, the head's last retransmission — and the
 * RFC 6675 arithmetic built from their `sacked`/`holeBytes`/`skipSacked` answers live here.
 * Sequence numbers come in as arguments: the connection owns SND.UNA, SND.NXT and the MSS.
 */
import type { Counters } from '../counters.js';
import { TcpLossState } from '../socket-api.js';
import type { TcpSegment } from '../wire/tcp.js';
import { seqAdd, seqDiff, seqGt, seqLt, seqMax } from './seq.js';

/**
 * DupThresh, lowered for small flights (early retransmit, RFC 5827): with fewer than four
 * segments outstanding three duplicate ACKs can never arrive, and waiting for the RTO stalls.
 */
export function dupThresh(sndUna: number, sndNxt: number, mss: number): number {
  const segs = Math.ceil(seqDiff(sndNxt, sndUna) / mss);
  if (segs >= 4) return 3;
  return segs >= 2 ? segs - 1 : 1;
}

export abstract class LossRecovery {
  state: TcpLossState = TcpLossState.Open;
  /** SND.NXT when recovery began: it ends once the cumulative ACK reaches it. */
  recoverPoint = 0;
  /** RFC 6675 HighRxt: everything below has been retransmitted in this recovery. */
  highRxt: number;
  /** Everything below this is taken as lost whatever SACK says (the head after dupacks, all after an RTO). */
  forcedLossEdge = 0;
  dupAcks = 0;
  /** Sequence of the last retransmission of the head, and SND.NXT when it was sent. */
  headRtxSeq = -1;
  headRtxMark = 0;
  /** Whether a tail loss probe may be sent (RFC 8985 needs SACK to learn anything from it). */
  abstract readonly probesTail: boolean;

  constructor(highRxt: number) {
    this.highRxt = highRxt;
  }

  /** Bytes above SND.UNA the peer holds (SACKed, or estimated from duplicate ACKs). */
  protected abstract heldBytes(): number;
  /** Bytes of [from, to) not held by the peer. */
  protected abstract missingBytes(from: number, to: number): number;
  /** The peer's SACK information marks more than the forced edge lost: the edge, else `una`. */
  protected abstract sackLossEdge(sndUna: number, mss: number, thresh: number): number;
  /** `s`, moved past anything the peer holds. */
  protected abstract skipHeld(s: number): number;
  /** Bytes the peer reported holding by SACK, for TCP_INFO (0 without SACK). */
  abstract sackedBytes(): number;
  /** End of the hole starting at `s`: where the next SACKed range starts, or `sndNxt`. */
  abstract holeEnd(s: number, sndNxt: number): number;
  /** The scoreboard has SACKed ranges (the sender must look for holes even outside recovery). */
  abstract hasSacks(): boolean;
  /** The SACK blocks of an arriving ACK (already known to carry some). */
  abstract onSackBlocks(seg: TcpSegment, ack: number, sndUna: number, sndNxt: number, counters: Counters): void;
  /** Forgets the peer's SACK information (the connection closed or reached TIME_WAIT). */
  abstract dropScoreboard(): void;
  /** A retransmission of the head that should have been acknowledged by now (SACK only). */
  abstract headRetransmitLost(sndUna: number, sndNxt: number, mss: number): boolean;

  /** The ACK being processed carried a D-SACK block [dsackLeft, dsackRight) (RFC 2883). */
  ackHadDsack = false;
  dsackLeft = 0;
  dsackRight = 0;

  /**
   * An ACK is about to be processed at `now` (RACK reads the clock and the RTT figures), echoing
   * our timestamp `tsEcr` (0 without timestamps).
   */
  beginAck(_now: number, _minRtt: number, _srtt: number, _mss: number, _tsEcr: number): void {
    this.ackHadDsack = false;
  }

  /**
   * The ACK has been processed (cumulative ACK and SACK blocks): RACK runs its loss detection.
   * Returns how long (ms) until a segment waiting out the reordering window is due, 0 for none.
   */
  endAck(_sndUna: number, _sndNxt: number): number {
    return 0;
  }

  /** The reordering timer fired at `now`: returns the same as `endAck`. */
  reorderTimeout(_now: number, _sndUna: number, _sndNxt: number): number {
    return 0;
  }

  /** Data [start, end) (a FIN counts one) left at `now` with our timestamp `ts` (0 without), as a retransmission when `rtx`. */
  onTransmit(_start: number, _end: number, _now: number, _ts: number, _rtx: boolean): void {}

  /** A mark from which `newlyLost` measures what the next ACK finds lost (for BBR). */
  lossMark(sndUna: number, sndNxt: number, mss: number): number {
    return this.lossEdge(sndUna, sndNxt, mss);
  }

  /** Bytes newly taken as lost since `mark` was taken. */
  newlyLost(mark: number, sndUna: number, sndNxt: number, mss: number): number {
    const edge = this.lossEdge(sndUna, sndNxt, mss);
    const from = seqGt(mark, sndUna) ? mark : sndUna;
    return this.unheldBytes(from, edge);
  }

  /**
   * Fast recovery sends by PRR (RFC 6937). Only with RACK: PRR keeps sending through recovery,
   * and a retransmission lost then is found by RACK; RFC 6675 finds only a lost retransmission
   * of the head, so it keeps the plain cut (cwnd = ssthresh at once), whose pause lets the queue
   * drain before the retransmissions go.
   */
  readonly proportionalRateReduction: boolean = false;

  /** A fresh start for a new connection attempt. */
  reset(iss: number): void {
    this.state = TcpLossState.Open;
    this.dupAcks = 0;
    this.highRxt = iss;
    this.dropScoreboard();
  }

  /** The cumulative ACK advanced to `ack` (SND.UNA already moved there). */
  onCumulativeAck(ack: number): void {
    if (seqLt(this.highRxt, ack)) this.highRxt = ack;
  }

  /** New data acknowledged outside recovery. */
  onAckOpen(): void {
    this.dupAcks = 0;
  }

  /** The cumulative ACK passed the recovery point. */
  exitRecovery(): void {
    this.state = TcpLossState.Open;
    this.dupAcks = 0;
  }

  /** The reduction proved needless (every retransmission D-SACKed): back to Open, nothing taken as lost. */
  undoLoss(): void {
    this.state = TcpLossState.Open;
    this.dupAcks = 0;
    this.forcedLossEdge = 0;
  }

  /** An ACK inside recovery that did not reach the recovery point. */
  onPartialAck(_ack: number, _acked: number, _sndNxt: number, _mss: number): void {}

  /** A duplicate ACK (RFC 5681's definition) with `outstanding` bytes in flight. */
  onDupAck(_outstanding: number, _mss: number): void {
    this.dupAcks++;
  }

  /** Has loss been detected (DupThresh duplicate ACKs, or SACKs that far above SND.UNA)? */
  detectLoss(sndUna: number, mss: number, thresh: number): boolean {
    if (this.dupAcks >= thresh) return true;
    return this.hasSacks() && seqGt(this.sackLossEdge(sndUna, mss, thresh), sndUna);
  }

  /** Fast recovery begins (RFC 6675 §5 / RFC 6582 §3.2). */
  enterRecovery(sndUna: number, sndNxt: number, mss: number, thresh: number): void {
    this.state = TcpLossState.Recovery;
    this.recoverPoint = sndNxt;
    this.highRxt = sndUna;
    this.forcedLossEdge = this.firstLossEdge(sndUna, sndNxt, mss, thresh);
  }

  /** The forced loss edge when fast recovery begins. */
  protected abstract firstLossEdge(sndUna: number, sndNxt: number, mss: number, thresh: number): number;

  /** The retransmission timer expired: everything outstanding is taken as lost. */
  onRto(sndUna: number, sndNxt: number): void {
    this.state = TcpLossState.Loss;
    this.recoverPoint = sndNxt;
    this.highRxt = sndUna;
    this.forcedLossEdge = sndNxt;
    this.dupAcks = 0;
  }

  /** The path MTU dropped: the flight is resent in smaller segments, as after an RTO. */
  onMtuReduced(sndUna: number, sndNxt: number): void {
    if (this.state === TcpLossState.Open) {
      this.state = TcpLossState.Loss;
      this.recoverPoint = sndNxt;
    }
    this.highRxt = sndUna;
    this.forcedLossEdge = sndNxt;
  }

  /** Everything below is taken as lost. */
  lossEdge(sndUna: number, sndNxt: number, mss: number): number {
    let edge = sndUna;
    if (this.state !== TcpLossState.Open && seqGt(this.forcedLossEdge, edge)) edge = this.forcedLossEdge;
    if (this.hasSacks()) {
      const e = this.sackLossEdge(sndUna, mss, dupThresh(sndUna, sndNxt, mss));
      if (seqGt(e, edge)) edge = e;
    }
    return edge;
  }

  /** Bytes of [from, to) the peer does not hold (lost or still in flight). */
  unheldBytes(from: number, to: number): number {
    return seqGt(to, from) ? this.missingBytes(from, to) : 0;
  }

  /** The lowest lost, not yet retransmitted sequence (RFC 6675 NextSeg rule 1), or -1. */
  nextLost(sndUna: number, sndNxt: number, mss: number): number {
    const edge = this.lossEdge(sndUna, sndNxt, mss);
    let s = seqMax(this.highRxt, sndUna);
    if (!seqLt(s, edge)) return -1;
    s = this.skipHeld(s);
    if (!seqLt(s, edge)) return -1;
    return s;
  }

  /** RFC 6675 pipe: bytes believed in flight. */
  pipe(sndUna: number, sndNxt: number, mss: number): number {
    const outstanding = seqDiff(sndNxt, sndUna);
    if (outstanding <= 0) return 0;
    let p = outstanding - this.heldBytes();
    const edge = this.lossEdge(sndUna, sndNxt, mss);
    const from = seqMax(this.highRxt, sndUna);
    if (seqGt(edge, from)) p -= this.missingBytes(from, edge);
    return p > 0 ? p : 0;
  }

  /** The head segment [sndUna, …) was retransmitted just now. */
  headRetransmitted(sndUna: number, sndNxt: number): void {
    this.headRtxSeq = sndUna;
    this.headRtxMark = sndNxt;
  }

  /** The first segment past `mss` bytes from `ack` (NewReno's next loss after a partial ACK). */
  protected static nextSegmentEdge(ack: number, sndNxt: number, mss: number): number {
    return seqAdd(ack, Math.min(mss, seqDiff(sndNxt, ack)));
  }
}
