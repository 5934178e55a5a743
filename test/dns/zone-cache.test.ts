import { describe, expect, it } from 'vitest';
import {
  addressOfReverseName,
  DnsCache,
  DnsType,
  emptyMessage,
  makeDnsRedirect,
  NetworkZone,
  parseResolvConf,
  Rcode,
  reverseName,
  type DnsMessage,
} from '../../src/dns/index.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { parseIpv6, parseIpv6Addr } from '../../src/netstack/index.js';

const v4 = (...b: number[]): { family: 4; bytes: Uint8Array } => ({ family: 4, bytes: Uint8Array.from(b) });

describe('names', () => {
  it('builds and reads reverse names for both families', () => {
    expect(reverseName(v4(10, 1, 2, 3))).toBe('3.2.1.10.in-addr.arpa');
    const six = { family: 6 as const, bytes: Uint8Array.from([0xfd, 0x12, ...new Array<number>(13).fill(0), 1]) };
    const r = reverseName(six);
    expect(r.startsWith('1.0.0.0.')).toBe(true);
    expect(r.endsWith('.2.1.d.f.ip6.arpa')).toBe(true);
    expect(addressOfReverseName(r)).toEqual(six);
    expect(addressOfReverseName('3.2.1.10.IN-ADDR.ARPA')).toEqual(v4(10, 1, 2, 3));
    expect(addressOfReverseName('2.1.10.in-addr.arpa')).toBeNull();
    expect(addressOfReverseName('300.2.1.10.in-addr.arpa')).toBeNull();
  });
});

describe('zone', () => {
  it('merges members sharing a name, and answers nothing without a domain', () => {
    const z = new NetworkZone('Net.Example.', [
      { name: 'web', addrs: [v4(10, 0, 0, 1)] },
      { name: 'WEB', addrs: [v4(10, 0, 0, 2)] },
    ]);
    expect(z.domain).toBe('net.example');
    expect(z.lookup('web.net.example')).toHaveLength(2);
    expect(z.answer({ name: 'web.NET.example', type: DnsType.A, class: 1 })!.answers).toHaveLength(2);
    expect(z.answer({ name: 'net.example', type: DnsType.SOA, class: 1 })!.answers[0]!.type).toBe(DnsType.SOA);
    expect(z.answer({ name: 'sub.web.net.example', type: DnsType.A, class: 1 })!.rcode).toBe(Rcode.NXDOMAIN);
    expect(z.answer({ name: 'example.com', type: DnsType.A, class: 1 })).toBeNull();
    // reverse names of addresses that are not the zone's go elsewhere
    expect(z.answer({ name: '9.0.0.10.in-addr.arpa', type: DnsType.PTR, class: 1 })).toBeNull();
    const none = new NetworkZone('', [{ name: 'web', addrs: [v4(10, 0, 0, 1)] }]);
    expect(none.lookup('web')).toBeNull();
    expect(none.reverse(v4(10, 0, 0, 1))).toBeNull();
  });
});

function answer(rcode: number, ttl: number, soaMin?: number): DnsMessage {
  const m = emptyMessage(1);
  m.response = true;
  m.rcode = rcode;
  if (soaMin === undefined)
    m.answers.push({ name: 'a', type: 1, class: 1, ttl, data: { kind: 'address', bytes: Uint8Array.of(1, 1, 1, 1) } });
  else
    m.authority.push({
      name: 'a',
      type: DnsType.SOA,
      class: 1,
      ttl,
      data: { kind: 'soa', soa: { mname: 'a', rname: 'a', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: soaMin } },
    });
  return m;
}

