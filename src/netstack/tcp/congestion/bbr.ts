/**
 * BBR v1 (as Linux's net/ipv4/tcp_bbr.c, and draft-cardwell-iccrg-bbr-congestion-control-00): a
 * model of the path — bottleneck bandwidth (max delivery rate over 10 round trips) and
 * propagation delay (min RTT over 10 s) — sets the pacing rate and the congestion window, instead
 * of reacting to loss. Random loss is not congestion: a loss only holds the window at what is in
 * flight for one round trip (packet conservation), then it is restored.
 *
 * Phases: STARTUP (pacing gain 2/ln2 until the bandwidth stops growing by 25% for 3 rounds),
 * DRAIN (the queue STARTUP built), PROBE_BW (gain cycling 5/4, 3/4, 1 ×6, one min RTT each),
 * PROBE_RTT (cwnd 4 segments for 200 ms and a round when the min RTT is 10 s old).
 * ACK aggregation (Linux's extra_acked): data ACKed beyond what the bandwidth estimate expected
 * since an epoch began, its maximum over 5–10 rounds, raises the window so the sender keeps
 * sending through ACK silences (a busy host's late ACKs). Not ported: the long-term bandwidth
 * sampling for token-bucket policers (lt_bw), and the idle restart's pacing at gain 1. Amounts
 * are bytes, times ms, rates bytes per ms.
 */
import { type BbrInfo, TcpLossState } from '../../socket-api.js';
import { MaxPerRoundFilter, MinRttFilter } from './bbr-filters.js';
import { type AckContext, type CongestionControl, INFINITE_SSTHRESH, initialWindow } from './congestion.js';

export const BbrMode = { Startup: 0, Drain: 1, ProbeBw: 2, ProbeRtt: 3 } as const;
export type BbrMode = (typeof BbrMode)[keyof typeof BbrMode];

/** 2/ln(2): the smallest gain that doubles the sending rate every round in STARTUP. */
export const BBR_HIGH_GAIN = 2885 / 1000;
const DRAIN_GAIN = 1000 / 2885;
const CWND_GAIN = 2;
export const BBR_PACING_GAINS = [5 / 4, 3 / 4, 1, 1, 1, 1, 1, 1] as const;
const CYCLE_LEN = BBR_PACING_GAINS.length;
/** Bandwidth filter window: 10 round trips. */
export const BBR_BW_ROUNDS = CYCLE_LEN + 2;
export const BBR_MIN_RTT_WINDOW_MS = 10_000;
export const BBR_PROBE_RTT_MS = 200;
const MIN_CWND_SEGMENTS = 4;
const FULL_BW_THRESH = 1.25;
const FULL_BW_ROUNDS = 3;
/** Pace 1% below the estimated bandwidth, so the bottleneck queue drains. */
const PACING_MARGIN = 0.99;
/** Data sent in one burst at most (Linux's GSO limit), and at least 2 segments. */
const MAX_QUANTUM = 64 * 1024;
/** ACK aggregation: the window of its max filter (rounds), and what it may add to cwnd at most (ms at the estimated bandwidth). */
const EXTRA_ACKED_WIN_ROUNDS = 5;
const EXTRA_ACKED_MAX_MS = 100;
/** An aggregation epoch that has counted this many segments starts over (Linux: 2^20 packets). */
const ACK_EPOCH_RESET_SEGMENTS = 1 << 20;

/** A gain in Linux's fixed point (BBR_UNIT 256), with its rounding of the high and drain gains. */
function linuxGain(g: number): number {
  if (g === BBR_HIGH_GAIN) return Math.floor((256 * 2885) / 1000) + 1;
  if (g === DRAIN_GAIN) return Math.floor((256 * 1000) / 2885);
  return Math.round(g * 256);
}

