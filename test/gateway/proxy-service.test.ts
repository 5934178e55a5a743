/**
 * The reverse proxy without root: three real-time stacks on an in-process hub (members alpha and
 * beta with Node HTTP servers on their stacks, and the gateway), a network config the test
 * replaces as a config push would, and the proxy on 127.0.0.1. Requests are routed by name; a
 * body of a megabyte goes through intact both ways; connections to a member are reused; a new
 * config applies to the very next request (a member's address changes, a member is dropped);
 * proxies come back after a restart of the gateway service (gateway.d/).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayService } from '../../src/gateway/index.js';
import { StackStream } from '../../src/gateway/proxy-stream.js';
import { createNetStack, RealScheduler, type NetStack } from '../../src/netstack/index.js';
import type { NetworkConfig } from '../../src/node/index.js';
import { defaultNetworkConfig } from '../../src/node/network/network-config.js';
import { tempDir } from '../support/temp-dir.js';

const NWID = '8056c2e21c000003';
const ALPHA = 0x0a620001; // 10.98.0.1
const BETA = 0x0a620002;
const G = 0x0a620003;

/** Stacks on one broadcast segment: each frame goes to every other stack (each takes only its own MAC's). */
function hub(addrs: number[]): NetStack[] {
  const sched = new RealScheduler();
  const stacks = addrs.map((addr, i) => {
    const s = createNetStack({ scheduler: sched, mac: Buffer.from([2, 0, 0, 0, 1, i + 1]), name: `s${i}` });
    s.addAddress(addr, 24);
    return s;
  });
  for (const s of stacks)
    s.setLinkOutput((f: Buffer) => {
      for (const to of stacks) {
        if (to === s) continue;
        const copy = Buffer.from(f);
        setImmediate(() => to.input(copy));
      }
    });
  return stacks;
}

