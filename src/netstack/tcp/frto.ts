/**
 * F-RTO (RFC 5682 §2, as Linux's tcp_process_loss with tcp_frto): telling a spurious
 * retransmission timeout (a delay spike: the ACKs were late, nothing was lost) from a real one.
 * After the RTO only the head is resent. If the first ACK then moves SND.UNA (but not past what
 * was outstanding at the timeout), up to two segments of new data go instead of more
 * retransmissions; if the second ACK moves SND.UNA too, it acknowledges data that was never
 * resent, so the originals arrived: the timeout was spurious and the window cut is undone
 * (`undo.ts`). A duplicate ACK at either step means real loss: the conventional RTO recovery
 * (resend everything outstanding) takes over.
 */
import { seqGeq } from './seq.js';

export const FrtoStep = {
  Off: 0,
  /** The RTO resent the head; waiting for the first ACK. */
  FirstAck: 1,
  /** New data was sent after the first ACK; waiting for the second. */
  SecondAck: 2,
} as const;
export type FrtoStep = (typeof FrtoStep)[keyof typeof FrtoStep];

export const FrtoVerdict = {
  /** Keep going (or F-RTO is not running). */
  None: 0,
  /** Send new data now, no retransmissions (step 2b). */
  SendNew: 1,
  /** The loss was real: conventional RTO recovery. */
  Real: 2,
  /** The RTO was spurious: undo. */
  Spurious: 3,
} as const;
export type FrtoVerdict = (typeof FrtoVerdict)[keyof typeof FrtoVerdict];

export class Frto {
  step: FrtoStep = FrtoStep.Off;
  /** SND.NXT at the timeout (RFC 5682's "recover"). */
  private recover = 0;

  /** A first RTO of an episode: F-RTO starts. */
  start(sndNxt: number): void {
    this.step = FrtoStep.FirstAck;
    this.recover = sndNxt;
  }

  stop(): void {
    this.step = FrtoStep.Off;
  }

  /** Retransmissions beyond the head wait while F-RTO is deciding. */
  get holdingRetransmissions(): boolean {
    return this.step !== FrtoStep.Off;
  }

  /** An acceptable ACK after the timeout: did it move SND.UNA (`advanced`) to `ack`; is there new data to send. */
  onAck(ack: number, advanced: boolean, newDataAvailable: boolean): FrtoVerdict {
    if (this.step === FrtoStep.FirstAck) {
      if (!advanced || seqGeq(ack, this.recover) || !newDataAvailable) {
        this.step = FrtoStep.Off;
        return FrtoVerdict.Real;
      }
      this.step = FrtoStep.SecondAck;
      return FrtoVerdict.SendNew;
    }
    if (this.step === FrtoStep.SecondAck) {
      this.step = FrtoStep.Off;
      return advanced ? FrtoVerdict.Spurious : FrtoVerdict.Real;
    }
    return FrtoVerdict.None;
  }
}
