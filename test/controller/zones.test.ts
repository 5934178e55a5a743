/**
 * Zones' pure rules (src/controller/zones.ts): names, the host's route tables read from /proc text,
 * the automatic subnet choice (clear of host routes, zones and other networks; exhaustion), the
 * check of a given subnet, and the network body a zone is made with.
 */
import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from '../../src/controller/ip-assignment.js';
import {
  checkZoneSubnet,
  chooseZoneSubnet,
  cidrClaim,
  networkClaims,
  parseIpv4Routes,
  parseIpv6Routes,
  zoneGatewayIp,
  zoneInfoOf,
  zoneNameOf,
  zoneNameProblem,
  zoneNetworkBody,
  ZoneError,
  type AddressClaim,
} from '../../src/controller/zones.js';

function claim(cidr: string, owner = `test ${cidr}`): AddressClaim {
  return cidrClaim(parseCidr(cidr)!, owner);
}

const choose = (claims: AddressClaim[], ranges?: string[]): string => formatCidr(chooseZoneSubnet(claims, ranges));

// /proc/net/route as a host with a default route, a LAN 10.100.0.0/24 and docker's 172.17.0.0/16
const PROC_ROUTE = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth0\t00000000\t0100640A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  'eth0\t0000640A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
  'bad\tzzzz\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'odd\t0000640A\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0',
  '',
].join('\n');

const PROC_IPV6_ROUTE = [
  'fd123456000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0',
  '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0',
  '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo',
  'garbage',
].join('\n');

describe('zone names', () => {
  it('takes DNS labels in lower case and refuses the rest, saying why', () => {
    for (const ok of ['bz1', 'a', 'web-tier', 'x'.repeat(63)]) expect(zoneNameProblem(ok)).toBeNull();
    for (const bad of ['', 'BZ1', '-a', 'a-', 'a_b', 'a.b', 'zone:x', 'x'.repeat(64), 'a b']) {
      expect(zoneNameProblem(bad)).toMatch(/^invalid zone name .*lower-case letters, digits and '-'/);
    }
  });

  it('a zone is a network named zone:<name>; other names are not zones', () => {
    expect(zoneNameOf('zone:bz1')).toBe('bz1');
    expect(zoneNameOf('bz1')).toBeNull();
    expect(zoneNameOf('zone:')).toBeNull();
    expect(zoneNameOf('zone:Bad Name')).toBeNull();
    expect(zoneNameOf(undefined)).toBeNull();
  });
});

describe("the host's routes", () => {
  it('reads /proc/net/route: byte order, prefix from the mask, default routes and bad lines left out', () => {
    const routes = parseIpv4Routes(PROC_ROUTE);
    expect(routes.map((r) => r.owner)).toEqual(['host route 10.100.0.0/24 dev eth0', 'host route 172.17.0.0/16 dev docker0']);
    expect(routes[0]).toMatchObject({ family: 4, first: 0x0a640000n, last: 0x0a6400ffn });
  });

  it('reads /proc/net/ipv6_route: prefix length in hex, default routes left out', () => {
    const routes = parseIpv6Routes(PROC_IPV6_ROUTE);
    expect(routes.map((r) => r.owner)).toEqual(['host route fd12:3456::/64 dev eth0', 'host route ::1/128 dev lo']);
  });

  it('reads nothing from empty text', () => {
    expect(parseIpv4Routes('')).toEqual([]);
    expect(parseIpv6Routes('')).toEqual([]);
  });
});

describe('automatic subnets', () => {
  it('are the first free /24 of 10.100.0.0/16, then the rest of the private ranges', () => {
    expect(choose([])).toBe('10.100.0.0/24');
    expect(choose([claim('10.100.0.0/24'), claim('10.100.1.0/24')])).toBe('10.100.2.0/24');
  });

  it("skip the host's routes", () => {
    expect(choose(parseIpv4Routes(PROC_ROUTE))).toBe('10.100.1.0/24');
    // a /16 on the host moves the walk on to the rest of 10/8, a /8 to 172.16/12 past docker's /16
    expect(choose([claim('10.100.0.0/16')])).toBe('10.0.0.0/24');
    expect(choose([claim('10.0.0.0/8'), claim('172.16.0.0/16')])).toBe('172.17.0.0/24');
  });

  it("skip other zones and other networks' routes and pools, however they are aligned", () => {
    const networks = [
      { id: 'aaaaaaaaaa000001', name: 'zone:bz1', routes: [{ target: '10.100.0.0/24', via: null }], ipAssignmentPools: [] },
      {
        id: 'aaaaaaaaaa000002',
        name: 'office',
        routes: [{ target: '0.0.0.0/0', via: '10.9.9.9' }],
        ipAssignmentPools: [{ ipRangeStart: '10.100.1.200', ipRangeEnd: '10.100.2.3' }],
      },
      { id: 'aaaaaaaaaa000003', name: 'lab', routes: [{ target: '10.100.3.128/25', via: null }], ipAssignmentPools: [] },
    ];
    const claims = networks.flatMap(networkClaims);
    expect(choose(claims)).toBe('10.100.4.0/24');
    // the default route of "office" claims nothing
    expect(claims.map((c) => c.owner)).toEqual([
      'zone bz1 (10.100.0.0/24)',
      'network aaaaaaaaaa000002 "office" (pool 10.100.1.200-10.100.2.3)',
      'network aaaaaaaaaa000003 "lab" (route 10.100.3.128/25)',
    ]);
  });

  it('two zones made one after the other do not overlap', () => {
    const first = chooseZoneSubnet([]);
    const second = chooseZoneSubnet([cidrClaim(first, 'zone a')]);
    expect(formatCidr(second)).not.toBe(formatCidr(first));
    expect(() => checkZoneSubnet(formatCidr(second), [cidrClaim(first, 'zone a')])).not.toThrow();
  });

  it('end in a clear error when every block is taken', () => {
    const ranges = ['10.1.0.0/23'];
    expect(choose([claim('10.1.0.0/24')], ranges)).toBe('10.1.1.0/24');
    expect(() => chooseZoneSubnet([claim('10.1.0.0/24'), claim('10.1.1.0/24')], ranges)).toThrow(ZoneError);
    expect(() => chooseZoneSubnet([claim('10.0.0.0/8')], ranges)).toThrow(
      /no free \/24 subnet left in 10\.1\.0\.0\/23: every one overlaps a zone, a network or a host route/,
    );
  });

  it('ignore claims of the other family', () => {
    expect(choose([claim('fd00::/8'), ...parseIpv6Routes(PROC_IPV6_ROUTE)])).toBe('10.100.0.0/24');
  });
});

