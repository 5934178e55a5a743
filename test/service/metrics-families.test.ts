/**
 * How /metrics turns the daemon's counters and tables into series, over stand-ins for a joined
 * network (its Network counters, stack counters, apps' sockets and netcon counters): frames
 * accepted and dropped each way, UDP datagrams and drops, TCP connections, retransmits and RTT,
 * apps' sockets by state, RPCs, errnos and datagram drops; and the controller's change counts.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/netstack/index.js';
import type { NetworkController } from '../../src/controller/index.js';
import { ControllerChangeCounts, registerControllerFamilies } from '../../src/service/metrics/controller-families.js';
import { registerNetworkFamilies } from '../../src/service/metrics/network-families.js';
import type { MetricsSource } from '../../src/service/metrics/source.js';
import { prometheusFamilies, sampleValue } from '../support/prometheus-text.js';

const NWID = 0x8056c2e21c000001n;
const ID = '8056c2e21c000001';

function fakeSource(): MetricsSource {
  const counters = new Counters();
  counters.inc('frames_in', 10);
  counters.inc('frames_out', 7);
  counters.inc('multicast_out', 2);
  counters.inc('drop_frame_rules_in', 3);
  counters.inc('drop_frame_no_certificate', 1);
  counters.inc('drop_multicast_not_subscribed', 1);
  counters.inc('drop_tx_unknown_mac', 4);
  counters.inc('drop_frame_rules_out', 1);
  counters.inc('drop_config_older', 5); // neither direction's frames
  const network = { nwid: NWID, status: 'OK', counters, groups: () => [{}, {}, {}] };
  const socket = (state: string, tcpState: string, srtt: number, rttSamples: number) => ({
    state,
    tcpInfo: () => ({ state: tcpState, srtt, rttSamples }),
  });
  const attachment = {
    stack: {
      counters: () => ({
        udp: { rx_datagrams: 5, rx_multicast_datagrams: 2, tx_datagrams: 9, rx_no_socket: 4, rx_bad_checksum: 1 },
        tcp: { rx_segments: 100, tx_segments: 90, tx_retransmit: 6, tx_tlp: 2 },
      }),
    },
    tcpSockets: () => [
      socket('connected', 'ESTABLISHED', 4, 3),
      socket('connected', 'ESTABLISHED', 10, 5),
      socket('listening', 'LISTEN', 0, 0),
    ],
    datagramSocketCount: () => 2,
    counters: () => ({
      socketsOpen: 3,
      bytesToApps: 1000,
      bytesFromApps: 2000,
      datagramsToApps: 11,
      datagramsFromApps: 12,
      'rpc.CONNECT': 2,
      'rpc.LISTEN': 1,
      'errno.ECONNREFUSED': 1,
      'dgramDrop.appFull': 3,
      acceptsHandedOver: 4,
      fastPathOpen: 1,
      dns_cacheEntries: 6,
      dns_queriesSent: 8,
    }),
  };
  return {
    nets: { list: () => [network] },
    attachment: (nwid: string) => (nwid === ID ? attachment : undefined),
  } as unknown as MetricsSource;
}

async function scrape(): Promise<ReturnType<typeof prometheusFamilies>> {
  const registry = new Registry();
  registerNetworkFamilies(registry, fakeSource());
  return prometheusFamilies(await registry.metrics());
}

describe('per-network metric families', () => {
  it("stock's zt_network_packets: frames each way, accepted or dropped", async () => {
    const f = (await scrape()).get('zt_network_packets');
    expect(sampleValue(f, { network_id: ID, direction: 'rx', accepted: 'yes' })).toBe(10);
    expect(sampleValue(f, { network_id: ID, direction: 'rx', accepted: 'no' })).toBe(5);
    expect(sampleValue(f, { network_id: ID, direction: 'tx', accepted: 'yes' })).toBe(9);
    expect(sampleValue(f, { network_id: ID, direction: 'tx', accepted: 'no' })).toBe(5);
    const all = await scrape();
    expect(sampleValue(all.get('zt_num_networks'))).toBe(1);
    expect(sampleValue(all.get('zt_network_multicast_groups_subscribed'), { network_id: ID })).toBe(3);
    expect(sampleValue(all.get('ztnc_network_drops_total'), { network_id: ID, reason: 'config_older' })).toBe(5);
    expect(sampleValue(all.get('ztnc_network_status'), { network_id: ID, status: 'OK' })).toBe(1);
  });

  it('UDP and TCP of the stack, and apps’ TCP connections by state with their smoothed RTT', async () => {
    const all = await scrape();
    expect(sampleValue(all.get('ztnc_udp_datagrams_total'), { network_id: ID, direction: 'rx' })).toBe(7);
    expect(sampleValue(all.get('ztnc_udp_datagrams_total'), { network_id: ID, direction: 'tx' })).toBe(9);
    expect(sampleValue(all.get('ztnc_udp_drops_total'), { network_id: ID, reason: 'rx_no_socket' })).toBe(4);
    expect(sampleValue(all.get('ztnc_udp_drops_total'), { network_id: ID, reason: 'rx_bad_checksum' })).toBe(1);
    expect(sampleValue(all.get('ztnc_udp_drops_total'), { network_id: ID, reason: 'tx_datagrams' })).toBeUndefined();
    expect(sampleValue(all.get('ztnc_tcp_segments_total'), { network_id: ID, direction: 'rx' })).toBe(100);
    expect(sampleValue(all.get('ztnc_tcp_retransmits_total'), { network_id: ID, kind: 'retransmit' })).toBe(6);
    expect(sampleValue(all.get('ztnc_tcp_retransmits_total'), { network_id: ID, kind: 'tail_loss_probe' })).toBe(2);
    expect(sampleValue(all.get('ztnc_tcp_connections'), { network_id: ID, state: 'ESTABLISHED' })).toBe(2);
    expect(sampleValue(all.get('ztnc_tcp_connections'), { network_id: ID, state: 'LISTEN' })).toBe(1);
    const rtt = all.get('ztnc_tcp_smoothed_rtt_seconds');
    expect(sampleValue(rtt, { network_id: ID, stat: 'min' })).toBe(0.004);
    expect(sampleValue(rtt, { network_id: ID, stat: 'mean' })).toBe(0.007);
    expect(sampleValue(rtt, { network_id: ID, stat: 'max' })).toBe(0.01);
    expect(sampleValue(all.get('ztnc_stack_events_total'), { network_id: ID, layer: 'tcp', event: 'tx_tlp' })).toBe(2);
  });

  it("apps' sockets by state, RPCs, errnos, bytes, datagrams and their drops", async () => {
    const all = await scrape();
    const sockets = all.get('ztnc_netcon_sockets');
    expect(sampleValue(sockets, { network_id: ID, kind: 'tcp', state: 'connected' })).toBe(2);
    expect(sampleValue(sockets, { network_id: ID, kind: 'tcp', state: 'listening' })).toBe(1);
    expect(sampleValue(sockets, { network_id: ID, kind: 'datagram', state: 'open' })).toBe(2);
    expect(sampleValue(sockets, { network_id: ID, kind: 'fast_path', state: 'open' })).toBe(1);
    expect(sampleValue(all.get('ztnc_dns_cache_entries'), { network_id: ID })).toBe(6);
    expect(sampleValue(all.get('ztnc_netcon_rpcs_total'), { network_id: ID, op: 'CONNECT' })).toBe(2);
    expect(sampleValue(all.get('ztnc_netcon_errors_total'), { network_id: ID, errno: 'ECONNREFUSED' })).toBe(1);
    expect(sampleValue(all.get('ztnc_netcon_bytes_total'), { network_id: ID, direction: 'rx' })).toBe(1000);
    expect(sampleValue(all.get('ztnc_netcon_datagrams_total'), { network_id: ID, direction: 'tx' })).toBe(12);
    expect(sampleValue(all.get('ztnc_netcon_datagram_drops_total'), { network_id: ID, reason: 'appFull' })).toBe(3);
    const events = all.get('ztnc_netcon_events_total');
    expect(sampleValue(events, { network_id: ID, event: 'acceptsHandedOver' })).toBe(4);
    expect(sampleValue(events, { network_id: ID, event: 'dns_queriesSent' })).toBe(8);
    // levels are gauges, not counters that go down
    for (const event of ['rpc.CONNECT', 'socketsOpen', 'fastPathOpen', 'dns_cacheEntries'])
      expect(sampleValue(events, { network_id: ID, event }), event).toBeUndefined();
  });
});

describe("the controller's change counts", () => {
  it('counts as stock DB.cpp does: auth on becoming authorized, deauth on stopping (deletion too), else a change', () => {
    const c = new ControllerChangeCounts();
    c.count({ kind: 'network', nwid: ID, deleted: false, created: true });
    c.count({ kind: 'network', nwid: ID, deleted: false, created: false });
    c.count({ kind: 'member', nwid: ID, address: 'abcdef0123', wasAuthorized: null, authorized: false });
    c.count({ kind: 'member', nwid: ID, address: 'abcdef0123', wasAuthorized: false, authorized: true });
    c.count({ kind: 'member', nwid: ID, address: 'abcdef0123', wasAuthorized: true, authorized: true });
    c.count({ kind: 'member', nwid: ID, address: 'abcdef0123', wasAuthorized: true, authorized: null });
    c.count({ kind: 'member', nwid: ID, address: '0123456789', wasAuthorized: null, authorized: true });
    c.count({ kind: 'network', nwid: ID, deleted: true });
    expect(c).toMatchObject({ networkChanges: 1, memberChanges: 2, memberAuths: 2, memberDeauths: 1 });
  });
});

describe("the controller's join-token families", () => {
  it('serves tokens accepted and refused by reason, read from the controller when scraped', async () => {
    const refused = { unknown: 2, expired: 0, used_up: 1, revoked: 0, wrong_network: 0, member_deauthorized: 3 };
    let accepted = 4;
    const controller = {
      store: { onChange: () => undefined, listNetworkIds: () => [], memberRevisions: () => ({}) },
      joinTokenCounts: () => ({ accepted, refused }),
    } as unknown as NetworkController;
    const registry = new Registry();
    registerControllerFamilies(registry, controller);
    let families = prometheusFamilies(await registry.metrics());
    expect(sampleValue(families.get('ztnc_join_tokens_accepted_total'))).toBe(4);
    expect(sampleValue(families.get('ztnc_join_tokens_refused_total'), { reason: 'unknown' })).toBe(2);
    expect(sampleValue(families.get('ztnc_join_tokens_refused_total'), { reason: 'member_deauthorized' })).toBe(3);
    accepted = 5;
    families = prometheusFamilies(await registry.metrics());
    expect(sampleValue(families.get('ztnc_join_tokens_accepted_total'))).toBe(5);
  });
});
