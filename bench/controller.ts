/**
 * Network controller: with 10,000 members in one network, (1) latency of an API member update
 * over real HTTP on loopback (p50/p99), beside a bare authenticated GET /controller round trip
 * on the same server as reference; (2) config requests answered per second: the backend's answer
 * (authorization, IP assignment, recentLog, config contents) made into what goes on the wire —
 * the config dictionary with a certificate of membership signed by the controller's identity, cut
 * into chunks each signed too (everything the in-band controller does but armoring) — and the
 * backend's answer alone, beside a bare one-row SQLite write transaction in the same database as
 * reference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pino from 'pino';
import { NetworkController } from '../src/controller/index.js';
import { Identity, networkConfigFromController, signedConfigChunks } from '../src/node/index.js';
import { defaultNetworkSettings } from '../src/controller/types.js';
import { loadOrCreateAuthToken } from '../src/service/http/auth-token.js';
import { Router } from '../src/service/http/router.js';
import { ApiServer } from '../src/service/http/server.js';

const MEMBERS = 10_000;
const API_UPDATES = 2_000;
const CONFIG_REQUESTS = 5_000;

function percentile(sorted: number[], p: number): number {
  const v = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  if (v === undefined) throw new Error('controller bench: percentile of no samples');
  return v;
}

function memberAddress(i: number): string {
  return (0x1000000000 + i).toString(16);
}

export async function run({ json }: { json: boolean }): Promise<void> {
  // the controller's own identity signs certificates and config chunks
  const controllerId = await Identity.generate();
  const NODE = controllerId.addressHex;
  const NWID = `${NODE}000001`;
  const dir = mkdtempSync(join(tmpdir(), 'ztnc-bench-controller-'));
  const logger = pino({ level: 'silent' });
  const token = loadOrCreateAuthToken(join(dir, 'authtoken.secret'));
  const controller = new NetworkController({ dbFile: join(dir, 'controller.db'), nodeAddress: NODE, logger, backupIntervalMs: 0 });
  const router = new Router();
  controller.mount(router);
  const server = new ApiServer({ router, authToken: token, logger });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    controller.store.putNetwork(NWID, () => ({
      ...defaultNetworkSettings(NWID, Date.now()),
      name: 'bench',
      v4AssignMode: { zt: true },
      v6AssignMode: { rfc4193: true, zt: false, '6plane': true },
      routes: [{ target: '10.0.0.0/8', via: null }],
      ipAssignmentPools: [{ ipRangeStart: '10.0.0.1', ipRangeEnd: '10.255.255.254' }],
    }));
    const fill0 = performance.now();
    controller.store.transaction(() => {
      for (let i = 0; i < MEMBERS; i++) {
        controller.store.updateMember(NWID, memberAddress(i), (m) => {
          m.authorized = true;
        });
      }
    });
    const fillMs = performance.now() - fill0;

    const headers = { 'X-ZT1-Auth': token };
    const timeHttp = async (n: number, once: (i: number) => Promise<Response>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await once(i);
        await r.arrayBuffer();
        out.push(performance.now() - t0);
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      }
      return out.sort((a, b) => a - b);
    };
    await timeHttp(200, () => fetch(`${base}/controller`, { headers })); // warm-up
    const ref = await timeHttp(API_UPDATES, () => fetch(`${base}/controller`, { headers }));
    const upd = await timeHttp(API_UPDATES, (i) =>
      fetch(`${base}/controller/network/${NWID}/member/${memberAddress((i * 4) % MEMBERS)}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: `n${i}`, authorized: i % 2 === 0 }),
      }),
    );

    // Config requests: every member re-authorized, first request assigns addresses.
    controller.store.transaction(() => {
      for (let i = 0; i < MEMBERS; i++) controller.store.updateMember(NWID, memberAddress(i), (m) => void (m.authorized = true));
    });
    const nwid = BigInt(`0x${NWID}`);
    const metadata = { majorVersion: 1, minorVersion: 14, revision: 1, protocolVersion: 12, rulesEngineRev: 1 };
    const memberKey = Buffer.alloc(64, 0xcd);
    const answer = (i: number, signed: boolean): boolean => {
      const a = memberAddress((i * 7) % MEMBERS);
      const r = controller.backend.request({
        nwid,
        address: BigInt(`0x${a}`),
        identity: `${a}:0:${memberKey.toString('hex')}`,
        metadata,
        fromAddress: '127.0.0.1/9993',
      });
      if (!r.ok) return false;
      if (!signed) return true;
      const cfg = networkConfigFromController(r.config);
      if (!cfg.ok) throw new Error(`unusable config: ${cfg.error}`);
      const chunks = signedConfigChunks(controllerId, Identity.fromParts(BigInt(`0x${a}`), memberKey), cfg.value, BigInt(i));
      return chunks !== null && chunks.length > 0;
    };
    const c0 = performance.now();
    let ok = 0;
    for (let i = 0; i < CONFIG_REQUESTS; i++) if (answer(i, true)) ok++;
    const configsPerSec = CONFIG_REQUESTS / ((performance.now() - c0) / 1000);
    if (ok !== CONFIG_REQUESTS) throw new Error(`only ${ok} of ${CONFIG_REQUESTS} config requests answered`);
    const u0 = performance.now();
    ok = 0;
    for (let i = 0; i < CONFIG_REQUESTS; i++) if (answer(i + CONFIG_REQUESTS, false)) ok++;
    const unsignedPerSec = CONFIG_REQUESTS / ((performance.now() - u0) / 1000);
    if (ok !== CONFIG_REQUESTS) throw new Error(`only ${ok} of ${CONFIG_REQUESTS} config requests answered`);

    const raw = new Database(join(dir, 'controller.db'));
    raw.pragma('synchronous = FULL');
    raw.exec('CREATE TABLE IF NOT EXISTS bench_ref (k INTEGER PRIMARY KEY, v TEXT)');
    const put = raw.prepare('INSERT OR REPLACE INTO bench_ref (k, v) VALUES (?, ?)');
    const tx = raw.transaction((k: number) => put.run(k, 'x'.repeat(600)));
    const r0 = performance.now();
    for (let i = 0; i < CONFIG_REQUESTS; i++) tx(i % 1000);
    const refTxPerSec = CONFIG_REQUESTS / ((performance.now() - r0) / 1000);
    raw.close();

    const figures = {
      bench: 'controller',
      members: MEMBERS,
      update_p50_ms: +percentile(upd, 50).toFixed(3),
      update_p99_ms: +percentile(upd, 99).toFixed(3),
      ref_get_p50_ms: +percentile(ref, 50).toFixed(3),
      ref_get_p99_ms: +percentile(ref, 99).toFixed(3),
      configs_per_s: Math.round(configsPerSec),
      configs_signed: true,
      backend_answers_per_s: Math.round(unsignedPerSec),
      ref_sqlite_tx_per_s: Math.round(refTxPerSec),
      ratio: +(configsPerSec / refTxPerSec).toFixed(3),
      fill_10k_members_ms: Math.round(fillMs),
    };
    const rows: [string, string][] = [
      ['members in network', String(MEMBERS)],
      ['API member update p50 / p99 (ms)', `${figures.update_p50_ms} / ${figures.update_p99_ms}`],
      ['reference GET /controller p50 / p99 (ms)', `${figures.ref_get_p50_ms} / ${figures.ref_get_p99_ms}`],
      ['config requests answered /s (signed COM + chunks)', String(figures.configs_per_s)],
      ['backend answers /s (before signing)', String(figures.backend_answers_per_s)],
      ['reference raw SQLite write tx /s', String(figures.ref_sqlite_tx_per_s)],
      ['insert 10k members in one tx (ms)', String(figures.fill_10k_members_ms)],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(44)} ${v}\n`);
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await server.close();
    await controller.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