export class Bbr implements CongestionControl {
  readonly name = 'bbr';
  cwnd: number;
  ssthresh = INFINITE_SSTHRESH;
  pacingRate = 0;
  mode: BbrMode = BbrMode.Startup;
  pacingGain = BBR_HIGH_GAIN;
  cwndGain = BBR_HIGH_GAIN;
  readonly bw = new MaxPerRoundFilter(BBR_BW_ROUNDS);
  readonly minRtt = new MinRttFilter(BBR_MIN_RTT_WINDOW_MS);
  /** Round trips counted so far, and the delivered count that ends the current one. */
  roundCount = 0;
  private nextRoundDelivered = 0;
  private roundStart = false;
  fullBwReached = false;
  private fullBw = 0;
  private fullBwCount = 0;
  cycleIndex = 0;
  private cycleStamp = 0;
  private priorCwnd = 0;
  private packetConservation = false;
  private prevLossState: TcpLossState = TcpLossState.Open;
  private probeRttDoneStamp = 0;
  private probeRttRoundDone = false;
  /** Whether an RTT has been seen: until then the pacing rate is a guess (cwnd over 1 ms), not a floor. */
  private hasSeenRtt = false;
  /** The round in which PROBE_RTT last ended. */
  private probeRttExitRound = -2;
  /** ACK aggregation: two windows of the max extra data ACKed, the current one, its age in rounds. */
  private readonly extraAckedMax = [0, 0];
  private extraAckedIdx = 0;
  private extraAckedRounds = 0;
  /** The aggregation epoch: when it began and the data ACKed since. */
  private ackEpochStart = 0;
  private ackEpochAcked = 0;
  private mss: number;
  /** Deterministic choice of the first PROBE_BW phase (flows sharing a path should not move in step). */
  private rand: number;

  constructor(mss: number, seed = 0) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
    this.rand = seed >>> 0;
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  /**
   * In PROBE_RTT the window is held at 4 segments: the samples of that say nothing of the
   * bandwidth, nor do those of the round that follows, whose intervals still span PROBE_RTT's
   * trickle (at short RTTs PROBE_RTT outlasts the filter's window, so one such sample would be
   * all the filter holds).
   */
  get holdsRateDown(): boolean {
    return this.mode === BbrMode.ProbeRtt || this.roundCount <= this.probeRttExitRound + 1;
  }

  /** Bottleneck bandwidth estimate, bytes per ms. */
  get maxBw(): number {
    return this.bw.value;
  }

  /** The model as Linux's bbr_get_info reports it (struct tcp_bbr_info). */
  bbrInfo(): BbrInfo {
    return {
      bw: Math.round(this.bw.value * 1000),
      minRttUs: this.minRtt.value === Infinity ? 0xffffffff : Math.round(this.minRtt.value * 1000),
      pacingGain: linuxGain(this.pacingGain),
      cwndGain: linuxGain(this.cwndGain),
    };
  }

  /** gain × BDP in bytes (the initial window until the model has a min RTT and a bandwidth). */
  bdp(gain: number): number {
    if (this.minRtt.value === Infinity || this.bw.value === 0) return initialWindow(this.mss);
    return gain * this.bw.value * this.minRtt.value;
  }

  /** Bytes sent back to back at most: about 1 ms at the pacing rate, 2 segments to 64 KiB. */
  get sendQuantum(): number {
    return Math.max(2 * this.mss, Math.min(MAX_QUANTUM, this.pacingRate));
  }

  // The loss-based hooks: BBR does its work per ACK in onAckSample.
  onAck(): void {}

  onCongestion(): void {
    this.saveCwnd();
  }

  onRecoveryExit(): void {}

  onRto(): void {
    this.saveCwnd();
    this.cwnd = this.mss;
    // as Linux's bbr_set_state(TCP_CA_Loss): the timeout ends a round, and STARTUP's growth check starts over
    this.prevLossState = TcpLossState.Loss;
    this.fullBw = 0;
    this.roundStart = true;
  }

  onAckSample(ctx: AckContext): void {
    this.updateBw(ctx);
    this.updateAckAggregation(ctx);
    this.updateCyclePhase(ctx);
    this.checkFullBwReached(ctx);
    this.checkDrain(ctx);
    this.updateMinRtt(ctx);
    this.setPacingRate(this.pacingGain);
    this.setCwnd(ctx);
  }

  private updateBw(ctx: AckContext): void {
    this.roundStart = false;
    const rs = ctx.rs;
    if (rs.delivered <= 0 || rs.rate <= 0) return;
    if (rs.priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = ctx.delivered;
      this.roundCount++;
      this.roundStart = true;
      this.packetConservation = false;
    }
    // an app-limited sample only counts when it shows more than the model knows
    if (!rs.appLimited || rs.rate >= this.bw.value) this.bw.update(this.roundCount, rs.rate);
  }

