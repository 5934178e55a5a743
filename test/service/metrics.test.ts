/**
 * GET /metrics on real daemons (a private root+controller and a member of its network), read with
 * a real Prometheus text parser: the exposition format (content type, HELP and TYPE lines, final
 * newline), stock ZeroTier One 1.14's families with its names, types and labels, ztnc's own, the
 * controller's counts, and who may scrape (the auth token or metricstoken.secret, nobody else).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusFamilies, sampleValue } from '../support/prometheus-text.js';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  killAll,
  type Service,
  startRoot,
  startService,
  tempDir,
  waitFor,
} from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;

/** Stock 1.14's families (node/Metrics.cpp) and their types as the parser names them. */
const STOCK_NODE_FAMILIES: Record<string, string> = {
  zt_packet: 'COUNTER',
  zt_packet_error: 'COUNTER',
  zt_data: 'COUNTER',
  zt_num_networks: 'GAUGE',
  zt_network_multicast_groups_subscribed: 'GAUGE',
  zt_network_packets: 'COUNTER',
  zt_peer_latency: 'HISTOGRAM',
  zt_peer_path_count: 'GAUGE',
  zt_peer_packets: 'COUNTER',
  zt_peer_packet_errors: 'COUNTER',
};
const STOCK_CONTROLLER_FAMILIES: Record<string, string> = {
  controller_network_count: 'GAUGE',
  controller_member_count: 'GAUGE',
  controller_network_change_count: 'COUNTER',
  controller_member_change_count: 'COUNTER',
  controller_member_auth_count: 'COUNTER',
  controller_member_deauth_count: 'COUNTER',
};
const ZTNC_FAMILIES: Record<string, string> = {
  ztnc_node_events_total: 'COUNTER',
  ztnc_node_drops_total: 'COUNTER',
  ztnc_underlay_datagrams_total: 'COUNTER',
  ztnc_underlay_drops_total: 'COUNTER',
  ztnc_underlay_demux_total: 'COUNTER',
  ztnc_endpoints: 'GAUGE',
  ztnc_network_status: 'GAUGE',
  ztnc_network_events_total: 'COUNTER',
  ztnc_network_drops_total: 'COUNTER',
  ztnc_stack_events_total: 'COUNTER',
  ztnc_udp_datagrams_total: 'COUNTER',
  ztnc_udp_drops_total: 'COUNTER',
  ztnc_tcp_segments_total: 'COUNTER',
  ztnc_tcp_retransmits_total: 'COUNTER',
  ztnc_tcp_connections: 'GAUGE',
  ztnc_tcp_smoothed_rtt_seconds: 'GAUGE',
  ztnc_netcon_sockets: 'GAUGE',
  ztnc_netcon_rpcs_total: 'COUNTER',
  ztnc_netcon_errors_total: 'COUNTER',
  ztnc_netcon_bytes_total: 'COUNTER',
  ztnc_netcon_datagrams_total: 'COUNTER',
  ztnc_netcon_datagram_drops_total: 'COUNTER',
  ztnc_dns_cache_entries: 'GAUGE',
  nodejs_eventloop_lag_p99_seconds: 'GAUGE',
  nodejs_gc_duration_seconds: 'HISTOGRAM',
  process_cpu_seconds_total: 'COUNTER',
};

interface Scrape {
  status: number;
  contentType: string | null;
  text: string;
}

