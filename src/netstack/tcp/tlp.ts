/**
 * Tail Loss Probe bookkeeping (RFC 8985 §7, as Linux's tcp_send_loss_probe / tcp_process_tlp_ack):
 * one probe episode at a time, from the probe until an ACK tells what became of it. The sender
 * (`sender.ts`) arms the PTO and sends the probe — new data when the receive window allows, else
 * the last segment again; this class decides, per ACK, whether the episode is over and whether the
 * probe repaired a loss (the congestion window must then be reduced, once).
 */
import { seqGt, seqLt } from './seq.js';

export const TlpOutcome = {
  /** Nothing to conclude yet (or no probe outstanding). */
  None: 0,
  /** The episode is over without a loss: the probe was new data, or the original and the probe both arrived. */
  NoLoss: 1,
  /** The probe's retransmission repaired a loss: reduce the window as for a fast recovery. */
  Recovered: 2,
} as const;
export type TlpOutcome = (typeof TlpOutcome)[keyof typeof TlpOutcome];

export class TailLossProbe {
  /** A probe is outstanding (TLP.end_seq is set). */
  pending = false;
  /** SND.NXT when the probe left (TLP.end_seq). */
  endSeq = 0;
  /** The probe was a retransmission (TLP.is_retrans), of [start, endSeq). */
  isRetrans = false;
  start = 0;
  /** A D-SACK for the probed data arrived (possibly before the cumulative ACK reached the probe). */
  private probeDsacked = false;

  begin(start: number, endSeq: number, isRetrans: boolean): void {
    this.pending = true;
    this.start = start;
    this.endSeq = endSeq;
    this.isRetrans = isRetrans;
    this.probeDsacked = false;
  }

  clear(): void {
    this.pending = false;
  }

  /**
   * An ACK after the probe: cumulative `ack`; whether it advanced SND.UNA or SACKed new data;
   * and the D-SACK block it carried, if any.
   */
  onAck(ack: number, progress: boolean, dsack: boolean, dsackLeft: number, dsackRight: number): TlpOutcome {
    if (!this.pending) return TlpOutcome.None;
    if (dsack && this.isRetrans && seqLt(dsackLeft, this.endSeq) && seqGt(dsackRight, this.start)) this.probeDsacked = true;
    if (seqLt(ack, this.endSeq)) return TlpOutcome.None;
    if (!this.isRetrans) {
      this.pending = false;
      return TlpOutcome.NoLoss;
    }
    if (this.probeDsacked) {
      // the peer had the probed data twice: the original was not lost
      this.pending = false;
      return TlpOutcome.NoLoss;
    }
    if (seqGt(ack, this.endSeq)) {
      this.pending = false;
      return TlpOutcome.Recovered;
    }
    if (!progress) {
      // a pure duplicate ACK at the probe's end: both copies arrived
      this.pending = false;
      return TlpOutcome.NoLoss;
    }
    return TlpOutcome.None;
  }
}
