/**
 * Bulk TCP throughput of the userspace stack: two stacks in one process over a zero-delay
 * simulated link, at MTU 1500 and 2800, over IPv4 and over IPv6, beside Node's own kernel loopback
 * TCP measured in the same run. Reports Gbit/s (wall clock), CPU time per MB (process.cpuUsage)
 * and peak RSS.
 *
 * The stacks are driven by a VirtualScheduler (time jumps to the next timer when idle), so the
 * figure is the CPU-bound rate of the stack itself; wall-clock time is what is measured.
 */
import { createServer, connect, type AddressInfo } from 'node:net';
import type { VirtualScheduler } from '../src/netstack/clock.js';
import { connectTcp, simAddrs, simStackPair, SimTcpWire } from '../src/netstack/sim-link.js';
import type { TcpSocket } from '../src/netstack/socket-api.js';

interface Pair {
  sched: VirtualScheduler;
  client: TcpSocket;
  server: TcpSocket;
}

const PORT = 5001;
const HANDSHAKE_LIMIT_MS = 10_000;

/** Two bare TCP layers on a zero-delay IP path (NETSTACK_BENCH_MODE=tcp, for comparison). */
function layerPair(mtu: number, family: 4 | 6): Pair {
  const w = new SimTcpWire({ mtu, family });
  const run = (d: () => boolean, l: number): boolean => w.sched.runUntil(d, l);
  const { client, server } = connectTcp(
    () => w.a.socket(family),
    () => w.b.socket(family),
    w.addrB,
    PORT,
    run,
    HANDSHAKE_LIMIT_MS,
    8,
  );
  return { sched: w.sched, client, server };
}

/** Two full stacks (Ethernet/ARP or NDP/IPv4 or IPv6/TCP) over a zero-delay Ethernet link. */
function stackPair(mtu: number, family: 4 | 6): Pair {
  const seg = simStackPair({ mtu });
  const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
  const addrs = simAddrs(family);
  if (family === 6) {
    a.addAddress(addrs.a, 64);
    b.addAddress(addrs.b, 64);
  }
  const run = (d: () => boolean, l: number): boolean => seg.sched.runUntil(d, l);
  const { client, server } = connectTcp(
    () => a.tcpSocket(family),
    () => b.tcpSocket(family),
    addrs.b,
    PORT,
    run,
    HANDSHAKE_LIMIT_MS,
    8,
  );
  return { sched: seg.sched, client, server };
}

/** Full stacks, unless NETSTACK_BENCH_MODE=tcp asks for TCP layers joined directly. */
const fullStack = process.env.NETSTACK_BENCH_MODE !== 'tcp';

interface Result {
  gbps: number;
  cpuMsPerMB: number;
  seconds: number;
  bytes: number;
}

