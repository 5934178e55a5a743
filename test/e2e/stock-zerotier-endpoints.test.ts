/**
 * Issue 22's proof that stock ZeroTier One interoperates with ztnc endpoints as its members
 * (optional, as stock-zerotier.test.ts: ZTNC_STOCK_ZEROTIER names a zerotier-one 1.x binary, run
 * as root). Two stock nodes, each in a network namespace with its kernel TCP/IP on a tap, join a
 * network of a ztnc root+controller; the ztnc members are endpoints e1 and e2 of one shared
 * daemon (each its own identity, made by the client, and member). Checked, as the suite with a
 * daemon per member checks them: every member's config and address come from the ztnc controller;
 * stock nodes and endpoints ping each other both ways, and the endpoints each other while the
 * stock nodes are on the network; a 10 MB file goes from an endpoint to a stock node, from a stock
 * node to an endpoint and between the endpoints, intact; revocations: the ztnc controller
 * de-authorizing a stock member cuts it off at the other stock node and at both endpoints at once,
 * de-authorizing endpoint e2 cuts it off at a stock node (stock accepts the revocation for an
 * endpoint) and at e1 at once; a stock controller de-authorizing its stock member cuts it off at
 * an endpoint on its network at once.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { addEndpointMember, type EndpointMember } from '../../src/demo/endpoint-member.js';
import { GiveUp, type LongRunning, waitFor } from '../../src/demo/processes.js';
import {
  pingsStop,
  STOCK_ZEROTIER_ENV,
  type StockNode,
  StockZeroTierLab,
  stockZeroTierUnavailable,
} from '../../src/demo/stock-zerotier.js';
import type { PingReport } from '../../src/service/local-api.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { optionalSuite } from '../support/requirements.js';

const unavailable = await stockZeroTierUnavailable();
const FILE_BYTES = 10 * 1000 * 1000;
/** Generous bound on "at once" (without revocations the cut waits for a config refresh, 60 s, or the certificate's expiry). */
const CUT_BOUND_MS = 5_000;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** One ICMP echo from an endpoint's stack (1 s for the reply); true when answered. */
const endpointPing = async (e: EndpointMember, ip: string): Promise<boolean> =>
  ((await e.daemon.apiOk('POST', `${e.networkPath}/ping`, { address: ip, count: 1, timeoutMs: 1_000 })) as PingReport).received === 1;
/** One kernel ping from a stock node's namespace (1 s for the reply); true when answered. */
const stockPing = async (s: StockNode, ip: string): Promise<boolean> =>
  (await s.run('ping', ['-c', '1', '-W', '1', ip], 10_000)).code === 0;

