/**
 * Explicit Congestion Notification for TCP (RFC 3168 §6.1): negotiated on the SYN (ECE+CWR) and
 * SYN-ACK (ECE); once on, new data leaves as ECT(0), the receiver echoes a Congestion Experienced
 * mark with ECE on every ACK until the sender's CWR, and the sender reduces its window at most
 * once per window of data for it. Off unless the socket asks (`ECN` option, `TcpLayer` `ecn`):
 * a path that bleaches or mangles the bits is not detected.
 */
import { seqGt } from './seq.js';

/** The IP header's ECN field (low two bits of TOS / traffic class). */
export const ECN_MASK = 3;
export const ECN_ECT0 = 2;
export const ECN_CE = 3;

export class TcpEcn {
  /** Both ends agreed to ECN. */
  ok = false;
  /** Receiver: a CE mark was seen and not yet answered by the sender's CWR (send ECE). */
  echo = false;
  /** Sender: the next new data segment carries CWR (the window was reduced). */
  cwrPending = false;
  /** Sender: no new reduction until the cumulative ACK passes this (one per window). */
  private recover = 0;

  reset(iss: number): void {
    this.ok = false;
    this.echo = false;
    this.cwrPending = false;
    this.recover = iss;
  }

  /** Receiver: a segment arrived with the IP ECN field `ecnBits` and its CWR flag. */
  onSegment(ecnBits: number, cwr: boolean): boolean {
    if (!this.ok) return false;
    if (cwr) this.echo = false;
    if (ecnBits === ECN_CE && !this.echo) {
      this.echo = true;
      return true;
    }
    return false;
  }

  /** Sender: an ACK with ECE up to `ack`; true when the window should be reduced now (SND.NXT `sndNxt`). */
  onEce(ack: number, sndNxt: number): boolean {
    if (!this.ok || !seqGt(ack, this.recover)) return false;
    this.recover = sndNxt;
    this.cwrPending = true;
    return true;
  }
}
