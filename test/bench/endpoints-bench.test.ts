/**
 * The endpoints bench's own arithmetic and its slirp4netns reference: the RSS slope and medians
 * it reports, how it reads an endpoint's address from its network JSON, and the reference
 * measurement (a figure when slirp4netns is installed and the run is root's, a reason otherwise).
 */
import { describe, expect, it } from 'vitest';
import { ipv4Of } from '../../bench/_endpoints-fleet.js';
import { intervalGbps } from '../../bench/_endpoints-traffic.js';
import { median, slope } from '../../bench/_endpoints-scale.js';
import { slirpReference, vmRssKb } from '../../bench/_endpoints-slirp.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';

describe('endpoints bench arithmetic', () => {
  it('takes the least-squares slope over the scales', () => {
    expect(
      slope([
        { x: 10, y: 1000 },
        { x: 100, y: 1900 },
        { x: 500, y: 5900 },
      ]),
    ).toBeCloseTo(10, 9);
    expect(slope([{ x: 10, y: 1000 }])).toBeNull();
    expect(
      slope([
        { x: 10, y: 1000 },
        { x: 10, y: 2000 },
      ]),
    ).toBeNull();
  });

  it('takes the median of odd and even counts, null of none', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([])).toBeNull();
  });

  it('reads the IPv4 address of a network that is OK, without its prefix length', () => {
    expect(ipv4Of({ status: 'OK', assignedAddresses: ['fd00::1/88', '10.1.2.3/24'] })).toBe('10.1.2.3');
    expect(ipv4Of({ status: 'REQUESTING_CONFIGURATION', assignedAddresses: ['10.1.2.3/24'] })).toBeNull();
    expect(ipv4Of({ status: 'OK', assignedAddresses: [] })).toBeNull();
    expect(ipv4Of(null)).toBeNull();
  });

  it('reads its own VmRSS and none of a pid that is gone', () => {
    expect(vmRssKb(process.pid)).toBeGreaterThan(0);
    expect(vmRssKb(0x7ffffff0)).toBeNull();
  });
});

describe('endpoints bench: slirp4netns without the program', () => {
  it('gives no figure and says why', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const r = await slirpReference(0);
      expect(r.rssKb).toBeNull();
      expect(r.reason).toMatch(/slirp4netns is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('slirp4netns', 'unshare')), 'endpoints bench slirp4netns reference'))(
  'endpoints bench: slirp4netns reference',
  () => {
    it('measures one slirp4netns serving a fresh namespace', async () => {
      const r = await slirpReference(200);
      expect(r.reason).toBeNull();
      expect(r.version).toMatch(/^\d+\.\d+/);
      // A few MB: more than nothing, far less than a daemon.
      expect(r.rssKb).toBeGreaterThan(500);
      expect(r.rssKb).toBeLessThan(64 * 1024);
    });
  },
);

describe('endpoints bench: the saturating stream', () => {
  it("reads iperf3's per-interval bitrates in Gbit/s", () => {
    const out = [
      'Connecting to host 10.1.2.3, port 5201',
      '[  5] local 10.1.2.4 port 59782 connected to 10.1.2.3 port 5201',
      '[ ID] Interval           Transfer     Bitrate         Retr  Cwnd',
      '[  5]   0.00-1.00   sec  1.38 GBytes  11.8 Gbits/sec   12   1.75 MBytes       ',
      '[  5]   1.00-2.00   sec  60.2 MBytes   505 Mbits/sec    0    256 KBytes       ',
      '[  5]   2.00-3.00   sec  12.0 KBytes  98.3 Kbits/sec    0    256 KBytes       ',
    ].join('\n');
    const g = intervalGbps(out);
    expect(g).toHaveLength(3);
    expect(g[0]).toBeCloseTo(11.8, 9);
    expect(g[1]).toBeCloseTo(0.505, 9);
    expect(g[2]).toBeCloseTo(0.0000983, 12);
  });
});
