/**
 * Real servers across two ztnc daemons, each beside the same run over the kernel's loopback:
 * - bulk TCP throughput, container A to container B (iperf3 under the intercept library, one
 *   stream), Gbit/s;
 * - nginx (epoll, sendfile, 2 workers) requests/s under wrk, 50 connections, with keep-alive
 *   and with a new connection per request (`Connection: close`);
 * - redis-benchmark SET and GET ops/s (50 clients);
 * - memcached GETs/s under memcslap, 50 clients (bench/_apps-memcached.ts);
 * - a one-byte TCP ping-pong's round trip, p50/p90/p99 µs (bench/_apps-rtt.ts);
 * - UDP: iperf3 -u throughput with 1400-byte datagrams and datagrams/s with 64-byte ones, saturated
 *   and at the highest rate under 1% loss (bench/_apps-udp.ts says how);
 * - the TCP throughput, nginx and redis figures again over IPv6 (the members' rfc4193 addresses on
 *   the same dual-stack network; ::1 for the kernel), each right after its IPv4 twin, with the
 *   v6/v4 ratios (`*_v6`, `v6_vs_v4_*`, `v6_within_10pct`); null with `v6_reason` when IPv6 does
 *   not work there.
 * The containers are a private root+controller and two member daemons started as processes
 * (src/demo/cluster.ts); the commands come from this package's dist/ (or ZTNC_BIN_DIR).
 * APPS_BENCH_SECONDS (default 4) sets each timed run's length; an unmeasured 2-second iperf3 run
 * between the containers comes first, so every figure is of daemons whose code V8 has compiled.
 *
 * Throughput's other reference is stock ZeroTier One between two nodes on this machine: with
 * ZTNC_STOCK_ZEROTIER naming a zerotier-one binary (and as root), two stock nodes in network
 * namespaces (src/demo/stock-zerotier.ts) run the same iperf3 in the same run, right after ztnc's;
 * otherwise the figure measured once on this machine (docs/design.md) stands in, and the JSON says
 * which. CPU time per MB of the daemons (ztnc) and of zerotier-one (stock) is reported beside it.
 */
import { iperfRun } from './_iperf.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../src/demo/cluster.js';
import { cleanupOnSignals, GiveUp, type LongRunning, waitFor } from '../src/demo/processes.js';
import { processCpuMs, STOCK_ZEROTIER_ENV, StockZeroTierLab, stockZeroTierUnavailable } from '../src/demo/stock-zerotier.js';
import { packageRoot } from './_package-root.js';
import { buildRoundTripPeer, roundTrip } from './_apps-rtt.js';
import { memcachedGets, memcachedUnavailable } from './_apps-memcached.js';
import { containerSide, freePort, hostPort, kernelSide, must, overIpv6, round, type Side, stockSide } from './_apps-sides.js';
import { UDP_METHOD, udpFigures } from './_apps-udp.js';

const SECONDS = Number(process.env.APPS_BENCH_SECONDS ?? 4);
/** The unmeasured iperf3 run that warms the daemons up before the first figure. */
const WARMUP_SECONDS = 2;
/** Stock ZeroTier One 1.14.1, two members on this machine, measured once (docs/design.md); and old netcon. */
const STOCK_ZEROTIER_DOCS_GBPS = 1.8;
const NETCON_2016_MBYTES_S = 12;

/** iperf3 between two sides with the CPU time `cpuMs()` counts: Gbit/s and CPU ms per MB moved. */
async function iperfWithCpu(server: Side, client: Side, cpuMs: () => number): Promise<{ gbps: number; cpuMsPerMB: number }> {
  const cpu0 = cpuMs();
  const { gbps, bytes } = await iperfRun(server, client, SECONDS);
  return { gbps, cpuMsPerMB: (cpuMs() - cpu0) / (bytes / 1e6) };
}

/** iperf3 server on `server`, client on `client` for `seconds`; received Gbit/s. */
async function iperf(server: Side, client: Side, seconds = SECONDS): Promise<number> {
  return (await iperfRun(server, client, seconds)).gbps;
}

function nginxConf(prefix: string, listen: string, www: string): string {
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  return `${user}
worker_processes 2;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { use epoll; worker_connections 1024; }
http {
  sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_timeout 65; keepalive_requests 100000;
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server { listen ${listen}; root ${www}; }
}
`;
}

function parseWrk(out: string): number {
  const m = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  if (!m) throw new Error(`wrk printed no Requests/sec: ${out.slice(-300)}`);
  return Number(m[1]);
}

