/**
 * The two filters of BBR's path model (as Linux's tcp_bbr.c): the bottleneck bandwidth is the
 * largest delivery rate seen over the last 10 round trips, the propagation delay the smallest
 * RTT seen over the last 10 seconds.
 */

/** Windowed maximum over the last `windowRounds` rounds (one slot per round, exact). */
export class MaxPerRoundFilter {
  private readonly values: Float64Array;
  private readonly rounds: Float64Array;
  private best = 0;

  constructor(private readonly windowRounds: number) {
    this.values = new Float64Array(windowRounds);
    this.rounds = new Float64Array(windowRounds).fill(-Infinity);
  }

  /** The maximum over the window (0 when empty). */
  get value(): number {
    return this.best;
  }

  /** Feeds a sample taken in round `round` (rounds never go back). */
  update(round: number, v: number): void {
    const i = round % this.windowRounds;
    if (this.rounds[i] !== round) {
      this.rounds[i] = round;
      this.values[i] = v;
    } else if (v > this.values[i]!) this.values[i] = v;
    let m = 0;
    for (let k = 0; k < this.windowRounds; k++) {
      if (this.rounds[k]! > round - this.windowRounds && this.values[k]! > m) m = this.values[k]!;
    }
    this.best = m;
  }

  reset(): void {
    this.rounds.fill(-Infinity);
    this.best = 0;
  }
}

/**
 * Minimum RTT over a time window: a sample replaces it when lower, or when it has expired. An
 * empty filter has not expired: the clock is not zero when a connection starts (a daemon's clock
 * runs from its start), and an empty filter read as 10 s old sent every new connection into
 * PROBE_RTT on its first sample (Linux stamps the filter when the connection starts).
 */
export class MinRttFilter {
  value = Infinity;
  stamp = 0;

  constructor(readonly windowMs: number) {}

  expired(now: number): boolean {
    return this.value !== Infinity && now > this.stamp + this.windowMs;
  }

  /** Feeds one RTT sample (ms); returns whether the filter had expired before it. */
  update(rttMs: number, now: number): boolean {
    const expired = this.expired(now);
    if (rttMs >= 0 && (rttMs < this.value || expired)) {
      this.value = rttMs;
      this.stamp = now;
    }
    return expired;
  }
}
