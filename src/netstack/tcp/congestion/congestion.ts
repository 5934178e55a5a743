/**
 * The congestion-control interface shared by CUBIC (RFC 9438) and NewReno (RFC 5681/6582).
 * Windows are in bytes. The connection owns loss detection and recovery; the algorithm only
 * decides how cwnd and ssthresh move.
 */
export interface CongestionControl {
  readonly name: string;
  cwnd: number;
  ssthresh: number;
  setMss(mss: number): void;
  /** New data acknowledged outside recovery. `rttMs` is the latest smoothed RTT (0 if unknown). */
  onAck(acked: number, now: number, rttMs: number, minRttMs: number, appLimited: boolean): void;
  /** Loss detected by dupacks/SACK: enter recovery; sets ssthresh, and cwnd = ssthresh. */
  onCongestion(now: number, inflight: number): void;
  /** Recovery ended (cumulative ACK passed the recovery point). */
  onRecoveryExit(now: number): void;
  /** Retransmission timeout: cwnd to the loss window (1 MSS). */
  onRto(now: number, inflight: number): void;
}

export const INITIAL_WINDOW_SEGMENTS = 10; // RFC 6928
export const INFINITE_SSTHRESH = 0x7fffffff;

export function initialWindow(mss: number): number {
  return INITIAL_WINDOW_SEGMENTS * mss;
}