/** nginx on `server`, wrk on `client`: requests/s with keep-alive and with new connections. */
async function nginxRps(dir: string, server: Side, client: Side): Promise<{ keepalive: number; close: number }> {
  const port = await freePort();
  const prefix = join(dir, `nginx-${port}`);
  const www = join(prefix, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'index.html'), `${'ztnc '.repeat(200)}\n`);
  writeFileSync(join(prefix, 'nginx.conf'), nginxConf(prefix, hostPort(server.ip, port), www));
  const s = server.start('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')]);
  const url = `http://${hostPort(server.ip, port)}/index.html`;
  try {
    await waitFor(
      `nginx (${server.label})`,
      async () => {
        if (s.exited()) throw new GiveUp(`nginx exited: ${s.output()}`);
        return (await client.run('curl', ['-sS', '--fail', '--max-time', '3', '-o', '/dev/null', url], 10_000)).code === 0;
      },
      30_000,
      300,
    );
    const wrk = (extra: string[]) => client.run('wrk', ['-t2', '-c50', `-d${SECONDS}s`, ...extra, url], (SECONDS + 60) * 1000);
    const keepalive = parseWrk(must(await wrk([]), `wrk keep-alive (${client.label})`));
    const close = parseWrk(must(await wrk(['-H', 'Connection: close']), `wrk new connections (${client.label})`));
    return { keepalive, close };
  } finally {
    await s.stop(3000);
  }
}

/** redis-server on `server`, redis-benchmark on `client`: SET and GET ops/s. */
async function redisOps(dir: string, server: Side, client: Side, requests: number): Promise<{ set: number; get: number }> {
  const port = await freePort();
  const rdir = join(dir, `redis-${port}`);
  mkdirSync(rdir, { recursive: true });
  const s = server.start('redis-server', [
    '--port',
    String(port),
    '--bind',
    server.ip,
    '--protected-mode',
    'no',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    rdir,
  ]);
  try {
    await waitFor(
      `redis (${server.label})`,
      async () => {
        if (s.exited()) throw new GiveUp(`redis-server exited: ${s.output()}`);
        return (await client.run('redis-cli', ['-h', server.ip, '-p', String(port), 'PING'], 10_000)).stdout.trim() === 'PONG';
      },
      30_000,
      300,
    );
    const out = must(
      await client.run(
        'redis-benchmark',
        ['-h', server.ip, '-p', String(port), '-t', 'set,get', '-n', String(requests), '-c', '50', '-q'],
        180_000,
      ),
      `redis-benchmark (${client.label})`,
    ).replace(/\r/g, '\n');
    const op = (name: string): number => {
      const m = new RegExp(`^${name}: ([0-9.]+) requests per second`, 'm').exec(out);
      if (!m) throw new Error(`redis-benchmark printed no ${name} figure: ${out.slice(-300)}`);
      return Number(m[1]);
    };
    return { set: op('SET'), get: op('GET') };
  } finally {
    await s.stop(3000);
  }
}

/**
 * Runs the IPv6 twin of each IPv4 measure while IPv6 works; after the first failure (or when the
 * members have no IPv6 address) every later one is skipped, and `reason` says why.
 */
class Ipv6Measures {
  reason: string | null;
  constructor(a: Side, b: Side) {
    this.reason = a.ip6 && b.ip6 ? null : 'the network gave the containers no IPv6 address';
  }
  async measure<T>(what: string, f: () => Promise<T>): Promise<T | null> {
    if (this.reason) return null;
    try {
      return await f();
    } catch (e) {
      this.reason = `${what}: ${(e as Error).message.replace(/\s+/g, ' ').trim().slice(0, 300)}`;
      return null;
    }
  }
}

const ratioOrNull = (x: number | null | undefined, y: number | null | undefined, digits = 4): number | null =>
  x == null || y == null || y === 0 ? null : round(x / y, digits);
const roundOrNull = (x: number | null | undefined, digits = 3): number | null => (x == null ? null : round(x, digits));

