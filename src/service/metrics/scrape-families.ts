/**
 * prom-client metrics whose values are read when /metrics is scraped: each family's `collect`
 * resets it and sets every series from counters the daemon already keeps, so nothing is added to
 * the packet path. One helper per metric type, all registering into the daemon's own Registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type Labels = Record<string, string>;
/** Sets one series; `fill` calls it for every series the family has now. */
export type Emit = (labels: Labels, value: number) => void;
export type Fill = (emit: Emit) => void;

/**
 * A counter family filled at scrape time. A value the daemon no longer has (a network left, a
 * peer forgotten) disappears with its series, as stock's do when their object goes.
 */
export function scrapedCounter(registry: Registry, name: string, help: string, labelNames: string[], fill: Fill): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, value) => this.inc(labels, value > 0 ? value : 0));
    },
  });
}

/** A gauge family filled at scrape time. */
export function scrapedGauge(registry: Registry, name: string, help: string, labelNames: string[], fill: Fill): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      fill((labels, value) => this.set(labels, value));
    },
  });
}

/** Every entry of a named-counter snapshot, optionally only those `pick` maps to a label value. */
export function eachNamed(
  snapshot: Record<string, number>,
  emit: (name: string, value: number) => void,
  pick?: (name: string) => string | null,
): void {
  for (const [name, value] of Object.entries(snapshot)) {
    if (typeof value !== 'number') continue;
    const label = pick ? pick(name) : name;
    if (label !== null) emit(label, value);
  }
}

/** `name` without `prefix`, or null when it does not start with it. */
export function after(prefix: string): (name: string) => string | null {
  return (name) => (name.startsWith(prefix) ? name.slice(prefix.length) : null);
}
