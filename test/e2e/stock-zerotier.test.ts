/**
 * Interoperability with stock ZeroTier One (optional: set ZTNC_STOCK_ZEROTIER to a zerotier-one
 * 1.x binary and run as root; ztnc ships none). Two stock nodes, each in a network namespace with
 * its kernel TCP/IP on a tap device, join a network of a ztnc root+controller; a ztnc container
 * daemon joins too. Checked: the stock nodes get their config and address from the ztnc
 * controller and reach each other; stock and ztnc ping each other both ways; a 10 MB file served
 * by a program inside the ztnc container reaches curl on a stock node intact, and the other way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { GiveUp, type LongRunning, waitFor } from '../../src/demo/processes.js';
import { STOCK_ZEROTIER_ENV, type StockNode, StockZeroTierLab, stockZeroTierUnavailable } from '../../src/demo/stock-zerotier.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { optionalSuite } from '../support/requirements.js';

const unavailable = await stockZeroTierUnavailable();
const FILE_BYTES = 10 * 1000 * 1000;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

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
    const member = (await cluster.root!.apiOk('GET', `/controller/network/${nwid}/member/${s1.address}`)) as { authorized?: boolean; ipAssignments?: string[] };
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
    const fetch = async (what: string, server: LongRunning, get: (out: string) => Promise<{ code: number | null; stderr: string }>, out: string): Promise<void> => {
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
});
