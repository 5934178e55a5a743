// Network config → stack (src/node/network/stack-config.ts): both families' addresses and routes,
// the 6plane /80 as the stack's own, and what a later config drops taken away again — without
// touching what the stack holds on its own (link-local address, on-link routes).
import { describe, expect, it } from 'vitest';
import { parseIpv6Addr, type IpAddr, type Ipv6Addr } from '../../src/netstack/index.js';
import { defaultNetworkConfig, type NetworkConfig } from '../../src/node/network/network-config.js';
import { isSixPlaneOf, prefixOf, StackConfigurator, type ConfigurableStack } from '../../src/node/network/stack-config.js';
import { rfc4193Address, sixPlaneAddress } from '../../src/controller/ip-assignment.js';

const NWID = 0x8056c2e21c000001n;
const SELF = 0xdeadbeef01n;
const v6 = (text: string): Ipv6Addr => parseIpv6Addr(text)!;

/** A stack that records what it is told, and like the real one gives itself a link-local address and on-link routes. */
class RecordingStack implements ConfigurableStack {
  readonly addrs = new Map<IpAddr, number>();
  readonly routeList: { dest: IpAddr; prefixLen: number; gateway: IpAddr | null; metric: number }[] = [];
  readonly owned = new Set<string>();
  readonly calls: string[] = [];
  addresses() {
    return [...this.addrs].map(([addr, prefixLen]) => ({ addr, prefixLen }));
  }
  addAddress(addr: IpAddr, prefixLen: number): void {
    this.calls.push(`add ${addr}/${prefixLen}`);
    if (typeof addr === 'string' && ![...this.addrs.keys()].some((a) => typeof a === 'string')) this.addrs.set(v6('fe80::1'), 64);
    this.addrs.set(addr, prefixLen);
  }
  removeAddress(addr: IpAddr): void {
    this.calls.push(`remove ${addr}`);
    this.addrs.delete(addr);
  }
  routes() {
    const onLink = [...this.addrs].map(([addr, prefixLen]) => ({
      dest: typeof addr === 'number' ? addr & (prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0) : prefixOf(addr, prefixLen),
      prefixLen,
    }));
    return [...onLink, ...this.routeList];
  }
  addRoute(r: { dest: IpAddr; prefixLen: number; gateway: IpAddr | null; metric: number }): void {
    this.calls.push(`route ${r.dest}/${r.prefixLen} via ${r.gateway}`);
    this.routeList.push(r);
  }
  removeRoute(dest: IpAddr, prefixLen: number): void {
    this.calls.push(`unroute ${dest}/${prefixLen}`);
    const i = this.routeList.findIndex((r) => r.dest === dest && r.prefixLen === prefixLen);
    if (i >= 0) this.routeList.splice(i, 1);
  }
  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    this.calls.push(`own ${prefix}/${prefixLen}`);
    this.owned.add(`${prefix}/${prefixLen}`);
  }
  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    this.calls.push(`disown ${prefix}/${prefixLen}`);
    this.owned.delete(`${prefix}/${prefixLen}`);
  }
}

function config(opts: { rfc4193?: boolean; sixPlane?: boolean; v4?: string; routes?: [string, number, string | null][] }): NetworkConfig {
  const c = defaultNetworkConfig(NWID, SELF);
  if (opts.rfc4193) c.staticIps.push({ family: 6, ip: rfc4193Address(NWID, SELF).ip, port: 88 });
  if (opts.sixPlane) c.staticIps.push({ family: 6, ip: sixPlaneAddress(NWID, SELF).ip, port: 40 });
  if (opts.v4) c.staticIps.push({ family: 4, ip: opts.v4, port: 24 });
  for (const [ip, bits, via] of opts.routes ?? [])
    c.routes.push({
      target: { family: ip.includes(':') ? 6 : 4, ip, port: bits },
      via: via === null ? null : { family: via.includes(':') ? 6 : 4, ip: via, port: 0 },
      flags: 0,
      metric: 0,
    });
  return c;
}

const RFC4193 = v6(rfc4193Address(NWID, SELF).ip);
const SIXPLANE = v6(sixPlaneAddress(NWID, SELF).ip);

describe('network config applied to the stack', () => {
  it('gives the stack the rfc4193 /88 and 6plane /40 addresses, the 6plane /80 as its own, and IPv6 routes', () => {
    const s = new RecordingStack();
    new StackConfigurator(s).apply(
      config({
        rfc4193: true,
        sixPlane: true,
        v4: '10.147.17.5',
        routes: [
          ['10.147.17.0', 24, null],
          ['fd00:aaaa::', 32, 'fd80:56c2:e21c:0:199:9300:0:1'],
        ],
      }),
    );
    expect(s.addrs.get(RFC4193)).toBe(88);
    expect(s.addrs.get(SIXPLANE)).toBe(40);
    expect(s.addrs.get(0x0a931105)).toBe(24);
    expect([...s.owned]).toEqual([`${SIXPLANE.slice(0, 20)}${'0'.repeat(12)}/80`]);
    // the IPv4 route is the address's on-link route: not added twice
    expect(s.routeList).toEqual([{ dest: v6('fd00:aaaa::'), prefixLen: 32, gateway: v6('fd80:56c2:e21c:0:199:9300:0:1'), metric: 0 }]);
  });

  it('takes back what a later config drops, and leaves the stack’s own link-local address alone', () => {
    const s = new RecordingStack();
    const c = new StackConfigurator(s);
    c.apply(config({ rfc4193: true, sixPlane: true, v4: '10.147.17.5', routes: [['fd00:aaaa::', 32, null]] }));
    expect(s.addrs.has(v6('fe80::1'))).toBe(true);
    s.calls.length = 0;
    c.apply(config({ rfc4193: true, sixPlane: true, v4: '10.147.17.5', routes: [['fd00:aaaa::', 32, null]] }));
    expect(s.calls).toEqual([]); // the same config again changes nothing
    c.apply(config({ rfc4193: true, v4: '10.147.17.5' }));
    expect(s.calls).toEqual([`remove ${SIXPLANE}`, `disown ${prefixOf(SIXPLANE, 80)}/80`, `unroute ${v6('fd00:aaaa::')}/32`]);
    expect(s.addrs.has(v6('fe80::1'))).toBe(true);
    s.calls.length = 0;
    c.apply(config({ v4: '10.147.17.5' }));
    expect(s.calls).toEqual([`remove ${RFC4193}`]);
    expect(new Set(s.addrs.keys())).toEqual(new Set([0x0a931105, v6('fe80::1')]));
  });

  it('knows the network’s 6plane scheme and cuts prefixes on any bit', () => {
    expect(isSixPlaneOf(NWID, SIXPLANE, 40)).toBe(true);
    expect(isSixPlaneOf(NWID ^ 1n, SIXPLANE, 40)).toBe(false);
    expect(isSixPlaneOf(NWID, SIXPLANE, 80)).toBe(false);
    expect(isSixPlaneOf(NWID, RFC4193, 40)).toBe(false);
    expect(prefixOf(v6('fdff:ffff::'), 9)).toBe(v6('fd80::'));
    expect(prefixOf(v6('fdff:ffff::'), 18)).toBe(v6('fdff:c000::'));
    expect(prefixOf(RFC4193, 128)).toBe(RFC4193);
    expect(prefixOf(RFC4193, 0)).toBe(v6('::'));
  });
});
