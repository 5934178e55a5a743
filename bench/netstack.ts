/**
 * Bulk TCP throughput of the userspace stack: two stacks in one process over a zero-delay
 * simulated link, at MTU 1500 and 2800, beside Node's own kernel loopback TCP measured in the same
 * run. Reports Gbit/s (wall clock), CPU time per MB (process.cpuUsage) and peak RSS.
 *
 * The stacks are driven by a VirtualScheduler (time jumps to the next timer when idle), so the
 * figure is the CPU-bound rate of the stack itself; wall-clock time is what is measured.
 */
import { createServer, connect, type AddressInfo } from 'node:net';
import { VirtualScheduler } from '../src/netstack/clock.js';
import { createNetStack } from '../src/netstack/index.js';
import { SeededRandom } from '../src/netstack/random.js';
import type { TcpSocket } from '../src/netstack/socket-api.js';
import type { NetStack, NetStackOptions } from '../src/netstack/stack-api.js';
import { TcpLayer } from '../src/netstack/tcp/tcp-layer.js';
import type { IpReceiveInfo, IpSender } from '../src/netstack/transport.js';

const ADDR_A = 0x0a000001;
const ADDR_B = 0x0a000002;

interface Pair {
  sched: VirtualScheduler;
  client: TcpSocket;
  server: TcpSocket;
}

/** Direct IP "wire" between two TCP layers (used when no full stack is wired in). */
function layerPair(mtu: number): Pair {
  const sched = new VirtualScheduler();
  const layers: TcpLayer[] = [];
  const mk = (addr: number, peer: () => TcpLayer): IpSender => ({
    send(_p, src, dst, packet, offset) {
      const info: IpReceiveInfo = { src, dst, ttl: 64, tos: 0, broadcast: false };
      const seg = packet.subarray(offset);
      sched.setTimer(0, () => peer().receive(info, seg));
      return 0;
    },
    sourceFor: () => addr,
    maxPayloadFor: () => mtu - 20,
    isLocalAddress: (a) => a === addr || a === 0,
  });
  layers.push(new TcpLayer({ ip: mk(ADDR_A, () => layers[1]!), scheduler: sched, random: new SeededRandom(1) }));
  layers.push(new TcpLayer({ ip: mk(ADDR_B, () => layers[0]!), scheduler: sched, random: new SeededRandom(2) }));
  const listener = layers[1]!.socket();
  listener.bind(0, 5001);
  listener.listen(8);
  const client = layers[0]!.socket();
  client.connect(ADDR_B, 5001);
  let server: TcpSocket | null = null;
  sched.runUntil(() => (server ??= listener.accept()) !== null && client.state === 'ESTABLISHED', 10_000);
  if (!server) throw new Error('netstack bench: handshake failed');
  return { sched, client, server };
}

type StackFactory = (o: NetStackOptions) => NetStack;

/** Full stacks, unless NETSTACK_BENCH_MODE=tcp asks for TCP layers joined directly (for comparison). */
async function loadFactory(): Promise<StackFactory | null> {
  return process.env.NETSTACK_BENCH_MODE === 'tcp' ? null : createNetStack;
}

/** Two full stacks (Ethernet/ARP/IPv4/TCP) over a zero-delay Ethernet link. */
function stackPair(factory: StackFactory, mtu: number): Pair {
  const sched = new VirtualScheduler();
  const a = factory({ scheduler: sched, random: new SeededRandom(1), mac: Buffer.from([2, 0, 0, 0, 0, 1]), mtu, name: 'a' });
  const b = factory({ scheduler: sched, random: new SeededRandom(2), mac: Buffer.from([2, 0, 0, 0, 0, 2]), mtu, name: 'b' });
  a.setLinkOutput((f) => {
    sched.setTimer(0, () => b.input(f));
  });
  b.setLinkOutput((f) => {
    sched.setTimer(0, () => a.input(f));
  });
  a.addAddress(ADDR_A, 24);
  b.addAddress(ADDR_B, 24);
  const listener = b.tcpSocket();
  listener.bind(0, 5001);
  listener.listen(8);
  const client = a.tcpSocket();
  client.connect(ADDR_B, 5001);
  let server: TcpSocket | null = null;
  sched.runUntil(() => (server ??= listener.accept()) !== null && client.state === 'ESTABLISHED', 10_000);
  if (!server) throw new Error('netstack bench: full-stack handshake failed');
  return { sched, client, server };
}

let factory: StackFactory | null = null;

interface Result {
  gbps: number;
  cpuMsPerMB: number;
  seconds: number;
  bytes: number;
}

function runStack(mtu: number, bytes: number): Result {
  const { sched, client, server } = factory ? stackPair(factory, mtu) : layerPair(mtu);
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
  factory = await loadFactory();
  const mode = factory ? 'full stack (Ethernet + ARP + IPv4 + TCP)' : 'tcp only (NETSTACK_BENCH_MODE=tcp)';
  const bytes = Number(process.env.NETSTACK_BENCH_MB ?? 400) * 1024 * 1024;
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  sample.unref();
  // warm-up
  runStack(2800, 32 * 1024 * 1024);
  const ref = await runKernel(Math.min(bytes, 1024 * 1024 * 1024));
  const r1500 = runStack(1500, bytes);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const r2800 = runStack(2800, bytes);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  clearInterval(sample);
  const rows: [string, string, string][] = [
    ['netstack MTU 1500', r1500.gbps.toFixed(2), r1500.cpuMsPerMB.toFixed(3)],
    ['netstack MTU 2800', r2800.gbps.toFixed(2), r2800.cpuMsPerMB.toFixed(3)],
    ['kernel loopback (ref)', ref.gbps.toFixed(2), ref.cpuMsPerMB.toFixed(3)],
  ];
  const out = process.stdout;
  out.write(`${'case'.padEnd(24)}${'Gbit/s'.padStart(10)}${'CPU ms/MB'.padStart(12)}\n`);
  for (const [a, b, c] of rows) out.write(`${a.padEnd(24)}${b.padStart(10)}${c.padStart(12)}\n`);
  out.write(`mode: ${mode}\n`);
  out.write(`ratio (MTU 2800 / kernel): ${(r2800.gbps / ref.gbps).toFixed(3)}; peak RSS ${(peakRss / 1048576).toFixed(0)} MiB\n`);
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
        ref_cpu_ms_per_mb: round(ref.cpuMsPerMB),
        peak_rss_mb: Math.round(peakRss / 1048576),
        mode: factory ? 'stack' : 'tcp',
        bytes,
      }) + '\n',
    );
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
