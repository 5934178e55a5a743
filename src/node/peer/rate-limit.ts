/**
 * Token buckets keyed by who asks (an endpoint or an address), for everything a stranger can make
 * us do: answer HELLO, WHOIS, gather, config requests. The key table is bounded so a flood of
 * distinct sources cannot grow memory.
 */
import type { Clock } from '../../netstack/index.js';

export interface RateLimitOptions {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size (the burst allowed). */
  burst: number;
  /** Most keys tracked; the oldest is forgotten beyond this. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  refused = 0;

  constructor(
    private readonly clock: Clock,
    private readonly opts: RateLimitOptions,
  ) {
    this.maxKeys = opts.maxKeys ?? 4096;
  }

  /** Takes one token for `key`; false when the bucket is empty (the caller drops and counts). */
  allow(key: string): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.ratePerSec);
      b.at = now;
    }
    if (b.tokens < 1) {
      this.refused++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** A node's limits, one per thing a stranger or a peer can make it do. */
export interface NodeRateLimits {
  stranger: RateLimiter;
  whoisAnswer: RateLimiter;
  gather: RateLimiter;
  pathProbe: RateLimiter;
  errorReply: RateLimiter;
}

/** The limits a node starts with (per asker: HELLOs from strangers, WHOIS answers, gathers, path probes, ERROR replies). */
export function nodeRateLimits(clock: Clock): NodeRateLimits {
  return {
    stranger: new RateLimiter(clock, { ratePerSec: 20, burst: 40 }),
    whoisAnswer: new RateLimiter(clock, { ratePerSec: 50, burst: 100 }),
    gather: new RateLimiter(clock, { ratePerSec: 50, burst: 100 }),
    pathProbe: new RateLimiter(clock, { ratePerSec: 1, burst: 4 }),
    errorReply: new RateLimiter(clock, { ratePerSec: 2, burst: 4 }),
  };
}