describe('given subnets', () => {
  it('are checked: a CIDR, private, with room, clear of every claim (the clash named)', () => {
    expect(formatCidr(checkZoneSubnet('10.20.30.0/24', []))).toBe('10.20.30.0/24');
    expect(formatCidr(checkZoneSubnet('192.168.5.77/24', []))).toBe('192.168.5.0/24');
    expect(formatCidr(checkZoneSubnet('fd00:1:2::/64', []))).toBe('fd00:1:2::/64');
    expect(() => checkZoneSubnet('10.20.30/24', [])).toThrow(/--subnet: "10\.20\.30\/24" is not an IPv4 or IPv6 CIDR/);
    expect(() => checkZoneSubnet('10.20.30.0', [])).toThrow(/is not an IPv4 or IPv6 CIDR/);
    expect(() => checkZoneSubnet('8.8.8.0/24', [])).toThrow(/8\.8\.8\.0\/24 is not a private range \(10\.0\.0\.0\/8, 172\.16/);
    expect(() => checkZoneSubnet('172.32.0.0/24', [])).toThrow(/not a private range/);
    expect(() => checkZoneSubnet('2001:db8::/64', [])).toThrow(/not a private range/);
    expect(() => checkZoneSubnet('10.0.0.0/7', [])).toThrow(/the prefix must be \/8 to \/30/);
    expect(() => checkZoneSubnet('10.0.0.4/31', [])).toThrow(/the prefix must be \/8 to \/30/);
    const zones = [claim('10.100.0.0/24', 'zone bz1 (10.100.0.0/24)')];
    expect(() => checkZoneSubnet('10.100.0.128/25', zones)).toThrow('--subnet: 10.100.0.128/25 overlaps zone bz1 (10.100.0.0/24)');
    expect(() => checkZoneSubnet('10.0.0.0/8', zones)).toThrow(/overlaps zone bz1/);
    expect(() => checkZoneSubnet('10.100.0.0/24', parseIpv4Routes(PROC_ROUTE))).toThrow(/overlaps host route 10\.100\.0\.0\/24 dev eth0/);
    expect(() => checkZoneSubnet('fd12:3456::/48', parseIpv6Routes(PROC_IPV6_ROUTE))).toThrow(
      /overlaps host route fd12:3456::\/64 dev eth0/,
    );
  });
});

describe("a zone's network", () => {
  it('routes the subnet, pools all but the gateway and broadcast addresses, and with a gateway routes the default via it', () => {
    const subnet = parseCidr('10.100.7.0/24')!;
    expect(zoneGatewayIp(subnet)).toBe('10.100.7.1');
    expect(zoneNetworkBody('bz1', subnet, '10.100.7.1')).toEqual({
      name: 'zone:bz1',
      private: true,
      routes: [
        { target: '10.100.7.0/24', via: null },
        { target: '0.0.0.0/0', via: '10.100.7.1' },
      ],
      ipAssignmentPools: [{ ipRangeStart: '10.100.7.2', ipRangeEnd: '10.100.7.254' }],
      v4AssignMode: { zt: true },
    });
    expect(zoneNetworkBody('bz1', subnet, null).routes).toEqual([{ target: '10.100.7.0/24', via: null }]);
    const v6 = parseCidr('fd00:1::/64')!;
    expect(zoneNetworkBody('six', v6, zoneGatewayIp(v6))).toMatchObject({
      routes: [
        { target: 'fd00:1::/64', via: null },
        { target: '::/0', via: 'fd00:1::1' },
      ],
      ipAssignmentPools: [{ ipRangeStart: 'fd00:1::2', ipRangeEnd: 'fd00:1::ffff:ffff:ffff:ffff' }],
      v6AssignMode: { zt: true, rfc4193: false, '6plane': false },
    });
  });

  it('is read back as a zone: subnet from the plain route, gateway from the default route', () => {
    const body = zoneNetworkBody('bz1', parseCidr('10.100.7.0/24')!, '10.100.7.1') as { routes: []; ipAssignmentPools: [] };
    expect(zoneInfoOf({ id: 'aaaaaaaaaa000001', name: 'zone:bz1', routes: body.routes, ipAssignmentPools: [] })).toEqual({
      zone: 'bz1',
      nwid: 'aaaaaaaaaa000001',
      subnet: '10.100.7.0/24',
      gatewayIp: '10.100.7.1',
    });
    expect(zoneInfoOf({ id: 'aaaaaaaaaa000002', name: 'office', routes: body.routes, ipAssignmentPools: [] })).toBeNull();
  });
});
