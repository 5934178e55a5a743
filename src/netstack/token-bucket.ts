/** A token bucket in the stack's clock: how ICMP error messages are rate-limited (RFC 1812 §4.3.2.8, RFC 4443 §2.4 f). */
import type { Scheduler } from './clock.js';

export class TokenBucket {
  private readonly ratePerMs: number;
  private tokens: number;
  private tokensAt = 0;

  constructor(
    private readonly scheduler: Scheduler,
    ratePerSec: number,
    private readonly burst: number,
  ) {
    this.ratePerMs = ratePerSec / 1000;
    this.tokens = burst;
  }

  /** Takes one token; false when the bucket is empty (the message is not sent). */
  take(): boolean {
    const now = this.scheduler.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.tokensAt) * this.ratePerMs);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