async function scrape(s: Service, token: string | null): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${s.apiPort}/metrics`, {
    headers: token === null ? {} : { 'X-ZT1-Auth': token },
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

function metricsToken(s: Service): string {
  return readFileSync(join(s.home, 'metricstoken.secret'), 'utf8').trim();
}

describe('GET /metrics', () => {
  const tmp = tempDir('ztnc-metrics-');
  let root: Service;
  let member: Service;
  let nwid: string;
  let memberAddress: string;
  let rootAddress: string;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, '10.97.0');
    member = await startService(join(tmp, 'member'), ['--planet', join(root.home, 'planet')]);
    await member.post(`/network/${nwid}`);
    await authorizeMember(root, nwid, member);
    await assignedIp(member, nwid, NETWORK_TIMEOUT_MS);
    [memberAddress, rootAddress] = await Promise.all([member.address(), root.address()]);
  }, 240_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it('is Prometheus text: its content type, HELP and TYPE for every family, a final newline', async () => {
    const r = await scrape(member, member.token);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text.endsWith('\n')).toBe(true);
    const families = prometheusFamilies(r.text);
    for (const f of families.values()) {
      expect(f.help.length, `${f.name} has HELP`).toBeGreaterThan(0);
      expect(r.text).toContain(`# TYPE ${f.name} `);
    }
  });

  it("has stock's node families with stock's types and labels, counting this member's traffic", async () => {
    const families = prometheusFamilies((await scrape(member, member.token)).text);
    for (const [name, type] of Object.entries({ ...STOCK_NODE_FAMILIES, ...ZTNC_FAMILIES })) {
      expect(families.get(name)?.type, name).toBe(type);
    }
    // the member said HELLO to its root and asked it for a config
    expect(sampleValue(families.get('zt_packet'), { direction: 'tx', packet_type: 'hello' })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_packet'), { direction: 'rx', packet_type: 'ok' })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_packet'), { direction: 'tx', packet_type: 'network_config_request' })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_data'), { direction: 'rx', protocol: 'udp' })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_num_networks'))).toBe(1);
    expect(sampleValue(families.get('zt_peer_packets'), { direction: 'rx', node_id: rootAddress })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_peer_path_count'), { node_id: rootAddress, status: 'alive' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families.get('zt_peer_packet_errors'), { node_id: rootAddress })).toBe(0);
    for (const accepted of ['yes', 'no'])
      for (const direction of ['rx', 'tx'])
        expect(
          sampleValue(families.get('zt_network_packets'), { accepted, direction, network_id: nwid }),
          `${accepted}/${direction}`,
        ).toBeDefined();
    expect(sampleValue(families.get('ztnc_network_status'), { network_id: nwid, status: 'OK' })).toBe(1);
    expect(sampleValue(families.get('ztnc_netcon_sockets'), { network_id: nwid, kind: 'datagram', state: 'open' })).toBe(0);
    expect(sampleValue(families.get('ztnc_node_events_total'), { event: 'rx_packets' })).toBeGreaterThan(0);
    // a member runs no controller
    expect(families.has('controller_member_count')).toBe(false);
  });

  it("observes each peer's latency as a histogram with stock's buckets, whole milliseconds as ZTNET reads them", async () => {
    const text = await waitFor(
      async () => {
        const t = (await scrape(member, member.token)).text;
        return t.includes(`zt_peer_latency_count{node_id="${rootAddress}"}`) ? t : null;
      },
      30_000,
      'a latency observation',
    );
    const families = prometheusFamilies(text);
    expect(families.get('zt_peer_latency')?.type).toBe('HISTOGRAM');
    for (const le of ['1', '3', '6', '10', '30', '60', '100', '300', '600', '1000', '+Inf'])
      expect(text).toContain(`zt_peer_latency_bucket{le="${le}",node_id="${rootAddress}"}`);
    // ZTNET's metricService matches /\s(\d+)$/ on these lines
    const lines = text.split('\n').filter((l) => l.startsWith('zt_peer_latency_sum') || l.startsWith('zt_peer_latency_count'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/node_id="\w+".*\s(\d+)$/);
  });

  it("has the controller's families on the root, counting the authorization", async () => {
    const families = prometheusFamilies((await scrape(root, root.token)).text);
    for (const [name, type] of Object.entries(STOCK_CONTROLLER_FAMILIES)) expect(families.get(name)?.type, name).toBe(type);
    expect(sampleValue(families.get('controller_network_count'))).toBe(1);
    expect(sampleValue(families.get('controller_member_count'))).toBe(1);
    expect(sampleValue(families.get('controller_member_auth_count'))).toBe(1);
    expect(sampleValue(families.get('zt_packet'), { direction: 'rx', packet_type: 'network_config_request' })).toBeGreaterThan(0);
    expect(sampleValue(families.get('zt_peer_packets'), { direction: 'tx', node_id: memberAddress })).toBeGreaterThan(0);

    // deauthorizing and changing the member are counted as stock counts them
    await root.post(`/controller/network/${nwid}/member/${memberAddress}`, { authorized: false });
    await root.post(`/controller/network/${nwid}/member/${memberAddress}`, { name: 'renamed' });
    await root.post(`/controller/network/${nwid}`, { name: 'renamed' });
    const after = prometheusFamilies((await scrape(root, root.token)).text);
    expect(sampleValue(after.get('controller_member_deauth_count'))).toBe(1);
    expect(sampleValue(after.get('controller_member_change_count'))).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after.get('controller_network_change_count'))).toBe(1);
    // the deauthorized member's next config request is refused: ERROR network_access_denied goes out
    await waitFor(
      async () =>
        sampleValue(prometheusFamilies((await scrape(root, root.token)).text).get('zt_packet_error'), {
          direction: 'tx',
          error_type: 'network_access_denied',
        })! > 0,
      30_000,
      'an ERROR access denied sent',
    );
  });

  it('admits metricstoken.secret (made 0600) as well as the auth token, and nothing else', async () => {
    const file = join(member.home, 'metricstoken.secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = metricsToken(member);
    expect(token).not.toBe(member.token);
    expect((await scrape(member, token)).status).toBe(200);
    // as Prometheus sends it with `authorization: {credentials_file: metricstoken.secret}`
    const bearer = await fetch(`http://127.0.0.1:${member.apiPort}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toContain('# TYPE zt_packet counter');
    expect((await scrape(member, null)).status).toBe(401);
    expect((await scrape(member, 'not-the-token')).status).toBe(401);
    expect((await scrape(member, metricsToken(root))).status).toBe(401);
    // the metrics token opens /metrics only
    const status = await member.api('GET', '/status', undefined, { 'X-ZT1-Auth': token });
    expect(status.status).toBe(401);
  });
});
