/**
 * Interoperability with stock ZeroTier One (optional: set ZTNC_STOCK_ZEROTIER to a zerotier-one
 * 1.x binary and run as root; ztnc ships none). Two stock nodes, each in a network namespace with
 * its kernel TCP/IP on a tap device, join a network of a ztnc root+controller; a ztnc container
 * daemon joins too. Checked: the stock nodes get their config and address from the ztnc
 * controller and reach each other; stock and ztnc ping each other both ways; iputils ping and UDP
 * datagrams (up to 20,000 bytes, fragmented) under the library reach a stock node's kernel; a 10 MB file served
 * by a program inside the ztnc container reaches curl on a stock node intact, and the other way.
 * Revocations both ways: when the ztnc controller de-authorizes a stock member, stock members and
 * ztnc containers stop exchanging frames with it at once (stock accepts our revocations); when a
 * stock controller (a stock node on no network) de-authorizes its stock member, a ztnc container
 * on its network stops accepting that member's frames at once (we accept stock's). Over IPv6: with
 * rfc4193 and 6plane on, a stock node pings the container's addresses of both schemes (any address
 * of its 6plane /80) and fetches a file from a server listening on :: in it.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { GiveUp, type LongRunning, waitFor } from '../../src/demo/processes.js';
import type { PingReport } from '../../src/service/local-api.js';
import {
  pingsStop,
  STOCK_ZEROTIER_ENV,
  type StockNode,
  StockZeroTierLab,
  stockZeroTierUnavailable,
} from '../../src/demo/stock-zerotier.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { optionalSuite } from '../support/requirements.js';
import { rfc4193Address, sixPlaneAddress } from '../../src/controller/ip-assignment.js';

const unavailable = await stockZeroTierUnavailable();
const FILE_BYTES = 10 * 1000 * 1000;

/** Generous bound on "at once" (without revocations the cut waits for a config refresh, 60 s, or the certificate's expiry). */
const CUT_BOUND_MS = 5_000;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

type Counters = { node: Record<string, number>; networks: Record<string, { network: Record<string, number> }> };
const networkCounters = async (c: Container): Promise<Record<string, number>> =>
  ((await c.daemon.apiOk('GET', '/counters')) as Counters).networks[c.nwid]!.network;

/** One ICMP echo from a ztnc container through its daemon's stack (1 s for the reply); true when answered. */
const ztncPing = async (c: Container, ip: string): Promise<boolean> =>
  ((await c.daemon.apiOk('POST', `/network/${c.nwid}/ping`, { address: ip, count: 1, timeoutMs: 1_000 })) as PingReport).received === 1;
/** One kernel ping from a stock node's namespace (1 s for the reply); true when answered. */
const stockPing = async (s: StockNode, ip: string): Promise<boolean> =>
  (await s.run('ping', ['-c', '1', '-W', '1', ip], 10_000)).code === 0;

