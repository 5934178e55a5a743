/**
 * A network's resolver as the daemon assembles it (src/service/network-names.ts): names and
 * servers from the node's network config, re-read at every question; the host's resolvers used
 * only when local.conf allows them; the port-53 redirect from the network's routes; behind a
 * gateway (a default route via a member) and without servers, the gateway is the server.
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildQuery, DnsType, emitDnsMessage, NAME_ENOENT, parseDnsMessage, type DnsMessage } from '../../src/dns/index.js';
import { createNetStack, CryptoRandom, parseIpv6, RealScheduler, type NetStack } from '../../src/netstack/index.js';
import { defaultNetworkConfig, type NetworkConfig } from '../../src/node/network/network-config.js';
import { networkNames, resolverConfigOf } from '../../src/service/network-names.js';
import { requireOrSkip } from '../support/requirements.js';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';

function stack(): NetStack {
  const s = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 1, 2, 3, 4, 5]), name: 'n' });
  s.addAddress(0x0a930005, 16);
  s.setLinkOutput(() => {});
  return s;
}

function config(names: { name: string; ip: string }[], revision = 1n): NetworkConfig {
  const c = defaultNetworkConfig(0x8056c2e21c000001n, 0x1111111111n);
  c.revision = revision;
  c.dns = { domain: 'checks.ztnc', servers: [] };
  c.names = names.map((n) => ({ name: n.name, addrs: [{ family: 4, ip: n.ip, port: 0 }] }));
  return c;
}

afterAll(() => removeTempDirs());

describe('network names in the daemon', () => {
  it("asks the default route's gateway when the network names no servers, and the network's servers when it does", () => {
    const c = config([]);
    c.routes = [
      { target: { family: 4, ip: '10.147.0.0', port: 16 }, via: null, flags: 0, metric: 0 },
      { target: { family: 4, ip: '0.0.0.0', port: 0 }, via: { family: 4, ip: '10.147.0.1', port: 0 }, flags: 0, metric: 0 },
    ];
    expect(resolverConfigOf(c).servers).toEqual([{ family: 4, bytes: Uint8Array.of(10, 147, 0, 1) }]);
    c.dns = { domain: 'checks.ztnc', servers: [{ family: 4, ip: '10.147.0.53', port: 0 }] };
    expect(resolverConfigOf(c).servers).toEqual([{ family: 4, bytes: Uint8Array.of(10, 147, 0, 53) }]);
    c.dns = { domain: 'checks.ztnc', servers: [] };
    c.routes = c.routes.slice(0, 1);
    expect(resolverConfigOf(c).servers).toEqual([]);
  });

  it('resolves the names of the config the network holds now, each push taking effect at once', async () => {
    let current: NetworkConfig | null = null;
    const s = stack();
    const n = networkNames({
      scheduler: new RealScheduler(),
      random: new CryptoRandom(),
      config: () => current,
      allowHostResolvers: false,
    })(s);
    expect(await n.names.resolve('alpha.checks.ztnc', 2)).toEqual({ errno: NAME_ENOENT });
    current = config([{ name: 'alpha', ip: '10.147.0.9' }]);
    expect(await n.names.resolve('alpha.checks.ztnc', 2)).toMatchObject({ addrs: [{ family: 4, bytes: Uint8Array.of(10, 147, 0, 9) }] });
    current = config([{ name: 'beta', ip: '10.147.0.10' }], 2n);
    expect(await n.names.resolve('alpha.checks.ztnc', 2)).toEqual({ errno: NAME_ENOENT });
    expect(await n.names.reverse(4, Uint8Array.of(10, 147, 0, 10))).toEqual({ name: 'beta.checks.ztnc' });
    // no servers, host resolvers not allowed: not found at once
    expect(await n.names.resolve('example.com', 0)).toEqual({ errno: NAME_ENOENT });
    // the redirect: 127.0.0.53 and addresses off the network's routes, port 53 only
    expect(n.dnsRedirect(0x7f000035, 53)).toBe(true);
    expect(n.dnsRedirect(0x08080808, 53)).toBe(true);
    expect(n.dnsRedirect(0x0a930001, 53)).toBe(false);
    expect(n.dnsRedirect(0x08080808, 80)).toBe(false);
    s.close();
  });
});

describe('IPv6 member names', () => {
  it('answers AAAA with the rfc4193 and 6plane addresses the config names carry, and their ip6.arpa PTR', async () => {
    const c = config([{ name: 'alpha', ip: '10.147.0.9' }]);
    const rfc4193 = 'fd80:56c2:e21c:0:199:93de:adbe:ef01';
    const sixPlane = 'fc9c:56c2:e3de:adbe:ef01::1';
    c.names![0]!.addrs.push({ family: 6, ip: rfc4193, port: 0 }, { family: 6, ip: sixPlane, port: 0 });
    const s = stack();
    const n = networkNames({ scheduler: new RealScheduler(), random: new CryptoRandom(), config: () => c, allowHostResolvers: false })(s);
    const v6 = (text: string): Uint8Array => Uint8Array.from(parseIpv6(text)!);
    expect(await n.names.resolve('alpha.checks.ztnc', 10)).toEqual({
      canonical: 'alpha.checks.ztnc',
      addrs: [
        { family: 6, bytes: v6(rfc4193) },
        { family: 6, bytes: v6(sixPlane) },
      ],
    });
    expect(await n.names.resolve('alpha.checks.ztnc', 0)).toMatchObject({ addrs: [{ family: 4 }, { family: 6 }, { family: 6 }] });
    expect(await n.names.reverse(6, v6(rfc4193))).toEqual({ name: 'alpha.checks.ztnc' });
    expect(await n.names.reverse(6, v6(sixPlane))).toEqual({ name: 'alpha.checks.ztnc' });
    // the DNS message path: AAAA records, and the PTR of the nibble name
    const ask = async (name: string, type: number): Promise<DnsMessage> =>
      parseDnsMessage((await n.names.answer(buildQuery(7, name, type)))!) as DnsMessage;
    const aaaa = await ask('alpha.checks.ztnc', DnsType.AAAA);
    expect(aaaa.answers.map((r) => (r.data.kind === 'address' ? Buffer.from(r.data.bytes).toString('hex') : r.data))).toEqual([
      Buffer.from(v6(rfc4193)).toString('hex'),
      Buffer.from(v6(sixPlane)).toString('hex'),
    ]);
    const nibbles = [...Buffer.from(v6(rfc4193)).toString('hex')].reverse().join('.');
    const ptr = await ask(`${nibbles}.ip6.arpa`, DnsType.PTR);
    expect(ptr.answers[0]!.data).toEqual({ kind: 'name', target: 'alpha.checks.ztnc' });
    s.close();
  });
});

const root = { ok: process.getuid?.() === 0, reason: 'needs root (a stand-in resolver on 127.0.0.77 port 53)' };

describe.runIf(requireOrSkip(root, 'host resolvers'))("the host's resolvers, when allowed", () => {
  it('forwards names the network cannot answer to resolv.conf nameservers only with allowHostResolvers', async () => {
    const dir = tempDir('ztnc-resolv-');
    const resolvConf = join(dir, 'resolv.conf');
    writeFileSync(resolvConf, 'nameserver 127.0.0.77\n');
    const server = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => server.bind(53, '127.0.0.77', resolve));
    let asked = 0;
    server.on('message', (msg, rinfo) => {
      asked++;
      const q = parseDnsMessage(msg) as DnsMessage;
      const a: DnsMessage = { ...q, response: true, recursionAvailable: true, edns: null };
      a.answers = [
        { name: q.questions[0]!.name, type: DnsType.A, class: 1, ttl: 60, data: { kind: 'address', bytes: Uint8Array.of(192, 0, 2, 1) } },
      ];
      server.send(emitDnsMessage(a), rinfo.port, rinfo.address);
    });
    try {
      const s = stack();
      const current = config([]);
      const make = (allow: boolean) =>
        networkNames({
          scheduler: new RealScheduler(),
          random: new CryptoRandom(),
          config: () => current,
          allowHostResolvers: allow,
          resolvConf,
        })(s);
      expect(await make(false).names.resolve('example.com', 2)).toEqual({ errno: NAME_ENOENT });
      expect(asked).toBe(0);
      const allowed = make(true);
      expect(await allowed.names.resolve('example.com', 2)).toMatchObject({ addrs: [{ family: 4, bytes: Uint8Array.of(192, 0, 2, 1) }] });
      expect(asked).toBe(1);
      // the host's nameserver is redirected even though it is on loopback
      expect(allowed.dnsRedirect(0x7f00004d, 53)).toBe(true);
      s.close();
    } finally {
      server.close();
    }
  });
});