  /** Extra data ACKed beyond what the bandwidth estimate accounts for (Linux's bbr_update_ack_aggregation). */
  private updateAckAggregation(ctx: AckContext): void {
    const rs = ctx.rs;
    const acked = rs.newlyDelivered;
    if (acked <= 0 || rs.delivered <= 0 || rs.rate <= 0) return;
    if (this.roundStart) {
      this.extraAckedRounds++;
      if (this.extraAckedRounds >= EXTRA_ACKED_WIN_ROUNDS) {
        this.extraAckedRounds = 0;
        this.extraAckedIdx ^= 1;
        this.extraAckedMax[this.extraAckedIdx] = 0;
      }
    }
    let expected = this.bw.value * (ctx.now - this.ackEpochStart);
    // an ACK rate at or below the estimate (or a very old epoch) starts a new epoch
    if (this.ackEpochAcked <= expected || this.ackEpochAcked + acked >= ACK_EPOCH_RESET_SEGMENTS * this.mss) {
      this.ackEpochAcked = 0;
      this.ackEpochStart = ctx.now;
      expected = 0;
    }
    this.ackEpochAcked += acked;
    const extra = Math.min(this.ackEpochAcked - expected, this.cwnd);
    if (extra > this.extraAckedMax[this.extraAckedIdx]!) this.extraAckedMax[this.extraAckedIdx] = extra;
  }

  /** What ACK aggregation adds to the target window: its max extra ACKed, at most 100 ms at the estimated bandwidth (once STARTUP is over). */
  get aggregationCwnd(): number {
    if (!this.fullBwReached) return 0;
    return Math.min(Math.max(this.extraAckedMax[0]!, this.extraAckedMax[1]!), this.bw.value * EXTRA_ACKED_MAX_MS);
  }

  private updateCyclePhase(ctx: AckContext): void {
    if (this.mode !== BbrMode.ProbeBw) return;
    const fullLength = ctx.now - this.cycleStamp > this.minRtt.value;
    let next: boolean;
    if (this.pacingGain > 1) {
      // probe until a min RTT passed and the pipe holds gain × BDP, or loss says it is full
      next = fullLength && (ctx.lossState !== TcpLossState.Open || ctx.inflight >= this.bdp(this.pacingGain));
    } else if (this.pacingGain < 1) {
      next = fullLength || ctx.inflight <= this.bdp(1);
    } else next = fullLength;
    if (next) this.advanceCycle(ctx.now);
  }

  private advanceCycle(now: number): void {
    this.cycleIndex = (this.cycleIndex + 1) % CYCLE_LEN;
    this.cycleStamp = now;
    this.pacingGain = BBR_PACING_GAINS[this.cycleIndex]!;
  }

  private checkFullBwReached(ctx: AckContext): void {
    if (this.fullBwReached || !this.roundStart || ctx.rs.appLimited) return;
    if (this.bw.value >= this.fullBw * FULL_BW_THRESH) {
      this.fullBw = this.bw.value;
      this.fullBwCount = 0;
      return;
    }
    this.fullBwReached = ++this.fullBwCount >= FULL_BW_ROUNDS;
  }

  private checkDrain(ctx: AckContext): void {
    if (this.mode === BbrMode.Startup && this.fullBwReached) {
      this.mode = BbrMode.Drain;
      this.pacingGain = DRAIN_GAIN;
      this.cwndGain = BBR_HIGH_GAIN;
    }
    if (this.mode === BbrMode.Drain && ctx.inflight <= this.bdp(1)) this.enterProbeBw(ctx.now);
  }

  private enterProbeBw(now: number): void {
    this.mode = BbrMode.ProbeBw;
    this.cwndGain = CWND_GAIN;
    // start in any phase but the draining one (Linux: CYCLE_LEN - 1 - random(7), then advanced)
    this.rand = (Math.imul(this.rand, 1664525) + 1013904223) >>> 0;
    this.cycleIndex = CYCLE_LEN - 1 - (this.rand % (CYCLE_LEN - 1));
    this.advanceCycle(now);
  }

