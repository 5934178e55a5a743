/** Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing, clamping and exponential backoff. */

export const MIN_RTO_MS = 200;
export const MAX_RTO_MS = 120_000;
export const INITIAL_RTO_MS = 1000;
/** Clock granularity G (ms). */
const G = 1;

export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** Base RTO (before backoff), ms. */
  rto = INITIAL_RTO_MS;
  /** Number of consecutive timeouts (backoff exponent). */
  backoff = 0;
  samples = 0;
  minRtt = Infinity;

  constructor(
    private readonly minRto = MIN_RTO_MS,
    private readonly maxRto = MAX_RTO_MS,
  ) {}

  /** Feeds one RTT measurement (ms). */
  sample(rttMs: number): void {
    const r = rttMs < 0 ? 0 : rttMs;
    if (r < this.minRtt) this.minRtt = r;
    if (this.samples === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      const d = this.srtt - r;
      this.rttvar = 0.75 * this.rttvar + 0.25 * (d < 0 ? -d : d);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.samples++;
    let rto = this.srtt + Math.max(G, 4 * this.rttvar);
    if (rto < this.minRto) rto = this.minRto;
    if (rto > this.maxRto) rto = this.maxRto;
    this.rto = rto;
  }

  /** The timeout to arm now, with backoff applied. */
  current(): number {
    const v = this.rto * 2 ** this.backoff;
    return v > this.maxRto ? this.maxRto : v;
  }

  /** A retransmission timer expired: double the timeout (RFC 6298 §5.5). */
  onTimeout(): void {
    if (this.rto * 2 ** this.backoff < this.maxRto) this.backoff++;
  }

  /** New data was acknowledged: drop the backoff. */
  resetBackoff(): void {
    this.backoff = 0;
  }
}
