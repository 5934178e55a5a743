/**
 * Per-network families: stock's `zt_num_networks`, `zt_network_packets` and
 * `zt_network_multicast_groups_subscribed`, and ztnc's own for each joined network: its status,
 * every counter of its node-side Network, its stack and its netcon RPC servers, apps' sockets by
 * state, RPCs and errno replies, TCP connections, retransmits and smoothed RTT, UDP datagrams and
 * drops. Everything is read from existing counters and tables when scraped.
 */
import type { Registry } from 'prom-client';
import { formatNetworkId, type Network } from '../../node/index.js';
import type { NetworkAttachment } from '../network-attachment.js';
import { after, eachNamed, type Emit, scrapedCounter, scrapedGauge } from './scrape-families.js';
import type { MetricsSource } from './source.js';

interface Joined {
  id: string;
  network: Network;
  attachment: NetworkAttachment | undefined;
}

/** Network drop counters of frames coming in (the others are frames going out, or config and credentials). */
function isRxFrameDrop(name: string): boolean {
  return name === 'drop_multicast_not_subscribed' || (name.startsWith('drop_frame_') && name !== 'drop_frame_rules_out');
}

function isTxFrameDrop(name: string): boolean {
  return name.startsWith('drop_tx_') || name === 'drop_frame_rules_out' || name === 'drop_multicast_pending_full';
}

/** The UDP layer's counters that are datagrams delivered or sent; every other one is a drop or error. */
const UDP_RX = new Set(['rx_datagrams', 'rx_multicast_datagrams', 'rx_broadcast_datagrams']);
const UDP_TX = 'tx_datagrams';
/** The TCP layer's counters of segments resent, with the kind each is. */
const TCP_RETRANSMITS: ReadonlyArray<readonly [string, string]> = [
  ['tx_retransmit', 'retransmit'],
  ['tx_tlp', 'tail_loss_probe'],
  ['tx_lost_retransmit', 'lost_retransmit'],
  ['tx_zero_window_probe', 'zero_window_probe'],
];

export function registerNetworkFamilies(registry: Registry, src: MetricsSource): void {
  const joined = (): Joined[] =>
    src.nets.list().map((network) => {
      const id = formatNetworkId(network.nwid);
      return { id, network, attachment: src.attachment(id) };
    });
  const perNetwork = (f: (j: Joined, emit: Emit) => void) => (emit: Emit) => {
    for (const j of joined()) f(j, emit);
  };
  const perStack = (f: (j: Joined, c: Record<string, Record<string, number>>, emit: Emit) => void) =>
    perNetwork((j, emit) => {
      if (j.attachment) f(j, j.attachment.stack.counters(), emit);
    });

  scrapedGauge(registry, 'zt_num_networks', 'number of networks this instance is joined to', [], (emit) =>
    emit({}, src.nets.list().length),
  );
  scrapedGauge(
    registry,
    'zt_network_multicast_groups_subscribed',
    'number of multicast groups networks are subscribed to',
    ['network_id'],
    perNetwork((j, emit) => emit({ network_id: j.id }, j.network.groups().length)),
  );
  scrapedCounter(
    registry,
    'zt_network_packets',
    'number of incoming/outgoing packets per network',
    ['accepted', 'direction', 'network_id'],
    perNetwork((j, emit) => {
      const c = j.network.counters;
      let rxDropped = 0;
      let txDropped = 0;
      for (const [name, v] of Object.entries(c.snapshot())) {
        if (isRxFrameDrop(name)) rxDropped += v;
        else if (isTxFrameDrop(name)) txDropped += v;
      }
      emit({ accepted: 'yes', direction: 'rx', network_id: j.id }, c.get('frames_in'));
      emit({ accepted: 'no', direction: 'rx', network_id: j.id }, rxDropped);
      emit({ accepted: 'yes', direction: 'tx', network_id: j.id }, c.get('frames_out') + c.get('multicast_out'));
      emit({ accepted: 'no', direction: 'tx', network_id: j.id }, txDropped);
    }),
  );

  scrapedGauge(
    registry,
    'ztnc_network_status',
    "1 for the network's current status (REQUESTING_CONFIGURATION, OK, ACCESS_DENIED, NOT_FOUND…)",
    ['network_id', 'status'],
    perNetwork((j, emit) => emit({ network_id: j.id, status: j.network.status }, 1)),
  );
  scrapedCounter(
    registry,
    'ztnc_network_events_total',
    "every counter of the network's membership, frames, configs and credentials, by GET /counters' name",
    ['network_id', 'event'],
    perNetwork((j, emit) => eachNamed(j.network.counters.snapshot(), (event, v) => emit({ network_id: j.id, event }, v))),
  );
  scrapedCounter(
    registry,
    'ztnc_network_drops_total',
    'frames, configs and credentials the network dropped, by counted reason',
    ['network_id', 'reason'],
    perNetwork((j, emit) => eachNamed(j.network.counters.snapshot(), (reason, v) => emit({ network_id: j.id, reason }, v), after('drop_'))),
  );
  scrapedCounter(
    registry,
    'ztnc_stack_events_total',
    "every counter of the network's userspace stack (packets, drops by reason, errors), by layer",
    ['network_id', 'layer', 'event'],
    perStack((j, layers, emit) => {
      for (const [layer, snap] of Object.entries(layers)) eachNamed(snap, (event, v) => emit({ network_id: j.id, layer, event }, v));
    }),
  );
  registerTransportFamilies(registry, perStack, perNetwork);
  registerNetconFamilies(registry, perNetwork);
}

