/**
 * CUBIC (RFC 9438): W_cubic(t) = C (t - K)^3 + W_max with C = 0.4, beta = 0.7, fast convergence
 * and the Reno-friendly region (W_est). Windows are tracked in segments internally.
 * HyStart is not implemented; slow start exits on the first loss.
 */
import { type CongestionControl, INFINITE_SSTHRESH, initialWindow } from './congestion.js';

const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  cwnd: number;
  ssthresh = INFINITE_SSTHRESH;
  readonly pacingRate = 0;
  private mss: number;
  /** Window (segments) before the last reduction. */
  private wMax = 0;
  private wLastMax = 0;
  private k = 0;
  /** Start of the current congestion-avoidance epoch (ms), -1 = none yet. */
  private epoch = -1;
  /** Reno-friendly estimate (segments). */
  private wEst = 0;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  onAck(acked: number, now: number, rttMs: number, _minRtt: number, appLimited: boolean): void {
    if (appLimited) {
      // RFC 9438 §5.8: don't grow on an application-limited flow; restart the epoch later
      this.epoch = -1;
      return;
    }
    if (this.cwnd < this.ssthresh) {
      this.cwnd += acked;
      if (this.cwnd > this.ssthresh && this.ssthresh !== INFINITE_SSTHRESH) this.cwnd = this.ssthresh;
      return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epoch < 0) {
      this.epoch = now;
      if (this.wMax <= cwndSeg) {
        this.wMax = cwndSeg;
        this.k = 0;
      } else {
        this.k = Math.cbrt((this.wMax - cwndSeg) / C);
      }
      this.wEst = cwndSeg;
    }
    const t = (now - this.epoch + rttMs) / 1000;
    const d = t - this.k;
    let target = C * d * d * d + this.wMax;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    // Reno-friendly region (RFC 9438 §4.3)
    const segsAcked = acked / mss;
    this.wEst += (ALPHA * segsAcked) / cwndSeg;
    let next: number;
    if (target < this.wEst) next = this.wEst > cwndSeg ? this.wEst : cwndSeg;
    else if (target > cwndSeg) next = cwndSeg + ((target - cwndSeg) / cwndSeg) * segsAcked;
    else next = cwndSeg;
    this.cwnd = Math.max(Math.round(next * mss), 2 * mss);
  }

  onCongestion(_now: number, inflight: number): void {
    this.reduce(inflight);
    this.cwnd = this.ssthresh;
  }

  private reduce(inflight: number): void {
    const mss = this.mss;
    const cwndSeg = Math.max(this.cwnd, inflight > 0 ? Math.min(inflight, this.cwnd) : this.cwnd) / mss;
    // fast convergence
    if (cwndSeg < this.wLastMax) {
      this.wLastMax = cwndSeg;
      this.wMax = cwndSeg * ((1 + BETA) / 2);
    } else {
      this.wLastMax = cwndSeg;
      this.wMax = cwndSeg;
    }
    this.ssthresh = Math.max(Math.floor(cwndSeg * BETA * mss), 2 * mss);
    this.epoch = -1;
  }

  onRecoveryExit(): void {
    this.cwnd = this.ssthresh;
  }

  onRto(_now: number, inflight: number): void {
    this.reduce(inflight);
    this.cwnd = this.mss;
  }
}
