import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatIpv6,
  parseCidr,
  parseIp,
  pickIpv4,
  pickIpv6,
  rfc4193Address,
  routedBits,
  sixPlaneAddress,
} from '../../src/controller/ip-assignment.js';
import { removeDir, startController, tempDir } from './harness.js';

describe('IP address computation', () => {
  it('formats IPv6 as inet_ntop does (checked against the WHATWG URL parser)', () => {
    const samples = [0n, 1n, (1n << 128n) - 1n, 0xfd000000000000000000000000000001n, 0x20010db8000000000001000000000001n];
    for (let i = 0; i < 500; i++) {
      const b = randomBytes(16);
      // Zero some groups so runs of zeros are common.
      for (let g = 0; g < 8; g++) if (b[g]! & 1) b.writeUInt16BE(0, g * 2);
      samples.push(BigInt(`0x${b.toString('hex')}`));
    }
    for (const v of samples) {
      const text = formatIpv6(v);
      expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      const back = parseIp(text);
      expect(back).toEqual({ family: 6, value: v });
    }
  });

  it('parses and refuses addresses and CIDRs', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203 });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ family: 6, value: 0xffff0a010203n });
    for (const bad of ['10.1.2', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '', '10.1.2.256']) expect(parseIp(bad), bad).toBeNull();
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ family: 4, bits: 8 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/x']) expect(parseCidr(bad), bad).toBeNull();
  });

  it('computes rfc4193 and 6plane by the documented byte layout', () => {
    // fd | 8056c2e21c000001 | 9993 | 0123456789
    expect(rfc4193Address(0x8056c2e21c000001n, 0x0123456789n)).toEqual({ ip: 'fd80:56c2:e21c:0:199:9301:2345:6789', bits: 88 });
    // fc | 8056c2e2 ^ 1c000001 = 9c56c2e3 | 0123456789 | 0000000000 01
    expect(sixPlaneAddress(0x8056c2e21c000001n, 0x0123456789n)).toEqual({ ip: 'fc9c:56c2:e301:2345:6789::1', bits: 40 });
  });

  it('picks IPv4 as stock does: (address mod range) onwards, skipping .255 and unrouted addresses', () => {
    const routes = [{ target: '10.147.17.0/24', via: null }];
    const pool = { ipRangeStart: '10.147.17.10', ipRangeEnd: '10.147.17.250' };
    expect(pickIpv4(pool, routes, 0x1a0bee8b7fn, () => false)).toBe('10.147.17.105');
    expect(pickIpv4(pool, routes, 0x67d125dc43n, () => false)).toBe('10.147.17.93');
    // Taken addresses are walked past.
    expect(pickIpv4(pool, routes, 0x1a0bee8b7fn, (ip) => ip === '10.147.17.105')).toBe('10.147.17.106');
    // Nothing inside a route: nothing given.
    expect(pickIpv4(pool, [{ target: '10.9.0.0/16', via: null }], 1n, () => false)).toBeUndefined();
    // .255 is never given.
    const wide = { ipRangeStart: '10.0.0.250', ipRangeEnd: '10.0.1.5' };
    const seen = new Set<string>();
    for (let i = 0n; i < 11n; i++) {
      const ip = pickIpv4(wide, [{ target: '10.0.0.0/16', via: null }], i, (x) => seen.has(x));
      if (ip) seen.add(ip);
    }
    expect([...seen].some((ip) => ip.endsWith('.255'))).toBe(false);
    expect(seen.size).toBe(10);
  });

  it('picks IPv6 from a zt pool inside a route, the member address in the low bits', () => {
    const routes = [{ target: 'fd00:1::/64', via: null }];
    const pool = { ipRangeStart: 'fd00:1::', ipRangeEnd: 'fd00:1::ffff:ffff:ffff:ffff' };
    expect(pickIpv6(pool, routes, 0x1a0bee8b7fn, () => false)).toBe('fd00:1::1a:bee:8b7f');
    const other = pickIpv6(pool, routes, 0x1a0bee8b7fn, (ip) => ip === 'fd00:1::1a:bee:8b7f');
    expect(other).toBeDefined();
    expect(routedBits(parseIp(other as string)!, routes)).toBe(64);
  });
});

describe('IPv4 auto-assignment through the controller', () => {
  it('never gives one address to two members and stops when the pool is full', async () => {
    const dir = tempDir();
    const h = await startController(dir);
    try {
      const nwid = '3ce329f872000042';
      await h.call('POST', `/controller/network/${nwid}`, {
        private: false,
        v4AssignMode: { zt: true },
        routes: [{ target: '10.5.5.0/24' }],
        ipAssignmentPools: [{ ipRangeStart: '10.5.5.1', ipRangeEnd: '10.5.5.60' }],
      });
      const given: string[] = [];
      let refusedAddress = 0;
      // More members than addresses; many share low bits, so the walk-forward is exercised.
      for (let i = 0; i < 70; i++) {
        const address = BigInt(0x1000000000 + (i % 7) * 0x100000000 + Math.floor(i / 7));
        const hex = address.toString(16);
        const r = h.controller.backend.request({
          nwid: BigInt(`0x${nwid}`),
          address,
          identity: `${hex}:0:${'ab'.repeat(64)}`,
          metadata: { rulesEngineRev: 1 },
        });
        if (!r.ok) throw new Error(r.error);
        const v4 = r.config.staticIps.filter((s) => !s.includes(':'));
        if (v4.length === 0) refusedAddress++;
        given.push(...v4);
      }
      expect(new Set(given).size).toBe(given.length);
      expect(given.length).toBe(59); // 10.5.5.1 … 10.5.5.60 is 60 addresses; stock's modulo never reaches the last
      expect(refusedAddress).toBe(11);
      for (const g of given) expect(g).toMatch(/^10\.5\.5\.(\d+)\/24$/);
      // The store agrees: every address appears once in the members' JSON.
      const list = await h.call('GET', `/controller/network/${nwid}/member`);
      const all: string[] = [];
      for (const a of Object.keys(list.body as object)) {
        const m = await h.call('GET', `/controller/network/${nwid}/member/${a}`);
        all.push(...(m.body as { ipAssignments: string[] }).ipAssignments);
      }
      expect(all.sort()).toEqual(given.map((g) => g.split('/')[0]).sort());
    } finally {
      await h.stop();
      removeDir(dir);
    }
  });
});
