/**
 * The stack's own echo requests (`stack.ping`) waiting for their outcome, for the ICMP layer of
 * either family: one echo id, the sequence numbers in flight, each one's timeout, and its caller
 * told exactly once (reply, error, timeout or the layer closing).
 */
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import { Errno } from './errno.js';
import type { RandomSource } from './random.js';
import type { PingResult } from './stack-api.js';

/** Pings in flight at once; more wait for none and hear ENOBUFS. */
const MAX_PENDING = 0x8000;

interface PendingPing {
  seq: number;
  sentAt: number;
  timer: Timer | null;
  done: (r: PingResult) => void;
}

export class OwnPings {
  /** The echo identifier of every request the stack sends itself (reserved from ping sockets). */
  readonly id: number;
  private seq = 0;
  private readonly pending = new Map<number, PendingPing>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly counters: Counters,
    random: RandomSource,
  ) {
    this.id = random.u32() & 0xffff;
  }

  /**
   * A new request's sequence number, its timeout armed; null when too many are in flight (the
   * caller has heard ENOBUFS, on a later turn).
   */
  begin(timeoutMs: number, done: (r: PingResult) => void): number | null {
    if (this.pending.size >= MAX_PENDING) {
      this.failLater(done, Errno.ENOBUFS);
      return null;
    }
    let seq = (this.seq = (this.seq + 1) & 0xffff);
    while (this.pending.has(seq)) seq = this.seq = (this.seq + 1) & 0xffff;
    const p: PendingPing = { seq, sentAt: this.scheduler.now(), timer: null, done };
    this.pending.set(seq, p);
    p.timer = this.scheduler.setTimer(timeoutMs, () => {
      p.timer = null;
      this.counters.inc('ping_timeout');
      this.finish(p, { ok: false, errno: Errno.ETIMEDOUT });
    });
    return seq;
  }

  /** True when an echo with this id and sequence number is one of ours still waiting. */
  waiting(id: number, seq: number): boolean {
    return id === this.id && this.pending.has(seq);
  }

  /** The reply to request `seq` arrived with this TTL / hop limit. */
  replied(seq: number, ttl: number): void {
    const p = this.pending.get(seq);
    if (p) this.finish(p, { ok: true, rttMs: this.scheduler.now() - p.sentAt, ttl });
  }

  /** Request `seq` failed with a positive errno: now, or on a later turn (a send that failed at once). */
  failed(seq: number, errno: number, later = false): void {
    const p = this.pending.get(seq);
    if (!p) return;
    if (later) this.scheduler.setTimer(0, () => this.finish(p, { ok: false, errno }));
    else this.finish(p, { ok: false, errno });
  }

  /** Tells `done` of a request that never started, on a later turn as every other outcome. */
  failLater(done: (r: PingResult) => void, errno: number): void {
    this.scheduler.setTimer(0, () => done({ ok: false, errno }));
  }

  get size(): number {
    return this.pending.size;
  }

  /** Every waiting caller hears ENETDOWN. */
  close(): void {
    for (const p of [...this.pending.values()]) this.finish(p, { ok: false, errno: Errno.ENETDOWN });
  }

  private finish(p: PendingPing, r: PingResult): void {
    if (this.pending.get(p.seq) !== p) return;
    this.pending.delete(p.seq);
    p.timer?.cancel();
    p.timer = null;
    try {
      p.done(r);
    } catch {
      this.counters.inc('handler_exception');
    }
  }
}