type PerStack = (f: (j: Joined, c: Record<string, Record<string, number>>, emit: Emit) => void) => (emit: Emit) => void;
type PerNetwork = (f: (j: Joined, emit: Emit) => void) => (emit: Emit) => void;

function registerTransportFamilies(registry: Registry, perStack: PerStack, perNetwork: PerNetwork): void {
  scrapedCounter(
    registry,
    'ztnc_udp_datagrams_total',
    "UDP datagrams the network's stack delivered to sockets (rx) and sent (tx)",
    ['network_id', 'direction'],
    perStack((j, c, emit) => {
      const udp = c.udp ?? {};
      let rx = 0;
      for (const name of UDP_RX) rx += udp[name] ?? 0;
      emit({ network_id: j.id, direction: 'rx' }, rx);
      emit({ network_id: j.id, direction: 'tx' }, udp[UDP_TX] ?? 0);
    }),
  );
  scrapedCounter(
    registry,
    'ztnc_udp_drops_total',
    "UDP datagrams the network's stack dropped or could not send, by counted reason",
    ['network_id', 'reason'],
    perStack((j, c, emit) =>
      eachNamed(
        c.udp ?? {},
        (reason, v) => emit({ network_id: j.id, reason }, v),
        (n) => (UDP_RX.has(n) || n === UDP_TX ? null : n),
      ),
    ),
  );
  scrapedCounter(
    registry,
    'ztnc_tcp_segments_total',
    "TCP segments of the network's stack",
    ['network_id', 'direction'],
    perStack((j, c, emit) => {
      emit({ network_id: j.id, direction: 'rx' }, c.tcp?.rx_segments ?? 0);
      emit({ network_id: j.id, direction: 'tx' }, c.tcp?.tx_segments ?? 0);
    }),
  );
  scrapedCounter(
    registry,
    'ztnc_tcp_retransmits_total',
    "TCP segments the network's stack sent again, by kind",
    ['network_id', 'kind'],
    perStack((j, c, emit) => {
      for (const [name, kind] of TCP_RETRANSMITS) emit({ network_id: j.id, kind }, c.tcp?.[name] ?? 0);
    }),
  );
  scrapedGauge(
    registry,
    'ztnc_tcp_connections',
    "apps' TCP connections on the network, by TCP state",
    ['network_id', 'state'],
    perNetwork((j, emit) => {
      const byState = new Map<string, number>();
      for (const s of j.attachment?.tcpSockets() ?? []) {
        const state = s.tcpInfo().state;
        byState.set(state, (byState.get(state) ?? 0) + 1);
      }
      for (const [state, n] of byState) emit({ network_id: j.id, state }, n);
    }),
  );
  scrapedGauge(
    registry,
    'ztnc_tcp_smoothed_rtt_seconds',
    "smallest, mean and largest smoothed round-trip time of apps' TCP connections on the network (those with a sample)",
    ['network_id', 'stat'],
    perNetwork((j, emit) => {
      let n = 0;
      let sum = 0;
      let min = Infinity;
      let max = 0;
      for (const s of j.attachment?.tcpSockets() ?? []) {
        const info = s.tcpInfo();
        if (info.rttSamples === 0) continue;
        n++;
        sum += info.srtt;
        min = Math.min(min, info.srtt);
        max = Math.max(max, info.srtt);
      }
      if (n === 0) return;
      emit({ network_id: j.id, stat: 'min' }, min / 1000);
      emit({ network_id: j.id, stat: 'mean' }, sum / n / 1000);
      emit({ network_id: j.id, stat: 'max' }, max / 1000);
    }),
  );
}

