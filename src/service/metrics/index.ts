/**
 * `GET /metrics` on the local API: Prometheus text (`text/plain; version=0.0.4`) made by
 * prom-client from a Registry of this daemon's own (never the process-global one, so several
 * daemons in one process keep their figures apart). Stock ZeroTier One 1.14's families with its
 * names and labels (`node/Metrics.cpp`), ztnc's own (`ztnc_*`), and Node's process figures
 * (event-loop delay from perf_hooks.monitorEventLoopDelay, GC time, memory, CPU). Every value is
 * read from counters the daemon already keeps when scraped, except peer latency, observed every
 * 5 s on the node's tick as stock observes it.
 *
 * Admits the daemon's auth token or `metricstoken.secret` from the home (made 0600 at the first
 * start, as stock 1.12+ does), so a Prometheus server can be given read access to metrics only.
 */
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadOrCreateAuthToken } from '../http/auth-token.js';
import type { Router } from '../http/router.js';
import { registerControllerFamilies } from './controller-families.js';
import { registerNetworkFamilies } from './network-families.js';
import { registerNodeFamilies } from './node-families.js';
import type { MetricsSource } from './source.js';

export type { MetricsSource } from './source.js';

export const METRICS_TOKEN_FILE = 'metricstoken.secret';

/** The registry with every family of this daemon. */
export function metricsRegistry(src: MetricsSource): Registry {
  const registry = new Registry();
  registerNodeFamilies(registry, src);
  registerNetworkFamilies(registry, src);
  if (src.controller) registerControllerFamilies(registry, src.controller);
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return registry;
}

/** Mounts GET /metrics; reads or makes the home's metricstoken.secret. */
export function mountMetrics(router: Router, src: MetricsSource): void {
  const registry = metricsRegistry(src);
  const metricsToken = loadOrCreateAuthToken(join(src.home.dir, METRICS_TOKEN_FILE));
  router.add(
    'GET',
    '/metrics',
    async () => ({
      status: 200,
      raw: { contentType: registry.contentType, data: await registry.metrics() },
      headers: { 'Cache-Control': 'no-store' },
    }),
    { alsoAccepts: () => metricsToken },
  );
}
