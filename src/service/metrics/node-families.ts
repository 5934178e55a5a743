/**
 * The node's families: stock's `zt_packet`, `zt_packet_error`, `zt_data`, `zt_peer_latency`,
 * `zt_peer_path_count`, `zt_peer_packets`, `zt_peer_packet_errors` with stock's names and labels,
 * and ztnc's own: every node counter (`ztnc_node_events_total`), its drops by reason, and the
 * UDP underlay's datagrams and drops.
 */
import { Histogram, type Registry } from 'prom-client';
import type { Peer } from '../../node/index.js';
import { eachNamed, scrapedCounter, scrapedGauge } from './scrape-families.js';
import type { MetricsSource } from './source.js';
import { PEER_LATENCY_BUCKETS_MS, PEER_LATENCY_PERIOD_MS, STOCK_ERROR_TYPES, STOCK_PACKET_TYPES } from './stock-names.js';

/** Node counters that are drops, and the reason each names. */
function dropReason(name: string): string | null {
  for (const prefix of ['rx_drop_', 'tx_drop_', 'ctl_drop_']) if (name.startsWith(prefix)) return name;
  return null;
}

export function registerNodeFamilies(registry: Registry, src: MetricsSource): void {
  const node = src.node;
  const counts = node.packetCounts;
  scrapedCounter(registry, 'zt_packet', 'ZeroTier packet type counts', ['direction', 'packet_type'], (emit) => {
    for (const [verb, type] of STOCK_PACKET_TYPES) {
      emit({ direction: 'rx', packet_type: type }, counts.rxByVerb[verb] ?? 0);
      emit({ direction: 'tx', packet_type: type }, counts.txByVerb[verb] ?? 0);
    }
  });
  scrapedCounter(registry, 'zt_packet_error', 'ZeroTier packet errors', ['direction', 'error_type'], (emit) => {
    for (const [code, type] of STOCK_ERROR_TYPES) {
      emit({ direction: 'rx', error_type: type }, code === null ? 0 : node.counters.get(`rx_error_code_${code}`));
      emit({ direction: 'tx', error_type: type }, code === null ? 0 : (counts.txErrorsByCode[code] ?? 0));
    }
  });
  scrapedCounter(registry, 'zt_data', 'number of bytes ZeroTier has transmitted or received', ['direction', 'protocol'], (emit) => {
    let rx = 0;
    let tx = 0;
    for (const s of src.transport.socketStats()) {
      rx += s.bytesIn;
      tx += s.bytesOut;
    }
    emit({ direction: 'rx', protocol: 'udp' }, rx);
    emit({ direction: 'tx', protocol: 'udp' }, tx);
    // stock's TCP relay fallback: ztnc has none, so nothing ever goes over TCP
    emit({ direction: 'rx', protocol: 'tcp' }, 0);
    emit({ direction: 'tx', protocol: 'tcp' }, 0);
  });
  registerPeerFamilies(registry, src);

  scrapedCounter(
    registry,
    'ztnc_node_events_total',
    "every counter the node keeps (packets, drops, errors), by GET /counters' name",
    ['event'],
    (emit) => eachNamed(node.counters.snapshot(), (event, v) => emit({ event }, v)),
  );
  scrapedCounter(registry, 'ztnc_node_drops_total', 'packets the node dropped, by counted reason', ['reason'], (emit) =>
    eachNamed(node.counters.snapshot(), (reason, v) => emit({ reason }, v), dropReason),
  );
  scrapedCounter(
    registry,
    'ztnc_underlay_datagrams_total',
    'UDP datagrams of the underlay (ZeroTier packets and fragments)',
    ['direction'],
    (emit) => {
      let rx = 0;
      let tx = 0;
      for (const s of src.transport.socketStats()) {
        rx += s.datagramsIn;
        tx += s.datagramsOut;
      }
      emit({ direction: 'rx' }, rx);
      emit({ direction: 'tx' }, tx);
    },
  );
  scrapedCounter(registry, 'ztnc_underlay_drops_total', 'underlay datagrams dropped or refused, by reason', ['reason'], (emit) => {
    const t = src.transport.stats;
    emit({ reason: 'send_error' }, t.sendErrors);
    emit({ reason: 'refused_destination' }, t.refusedDestination);
    emit({ reason: 'send_queue_full' }, t.queueDrops);
    let truncated = 0;
    let readErrors = 0;
    for (const s of src.transport.socketStats()) {
      truncated += s.truncated;
      readErrors += s.readErrors;
    }
    emit({ reason: 'truncated' }, truncated);
    emit({ reason: 'read_error' }, readErrors);
  });
  scrapedGauge(
    registry,
    'ztnc_endpoints',
    "ZeroTier identities this daemon hosts (its own, the endpoint 'default', included)",
    [],
    (emit) => emit({}, src.demux.size),
  );
  scrapedCounter(
    registry,
    'ztnc_underlay_demux_total',
    "underlay datagrams by where the endpoints' demux put them: to the endpoint named, to the default one (relayed or refused there), between endpoints without the kernel, dropped",
    ['path'],
    (emit) => {
      const d = src.demux.stats;
      emit({ path: 'endpoint' }, d.delivered);
      emit({ path: 'default' }, d.toFallback);
      emit({ path: 'local' }, d.local);
      emit({ path: 'dropped' }, d.dropped);
    },
  );
  scrapedCounter(
    registry,
    'ztnc_faults_total',
    'problems caught in request or timer handling (the daemon kept running), by kind',
    ['kind'],
    (emit) => {
      for (const [kind, n] of src.faults) emit({ kind }, n);
    },
  );
}

