/** RFC 6675 loss recovery for a peer that agreed to SACK: the scoreboard says what is held and lost. */
import type { Counters } from '../counters.js';
import { TcpLossState } from '../socket-api.js';
import type { TcpSegment } from '../wire/tcp.js';
import { LossRecovery } from './loss-recovery.js';
import { DUP_THRESH, SackScoreboard } from './sack-scoreboard.js';
import { seqDiff, seqGt, seqLeq, seqLt } from './seq.js';

export class SackRecovery extends LossRecovery {
  readonly probesTail = true;
  private readonly sb = new SackScoreboard();

  protected heldBytes(): number {
    return this.sb.sacked;
  }

  protected missingBytes(from: number, to: number): number {
    return this.sb.holeBytes(from, to);
  }

  protected sackLossEdge(sndUna: number, mss: number, thresh: number): number {
    return this.sb.lossEdge(sndUna, mss, thresh);
  }

  protected skipHeld(s: number): number {
    return this.sb.skipSacked(s);
  }

  sackedBytes(): number {
    return this.sb.sacked;
  }

  holeEnd(s: number, sndNxt: number): number {
    return this.sb.nextSackedStart(s, sndNxt);
  }

  hasSacks(): boolean {
    return !this.sb.empty;
  }

  override onCumulativeAck(ack: number): void {
    super.onCumulativeAck(ack);
    this.sb.advance(ack);
  }

  onSackBlocks(seg: TcpSegment, ack: number, sndUna: number, sndNxt: number, counters: Counters): void {
    for (let i = 0; i < seg.sackCount; i++) {
      const l = seg.sack[2 * i]!;
      const r = seg.sack[2 * i + 1]!;
      if (seqLeq(r, ack) || (i === 0 && seqLt(l, ack))) {
        counters.inc('rx_dsack');
        this.ackHadDsack = true;
        this.dsackLeft = l;
        this.dsackRight = r;
        continue;
      }
      if (!seqLt(l, r) || seqLt(l, sndUna) || seqGt(r, sndNxt)) {
        counters.inc('rx_sack_invalid');
        continue;
      }
      if (this.sb.add(l, r, sndUna)) this.sackedRange(l, r);
    }
  }

  /** [left, right) was newly SACKed (in part at least). */
  protected sackedRange(_left: number, _right: number): void {}

  dropScoreboard(): void {
    this.sb.clear();
  }

  /**
   * Linux's lost-retransmit detection: data sent after the head's retransmission has been SACKed
   * well beyond it, so that retransmission should have arrived.
   */
  headRetransmitLost(sndUna: number, sndNxt: number, mss: number): boolean {
    if (this.state === TcpLossState.Open || this.headRtxSeq !== sndUna || sndUna === sndNxt) return false;
    return seqDiff(this.sb.highest(sndUna), this.headRtxMark) >= DUP_THRESH * mss;
  }

  /** RFC 6675 (4): the first unacknowledged segment is lost after DupThresh dupacks; else SACK decides. */
  protected firstLossEdge(sndUna: number, sndNxt: number, mss: number, thresh: number): number {
    return this.dupAcks >= thresh ? LossRecovery.nextSegmentEdge(sndUna, sndNxt, mss) : sndUna;
  }
}