describe('cache', () => {
  it('keeps positive answers for their TTL, lowering TTLs as time passes', () => {
    const s = new VirtualScheduler();
    const c = new DnsCache(s);
    const q = { name: 'A', type: 1, class: 1 };
    c.put(q, answer(Rcode.NOERROR, 10));
    s.advance(4000);
    expect(c.get({ name: 'a', type: 1, class: 1 })!.answers[0]!.ttl).toBe(6);
    s.advance(6000);
    expect(c.get(q)).toBeNull();
  });

  it('keeps negative answers for the smaller of the SOA TTL and minimum; SERVFAIL not at all', () => {
    const s = new VirtualScheduler();
    const c = new DnsCache(s);
    const q = { name: 'x', type: 1, class: 1 };
    c.put(q, answer(Rcode.NXDOMAIN, 300, 3));
    s.advance(2999);
    expect(c.get(q)?.rcode).toBe(Rcode.NXDOMAIN);
    s.advance(1);
    expect(c.get(q)).toBeNull();
    c.put(q, answer(Rcode.SERVFAIL, 300, 300));
    expect(c.get(q)).toBeNull();
    c.put(q, answer(Rcode.NXDOMAIN, 300));
    expect(c.size).toBe(0);
  });

  it('is bounded: the oldest entry goes first', () => {
    const c = new DnsCache(new VirtualScheduler(), 3);
    for (let i = 0; i < 5; i++) c.put({ name: `n${i}`, type: 1, class: 1 }, answer(Rcode.NOERROR, 60));
    expect(c.size).toBe(3);
    expect(c.get({ name: 'n0', type: 1, class: 1 })).toBeNull();
    expect(c.get({ name: 'n4', type: 1, class: 1 })).not.toBeNull();
  });
});

describe('host resolvers and the port-53 redirect', () => {
  it("reads resolv.conf's nameservers (at most three)", () => {
    const text = '# c\nsearch x\nnameserver 127.0.0.53\nnameserver  fe80::1%eth0\nnameserver 8.8.8.8\nnameserver 1.1.1.1\n';
    const ns = parseResolvConf(text);
    expect(ns).toHaveLength(3);
    expect(ns[0]).toEqual(v4(127, 0, 0, 53));
    expect(ns[1]!.family).toBe(6);
  });

  it("redirects port 53 of the host's nameservers, 127.0.0.53 and addresses outside the routes", () => {
    const routes = [{ dest: 0x0a930000, prefixLen: 16, gateway: null, metric: 0 }];
    const redirect = makeDnsRedirect(
      () => routes,
      () => [v4(10, 147, 0, 1)],
    );
    expect(redirect(0x7f000035, 53)).toBe(true);
    expect(redirect(0x08080808, 53)).toBe(true);
    expect(redirect(0x0a930001, 53)).toBe(true); // the host's nameserver, even inside the routes
    expect(redirect(0x0a930005, 53)).toBe(false); // a DNS server on the network
    expect(redirect(0x08080808, 5353)).toBe(false);
  });

  it('redirects IPv6 destinations the same way: host nameservers, addresses off the IPv6 routes, v4-mapped as IPv4', () => {
    const v6 = (text: string): string => parseIpv6Addr(text)!;
    const routes = [
      { dest: 0x0a930000, prefixLen: 16, gateway: null, metric: 0 },
      { dest: v6('fd80:56c2:e21c::'), prefixLen: 88, gateway: null, metric: 0 },
    ];
    const redirect = makeDnsRedirect(
      () => routes,
      () => [{ family: 6, bytes: parseIpv6('fd80:56c2:e21c::53')! }],
    );
    expect(redirect(v6('2001:4860:4860::8888'), 53)).toBe(true); // off the routes
    expect(redirect(v6('fd80:56c2:e21c::53'), 53)).toBe(true); // the host's nameserver, even inside the routes
    expect(redirect(v6('fd80:56c2:e21c::54'), 53)).toBe(false); // a DNS server on the network
    expect(redirect(v6('2001:4860:4860::8888'), 80)).toBe(false);
    expect(redirect(v6('::ffff:127.0.0.53'), 53)).toBe(true);
    expect(redirect(v6('::ffff:10.147.0.5'), 53)).toBe(false);
    expect(redirect(v6('::ffff:8.8.8.8'), 53)).toBe(true);
  });
});
