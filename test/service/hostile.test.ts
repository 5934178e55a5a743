/**
 * Corrupt or hostile files in the home stop ztnc-service at start with one clear error naming the
 * file (non-zero exit, no pid file left, an existing identity never replaced); hostile input from
 * the API, the underlay and apps' RPC sockets is refused or dropped while the daemon keeps serving.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, runService, type Service, serviceEnv, startRoot, startService, tempDir, waitFor } from './service-harness.js';

afterAll(async () => {
  await killAll();
}, 60_000);

/** A home with the given files (relative path → contents). */
function homeWith(files: Record<string, string | Buffer>): string {
  const home = join(tempDir(), 'home');
  mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(home, name), data);
  return home;
}

async function refused(home: string, args: string[], env = serviceEnv()): Promise<string> {
  const r = await runService([home, '-p', '0', '--api-port', '0', ...args], env);
  expect(r.code).not.toBe(0);
  expect(r.signal).toBeNull();
  expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
  const lines = r.stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(/^ztnc-service: /);
  return r.stderr;
}

describe('corrupt files in the home', () => {
  let goodIdentity = '';
  let goodPlanet: Buffer;

  beforeAll(async () => {
    // a real identity and planet to damage
    const root = await startRoot(join(tempDir(), 'root'));
    goodIdentity = readFileSync(join(root.home, 'identity.secret'), 'utf8');
    goodPlanet = readFileSync(join(root.home, 'planet'));
    await root.stop();
  }, 120_000);

  it('a garbled identity.secret is named and left as it is', async () => {
    const home = homeWith({ 'identity.secret': 'this is not an identity\n' });
    const err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'identity.secret'));
    expect(readFileSync(join(home, 'identity.secret'), 'utf8')).toBe('this is not an identity\n');
    expect(existsSync(join(home, 'identity.public'))).toBe(false);
  }, 60_000);

  it('a truncated identity.secret is named, never regenerated', async () => {
    const cut = goodIdentity.trim().slice(0, -20);
    const home = homeWith({ 'identity.secret': cut });
    const err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'identity.secret'));
    expect(err).toMatch(/private key/);
    expect(readFileSync(join(home, 'identity.secret'), 'utf8')).toBe(cut);
  }, 60_000);

  it('an identity whose key does not match its address is named', async () => {
    const f = goodIdentity.trim().split(':');
    f[0] = f[0] === '0123456789' ? '1123456789' : '0123456789';
    const home = homeWith({ 'identity.secret': f.join(':') });
    const err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'identity.secret'));
    expect(err).toMatch(/fails validation/);
  }, 60_000);

  it('a truncated planet given with --planet is named', async () => {
    const dir = tempDir();
    const planet = join(dir, 'planet.cut');
    writeFileSync(planet, goodPlanet.subarray(0, goodPlanet.length - 40));
    const err = await refused(join(dir, 'home'), ['--planet', planet]);
    expect(err).toContain(planet);
    expect(err).toMatch(/not a valid planet|signature/);
  }, 60_000);

  it('a truncated planet in the home is named', async () => {
    const home = homeWith({ planet: goodPlanet.subarray(0, 30) });
    const err = await refused(home, []);
    expect(err).toContain(join(home, 'planet'));
  }, 60_000);

  it('no planet and the built-in planet refused: says what to do', async () => {
    const err = await refused(homeWith({}), []);
    expect(err).toMatch(/built-in planet is refused/);
    expect(err).toMatch(/--private-planet/);
  }, 60_000);

  it('a local.conf that is not JSON, or holds a wrong value, is named with the key', async () => {
    let home = homeWith({ 'local.conf': '{"settings": {' });
    let err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'local.conf'));
    expect(err).toMatch(/not valid JSON/);
    home = homeWith({ 'local.conf': '{"settings": {"allowLoopbackPaths": "yes"}}' });
    err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'local.conf'));
    expect(err).toContain('allowLoopbackPaths');
  }, 60_000);

  it('a badly named networks.d file is named', async () => {
    const home = homeWith({ 'networks.d/not-a-network.conf': '' });
    const err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'networks.d', 'not-a-network.conf'));
  }, 60_000);

  it('an empty authtoken.secret is named', async () => {
    const home = homeWith({ 'authtoken.secret': '' });
    const err = await refused(home, ['--private-planet']);
    expect(err).toContain(join(home, 'authtoken.secret'));
  }, 60_000);
});

