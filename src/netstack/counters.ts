/**
 * Named counters for one layer (drops, errors, packets). Every drop in the stack increments one,
 * so nothing disappears silently; `snapshot()` gives a plain object for APIs and tests.
 */

/** One counter's value. Layers that count every packet keep its cell and skip the name lookup. */
export interface CounterCell {
  n: number;
}

export class Counters {
  private readonly values = new Map<string, CounterCell>();

  /** The cell holding `name`'s value (made at 0 on first use; it appears in snapshots once counted). */
  cell(name: string): CounterCell {
    let c = this.values.get(name);
    if (!c) {
      c = { n: 0 };
      this.values.set(name, c);
    }
    return c;
  }

  inc(name: string, n = 1): void {
    this.cell(name).n += n;
  }

  get(name: string): number {
    return this.values.get(name)?.n ?? 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    const names = [...this.values.keys()].sort((a, b) => (a < b ? -1 : 1));
    for (const k of names) {
      const v = this.values.get(k)!.n;
      // cells taken ahead of time by hot paths show up only once something was counted
      if (v !== 0) out[k] = v;
    }
    return out;
  }
}
