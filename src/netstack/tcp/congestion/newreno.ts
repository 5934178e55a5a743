/** NewReno window management (RFC 5681 slow start / congestion avoidance, RFC 6582 recovery). */
import { type CongestionControl, INFINITE_SSTHRESH, initialWindow } from './congestion.js';

export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh = INFINITE_SSTHRESH;
  readonly pacingRate = 0;
  private mss: number;
  private acc = 0;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  onAck(acked: number, _now: number, _rtt: number, _minRtt: number, appLimited: boolean): void {
    if (appLimited) return;
    if (this.cwnd < this.ssthresh) {
      // slow start with byte counting (RFC 3465)
      this.cwnd += acked;
      return;
    }
    // congestion avoidance: one MSS per window acknowledged
    this.acc += acked;
    if (this.acc >= this.cwnd) {
      this.acc -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onCongestion(_now: number, inflight: number): void {
    this.ssthresh = Math.max(Math.floor(inflight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.acc = 0;
  }

  onRecoveryExit(): void {
    this.cwnd = this.ssthresh;
  }

  onRto(_now: number, inflight: number): void {
    this.ssthresh = Math.max(Math.floor(inflight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.acc = 0;
  }
}