describe.runIf(optionalSuite(unavailable, 'stock ZeroTier One interoperability'))('stock ZeroTier One and ztnc on one network', () => {
  let cluster: Cluster;
  let lab: StockZeroTierLab;
  let nwid: string;
  let s1: StockNode;
  let s2: StockNode;
  let c: Container;
  const servers: LongRunning[] = [];

  beforeAll(async () => {
    interceptLibrary();
    lab = await StockZeroTierLab.create({ binary: process.env[STOCK_ZEROTIER_ENV]!, dir: '/tmp' });
    cluster = new Cluster({ binDir: await programBinDir(), rootBind: [lab.hostIp] });
    await cluster.startRoot();
    nwid = await cluster.createNetwork({ name: 'stock-interop' });
    [s1, s2] = [await lab.addStockNode('s1', cluster, nwid), await lab.addStockNode('s2', cluster, nwid)];
    c = await cluster.addContainer('c', nwid);
    await s1.reach(s2.ip);
    await s2.reach(c.ip);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop(3000)));
    await cluster?.stop();
    await lab?.stop();
  }, 60_000);

  it('stock nodes take their config and address from the ztnc controller and reach each other', async () => {
    const member = (await cluster.root!.apiOk('GET', `/controller/network/${nwid}/member/${s1.address}`)) as {
      authorized?: boolean;
      ipAssignments?: string[];
    };
    expect(member.authorized).toBe(true);
    expect(member.ipAssignments).toContain(s1.ip);
    const r = await s1.run('ping', ['-c', '3', '-i', '0.3', '-W', '3', s2.ip], 30_000);
    expect(r.stdout, r.stderr).toMatch(/ 0% packet loss/);
  });

  it('a stock node and a ztnc container ping each other', async () => {
    const fromStock = await s1.run('ping', ['-c', '3', '-i', '0.3', '-W', '3', c.ip], 30_000);
    expect(fromStock.stdout, fromStock.stderr).toMatch(/ 0% packet loss/);
    const fromZtnc = await c.daemon.cli(['ping', nwid, s2.ip, '-c', '3']);
    expect(fromZtnc.code, fromZtnc.stdout + fromZtnc.stderr).toBe(0);
    expect(fromZtnc.stdout).toMatch(/3 packets transmitted, 3 received/);
  });

  it('under the library, iputils ping and UDP datagrams from the ztnc container reach the kernel of a stock node and come back', async () => {
    // in an empty network namespace, so nothing that bypassed the library could leave
    const pinged = await c.run('unshare', ['-n', 'ping', '-c', '3', '-i', '0.3', '-W', '3', s1.ip], { timeoutMs: 30_000 });
    expect(pinged.stdout, pinged.stderr).toMatch(/3 packets transmitted, 3 received/);
    // a kernel UDP echo server on the stock node; a client under the library, datagrams of many
    // sizes (8,000 bytes: fragmented by ztnc's stack, reassembled by the stock node's kernel and back)
    const echo = s1.start('python3', [
      '-c',
      `import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${s1.ip}', 7000))\nwhile True:\n  d,a=s.recvfrom(65535); s.sendto(d,a)`,
    ]);
    servers.push(echo);
    const client = [
      'import socket,os,sys',
      's=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); bad=0',
      'for n in [0,1,100,1400,2700,8000,20000]:',
      '  d=os.urandom(n)',
      '  for attempt in range(5):',
      `    s.sendto(d,('${s1.ip}',7000))`,
      '    try: r,a=s.recvfrom(65535); break',
      '    except socket.timeout: r=None',
      `  bad += r!=d or a!=('${s1.ip}',7000)`,
      'print("bad", bad)',
    ].join('\n');
    const r = await c.run('unshare', ['-n', 'python3', '-c', client], { timeoutMs: 90_000 });
    expect(r.stdout.trim(), r.stderr).toBe('bad 0');
  }, 120_000);

  it('curl on a stock node fetches 10 MB from a server in the ztnc container, and the other way, intact', async () => {
    const www = join(cluster.dir, 'www');
    mkdirSync(www, { recursive: true });
    const body = randomBytes(FILE_BYTES);
    writeFileSync(join(www, 'blob.bin'), body);
    const serve = (start: (cmd: string, args: string[]) => LongRunning, ip: string): LongRunning => {
      const s = start('python3', ['-m', 'http.server', '8080', '--bind', ip, '--directory', www]);
      servers.push(s);
      return s;
    };
    const fetch = async (
      what: string,
      server: LongRunning,
      get: (out: string) => Promise<{ code: number | null; stderr: string }>,
      out: string,
    ): Promise<void> => {
      await waitFor(
        what,
        async () => {
          if (server.exited()) throw new GiveUp(`server exited: ${server.output()}`);
          return (await get(out)).code === 0;
        },
        60_000,
        500,
      );
      const got = readFileSync(out);
      expect(got.length).toBe(FILE_BYTES);
      expect(sha256(got)).toBe(sha256(body));
    };

    // server inside the ztnc container, curl in the stock node's namespace (kernel TCP over its tap)
    const inZtnc = serve((cmd, args) => c.start(cmd, args), c.ip);
    await fetch(
      'curl on stock node s1 from the ztnc container',
      inZtnc,
      (out) => s1.run('curl', ['-sS', '--fail', '--max-time', '60', '-o', out, `http://${c.ip}:8080/blob.bin`], 90_000),
      join(cluster.dir, 'from-ztnc.bin'),
    );
    // and the other way: server on the stock node, curl under the library in the container
    const inStock = serve((cmd, args) => s2.start(cmd, args), s2.ip);
    await fetch(
      'curl in the ztnc container from stock node s2',
      inStock,
      (out) => c.run('curl', ['-sS', '--fail', '--max-time', '60', '-o', out, `http://${s2.ip}:8080/blob.bin`], { timeoutMs: 90_000 }),
      join(cluster.dir, 'from-stock.bin'),
    );
  }, 300_000);
  it('over IPv6: a stock node pings the container’s rfc4193 and 6plane addresses (any of its /80) and fetches a file from it', async () => {
    // the network gives every member rfc4193 and 6plane addresses (and turns NDP emulation on)
    await cluster.root!.apiOk('POST', `/controller/network/${nwid}`, { v6AssignMode: { zt: false, rfc4193: true, '6plane': true } });
    const nwidBig = BigInt(`0x${nwid}`);
    const member = BigInt(`0x${((await c.daemon.apiOk('GET', '/status')) as { address: string }).address}`);
    const rfc4193 = rfc4193Address(nwidBig, member).ip;
    const sixPlane = sixPlaneAddress(nwidBig, member).ip;
    // another address of the container's 6plane /80 than the one assigned (…::1)
    const sixPlaneOther = sixPlane.replace(/::1$/, '::abcd:1234');
    expect(sixPlaneOther).not.toBe(sixPlane);
    // the container's listnetworks shows them once the new config is in
    await waitFor(
      'the container to list its IPv6 addresses',
      async () => {
        const out = (await c.daemon.cli(['listnetworks'])).stdout;
        return out.includes(`${rfc4193}/88`) && out.includes(`${sixPlane}/40`);
      },
      30_000,
      200,
    );
    // the stock node's kernel has its own (DAD done) before it pings
    const s1Rfc4193 = rfc4193Address(nwidBig, BigInt(`0x${s1.address}`)).ip;
    await waitFor(
      "stock s1's rfc4193 address to be usable",
      async () => {
        const r = await s1.run('ip', ['-6', '-o', 'addr', 'show'], 10_000);
        return r.stdout.includes(s1Rfc4193) && !/tentative/.test(r.stdout.split('\n').find((l) => l.includes(s1Rfc4193)) ?? '');
      },
      30_000,
      200,
    );
    for (const ip of [rfc4193, sixPlane, sixPlaneOther])
      await waitFor(
        `stock s1 to ping ${ip}`,
        async () => (await s1.run('ping', ['-6', '-c', '1', '-W', '1', ip], 10_000)).code === 0,
        30_000,
        200,
      );
    for (const ip of [rfc4193, sixPlane]) {
      const r = await s1.run('ping', ['-6', '-c', '3', '-i', '0.3', '-W', '3', ip], 30_000);
      expect(r.stdout, r.stderr).toMatch(/ 0% packet loss/);
    }

    // a server listening on :: in the container, curl -6 on the stock node, both schemes
    const www = join(cluster.dir, 'www6');
    mkdirSync(www, { recursive: true });
    const body = randomBytes(FILE_BYTES);
    writeFileSync(join(www, 'blob.bin'), body);
    const server = c.start('python3', ['-m', 'http.server', '8081', '--bind', '::', '--directory', www]);
    servers.push(server);
    for (const ip of [rfc4193, sixPlane]) {
      const out = join(cluster.dir, `from-ztnc-v6-${ip.replace(/:/g, '-')}.bin`);
      await waitFor(
        `curl -6 on stock s1 from [${ip}]`,
        async () => {
          if (server.exited()) throw new GiveUp(`server exited: ${server.output()}`);
          return (
            (await s1.run('curl', ['-6', '-sS', '--fail', '--max-time', '60', '-o', out, `http://[${ip}]:8081/blob.bin`], 90_000)).code ===
            0
          );
        },
        60_000,
        500,
      );
      const got = readFileSync(out);
      expect(got.length).toBe(FILE_BYTES);
      expect(sha256(got)).toBe(sha256(body));
    }
  }, 300_000);

  it('the ztnc controller de-authorizes stock node s2: its revocation cuts s2 off at stock node s1 and at the ztnc container at once', async () => {
    await s1.reach(s2.ip);
    await waitFor('the ztnc container to reach s2', () => ztncPing(c, s2.ip), 30_000, 100);
    const revocationsBefore = (await networkCounters(c)).revocations_accepted ?? 0;

    const since = Date.now();
    await cluster.root!.apiOk('POST', `/controller/network/${nwid}/member/${s2.address}`, { authorized: false });
    const [atStock, atZtnc] = await Promise.all([
      pingsStop('stock s1 → s2', since, () => stockPing(s1, s2.ip)),
      pingsStop('ztnc container → s2', since, () => ztncPing(c, s2.ip)),
    ]);
    console.log(
      `de-authorization of stock s2 by the ztnc controller: s1 (stock) cut off s2 after ${atStock} ms, the ztnc container after ${atZtnc} ms`,
    );
    expect(atStock).toBeLessThan(CUT_BOUND_MS);
    expect(atZtnc).toBeLessThan(CUT_BOUND_MS);

    // s1's pings still reach s2, whose kernel answers them: it is s1 that drops s2's replies, as
    // it does only with our revocation in hand (s2's certificate is otherwise valid for 30 min).
    const before = await s2.icmpCounters();
    const r = await s1.run('ping', ['-c', '3', '-i', '0.3', '-W', '1', s2.ip], 30_000);
    const after = await s2.icmpCounters();
    expect(r.stdout, r.stderr).toMatch(/ 100% packet loss/);
    expect(after.inEchos - before.inEchos).toBeGreaterThanOrEqual(3);
    expect(after.outEchoReps - before.outEchoReps).toBeGreaterThanOrEqual(3);

    const counters = await networkCounters(c);
    expect(counters.revocations_accepted).toBeGreaterThan(revocationsBefore);
    expect(counters.drop_tx_revoked).toBeGreaterThan(0);
  }, 120_000);

  it('a stock controller de-authorizes its stock member s3: its revocation cuts s3 off at a ztnc container at once', async () => {
    const k = await lab.addStockNode('k', cluster, null);
    const knwid = await k.createNetwork('stock-controlled', `172.${randomInt(16, 32)}.${randomInt(1, 255)}`);
    const s3 = await lab.addStockNode('s3', cluster, knwid, k.controller);
    const c2 = await cluster.addContainer('c2', knwid, (address) => k.controller.authorize(knwid, address));
    await s3.reach(c2.ip);
    await waitFor('the ztnc container to reach s3', () => ztncPing(c2, s3.ip), 30_000, 100);
    const revocationsBefore = (await networkCounters(c2)).revocations_accepted ?? 0;

    const since = Date.now();
    await k.controller.authorize(knwid, s3.address, false);
    const atZtnc = await pingsStop('ztnc container → s3', since, () => ztncPing(c2, s3.ip)).catch(async (e: unknown) => {
      const counters = Object.entries(await networkCounters(c2)).filter(([name]) => /revo|credential|certificate|com_/.test(name));
      throw new Error(`${String(e)}; container's counters: ${JSON.stringify(Object.fromEntries(counters))}`);
    });
    console.log(`de-authorization of stock s3 by the stock controller: the ztnc container cut off s3 after ${atZtnc} ms`);
    expect(atZtnc).toBeLessThan(CUT_BOUND_MS);
    const counters = await networkCounters(c2);
    expect(counters.revocations_accepted).toBeGreaterThan(revocationsBefore);

    // s3 still sends; the container drops its frames as revoked
    const dropsBefore = counters.drop_frame_revoked ?? 0;
    const r = await s3.run('ping', ['-c', '3', '-i', '0.3', '-W', '1', c2.ip], 30_000);
    expect(r.stdout, r.stderr).toMatch(/ 100% packet loss/);
    expect((await networkCounters(c2)).drop_frame_revoked).toBeGreaterThan(dropsBefore);
  }, 240_000);
});
