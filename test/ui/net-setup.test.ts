// The web UI's form helpers (ui/src/net-setup.ts): the easy /24 setup, the text forms of pools,
// routes and address lists with errors naming the line, and the Prometheus text the metrics
// glance reads.
import { describe, expect, it } from 'vitest';
import {
  ago,
  easySetup,
  EASY_RANGES,
  freeRange,
  metricTotal,
  parseMetrics,
  peerOnline,
  poolsToText,
  routesToText,
  textToAddresses,
  textToPools,
  textToRoutes,
  versionText,
} from '../../ui/src/net-setup.js';

describe('web UI form helpers', () => {
  it('fills a pool of .1 to .254 and the managed route from a /24', () => {
    expect(easySetup('10.147.17.0/24')).toEqual({
      pool: { ipRangeStart: '10.147.17.1', ipRangeEnd: '10.147.17.254' },
      route: { target: '10.147.17.0/24', via: null },
    });
    expect(easySetup('192.168.5')).toMatchObject({ route: { target: '192.168.5.0/24' } });
    for (const bad of ['10.147.17.0/16', '10.300.1.0/24', 'x', '']) expect(easySetup(bad), bad).toBeNull();
    for (const r of EASY_RANGES) expect(easySetup(r), r).not.toBeNull();
  });

  it('offers the first range no network routes yet', () => {
    expect(freeRange([])).toBe(EASY_RANGES[0]);
    expect(freeRange([{ target: EASY_RANGES[0]!, via: null }])).toBe(EASY_RANGES[1]);
  });

  it('reads pools and routes back from their text, naming a bad line', () => {
    const pools = [
      { ipRangeStart: '10.1.0.1', ipRangeEnd: '10.1.0.9' },
      { ipRangeStart: 'fd00::1', ipRangeEnd: 'fd00::ff' },
    ];
    expect(textToPools(poolsToText(pools))).toEqual(pools);
    expect(textToPools('10.1.0.5\n\n')).toEqual([{ ipRangeStart: '10.1.0.5', ipRangeEnd: '10.1.0.5' }]);
    expect(textToPools('10.1.0.1-10.1.0.9\nnonsense')).toMatch(/^pools, line 2:/);
    const routes = [
      { target: '10.1.0.0/24', via: null },
      { target: '0.0.0.0/0', via: '10.1.0.1' },
    ];
    expect(textToRoutes(routesToText(routes))).toEqual(routes);
    expect(textToRoutes('10.2.0.0/16 10.1.0.1')).toEqual([{ target: '10.2.0.0/16', via: '10.1.0.1' }]);
    expect(textToRoutes('10.1.0.0')).toMatch(/^routes, line 1:/);
    expect(textToRoutes('10.1.0.0/24 via lan')).toMatch(/^routes, line 1:/);
  });

  it('splits address lists and names the first bad entry', () => {
    expect(textToAddresses(' 10.0.0.1, fd00::1\n10.0.0.2 ', 'servers')).toEqual(['10.0.0.1', 'fd00::1', '10.0.0.2']);
    expect(textToAddresses('', 'servers')).toEqual([]);
    expect(textToAddresses('10.0.0.1, 10.0.0.256', 'servers')).toBe('servers: 10.0.0.256 is not an IP address');
  });

  it('shows times, versions and online state', () => {
    expect(ago(0, 1000)).toBe('never');
    expect(ago(1000, 6000)).toBe('5 s ago');
    expect(ago(3600_000, 2 * 3600_000 + 60_000)).toBe('1 h ago');
    expect(versionText(-1, -1, -1)).toBe('unknown');
    expect(versionText(1, 14, 2)).toBe('1.14.2');
    const path = { address: '127.0.0.1/9993', active: true, expired: false, preferred: true, lastReceive: 1 };
    const peer = { address: '0123456789', role: 'LEAF', latency: 1, version: '1.14.2', paths: [path] };
    expect(peerOnline(peer)).toBe(true);
    expect(peerOnline({ ...peer, paths: [{ ...path, expired: true }] })).toBe(false);
    expect(peerOnline(undefined)).toBe(false);
  });

  it('reads Prometheus text and sums a family over its labels', () => {
    const text = [
      '# HELP zt_packet packets',
      '# TYPE zt_packet counter',
      'zt_packet{direction="rx",packet_type="frame"} 5',
      'zt_packet{direction="tx",packet_type="frame"} 7',
      '# TYPE zt_num_networks gauge',
      'zt_num_networks 2',
      '',
    ].join('\n');
    const m = parseMetrics(text);
    expect(m.types.get('zt_packet')).toBe('counter');
    expect(metricTotal(m.samples, 'zt_packet')).toBe(12);
    expect(metricTotal(m.samples, 'zt_num_networks')).toBe(2);
    expect(metricTotal(m.samples, 'absent')).toBeNull();
  });
});
