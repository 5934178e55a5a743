/**
 * HyStart++ (RFC 9406): leaves slow start when the round's minimum RTT rises (a queue is
 * building), through a few rounds of Conservative Slow Start (growth / 4), before the first loss.
 * The connection tells it where rounds start and feeds RTT samples; it answers how much of each
 * ACK slow start may use and when to end slow start.
 */
const MIN_RTT_THRESH = 4;
const MAX_RTT_THRESH = 16;
const MIN_RTT_DIVISOR = 8;
const N_RTT_SAMPLE = 8;
const CSS_GROWTH_DIVISOR = 4;
const CSS_ROUNDS = 5;

export class HyStart {
  private lastRoundMinRtt = Infinity;
  private currentRoundMinRtt = Infinity;
  private samples = 0;
  private cssBaselineMinRtt = Infinity;
  private cssRounds = -1; // -1: not in CSS
  /** Set when slow start should end now (ssthresh = cwnd). */
  done = false;
  /** Times CSS was entered (diagnostics). */
  cssEntries = 0;

  get inCss(): boolean {
    return this.cssRounds >= 0;
  }

  /** Divides the acked bytes slow start may add. */
  get divisor(): number {
    return this.cssRounds >= 0 ? CSS_GROWTH_DIVISOR : 1;
  }

  onRoundStart(): void {
    this.lastRoundMinRtt = this.currentRoundMinRtt;
    this.currentRoundMinRtt = Infinity;
    this.samples = 0;
    if (this.cssRounds >= 0 && ++this.cssRounds >= CSS_ROUNDS) this.done = true;
  }

  onRttSample(rtt: number): void {
    if (this.done) return;
    if (rtt < this.currentRoundMinRtt) this.currentRoundMinRtt = rtt;
    this.samples++;
    if (this.samples < N_RTT_SAMPLE || this.currentRoundMinRtt === Infinity || this.lastRoundMinRtt === Infinity) return;
    if (this.cssRounds < 0) {
      const thresh = Math.max(MIN_RTT_THRESH, Math.min(this.lastRoundMinRtt / MIN_RTT_DIVISOR, MAX_RTT_THRESH));
      if (this.currentRoundMinRtt >= this.lastRoundMinRtt + thresh) {
        this.cssBaselineMinRtt = this.currentRoundMinRtt;
        this.cssRounds = 0;
        this.cssEntries++;
      }
    } else if (this.currentRoundMinRtt < this.cssBaselineMinRtt) {
      // the RTT rise was spurious: back to slow start
      this.cssBaselineMinRtt = Infinity;
      this.cssRounds = -1;
    }
  }

  /** Slow start ended for another reason (loss, RTO): start afresh for the next slow start. */
  reset(): void {
    this.lastRoundMinRtt = Infinity;
    this.currentRoundMinRtt = Infinity;
    this.samples = 0;
    this.cssBaselineMinRtt = Infinity;
    this.cssRounds = -1;
    this.done = false;
  }
}
