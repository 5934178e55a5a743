/**
 * Undoing a window reduction that proved needless (as Linux's tcp_try_undo_dsack): every
 * retransmission of the episode (fast recovery or RTO) came back as a duplicate, reported by
 * D-SACK (RFC 2883 §5, RFC 3708), so nothing was lost; cwnd and ssthresh return to what they
 * were before the reduction (RFC 4015's response). The timestamp-based Eifel detection (RFC
 * 3522) is not used: this stack's receiver echoes the timestamp of the oldest unacknowledged
 * segment (RFC 7323 §4.3), and with ACKs deferred to the end of a receive burst that echo can
 * predate a retransmission that did repair a loss, so Eifel undid real recoveries.
 */
import { seqDiff, seqGt, seqLt } from './seq.js';

export class RecoveryUndo {
  /** An episode (fast recovery or RTO) whose reduction may still be undone. */
  active = false;
  /** SND.UNA when the episode began (Linux's undo_marker). */
  marker = 0;
  /** SND.NXT when it began: what the episode may have retransmitted lies below. */
  private end = 0;
  /** Retransmitted segments not yet shown needless by a D-SACK (Linux's undo_retrans). */
  retrans = 0;
  /** Some retransmission was sent in the episode. */
  private sentRetrans = false;
  priorCwnd = 0;
  priorSsthresh = 0;

  /** A reduction begins: remember the window and threshold it cuts, and where. */
  start(sndUna: number, sndNxt: number, cwnd: number, ssthresh: number): void {
    this.active = true;
    this.marker = sndUna;
    this.end = sndNxt;
    this.retrans = 0;
    this.sentRetrans = false;
    this.priorCwnd = cwnd;
    this.priorSsthresh = ssthresh;
  }

  clear(): void {
    this.active = false;
  }

  /** A segment was retransmitted in the episode. */
  onRetransmit(): void {
    if (!this.active) return;
    this.sentRetrans = true;
    this.retrans++;
  }

  /** A D-SACK for [left, right): that many retransmitted segments (of `mss`) were needless. */
  onDsack(left: number, right: number, mss: number): void {
    if (!this.active || !this.sentRetrans || !seqGt(right, this.marker) || seqGt(right, this.end)) return;
    const from = seqLt(left, this.marker) ? this.marker : left;
    const segs = Math.max(1, Math.ceil(seqDiff(right, from) / mss));
    this.retrans = Math.max(0, this.retrans - segs);
  }

  /** Every retransmission of the episode has been D-SACKed. */
  allDsacked(): boolean {
    return this.active && this.sentRetrans && this.retrans === 0;
  }
}
