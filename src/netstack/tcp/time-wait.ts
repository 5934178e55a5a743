/**
 * The TIME_WAIT table (RFC 9293 §3.6): connections waiting out 2·MSL, oldest first, all served by
 * one scheduler timer. A retransmitted FIN restarts a connection's wait; it then moves to the back
 * when its old turn comes.
 */
import type { Scheduler, Timer } from '../clock.js';

/** What the table needs of a connection: told when its wait is over (or cut short). */
export interface TimeWaiter {
  timeWaitDone(): void;
}

export class TimeWaitTable<C extends TimeWaiter> {
  private readonly fifo: C[] = [];
  private readonly until = new Map<C, number>();
  private timer: Timer | null = null;
  private timerAt = Infinity;

  constructor(
    private readonly scheduler: Scheduler,
    /** 2·MSL, ms. */
    readonly durationMs: number,
    /** Runs the expiry of connections as one unit of work of the layer. */
    private readonly runUnit: (fn: () => void) => void,
  ) {}

  /** Connections currently in TIME_WAIT. */
  get size(): number {
    return this.until.size;
  }

  add(c: C): void {
    this.until.set(c, this.scheduler.now() + this.durationMs);
    this.fifo.push(c);
    this.arm();
  }

  /** A retransmitted FIN: the wait starts again. */
  restart(c: C): void {
    if (this.until.has(c)) this.until.set(c, this.scheduler.now() + this.durationMs);
  }

  /** Ends a connection's wait now (its tuple is taken over by a new connection). */
  drop(c: C): void {
    this.until.delete(c);
    c.timeWaitDone();
  }

  /** Forgets a connection that left TIME_WAIT by other means. */
  forget(c: C): void {
    this.until.delete(c);
  }

  clear(): void {
    this.timer?.cancel();
    this.timer = null;
    this.fifo.length = 0;
    this.until.clear();
  }

  private arm(): void {
    while (this.fifo.length > 0 && !this.until.has(this.fifo[0]!)) this.fifo.shift();
    if (this.fifo.length === 0) return;
    const at = this.until.get(this.fifo[0]!)!;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.scheduler.setTimer(Math.max(0, at - this.scheduler.now()), () => this.tick());
  }

  private tick(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.scheduler.now();
    this.runUnit(() => {
      while (this.fifo.length > 0) {
        const c = this.fifo[0]!;
        const until = this.until.get(c);
        if (until === undefined) {
          this.fifo.shift();
          continue;
        }
        if (until > now) {
          // extended by a retransmitted FIN: move it to its place at the back
          this.fifo.shift();
          this.fifo.push(c);
          if (this.until.get(this.fifo[0]!)! > now) break;
          continue;
        }
        this.fifo.shift();
        this.until.delete(c);
        c.timeWaitDone();
      }
    });
    this.arm();
  }
}