/** Netcon figures that are levels, not counts: served by gauges, kept out of ztnc_netcon_events_total. */
const NETCON_LEVELS = new Set(['socketsOpen', 'socketsOpenDatagram', 'fastPathOpen', 'dns_cacheEntries']);

function registerNetconFamilies(registry: Registry, perNetwork: PerNetwork): void {
  const netcon = (j: Joined): Record<string, number> => j.attachment?.counters() ?? {};
  scrapedGauge(
    registry,
    'ztnc_netcon_sockets',
    "apps' sockets on the network: TCP ones by netcon state (idle, connecting, connected, listening, failed, closed), datagram ones as open",
    ['network_id', 'kind', 'state'],
    perNetwork((j, emit) => {
      const a = j.attachment;
      if (!a) return;
      const byState = new Map<string, number>();
      for (const s of a.tcpSockets()) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
      for (const [state, n] of byState) emit({ network_id: j.id, kind: 'tcp', state }, n);
      emit({ network_id: j.id, kind: 'datagram', state: 'open' }, a.datagramSocketCount());
      emit({ network_id: j.id, kind: 'fast_path', state: 'open' }, a.counters().fastPathOpen ?? 0);
    }),
  );
  scrapedGauge(
    registry,
    'ztnc_dns_cache_entries',
    "answers held in the network's resolver cache",
    ['network_id'],
    perNetwork((j, emit) => {
      const n = netcon(j).dns_cacheEntries;
      if (n !== undefined) emit({ network_id: j.id }, n);
    }),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_rpcs_total',
    "RPCs apps' libztintercept.so made, by operation",
    ['network_id', 'op'],
    perNetwork((j, emit) => eachNamed(netcon(j), (op, v) => emit({ network_id: j.id, op }, v), after('rpc.'))),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_errors_total',
    'errors given back to apps, by errno',
    ['network_id', 'errno'],
    perNetwork((j, emit) => eachNamed(netcon(j), (errno, v) => emit({ network_id: j.id, errno }, v), after('errno.'))),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_bytes_total',
    "bytes of apps' TCP streams through the daemon (rx: to apps, tx: from apps)",
    ['network_id', 'direction'],
    perNetwork((j, emit) => {
      const c = netcon(j);
      emit({ network_id: j.id, direction: 'rx' }, c.bytesToApps ?? 0);
      emit({ network_id: j.id, direction: 'tx' }, c.bytesFromApps ?? 0);
    }),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_datagrams_total',
    "apps' datagrams through the daemon (rx: to apps, tx: from apps)",
    ['network_id', 'direction'],
    perNetwork((j, emit) => {
      const c = netcon(j);
      emit({ network_id: j.id, direction: 'rx' }, c.datagramsToApps ?? 0);
      emit({ network_id: j.id, direction: 'tx' }, c.datagramsFromApps ?? 0);
    }),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_datagram_drops_total',
    "apps' datagrams dropped, by counted reason (malformed, appFull, send.<errno>…)",
    ['network_id', 'reason'],
    perNetwork((j, emit) => eachNamed(netcon(j), (reason, v) => emit({ network_id: j.id, reason }, v), after('dgramDrop.'))),
  );
  scrapedCounter(
    registry,
    'ztnc_netcon_events_total',
    "every other counter of the network's netcon servers and name service, by GET /counters' name",
    ['network_id', 'event'],
    perNetwork((j, emit) =>
      eachNamed(
        netcon(j),
        (event, v) => emit({ network_id: j.id, event }, v),
        (n) => (/^(rpc|errno|dgramDrop)\./.test(n) || /^(bytes|datagrams)(From|To)Apps$/.test(n) || NETCON_LEVELS.has(n) ? null : n),
      ),
    ),
  );
}
