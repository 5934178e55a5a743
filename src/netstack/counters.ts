/**
 * Named counters for one layer (drops, errors, packets). Every drop in the stack increments one,
 * so nothing disappears silently; `snapshot()` gives a plain object for APIs and tests.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) out[k] = v;
    return out;
  }
}
