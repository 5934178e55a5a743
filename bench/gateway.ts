/**
 * The published-port path (issue 19) beside slirp4netns' port forwarding and the kernel's loopback,
 * in the same run. For each of the three, a client on the host connects to a port on 127.0.0.1 that
 * leads to a server:
 * - ztnc: a gateway daemon publishes the port (`ztnc-cli publish`) to a server in another
 *   container (under the intercept library), across the encrypted network between the daemons;
 * - slirp4netns: the port is forwarded with its API's add_hostfwd into a network namespace the
 *   bench makes (bench/_gateway-slirp.ts), the server in the namespace;
 * - kernel: the server itself listens on 127.0.0.1 (the floor).
 * Figures: bulk TCP throughput host → server (iperf3, one stream, the median of GATEWAY_BENCH_RUNS
 * runs of GATEWAY_BENCH_SECONDS), and connect latency — a new connection per round, one byte sent
 * and echoed, then closed (test/shim/rr_peer.c `connect`), p50/p99 µs. ztnc's figures come after an
 * unmeasured iperf3 run, so the daemons' code is compiled as in a long-running daemon. CPU ms per MB
 * moved: the gateway daemon and the server's daemon apart, slirp4netns. For context, the network
 * path alone (iperf3 from the gateway's container to the server's, no host side) in the same run:
 * the published port cannot be faster than it. The goal (issue 19): ≥ 2 Gbit/s and a connect latency
 * within 3× the kernel's.
 */
import { Cluster, type Container } from '../src/demo/cluster.js';
import { cleanupOnSignals, type LongRunning, run as runProgram, start } from '../src/demo/processes.js';
import { processCpuMs } from '../src/demo/stock-zerotier.js';
import { buildRoundTripPeer } from './_apps-rtt.js';
import { freePort, must, round } from './_apps-sides.js';
import { SLIRP_GUEST_IP, SlirpNamespace, slirpAvailable } from './_slirp.js';
import { startListening } from './_listening.js';
import { packageRoot } from './_package-root.js';

const SECONDS = Number(process.env.GATEWAY_BENCH_SECONDS ?? 3);
const RUNS = Number(process.env.GATEWAY_BENCH_RUNS ?? 3);
const CONNECT_ROUNDS = Number(process.env.GATEWAY_BENCH_CONNECTS ?? 500);
const CONNECT_WARMUP = 50;

/** A way from a host port to a server: where the server runs and how its port is reached from 127.0.0.1. */
interface Path {
  label: string;
  /** The address the server binds. */
  serverIp: string;
  start(cmd: string, args: string[]): LongRunning;
  /** Makes the server's port reachable on 127.0.0.1; returns the host port. */
  expose(serverPort: number): Promise<number>;
  /** CPU ms each of the path's own processes used so far, by name (null when not counted). */
  cpuMs(): Record<string, number> | null;
}

interface PathFigures {
  gbps: number;
  runs: number[];
  /** CPU ms per MB moved, by process name. */
  cpuMsPerMB: Record<string, number> | null;
  connectP50Us: number;
  connectP99Us: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A TCP port free on the host's loopback that is not `other`. */
async function anotherFreePort(other: number): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p !== other) return p;
  }
}

async function iperfClient(hostPort: number, seconds: number): Promise<{ gbps: number; bytes: number }> {
  const out = must(
    await runProgram('iperf3', ['-c', '127.0.0.1', '-p', String(hostPort), '-t', String(seconds), '-J'], {
      timeoutMs: (seconds + 60) * 1000,
    }),
    'iperf3 -c',
  );
  const r = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number; bytes?: number } }; error?: string };
  const bps = r.end?.sum_received?.bits_per_second;
  const bytes = r.end?.sum_received?.bytes;
  if (typeof bps !== 'number' || typeof bytes !== 'number') throw new Error(`iperf3 gave no result: ${r.error ?? out.slice(0, 300)}`);
  return { gbps: bps / 1e9, bytes };
}