describe('ports in use', () => {
  it('a UDP port in use is a clear error', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '0.0.0.0', () => r()));
    try {
      const port = taken.address().port;
      const r = await runService([homeWith({}), '--private-planet', '-p', String(port), '--api-port', '0']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`UDP port ${port}`));
    } finally {
      taken.close();
    }
  }, 60_000);

  it('an API port in use is a clear error', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const home = homeWith({});
      const r = await runService([home, '--private-planet', '-p', '0', '--api-port', String(port)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
      expect(r.stderr).toContain('--api-port');
      expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 60_000);
});

describe('hostile input while running', () => {
  const NWID = 'deadbeef00c0ffee';
  let s: Service;

  beforeAll(async () => {
    const home = homeWith({ [`networks.d/${NWID}.conf`]: '' });
    s = await startService(home, ['--private-planet']);
  }, 120_000);

  it('refuses bad API requests with 4xx and keeps serving', async () => {
    expect((await s.api('POST', `/network/${NWID}`, '{"allowDNS": tru')).status).toBe(400);
    expect((await s.api('POST', `/network/${NWID}`, '[1,2]')).status).toBe(400);
    expect((await s.api('POST', `/network/${NWID}`, { allowManaged: 'sometimes' })).status).toBe(400);
    expect((await s.api('POST', '/network/not-a-network', {})).status).toBe(400);
    expect((await s.api('GET', '/peer/zz')).status).toBe(400);
    expect((await s.api('GET', '/no/such/path')).status).toBe(404);
    expect((await s.api('PUT', '/status')).status).toBe(405);
    expect((await s.api('POST', '/controller/network', 'x'.repeat(2 << 20))).status).toBe(413);
    expect((await s.api('POST', '/controller/network', { name: 7 })).status).toBe(400);
    expect((await s.api('GET', '/status')).status).toBe(200);
  }, 60_000);

  it('drops garbage datagrams on its UDP port, counts them and keeps serving', async () => {
    const before = await s.get<{ underlay: { received: number }; node: Record<string, number> }>('/counters');
    const st = await s.get<{ config: { settings: { primaryPort: number } } }>('/status');
    const port = st.config.settings.primaryPort;
    const sock = dgram.createSocket('udp4');
    try {
      for (let i = 0; i < 300; i++) {
        const len = [0, 1, 27, 28, 64, 200, 1400][i % 7]!;
        const pkt = randomBytes(len);
        // some look like fragments or carry our own address as destination
        if (len >= 28 && i % 3 === 0) pkt[13] = 0xff;
        await new Promise<void>((r) => sock.send(pkt, port, '127.0.0.1', () => r()));
      }
    } finally {
      sock.close();
    }
    expect(s.exited).toBe(false);
    expect((await s.api('GET', '/status')).status).toBe(200);
    const after = await waitFor(
      async () => {
        const c = await s.get<{ underlay: { received: number }; node: Record<string, number> }>('/counters');
        return c.underlay.received - before.underlay.received >= 250 ? c : null;
      },
      20_000,
      'the datagrams to arrive',
    );
    const dropped = (c: Record<string, number>): number =>
      Object.entries(c)
        .filter(([k]) => k.startsWith('rx_drop'))
        .reduce((n, [, v]) => n + v, 0);
    expect(dropped(after.node)).toBeGreaterThan(dropped(before.node));
    expect(after.node.rx_exception ?? 0).toBe(0);
  }, 60_000);

  it('closes an RPC connection that sends garbage and keeps serving', async () => {
    const sockPath = join(s.home, 'sockets', `${NWID}.sock`);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const c = net.connect(sockPath);
        c.on('connect', () => c.write(randomBytes(4096)));
        c.on('error', () => resolve());
        c.on('close', () => resolve());
        setTimeout(() => {
          c.destroy();
          resolve();
        }, 5_000).unref();
      });
    }
    expect(s.exited).toBe(false);
    const counters = await s.get<{ networks: Record<string, { netcon: Record<string, number> }> }>('/counters');
    expect(counters.networks[NWID]!.netcon.malformedRpc ?? 0).toBeGreaterThan(0);
    const n = await waitFor(async () => (await s.api('GET', `/network/${NWID}`)).status === 200, 10_000, 'the network to be listed');
    expect(n).toBe(true);
    expect((await s.stop()).code).toBe(0);
  }, 60_000);
});
