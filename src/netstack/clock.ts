/**
 * Time is injected into the stack: it never reads the wall clock or arms host timers itself, so
 * tests drive it in virtual time and the daemon drives it with real time.
 */
export interface Clock {
  /** Milliseconds, monotonic, may be fractional. */
  now(): number;
}

export interface Timer {
  cancel(): void;
}

export interface Scheduler extends Clock {
  /** Runs `fn` once after `delayMs` (>= 0). A delay of 0 runs it after the current task. */
  setTimer(delayMs: number, fn: () => void): Timer;
}

interface VirtualEntry {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * Deterministic scheduler for tests: time only moves when `advance`/`runUntil` is called.
 * Timers due at the same instant fire in the order they were armed.
 */
export class VirtualScheduler implements Scheduler {
  private time = 0;
  private seq = 0;
  private heap: VirtualEntry[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const entry: VirtualEntry = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn };
    this.push(entry);
    return {
      cancel: () => {
        entry.fn = null;
      },
    };
  }

  /** Number of armed (not cancelled) timers. */
  pending(): number {
    let n = 0;
    for (const e of this.heap) if (e.fn) n++;
    return n;
  }

  /** Time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    while (this.heap.length > 0 && this.heap[0]!.fn === null) this.pop();
    return this.heap.length > 0 ? this.heap[0]!.at : undefined;
  }

  /** Fires every timer due at or before now + ms, then sets the time to now + ms. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const at = this.nextAt();
      if (at === undefined || at > end) break;
      const e = this.pop()!;
      this.time = Math.max(this.time, e.at);
      const fn = e.fn;
      e.fn = null;
      fn?.();
    }
    this.time = end;
  }

  /** Fires timers in order until `done()` is true or time passes `limitMs` from now. Returns done(). */
  runUntil(done: () => boolean, limitMs: number): boolean {
    const end = this.time + limitMs;
    while (!done()) {
      const at = this.nextAt();
      if (at === undefined || at > end) {
        this.time = Math.max(this.time, Math.min(end, at ?? end));
        return done();
      }
      const e = this.pop()!;
      this.time = Math.max(this.time, e.at);
      const fn = e.fn;
      e.fn = null;
      fn?.();
    }
    return true;
  }

  private less(a: VirtualEntry, b: VirtualEntry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: VirtualEntry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): VirtualEntry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Real time, for the daemon: performance.now() and host timers (unref'd so they never hold the process). */
export class RealScheduler implements Scheduler {
  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    if (delayMs <= 0) {
      let live = true;
      setImmediate(() => {
        if (live) fn();
      });
      return {
        cancel: () => {
          live = false;
        },
      };
    }
    const t = setTimeout(fn, delayMs);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }
}
