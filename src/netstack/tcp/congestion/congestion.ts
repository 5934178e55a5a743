/**
 * The congestion-control interface shared by CUBIC (RFC 9438), NewReno (RFC 5681/6582) and BBR.
 * Windows are in bytes. The connection owns loss detection and recovery; the algorithm only
 * decides how cwnd and ssthresh move, and (BBR) how fast the sender paces.
 */
import type { BbrInfo, TcpLossState } from '../../socket-api.js';

/** One delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation), built per ACK. */
export interface RateSample {
  /** Bytes delivered over the sample's interval (0: this ACK gave no sample). */
  delivered: number;
  intervalMs: number;
  /** delivered / intervalMs in bytes per ms, 0 when the interval is unusable. */
  rate: number;
  /** RTT of the most recently sent segment this ACK delivered (-1 if it was a retransmission). */
  rttMs: number;
  /** The connection's delivered count when that segment was sent (round trips are counted on it). */
  priorDelivered: number;
  /** The segment was sent while the application, not the network, limited the flow. */
  appLimited: boolean;
  /** Bytes newly delivered (ACKed or SACKed) by this ACK. */
  newlyDelivered: number;
}

/** What a model-based algorithm (BBR) sees after each ACK has been processed. */
export interface AckContext {
  now: number;
  rs: RateSample;
  /** Total bytes delivered so far. */
  delivered: number;
  /** Bytes believed in flight after the ACK (RFC 6675 pipe). */
  inflight: number;
  /** Bytes this ACK newly marked lost (the loss edge moved over them). */
  lost: number;
  lossState: TcpLossState;
}

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
  /** Pacing rate in bytes per ms, 0 = not paced (the sender then sends as the windows allow). */
  readonly pacingRate: number;
  /** Model-based algorithms: the ACK's rate sample, after loss detection has run. */
  onAckSample?(ctx: AckContext): void;
  /**
   * Model-based algorithms: what is sent now is held below what the path carries on purpose (BBR's
   * PROBE_RTT), so its rate samples count as app-limited and do not lower the bandwidth model.
   */
  readonly holdsRateDown?: boolean;
  /** BBR: its model as TCP_CC_INFO reports it (the others have none, as on Linux). */
  bbrInfo?(): BbrInfo;
}

export const INITIAL_WINDOW_SEGMENTS = 10; // RFC 6928
export const INFINITE_SSTHRESH = 0x7fffffff;

export function initialWindow(mss: number): number {
  return INITIAL_WINDOW_SEGMENTS * mss;
}

/**
 * tcpi_pacing_rate, bytes per second: the algorithm's pacing rate when it paces (BBR); otherwise
 * what Linux's tcp_update_pacing_rate keeps for every flow — 200% of cwnd × MSS / SRTT in slow
 * start (cwnd below half ssthresh), 120% after, counting at least the segments in flight — and 0
 * before the first RTT sample (`srttMs` 0).
 */
export function reportedPacingRate(cc: CongestionControl, mss: number, inflight: number, srttMs: number): number {
  if (cc.pacingRate > 0) return Math.round(cc.pacingRate * 1000);
  if (srttMs <= 0) return 0;
  const segs = Math.max(Math.floor(cc.cwnd / mss), Math.ceil(inflight / mss));
  const ratio = cc.cwnd < cc.ssthresh / 2 ? 2 : 1.2;
  return Math.round((mss * segs * ratio * 1000) / srttMs);
}