export async function run({ json }: { json: boolean }): Promise<void> {
  const say = (l: string): void => void process.stderr.write(`${l}\n`);
  const cluster = new Cluster({ log: (l) => say(`  ${l}`) });
  const kernelServers: LongRunning[] = [];
  let lab: StockZeroTierLab | null = null;
  let stockCluster: Cluster | null = null;
  const stopStock = async (): Promise<void> => {
    await stockCluster?.stop();
    await lab?.stop();
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all(kernelServers.map((p) => p.stop(3000)));
    await stopStock();
    await cluster.stop();
  };
  const release = cleanupOnSignals(stopAll);
  try {
    say('apps bench: starting a private root+controller and two container daemons');
    await cluster.startRoot();
    // Dual stack: the IPv6 figures run between the same two containers over rfc4193 addresses.
    const nwid = await cluster.createNetwork({ name: 'apps-bench', rfc4193: true });
    const a = await cluster.addContainer('bench-a', nwid);
    const b = await cluster.addContainer('bench-b', nwid);
    const A = containerSide(a, cluster);
    const B = containerSide(b, cluster);
    const K = kernelSide(cluster.env, kernelServers);
    const v6 = new Ipv6Measures(A, B);

    say('throughput: iperf3, A → B across two daemons, then the kernel loopback');
    // One unmeasured run first: freshly started daemons run their packet path unoptimised until
    // V8 has compiled it, and the figure is about a daemon that has been running.
    await iperf(A, B, WARMUP_SECONDS);
    // The client sends: B's iperf3 -c pushes to A's server.
    const ztnc = await iperfWithCpu(A, B, () => processCpuMs(a.daemon.pid) + processCpuMs(b.daemon.pid));
    const gbps = ztnc.gbps;
    say('throughput over IPv6: iperf3, A → B between rfc4193 addresses');
    const gbps6 = await v6.measure('iperf3 over IPv6', () => iperf(overIpv6(A), overIpv6(B)));
    const stockWhyNot = await stockZeroTierUnavailable();
    let stock: { gbps: number; cpuMsPerMB: number } | null = null;
    if (stockWhyNot === null) {
      say('throughput: stock ZeroTier One, two nodes in network namespaces, the same iperf3');
      lab = await StockZeroTierLab.create({ binary: process.env[STOCK_ZEROTIER_ENV]!, dir: cluster.dir, log: (l) => say(`  ${l}`) });
      stockCluster = new Cluster({ rootBind: [lab.hostIp], log: (l) => say(`  ${l}`) });
      await stockCluster.startRoot();
      const stockNet = await stockCluster.createNetwork({ name: 'apps-bench-stock' });
      const s1 = await lab.addStockNode('s1', stockCluster, stockNet);
      const s2 = await lab.addStockNode('s2', stockCluster, stockNet);
      await s2.reach(s1.ip);
      stock = await iperfWithCpu(stockSide(s1), stockSide(s2), () => s1.cpuMs() + s2.cpuMs());
      await stopStock();
    } else {
      say(`throughput: no stock ZeroTier One run (${stockWhyNot}); the figure in docs/design.md stands in`);
    }
    const stockGbps = stock?.gbps ?? STOCK_ZEROTIER_DOCS_GBPS;
    const refGbps = await iperf(K, K);
    const refGbps6 = await v6.measure('iperf3 over ::1', () => iperf(overIpv6(K), overIpv6(K)));

    say('nginx: wrk -c50 (keep-alive, then Connection: close)');
    const ng = await nginxRps(cluster.dir, A, B);
    const ng6 = await v6.measure('nginx over IPv6', () => nginxRps(cluster.dir, overIpv6(A), overIpv6(B)));
    const refNg = await nginxRps(cluster.dir, K, K);
    const refNg6 = await v6.measure('nginx over ::1', () => nginxRps(cluster.dir, overIpv6(K), overIpv6(K)));

    say('redis: redis-benchmark -t set,get -c 50');
    const redisRequests = Number(process.env.APPS_BENCH_REDIS_REQUESTS ?? 5000);
    const rd = await redisOps(cluster.dir, A, B, redisRequests);
    const rd6 = await v6.measure('redis over IPv6', () => redisOps(cluster.dir, overIpv6(A), overIpv6(B), redisRequests));
    const refRd = await redisOps(cluster.dir, K, K, redisRequests * 10);
    const refRd6 = await v6.measure('redis over ::1', () => redisOps(cluster.dir, overIpv6(K), overIpv6(K), redisRequests * 10));
    const memcachedWhyNot = memcachedUnavailable();
    say(`memcached: memcslap, 50 clients, gets${memcachedWhyNot ? ` — not measured: ${memcachedWhyNot}` : ''}`);
    const mc = memcachedWhyNot ? null : await memcachedGets(A, B, 200);
    const refMc = memcachedWhyNot ? null : await memcachedGets(K, K, 2000);

    say('round trip: one-byte TCP ping-pong, A serves, B asks; then the kernel loopback');
    const rrPeer = buildRoundTripPeer(packageRoot(), cluster.dir);
    const rtt = await roundTrip(rrPeer, A, B);
    const refRtt = await roundTrip(rrPeer, K, K);

    const v6VsV4 = {
      v6_vs_v4_gbps: ratioOrNull(gbps6, gbps),
      v6_vs_v4_nginx_keepalive: ratioOrNull(ng6?.keepalive, ng.keepalive),
      v6_vs_v4_nginx_close: ratioOrNull(ng6?.close, ng.close),
      v6_vs_v4_redis_set: ratioOrNull(rd6?.set, rd.set),
      v6_vs_v4_redis_get: ratioOrNull(rd6?.get, rd.get),
    };
    const v6Ratios = Object.values(v6VsV4);
    const v6Min = v6Ratios.every((r) => r !== null) ? Math.min(...(v6Ratios as number[])) : null;

    const udp = await udpFigures(A, B, K, say);

    const result = {
      bench: 'apps',
      seconds: SECONDS,
      gbps: round(gbps),
      ref_gbps: round(refGbps),
      ratio: round(gbps / refGbps, 4),
      mbytes_s: round((gbps * 1e9) / 8 / 1e6, 1),
      cpu_ms_per_mb: round(ztnc.cpuMsPerMB, 2),
      stock_zerotier_gbps: round(stockGbps),
      stock_zerotier_source: stock ? 'measured' : 'docs',
      stock_cpu_ms_per_mb: stock ? round(stock.cpuMsPerMB, 2) : null,
      vs_stock_zerotier: round(gbps / stockGbps, 3),
      vs_netcon_2016: round((gbps * 1e9) / 8 / 1e6 / NETCON_2016_MBYTES_S, 2),
      memcached_get_ops: roundOrNull(mc, 0),
      ref_memcached_get_ops: roundOrNull(refMc, 0),
      memcached_get_ratio: ratioOrNull(mc, refMc),
      memcached_reason: memcachedWhyNot,
      rtt_p50_us: round(rtt.p50Us, 1),
      rtt_p90_us: round(rtt.p90Us, 1),
      rtt_p99_us: round(rtt.p99Us, 1),
      ref_rtt_p50_us: round(refRtt.p50Us, 1),
      ref_rtt_p90_us: round(refRtt.p90Us, 1),
      ref_rtt_p99_us: round(refRtt.p99Us, 1),
      rtt_ratio: round(rtt.p50Us / refRtt.p50Us, 2),
      nginx_keepalive_rps: round(ng.keepalive, 0),
      ref_nginx_keepalive_rps: round(refNg.keepalive, 0),
      nginx_keepalive_ratio: round(ng.keepalive / refNg.keepalive, 4),
      nginx_close_rps: round(ng.close, 0),
      ref_nginx_close_rps: round(refNg.close, 0),
      nginx_close_ratio: round(ng.close / refNg.close, 4),
      redis_set_ops: round(rd.set, 0),
      ref_redis_set_ops: round(refRd.set, 0),
      redis_set_ratio: round(rd.set / refRd.set, 4),
      redis_get_ops: round(rd.get, 0),
      ref_redis_get_ops: round(refRd.get, 0),
      redis_get_ratio: round(rd.get / refRd.get, 4),
      ...udp.json,
      gbps_v6: roundOrNull(gbps6),
      ref_gbps_v6: roundOrNull(refGbps6),
      ratio_v6: ratioOrNull(gbps6, refGbps6),
      nginx_keepalive_rps_v6: roundOrNull(ng6?.keepalive, 0),
      ref_nginx_keepalive_rps_v6: roundOrNull(refNg6?.keepalive, 0),
      nginx_close_rps_v6: roundOrNull(ng6?.close, 0),
      ref_nginx_close_rps_v6: roundOrNull(refNg6?.close, 0),
      redis_set_ops_v6: roundOrNull(rd6?.set, 0),
      ref_redis_set_ops_v6: roundOrNull(refRd6?.set, 0),
      redis_get_ops_v6: roundOrNull(rd6?.get, 0),
      ref_redis_get_ops_v6: roundOrNull(refRd6?.get, 0),
      ...v6VsV4,
      // The issue's bar: every IPv6 figure within 10% of its IPv4 twin (null: not measured).
      v6_min_vs_v4: v6Min === null ? null : round(v6Min, 4),
      v6_within_10pct: v6Min === null ? null : v6Min >= 0.9,
      v6_reason: v6.reason,
    };
    const fmt = (x: number | null | undefined, digits: number): string => (x == null ? '-' : x.toFixed(digits));
    const rows: Array<[string, string, string, string]> = [
      ['memcached GET ops/s, 50 clients', fmt(mc, 0), fmt(refMc, 0), fmt(ratioOrNull(mc, refMc), 4)],
      ['1-byte TCP round trip p50, µs', rtt.p50Us.toFixed(1), refRtt.p50Us.toFixed(1), (rtt.p50Us / refRtt.p50Us).toFixed(2)],
      ['1-byte TCP round trip p90, µs', rtt.p90Us.toFixed(1), refRtt.p90Us.toFixed(1), (rtt.p90Us / refRtt.p90Us).toFixed(2)],
      ['1-byte TCP round trip p99, µs', rtt.p99Us.toFixed(1), refRtt.p99Us.toFixed(1), (rtt.p99Us / refRtt.p99Us).toFixed(2)],
      ['TCP throughput A→B, Gbit/s (iperf3)', gbps.toFixed(3), refGbps.toFixed(3), (gbps / refGbps).toFixed(4)],
      [
        'nginx req/s, keep-alive, 50 conns',
        ng.keepalive.toFixed(0),
        refNg.keepalive.toFixed(0),
        (ng.keepalive / refNg.keepalive).toFixed(4),
      ],
      ['nginx req/s, new connection each', ng.close.toFixed(0), refNg.close.toFixed(0), (ng.close / refNg.close).toFixed(4)],
      ['redis SET ops/s, 50 clients', rd.set.toFixed(0), refRd.set.toFixed(0), (rd.set / refRd.set).toFixed(4)],
      ['redis GET ops/s, 50 clients', rd.get.toFixed(0), refRd.get.toFixed(0), (rd.get / refRd.get).toFixed(4)],
      ...udp.rows,
    ];
    rows.push(
      ['TCP throughput over IPv6, Gbit/s', fmt(gbps6, 3), fmt(refGbps6, 3), fmt(ratioOrNull(gbps6, refGbps6), 4)],
      [
        'nginx req/s over IPv6, keep-alive',
        fmt(ng6?.keepalive, 0),
        fmt(refNg6?.keepalive, 0),
        fmt(ratioOrNull(ng6?.keepalive, refNg6?.keepalive), 4),
      ],
      ['nginx req/s over IPv6, new conn each', fmt(ng6?.close, 0), fmt(refNg6?.close, 0), fmt(ratioOrNull(ng6?.close, refNg6?.close), 4)],
      ['redis SET ops/s over IPv6', fmt(rd6?.set, 0), fmt(refRd6?.set, 0), fmt(ratioOrNull(rd6?.set, refRd6?.set), 4)],
      ['redis GET ops/s over IPv6', fmt(rd6?.get, 0), fmt(refRd6?.get, 0), fmt(ratioOrNull(rd6?.get, refRd6?.get), 4)],
    );
    process.stdout.write(`${'measure'.padEnd(40)}${'ztnc'.padStart(12)}${'kernel lo'.padStart(12)}${'ratio'.padStart(10)}\n`);
    for (const [k, x, y, r] of rows) process.stdout.write(`${k.padEnd(40)}${x.padStart(12)}${y.padStart(12)}${r.padStart(10)}\n`);
    process.stdout.write(
      `throughput ${result.mbytes_s} MB/s, ${result.cpu_ms_per_mb} ms CPU/MB (both daemons): ${result.vs_stock_zerotier}x stock ZeroTier One ` +
        (stock
          ? `measured in this run (${stock.gbps.toFixed(3)} Gbit/s, ${stock.cpuMsPerMB.toFixed(2)} ms CPU/MB for both zerotier-one), `
          : `on this machine per docs/design.md (${STOCK_ZEROTIER_DOCS_GBPS} Gbit/s; set ${STOCK_ZEROTIER_ENV} to measure it), `) +
        `${result.vs_netcon_2016}x 2016 netcon (~${NETCON_2016_MBYTES_S} MB/s)\n`,
    );
    process.stdout.write(UDP_METHOD);
    process.stdout.write(
      v6.reason
        ? `IPv6 figures: not measured (${v6.reason})\n`
        : `IPv6 vs IPv4 between the same containers: TCP ${fmt(v6VsV4.v6_vs_v4_gbps, 3)}, nginx keep-alive ${fmt(v6VsV4.v6_vs_v4_nginx_keepalive, 3)}, ` +
            `new connections ${fmt(v6VsV4.v6_vs_v4_nginx_close, 3)}, redis SET ${fmt(v6VsV4.v6_vs_v4_redis_set, 3)}, GET ${fmt(v6VsV4.v6_vs_v4_redis_get, 3)}` +
            ` (lowest ${fmt(v6Min, 3)}: ${v6Min !== null && v6Min >= 0.9 ? 'within' : 'not within'} 10%)\n`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stopAll();
    release();
  }
}
