/**
 * The Grafana dashboard in contrib/grafana/ztnc.json asks only for families a daemon serves: every
 * metric name in its panels' PromQL and its variables' queries is a family (or a histogram's
 * _bucket/_sum/_count series) in a real root+controller daemon's /metrics, read with a real parser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusFamilies } from '../support/prometheus-text.js';
import { killAll, type Service, startRoot, tempDir } from './service-harness.js';

const DASHBOARD = join(import.meta.dirname, '../../contrib/grafana/ztnc.json');

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'e9',
]);

/** Metric names in a PromQL expression: identifiers outside label matchers, groupings and ranges that are not function calls. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] !== undefined || PROMQL_WORDS.has(m[1]!)) continue;
    names.add(m[1]!);
  }
  return [...names];
}

interface Panel {
  title?: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function expressions(): { where: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; query?: string | { query: string } }[] };
  };
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    const q = typeof v.query === 'object' ? v.query.query : v.query;
    const m = q ? /^label_values\((\w+),\s*\w+\)$/.exec(q) : null;
    if (m) out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}

describe('the Grafana dashboard', () => {
  const tmp = tempDir('ztnc-dashboard-');
  let root: Service;
  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
  }, 120_000);
  afterAll(async () => {
    await killAll();
  }, 60_000);

  it('reads PromQL names the way Prometheus does', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le, node_id) (rate(zt_peer_latency_bucket{instance=~"$instance"}[$__rate_interval])))'),
    ).toEqual(['zt_peer_latency_bucket']);
    expect(metricNames('process_resident_memory_bytes{a="b"} / 1e9 + topk(10, x_total)')).toEqual([
      'process_resident_memory_bytes',
      'x_total',
    ]);
  });

  it("names only families the daemon's /metrics has", async () => {
    const res = await fetch(`http://127.0.0.1:${root.apiPort}/metrics`, { headers: { 'X-ZT1-Auth': root.token } });
    const families = prometheusFamilies(await res.text());
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(30);
    const used = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
        expect(families.has(family), `${where} uses ${name}, which /metrics does not serve`).toBe(true);
        used.add(family);
      }
    }
    // the stock families existing dashboards use are all on it
    for (const f of [
      'zt_packet',
      'zt_packet_error',
      'zt_data',
      'zt_num_networks',
      'zt_network_packets',
      'zt_peer_latency',
      'controller_member_count',
    ])
      expect(used.has(f), f).toBe(true);
  });
});
