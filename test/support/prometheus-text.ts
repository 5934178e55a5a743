/** Prometheus text read with a real parser (parse-prometheus-text-format), as families by name. */
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

export type { ParsedFamily, ParsedSample } from 'parse-prometheus-text-format';

export function prometheusFamilies(text: string): Map<string, ParsedFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

/** The value of the series of `family` whose labels include `labels`; undefined when none does. */
export function sampleValue(family: ParsedFamily | undefined, labels: Record<string, string> = {}): number | undefined {
  const m = family?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}