describe.runIf(optionalSuite(unavailable, 'stock ZeroTier One interoperability with endpoints'))(
  'stock ZeroTier One and ztnc endpoints of one daemon on one network',
  () => {
    let cluster: Cluster;
    let lab: StockZeroTierLab;
    let nwid: string;
    let s1: StockNode;
    let s2: StockNode;
    let host: Container;
    let e1: EndpointMember;
    let e2: EndpointMember;
    const servers: LongRunning[] = [];

    beforeAll(async () => {
      interceptLibrary();
      lab = await StockZeroTierLab.create({ binary: process.env[STOCK_ZEROTIER_ENV]!, dir: '/tmp' });
      cluster = new Cluster({ binDir: await programBinDir(), rootBind: [lab.hostIp] });
      await cluster.startRoot();
      nwid = await cluster.createNetwork({ name: 'stock-interop-endpoints' });
      [s1, s2] = [await lab.addStockNode('s1', cluster, nwid), await lab.addStockNode('s2', cluster, nwid)];
      // the shared daemon (its own identity is a member too); e1 and e2 are the members under test
      host = await cluster.addContainer('host', nwid);
      const authorize = (address: string): Promise<void> => cluster.authorize(nwid, address);
      e1 = await addEndpointMember(host.daemon, cluster.toolset.library, 'e1', nwid, authorize);
      e2 = await addEndpointMember(host.daemon, cluster.toolset.library, 'e2', nwid, authorize);
      await s1.reach(s2.ip);
      await s2.reach(e1.ip);
      await s1.reach(e2.ip);
    }, 300_000);

    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop(3000)));
      await cluster?.stop();
      await lab?.stop();
    }, 60_000);

    it('stock nodes and endpoints take their config and address from the ztnc controller, each its own member', async () => {
      for (const [address, ip] of [
        [s1.address, s1.ip],
        [s2.address, s2.ip],
        [e1.address, e1.ip],
        [e2.address, e2.ip],
      ] as const) {
        const member = (await cluster.root!.apiOk('GET', `/controller/network/${nwid}/member/${address}`)) as {
          authorized?: boolean;
          ipAssignments?: string[];
        };
        expect(member.authorized, address).toBe(true);
        expect(member.ipAssignments).toContain(ip);
      }
      expect(new Set([host.daemon.address, e1.address, e2.address]).size).toBe(3);
      const r = await s1.run('ping', ['-c', '3', '-i', '0.3', '-W', '3', s2.ip], 30_000);
      expect(r.stdout, r.stderr).toMatch(/ 0% packet loss/);
    });

    it('stock nodes and endpoints ping each other both ways; the endpoints each other beside the stock nodes', async () => {
      for (const e of [e1, e2]) {
        const fromStock = await s1.run('ping', ['-c', '3', '-i', '0.3', '-W', '3', e.ip], 30_000);
        expect(fromStock.stdout, fromStock.stderr).toMatch(/ 0% packet loss/);
      }
      for (const [from, to] of [
        [e1, s2.ip],
        [e2, s1.ip],
        [e1, e2.ip],
        [e2, e1.ip],
      ] as const) {
        const r = await host.daemon.cli(['ping', '-e', from.endpoint, nwid, to, '-c', '3']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
      }
      // under the library, in an empty network namespace: iputils ping from an endpoint to a stock node's kernel
      const pinged = await e2.run('unshare', ['-n', 'ping', '-c', '3', '-i', '0.3', '-W', '3', s1.ip], { timeoutMs: 30_000 });
      expect(pinged.stdout, pinged.stderr).toMatch(/3 packets transmitted, 3 received/);
    }, 120_000);

    it('10 MB goes intact from an endpoint to a stock node, from a stock node to an endpoint, and between the endpoints', async () => {
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
      const curl = (ip: string, out: string): string[] => ['-sS', '--fail', '--max-time', '60', '-o', out, `http://${ip}:8080/blob.bin`];

      const onE1 = serve((cmd, args) => e1.start(cmd, args), e1.ip);
      await fetch(
        'curl on stock node s1 from endpoint e1',
        onE1,
        (out) => s1.run('curl', curl(e1.ip, out), 90_000),
        join(cluster.dir, 'from-e1-to-stock.bin'),
      );
      await fetch(
        'curl on endpoint e2 from endpoint e1',
        onE1,
        (out) => e2.run('curl', curl(e1.ip, out), { timeoutMs: 90_000 }),
        join(cluster.dir, 'from-e1-to-e2.bin'),
      );
      const onStock = serve((cmd, args) => s2.start(cmd, args), s2.ip);
      await fetch(
        'curl on endpoint e2 from stock node s2',
        onStock,
        (out) => e2.run('curl', curl(s2.ip, out), { timeoutMs: 90_000 }),
        join(cluster.dir, 'from-stock-to-e2.bin'),
      );
    }, 300_000);

    it('the ztnc controller de-authorizes stock node s2: its revocation cuts s2 off at stock node s1 and at both endpoints at once', async () => {
      await s1.reach(s2.ip);
      for (const e of [e1, e2]) await waitFor(`endpoint ${e.endpoint} to reach s2`, () => endpointPing(e, s2.ip), 30_000, 100);
      const before = await Promise.all([e1, e2].map(async (e) => (await e.networkCounters()).revocations_accepted ?? 0));

      const since = Date.now();
      await cluster.root!.apiOk('POST', `/controller/network/${nwid}/member/${s2.address}`, { authorized: false });
      const [atStock, atE1, atE2] = await Promise.all([
        pingsStop('stock s1 → s2', since, () => stockPing(s1, s2.ip)),
        pingsStop('endpoint e1 → s2', since, () => endpointPing(e1, s2.ip)),
        pingsStop('endpoint e2 → s2', since, () => endpointPing(e2, s2.ip)),
      ]);
      console.log(
        `de-authorization of stock s2: s1 (stock) cut it off after ${atStock} ms, endpoints e1 and e2 after ${atE1} and ${atE2} ms`,
      );
      expect(atStock).toBeLessThan(CUT_BOUND_MS);
      expect(atE1).toBeLessThan(CUT_BOUND_MS);
      expect(atE2).toBeLessThan(CUT_BOUND_MS);
      for (const [i, e] of [e1, e2].entries()) {
        const counters = await e.networkCounters();
        expect(counters.revocations_accepted).toBeGreaterThan(before[i]!);
        expect(counters.drop_tx_revoked).toBeGreaterThan(0);
      }
    }, 120_000);

    it('the ztnc controller de-authorizes endpoint e2: its revocation cuts e2 off at stock node s1 and at endpoint e1 at once', async () => {
      await s1.reach(e2.ip);
      await waitFor('endpoint e1 to reach e2', () => endpointPing(e1, e2.ip), 30_000, 100);
      const since = Date.now();
      await cluster.root!.apiOk('POST', `/controller/network/${nwid}/member/${e2.address}`, { authorized: false });
      const [atStock, atE1] = await Promise.all([
        pingsStop('stock s1 → e2', since, () => stockPing(s1, e2.ip)),
        pingsStop('endpoint e1 → e2', since, () => endpointPing(e1, e2.ip)),
      ]);
      console.log(`de-authorization of endpoint e2: s1 (stock) cut it off after ${atStock} ms, endpoint e1 after ${atE1} ms`);
      expect(atStock).toBeLessThan(CUT_BOUND_MS);
      expect(atE1).toBeLessThan(CUT_BOUND_MS);
      // e1 and the stock node still reach each other
      expect(await stockPing(s1, e1.ip)).toBe(true);
    }, 120_000);

    it('a stock controller de-authorizes its stock member s3: its revocation cuts s3 off at an endpoint at once', async () => {
      const k = await lab.addStockNode('k', cluster, null);
      const knwid = await k.createNetwork('stock-controlled', `172.${randomInt(16, 32)}.${randomInt(1, 255)}`);
      const s3 = await lab.addStockNode('s3', cluster, knwid, k.controller);
      const e3 = await addEndpointMember(host.daemon, cluster.toolset.library, 'e3', knwid, (address) =>
        k.controller.authorize(knwid, address),
      );
      await s3.reach(e3.ip);
      await waitFor('endpoint e3 to reach s3', () => endpointPing(e3, s3.ip), 30_000, 100);
      const revocationsBefore = (await e3.networkCounters()).revocations_accepted ?? 0;

      const since = Date.now();
      await k.controller.authorize(knwid, s3.address, false);
      const atE3 = await pingsStop('endpoint e3 → s3', since, () => endpointPing(e3, s3.ip));
      console.log(`de-authorization of stock s3 by the stock controller: endpoint e3 cut it off after ${atE3} ms`);
      expect(atE3).toBeLessThan(CUT_BOUND_MS);
      const counters = await e3.networkCounters();
      expect(counters.revocations_accepted).toBeGreaterThan(revocationsBefore);

      // s3 still sends; the endpoint drops its frames as revoked
      const dropsBefore = counters.drop_frame_revoked ?? 0;
      const r = await s3.run('ping', ['-c', '3', '-i', '0.3', '-W', '1', e3.ip], 30_000);
      expect(r.stdout, r.stderr).toMatch(/ 100% packet loss/);
      expect((await e3.networkCounters()).drop_frame_revoked).toBeGreaterThan(dropsBefore);
    }, 240_000);
  },
);