  private updateMinRtt(ctx: AckContext): void {
    const now = ctx.now;
    const expired = ctx.rs.rttMs >= 0 ? this.minRtt.update(ctx.rs.rttMs, now) : this.minRtt.expired(now);
    if (expired && this.mode !== BbrMode.ProbeRtt && this.minRtt.value !== Infinity) {
      this.mode = BbrMode.ProbeRtt;
      this.pacingGain = 1;
      this.cwndGain = 1;
      this.saveCwnd();
      this.probeRttDoneStamp = 0;
    }
    if (this.mode !== BbrMode.ProbeRtt) return;
    if (this.probeRttDoneStamp === 0 && ctx.inflight <= MIN_CWND_SEGMENTS * this.mss) {
      this.probeRttDoneStamp = now + BBR_PROBE_RTT_MS;
      this.probeRttRoundDone = false;
      this.nextRoundDelivered = ctx.delivered;
    } else if (this.probeRttDoneStamp !== 0) {
      if (this.roundStart) this.probeRttRoundDone = true;
      if (this.probeRttRoundDone && now >= this.probeRttDoneStamp) {
        this.minRtt.stamp = now;
        this.probeRttExitRound = this.roundCount;
        this.cwnd = Math.max(this.cwnd, this.priorCwnd);
        if (this.fullBwReached) this.enterProbeBw(now);
        else {
          this.mode = BbrMode.Startup;
          this.pacingGain = BBR_HIGH_GAIN;
          this.cwndGain = BBR_HIGH_GAIN;
        }
      }
    }
  }

  private setPacingRate(gain: number): void {
    if (!this.hasSeenRtt && this.minRtt.value !== Infinity) {
      // the first RTT replaces the guess made without one, even downwards (as Linux's
      // bbr_init_pacing_rate_from_rtt): kept as a floor, 1 ms's guess left STARTUP unpaced
      this.hasSeenRtt = true;
      this.pacingRate = (BBR_HIGH_GAIN * this.cwnd) / Math.max(this.minRtt.value, 0.001);
    }
    let rate: number;
    if (this.bw.value === 0) {
      // no sample yet: the initial window over the RTT seen so far (1 ms before any)
      const rtt = this.minRtt.value === Infinity ? 1 : Math.max(this.minRtt.value, 0.001);
      rate = (BBR_HIGH_GAIN * this.cwnd) / rtt;
    } else rate = gain * this.bw.value * PACING_MARGIN;
    if (this.fullBwReached || rate > this.pacingRate) this.pacingRate = rate;
  }

  private setCwnd(ctx: AckContext): void {
    const acked = ctx.rs.newlyDelivered;
    const mss = this.mss;
    const state = ctx.lossState;
    let cwnd = this.cwnd;
    let conserving = false;
    if (acked > 0) {
      // what this ACK found lost leaves the window (as Linux's rs->losses)
      if (ctx.lost > 0) cwnd = Math.max(cwnd - ctx.lost, mss);
      // loss recovery: hold the window at what is in flight for one round, then restore it
      if (state === TcpLossState.Recovery && this.prevLossState !== TcpLossState.Recovery) {
        this.packetConservation = true;
        this.nextRoundDelivered = ctx.delivered;
        cwnd = ctx.inflight + acked;
      } else if (this.prevLossState !== TcpLossState.Open && state === TcpLossState.Open) {
        cwnd = Math.max(cwnd, this.priorCwnd);
        this.packetConservation = false;
      }
      this.prevLossState = state;
      if (this.packetConservation) {
        cwnd = Math.max(cwnd, ctx.inflight + acked);
        conserving = true;
      }
    }
    if (!conserving && acked > 0) {
      let target = this.bdp(this.cwndGain) + this.aggregationCwnd + 3 * this.sendQuantum;
      if (this.mode === BbrMode.ProbeBw && this.cycleIndex === 0) target += 2 * mss;
      if (this.fullBwReached) cwnd = Math.min(cwnd + acked, target);
      else if (cwnd < target || ctx.delivered < initialWindow(mss)) cwnd += acked;
    }
    if (cwnd < MIN_CWND_SEGMENTS * mss) cwnd = MIN_CWND_SEGMENTS * mss;
    if (this.mode === BbrMode.ProbeRtt && cwnd > MIN_CWND_SEGMENTS * mss) cwnd = MIN_CWND_SEGMENTS * mss;
    this.cwnd = Math.round(cwnd);
  }

  /** Remembers the window to come back to after recovery or PROBE_RTT. */
  private saveCwnd(): void {
    if (this.prevLossState === TcpLossState.Open && this.mode !== BbrMode.ProbeRtt) this.priorCwnd = this.cwnd;
    else this.priorCwnd = Math.max(this.priorCwnd, this.cwnd);
  }
}
