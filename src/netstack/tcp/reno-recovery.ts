/**
 * NewReno loss recovery (RFC 6582) for a peer without SACK: duplicate ACKs stand in for the
 * segments the peer holds, and each partial ACK marks the next segment lost.
 */
import type { Counters } from '../counters.js';
import { TcpLossState } from '../socket-api.js';
import type { TcpSegment } from '../wire/tcp.js';
import { LossRecovery } from './loss-recovery.js';
import { seqDiff } from './seq.js';

export class RenoRecovery extends LossRecovery {
  readonly probesTail = false;
  /** Bytes the duplicate ACKs say the peer holds above SND.UNA (one MSS each). */
  private held = 0;

  protected heldBytes(): number {
    return this.held;
  }

  protected missingBytes(from: number, to: number): number {
    return seqDiff(to, from);
  }

  protected sackLossEdge(sndUna: number, _mss: number, _thresh: number): number {
    return sndUna;
  }

  protected skipHeld(s: number): number {
    return s;
  }

  sackedBytes(): number {
    return 0;
  }

  holeEnd(_s: number, sndNxt: number): number {
    return sndNxt;
  }

  hasSacks(): boolean {
    return false;
  }

  onSackBlocks(_seg: TcpSegment, _ack: number, _sndUna: number, _sndNxt: number, _counters: Counters): void {}

  dropScoreboard(): void {}

  headRetransmitLost(_sndUna: number, _sndNxt: number, _mss: number): boolean {
    return false;
  }

  override reset(iss: number): void {
    super.reset(iss);
    this.held = 0;
  }

  override onAckOpen(): void {
    super.onAckOpen();
    this.held = 0;
  }

  override exitRecovery(): void {
    super.exitRecovery();
    this.held = 0;
  }

  override onRto(sndUna: number, sndNxt: number): void {
    super.onRto(sndUna, sndNxt);
    this.held = 0;
  }

  /** A partial ACK: the next segment is lost too (RFC 6582 §3.2 step 5). */
  override onPartialAck(ack: number, acked: number, sndNxt: number, mss: number): void {
    this.held = Math.max(0, this.held - acked);
    if (this.state === TcpLossState.Recovery) this.forcedLossEdge = LossRecovery.nextSegmentEdge(ack, sndNxt, mss);
  }

  override onDupAck(outstanding: number, mss: number): void {
    super.onDupAck(outstanding, mss);
    const cap = Math.max(0, outstanding - mss);
    this.held = Math.min(cap, this.held + mss);
  }

  protected firstLossEdge(sndUna: number, sndNxt: number, mss: number): number {
    return LossRecovery.nextSegmentEdge(sndUna, sndNxt, mss);
  }
}