async function measurePath(path: Path, rrPeer: string, warmupSeconds: number, say: (l: string) => void): Promise<PathFigures> {
  const iperfPort = await freePort();
  const server = await startListening(
    path,
    'iperf3',
    ['-s', '--forceflush', '-B', path.serverIp, '-p', String(iperfPort)],
    'Server listening',
    {
      what: 'iperf3 server',
    },
  );
  const runs: number[] = [];
  let cpuMsPerMB: Record<string, number> | null = null;
  try {
    const hostPort = await path.expose(iperfPort);
    if (warmupSeconds > 0) await iperfClient(hostPort, warmupSeconds);
    const cpu0 = path.cpuMs();
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await iperfClient(hostPort, SECONDS);
      runs.push(r.gbps);
      bytes += r.bytes;
    }
    const cpu1 = path.cpuMs();
    if (cpu0 !== null && cpu1 !== null)
      cpuMsPerMB = Object.fromEntries(Object.keys(cpu1).map((k) => [k, round((cpu1[k]! - (cpu0[k] ?? 0)) / (bytes / 1e6), 2)]));
  } finally {
    await server.stop(3000);
  }
  const echoPort = await anotherFreePort(iperfPort);
  const echo = await startListening(path, rrPeer, ['serve-each', path.serverIp, String(echoPort)], 'listening', {
    what: 'rr_peer serve-each',
  });
  try {
    const hostPort = await path.expose(echoPort);
    const out = must(
      await runProgram(rrPeer, ['connect', '127.0.0.1', String(hostPort), String(CONNECT_ROUNDS), String(CONNECT_WARMUP)], {
        timeoutMs: 120_000,
      }),
      `rr_peer connect (${path.label})`,
    );
    const c = JSON.parse(out.trim().split('\n').pop() ?? '') as { p50_us: number; p99_us: number };
    say(`  ${path.label}: ${runs.map((g) => g.toFixed(2)).join(', ')} Gbit/s; connect p50 ${c.p50_us} µs`);
    return { gbps: median(runs), runs, cpuMsPerMB, connectP50Us: c.p50_us, connectP99Us: c.p99_us };
  } finally {
    await echo.stop(3000);
  }
}

/**
 * The network path the published port rides on, without the gateway's host side: iperf3 in the
 * gateway container (under the library) to the server container, one run.
 */
async function memberToMember(cluster: Cluster, server: Container, client: Container): Promise<number> {
  const port = await freePort();
  const s = await startListening(
    { label: 'server container', start: (cmd, args) => cluster.track(server.start(cmd, args)) },
    'iperf3',
    ['-s', '-1', '--forceflush', '-B', server.ip, '-p', String(port)],
    'Server listening',
  );
  try {
    const out = must(
      await client.run('iperf3', ['-c', server.ip, '-p', String(port), '-t', String(SECONDS), '-J'], { timeoutMs: (SECONDS + 60) * 1000 }),
      'iperf3 -c (member to member)',
    );
    const r = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
    return (r.end?.sum_received?.bits_per_second ?? 0) / 1e9;
  } finally {
    await s.stop(3000);
  }
}