function peerId(p: Peer): string {
  return p.hex;
}

function registerPeerFamilies(registry: Registry, src: MetricsSource): void {
  const node = src.node;
  const latency = new Histogram({
    name: 'zt_peer_latency',
    help: 'peer latency (ms)',
    labelNames: ['node_id'],
    buckets: PEER_LATENCY_BUCKETS_MS,
    registers: [registry],
  });
  // observed every ping check, as stock's Peer observes in doPingAndKeepalive; forgotten peers' series go
  const observed = new Set<string>();
  let last = -Infinity;
  node.onTick((now) => {
    if (now - last < PEER_LATENCY_PERIOD_MS) return;
    last = now;
    const present = new Set<string>();
    for (const p of node.topology.all()) {
      const best = p.paths.best(now);
      if (!best || best.latencyMs < 0) continue;
      const id = peerId(p);
      present.add(id);
      observed.add(id);
      latency.observe({ node_id: id }, Math.round(best.latencyMs));
    }
    for (const id of observed) {
      if (present.has(id) || node.topology.get(BigInt(`0x${id}`))) continue;
      latency.remove({ node_id: id });
      observed.delete(id);
    }
  });
  scrapedGauge(registry, 'zt_peer_path_count', 'number of paths to peer', ['node_id', 'status'], (emit) => {
    const now = node.now();
    for (const p of node.topology.all()) {
      let alive = 0;
      let dead = 0;
      for (const path of p.paths.all()) {
        if (path.alive(now)) alive++;
        else dead++;
      }
      emit({ node_id: peerId(p), status: 'alive' }, alive);
      emit({ node_id: peerId(p), status: 'dead' }, dead);
    }
  });
  scrapedCounter(registry, 'zt_peer_packets', 'number of packets to/from a peer', ['direction', 'node_id'], (emit) => {
    for (const p of node.topology.all()) {
      emit({ direction: 'rx', node_id: peerId(p) }, p.rxPackets);
      emit({ direction: 'tx', node_id: peerId(p) }, p.txPackets);
    }
  });
  scrapedCounter(registry, 'zt_peer_packet_errors', 'number of incoming packet errors from a peer', ['node_id'], (emit) => {
    for (const p of node.topology.all()) emit({ node_id: peerId(p) }, p.rxErrors);
  });
}