/** A Node HTTP server on a stack's port 80: answers with its name and the SHA-256 of the body it read. */
function webServer(stack: NetStack, name: string): { connections: number } {
  const seen = { connections: 0 };
  const srv = createServer((req: IncomingMessage, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => {
      h.update(c);
      n += c.length;
    });
    req.on('end', () => {
      const body = JSON.stringify({ name, bytes: n, sha: h.digest('hex'), xff: req.headers['x-forwarded-for'], host: req.headers.host });
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': 1 << 20 });
        res.end(Buffer.alloc(1 << 20, 7));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const l = stack.tcpSocket();
  l.bind(0, 80);
  l.listen(16);
  l.handlers.onAcceptable = () => {
    for (let c = l.accept(); c; c = l.accept()) {
      seen.connections++;
      srv.emit('connection', StackStream.established(c));
    }
  };
  return seen;
}

function config(names: Record<string, string>): NetworkConfig {
  return {
    ...defaultNetworkConfig(1n, 2n),
    dns: { domain: 'px.test', servers: [] },
    names: Object.entries(names).map(([name, ip]) => ({ name, addrs: [{ family: 4 as const, ip, port: 0 }] })),
  };
}

function call(port: number, host: string, opts: { path?: string; body?: Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.body ? 'POST' : 'GET', headers: { host }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const logger = pino({ level: 'silent' });
const services: GatewayService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});

describe('reverse proxy service', () => {
  it('routes by name, carries bodies intact, reuses connections, follows each new config and survives a restart', async () => {
    const home = tempDir('ztnc-proxy-');
    const [alpha, beta, g] = hub([ALPHA, BETA, G]);
    const alphaSeen = webServer(alpha!, 'alpha');
    webServer(beta!, 'beta');
    let cfg = config({ alpha: '10.98.0.1', beta: '10.98.0.2' });
    const make = (): GatewayService => {
      const s = new GatewayService({
        homeDir: home,
        logger,
        stackOf: () => g!,
        resolveName: () => Promise.resolve(null),
        configOf: () => cfg,
      });
      services.push(s);
      return s;
    };
    const s1 = make();
    await s1.start();
    s1.setEnabled(NWID, true);
    const port = await freePort();
    await s1.proxies.add(NWID, {
      listen: { hostAddr: '127.0.0.1', hostPort: port },
      tls: null,
      upstreamFile: null,
      namesPort: 80,
      health: null,
      routes: [],
    });
    const json = async (host: string, body?: Buffer) =>
      JSON.parse((await call(port, host, { body })).body.toString()) as Record<string, unknown>;

    expect(await json('alpha.px.test')).toMatchObject({ name: 'alpha', xff: '127.0.0.1', host: 'alpha.px.test' });
    expect(await json('beta.px.test')).toMatchObject({ name: 'beta' });
    // a megabyte up and a megabyte down
    const data = randomBytes(1 << 20);
    expect(await json('alpha.px.test', data)).toMatchObject({ name: 'alpha', bytes: data.length, sha: sha(data) });
    const big = await call(port, 'beta.px.test', { path: '/big' });
    expect(sha(big.body)).toBe(sha(Buffer.alloc(1 << 20, 7)));
    // three requests to alpha over one pooled connection
    expect(alphaSeen.connections).toBe(1);

    // a push that moves alpha to beta's address: the next request goes there
    cfg = config({ alpha: '10.98.0.2', beta: '10.98.0.2' });
    expect(await json('alpha.px.test')).toMatchObject({ name: 'beta' });
    // a push without beta (de-authorized): the next request is a 404
    cfg = config({ alpha: '10.98.0.1' });
    const gone = await call(port, 'beta.px.test');
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).toMatch(/no member named beta/);
    expect((await call(port, 'elsewhere.example')).status).toBe(421);
    const [view] = s1.proxies.list(NWID);
    expect(view!.stats).toMatchObject({ forwarded: 5, noMember: 1, noRoute: 1, badGateway: 0, active: 0 });

    s1.proxies.route(NWID, String(port), { host: 'www.example', pathPrefix: '/', member: 'alpha', port: 80 });
    await s1.close();
    services.length = 0;
    const s2 = make();
    await s2.start();
    expect(s2.proxies.list(NWID)).toMatchObject([
      { key: `127.0.0.1:${port}`, namesPort: 80, routes: [{ host: 'www.example', member: 'alpha' }] },
    ]);
    expect(await json('www.example')).toMatchObject({ name: 'alpha' });
    // the route goes, the proxy goes
    s2.proxies.unroute(NWID, String(port), 'www.example', '/');
    expect((await call(port, 'www.example')).status).toBe(421);
    await s2.proxies.remove(NWID, String(port));
    await expect(call(port, 'alpha.px.test')).rejects.toThrow();
    expect(s2.proxies.list()).toEqual([]);
    for (const s of [alpha, beta, g]) s!.close();
  });

  it('refuses a proxy without the gateway role, twice on one port, or with a certificate it cannot read', async () => {
    const home = tempDir('ztnc-proxy-');
    const [g] = hub([G]);
    // a damaged state file is reported and ignored, not fatal
    mkdirSync(join(home, 'gateway.d'), { recursive: true });
    writeFileSync(join(home, 'gateway.d', `${NWID}.proxies.json`), '{"proxies": [{"listen": 5}, ');
    const s = new GatewayService({
      homeDir: home,
      logger,
      stackOf: () => g!,
      resolveName: () => Promise.resolve(null),
      configOf: () => null,
    });
    services.push(s);
    await s.start();
    expect(s.proxies.list()).toEqual([]);
    const port = await freePort();
    const spec = {
      listen: { hostAddr: '127.0.0.1', hostPort: port },
      tls: null,
      upstreamFile: null,
      namesPort: 80,
      health: null,
      routes: [],
    };
    await expect(s.proxies.add(NWID, spec)).rejects.toThrow(/not the gateway/);
    s.setEnabled(NWID, true);
    await s.proxies.add(NWID, spec);
    await expect(s.proxies.add(NWID, { ...spec, listen: { hostAddr: '0.0.0.0', hostPort: port } })).rejects.toThrow(
      /already listens there/,
    );
    const port2 = await freePort();
    await expect(
      s.proxies.add(NWID, {
        ...spec,
        listen: { hostAddr: '127.0.0.1', hostPort: port2 },
        tls: { cert: '/nonexistent.pem', key: '/nonexistent.key' },
      }),
    ).rejects.toThrow(/tls: /);
    expect(() => s.proxies.route(NWID, '1', { host: 'x', pathPrefix: '/', member: 'a', port: 1 })).toThrow(/no reverse proxy 1/);
    expect(() => s.proxies.unroute(NWID, String(port), 'x', '/')).toThrow(/has no route for x/);
    // no config yet: no domain, so the default rule takes nothing (421), and the proxy keeps serving
    expect((await call(port, 'alpha.px.test')).status).toBe(421);
    g!.close();
  });
});