/** The floor: the server listens on 127.0.0.1 itself. */
function kernelPath(started: LongRunning[]): Path {
  return {
    label: 'kernel loopback',
    serverIp: '127.0.0.1',
    start: (cmd, args) => {
      const p = start(cmd, args);
      started.push(p);
      return p;
    },
    expose: async (port) => port,
    cpuMs: () => null,
  };
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const say = (l: string): void => void process.stderr.write(`${l}\n`);
  const cluster = new Cluster({ log: (l) => say(`  ${l}`) });
  const kernelServers: LongRunning[] = [];
  let slirp: SlirpNamespace | null = null;
  const stopAll = async (): Promise<void> => {
    await Promise.all(kernelServers.map((p) => p.stop(3000)));
    await slirp?.stop();
    await cluster.stop();
  };
  const release = cleanupOnSignals(stopAll);
  try {
    say('gateway bench: a private root+controller, a server container and a gateway container');
    await cluster.startRoot();
    const nwid = await cluster.createNetwork({ name: 'gateway-bench' });
    const a = await cluster.addContainer('server', nwid);
    const b = await cluster.addContainer('gateway', nwid);
    must(await b.daemon.cli(['gateway', 'enable', nwid]), 'ztnc-cli gateway enable');
    const rrPeer = buildRoundTripPeer(packageRoot(), cluster.dir);

    const ztncPath: Path = {
      label: 'ztnc published port',
      serverIp: a.ip,
      start: (cmd, args) => cluster.track(a.start(cmd, args)),
      expose: async (port) => {
        const hostPort = await freePort();
        must(await b.daemon.cli(['publish', nwid, 'tcp', `127.0.0.1:${hostPort}`, `${a.ip}:${port}`]), 'ztnc-cli publish');
        return hostPort;
      },
      cpuMs: () => ({ gateway: processCpuMs(b.daemon.pid), server: processCpuMs(a.daemon.pid) }),
    };
    say('ztnc: host → published port on the gateway → server container');
    const ztnc = await measurePath(ztncPath, rrPeer, 2, say);

    say('ztnc member to member (no gateway): iperf3 in the gateway container to the server container');
    const direct = await memberToMember(cluster, a, b);

    const avail = await slirpAvailable();
    let slirpFigures: PathFigures | null = null;
    let slirpReason = avail.reason;
    if (!slirpReason) {
      say(`slirp4netns ${avail.version ?? ''}: host → add_hostfwd → server in a namespace`);
      try {
        const ns = (slirp = await SlirpNamespace.create(cluster.dir));
        slirpFigures = await measurePath(
          {
            label: 'slirp4netns port forward',
            serverIp: SLIRP_GUEST_IP,
            start: (cmd, args) => ns.start(cmd, args),
            expose: async (port) => {
              const hostPort = await freePort();
              await ns.forwardTcp(hostPort, port);
              return hostPort;
            },
            cpuMs: () => (ns.pid === undefined ? null : { slirp4netns: processCpuMs(ns.pid) }),
          },
          rrPeer,
          0,
          say,
        );
      } catch (e) {
        slirpReason = (e as Error).message.replace(/\s+/g, ' ').slice(0, 300);
      }
      await slirp?.stop();
      slirp = null;
    }
    say('kernel: host → server on 127.0.0.1');
    const kernel = await measurePath(kernelPath(kernelServers), rrPeer, 0, say);

    const result = {
      bench: 'gateway',
      seconds: SECONDS,
      runs: RUNS,
      gbps: round(ztnc.gbps),
      gbps_runs: ztnc.runs.map((g) => round(g)),
      cpu_ms_per_mb_gateway: ztnc.cpuMsPerMB?.gateway ?? null,
      cpu_ms_per_mb_server: ztnc.cpuMsPerMB?.server ?? null,
      member_to_member_gbps: round(direct),
      connect_p50_us: ztnc.connectP50Us,
      connect_p99_us: ztnc.connectP99Us,
      slirp_gbps: slirpFigures ? round(slirpFigures.gbps) : null,
      slirp_cpu_ms_per_mb: slirpFigures?.cpuMsPerMB?.slirp4netns ?? null,
      slirp_connect_p50_us: slirpFigures?.connectP50Us ?? null,
      slirp_connect_p99_us: slirpFigures?.connectP99Us ?? null,
      slirp_version: avail.version,
      slirp_reason: slirpReason,
      ref_gbps: round(kernel.gbps),
      ref_connect_p50_us: kernel.connectP50Us,
      ref_connect_p99_us: kernel.connectP99Us,
      vs_slirp_gbps: slirpFigures ? round(ztnc.gbps / slirpFigures.gbps, 3) : null,
      ratio: round(ztnc.gbps / kernel.gbps, 4),
      connect_vs_kernel: round(ztnc.connectP50Us / kernel.connectP50Us, 2),
      slirp_connect_vs_kernel: slirpFigures ? round(slirpFigures.connectP50Us / kernel.connectP50Us, 2) : null,
      goal_gbps_met: ztnc.gbps >= 2,
      goal_connect_met: ztnc.connectP50Us <= 3 * kernel.connectP50Us,
    };
    const fmt = (x: number | null | undefined, d = 3): string => (x == null ? '-' : x.toFixed(d));
    const rows: [string, string, string, string][] = [
      ['', 'ztnc', 'slirp4netns', 'kernel'],
      ['TCP host → server, Gbit/s (iperf3, median)', fmt(ztnc.gbps), fmt(slirpFigures?.gbps), fmt(kernel.gbps)],
      ['TCP member → member, no gateway, Gbit/s', fmt(direct), '-', '-'],
      ['CPU ms per MB, gateway daemon / slirp4netns', fmt(ztnc.cpuMsPerMB?.gateway, 2), fmt(slirpFigures?.cpuMsPerMB?.slirp4netns, 2), '-'],
      ['CPU ms per MB, server container daemon', fmt(ztnc.cpuMsPerMB?.server, 2), '-', '-'],
      ['connect + 1-byte echo p50, µs', fmt(ztnc.connectP50Us, 1), fmt(slirpFigures?.connectP50Us, 1), fmt(kernel.connectP50Us, 1)],
      ['connect + 1-byte echo p99, µs', fmt(ztnc.connectP99Us, 1), fmt(slirpFigures?.connectP99Us, 1), fmt(kernel.connectP99Us, 1)],
    ];
    for (const r of rows) process.stdout.write(`${r[0].padEnd(44)} ${r[1].padStart(10)} ${r[2].padStart(12)} ${r[3].padStart(10)}\n`);
    if (slirpReason) process.stdout.write(`slirp4netns not measured: ${slirpReason}\n`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stopAll();
    release();
  }
}