function runStack(mtu: number, bytes: number, family: 4 | 6 = 4): Result {
  const { sched, client, server } = fullStack ? stackPair(mtu, family) : layerPair(mtu, family);
  const block = Buffer.alloc(1 << 16, 0x5a);
  let sent = 0;
  let received = 0;
  let eof = false;
  const pump = (): void => {
    while (sent < bytes) {
      const n = client.write(sent + block.length <= bytes ? block : block.subarray(0, bytes - sent));
      if (n <= 0) return;
      sent += n;
    }
    client.shutdown(1);
  };
  client.handlers.onWritable = pump;
  server.handlers.onReadable = () => {
    for (;;) {
      const r = server.read();
      if (typeof r === 'number') {
        if (r === 0) eof = true;
        return;
      }
      received += r.length;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  pump();
  sched.runUntil(() => eof, 1e9);
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (received !== bytes) throw new Error(`netstack bench: received ${received} of ${bytes}`);
  return {
    gbps: (bytes * 8) / dt / 1e9,
    cpuMsPerMB: (cpu.user + cpu.system) / 1000 / (bytes / 1e6),
    seconds: dt,
    bytes,
  };
}

async function runKernel(bytes: number): Promise<Result> {
  return await new Promise((resolve, reject) => {
    const block = Buffer.alloc(1 << 16, 0x5a);
    let received = 0;
    let t0 = 0;
    let cpu0 = process.cpuUsage();
    const server = createServer((s) => {
      s.on('data', (d: Buffer) => {
        received += d.length;
      });
      s.on('end', () => {
        const dt = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        server.close();
        resolve({
          gbps: (received * 8) / dt / 1e9,
          cpuMsPerMB: (cpu.user + cpu.system) / 1000 / (received / 1e6),
          seconds: dt,
          bytes: received,
        });
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      const c = connect(port, '127.0.0.1', () => {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        let sent = 0;
        const write = (): void => {
          while (sent < bytes) {
            sent += block.length;
            if (!c.write(block)) {
              c.once('drain', write);
              return;
            }
          }
          c.end();
        };
        write();
      });
      c.on('error', reject);
    });
  });
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const mode = fullStack ? 'full stack (Ethernet + ARP/NDP + IPv4/IPv6 + TCP)' : 'tcp only (NETSTACK_BENCH_MODE=tcp)';
  const bytes = Number(process.env.NETSTACK_BENCH_MB ?? 400) * 1024 * 1024;
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  sample.unref();
  // warm-up
  runStack(2800, 32 * 1024 * 1024);
  runStack(2800, 32 * 1024 * 1024, 6);
  const ref = await runKernel(Math.min(bytes, 1024 * 1024 * 1024));
  const r1500 = runStack(1500, bytes);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const r2800 = runStack(2800, bytes);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const v6r1500 = runStack(1500, bytes, 6);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const v6r2800 = runStack(2800, bytes, 6);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  clearInterval(sample);
  const rows: [string, string, string][] = [
    ['netstack MTU 1500', r1500.gbps.toFixed(2), r1500.cpuMsPerMB.toFixed(3)],
    ['netstack MTU 2800', r2800.gbps.toFixed(2), r2800.cpuMsPerMB.toFixed(3)],
    ['netstack IPv6 MTU 1500', v6r1500.gbps.toFixed(2), v6r1500.cpuMsPerMB.toFixed(3)],
    ['netstack IPv6 MTU 2800', v6r2800.gbps.toFixed(2), v6r2800.cpuMsPerMB.toFixed(3)],
    ['kernel loopback (ref)', ref.gbps.toFixed(2), ref.cpuMsPerMB.toFixed(3)],
  ];
  const out = process.stdout;
  out.write(`${'case'.padEnd(24)}${'Gbit/s'.padStart(10)}${'CPU ms/MB'.padStart(12)}\n`);
  for (const [a, b, c] of rows) out.write(`${a.padEnd(24)}${b.padStart(10)}${c.padStart(12)}\n`);
  out.write(`mode: ${mode}\n`);
  out.write(`ratio (MTU 2800 / kernel): ${(r2800.gbps / ref.gbps).toFixed(3)}; peak RSS ${(peakRss / 1048576).toFixed(0)} MiB\n`);
  out.write(`IPv6 / IPv4 (MTU 2800): ${(v6r2800.gbps / r2800.gbps).toFixed(3)}\n`);
  if (json) {
    out.write(
      JSON.stringify({
        bench: 'netstack',
        gbps_mtu1500: round(r1500.gbps),
        gbps_mtu2800: round(r2800.gbps),
        gbps: round(r2800.gbps),
        ref_gbps: round(ref.gbps),
        ratio: round(r2800.gbps / ref.gbps),
        cpu_ms_per_mb_mtu1500: round(r1500.cpuMsPerMB),
        cpu_ms_per_mb_mtu2800: round(r2800.cpuMsPerMB),
        gbps6_mtu1500: round(v6r1500.gbps),
        gbps6_mtu2800: round(v6r2800.gbps),
        cpu_ms_per_mb6_mtu1500: round(v6r1500.cpuMsPerMB),
        cpu_ms_per_mb6_mtu2800: round(v6r2800.cpuMsPerMB),
        ratio6: round(v6r2800.gbps / r2800.gbps),
        ref_cpu_ms_per_mb: round(ref.cpuMsPerMB),
        peak_rss_mb: Math.round(peakRss / 1048576),
        mode: fullStack ? 'stack' : 'tcp',
        bytes,
      }) + '\n',
    );
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
