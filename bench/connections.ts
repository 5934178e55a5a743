/**
 * Connections at scale: how much daemon memory an idle TCP connection of a network container
 * costs. Two netstacks in this process, each served by its own netcon daemon (NetconServer) and
 * joined by an in-memory link, so the connections cross a stack on both sides as between two
 * daemons (same-daemon connections take the fast path and hold nothing in the daemon). A program
 * under the library on one side opens CONN_BENCH_N connections to a program on the other
 * (test/shim/conn_peer.c) and both hold them idle. The figure is the growth of this process's
 * memory (RSS, and the V8 heap within it, after a full GC) divided by the connection ends it holds
 * (2 × N: both daemons live here). The reference, in the same run: the same programs over the
 * kernel's loopback, the kernel's slab memory growth per connection end (from /proc/meminfo).
 * N is capped by the open-file limit this process has (each end is one daemon descriptor).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import { raiseFdLimit } from '../src/native/binding.js';
import { NetconServer } from '../src/netcon/index.js';
import { formatIpv4 } from '../src/netstack/index.js';
import { type LongRunning, start, waitFor } from '../src/demo/processes.js';
import { linkedStacks } from './_linked-stacks.js';
import { packageRoot } from './_package-root.js';

const NWID = '8056c2e21c000002';
const PORT = 7100;
/** Descriptors kept free for everything else the process holds. */
const SPARE_FDS = 1000;

function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Slab memory the kernel holds (kB). */
function kernelSlabKb(): number {
  const m = /^Slab:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function until(p: LongRunning, text: string, what: string, ms: number): Promise<void> {
  await waitFor(
    what,
    () => {
      if (p.exited()) throw new Error(`${what}: the program exited: ${p.output().slice(-300)}`);
      return p.output().includes(text);
    },
    ms,
    50,
  );
}

/** Both programs holding `n` connections from `clientEnv` to `serverEnv`'s listener at `addr`. */
async function holdConnections(
  bin: string,
  addr: string,
  n: number,
  serverEnv: NodeJS.ProcessEnv,
  clientEnv: NodeJS.ProcessEnv,
): Promise<LongRunning[]> {
  const server = start(bin, ['accept', addr, String(PORT), String(n)], { env: serverEnv });
  await until(server, 'listening', 'conn_peer accept', 30_000);
  const client = start(bin, ['connect', addr, String(PORT), String(n)], { env: clientEnv });
  const patience = 60_000 + n * 5;
  await until(client, `held ${n}`, 'conn_peer connect', patience);
  await until(server, `held ${n}`, 'conn_peer accept', patience);
  return [server, client];
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const root = packageRoot();
  const limit = raiseFdLimit(1 << 20);
  const wanted = Number(process.env.CONN_BENCH_N ?? 20_000);
  const n = Math.max(100, Math.min(wanted, Math.floor(((limit.soft === -1 ? 1 << 20 : limit.soft) - SPARE_FDS) / 2)));
  const tmp = mkdtempSync(join(tmpdir(), 'ztnc-bench-conns-'));
  const bin = join(tmp, 'conn_peer');
  execFileSync('make', ['-s', '-C', join(root, 'native', 'intercept')], { stdio: 'inherit' });
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'test', 'shim', 'conn_peer.c')], { stdio: 'inherit' });

  const stacks = linkedStacks({ name: 'conns', subnet: 0x0a931100 });
  const { a, b, addrB } = stacks;
  const log = pino({ level: 'warn' }, pino.destination(2));
  const servers = [new NetconServer(a, join(tmp, 'a', 'net.sock'), log), new NetconServer(b, join(tmp, 'b', 'net.sock'), log)];
  for (const s of servers) await s.start();
  const plain = { ...process.env };
  delete plain.LD_PRELOAD;
  const under = (sock: string): NodeJS.ProcessEnv => ({
    ...plain,
    LD_PRELOAD: join(root, 'native', 'intercept', 'libztintercept.so'),
    ZT_NC_NWID: NWID,
    ZT_NC_SOCKET: sock,
  });
  const held: LongRunning[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((p) => p.stop(5000)));
  };
  try {
    // warm-up: the paths JIT-compiled and their first allocations made before the baseline
    held.push(
      ...(await holdConnections(bin, formatIpv4(addrB), 200, under(join(tmp, 'b', 'net.sock')), under(join(tmp, 'a', 'net.sock')))),
    );
    await release();
    await new Promise((r) => setTimeout(r, 500));
    fullGc();
    const before = process.memoryUsage();
    const t0 = performance.now();
    held.push(...(await holdConnections(bin, formatIpv4(addrB), n, under(join(tmp, 'b', 'net.sock')), under(join(tmp, 'a', 'net.sock')))));
    const setupS = (performance.now() - t0) / 1000;
    fullGc();
    const after = process.memoryUsage();
    await release();

    const slab0 = kernelSlabKb();
    held.push(...(await holdConnections(bin, '127.0.0.1', n, plain, plain)));
    const slab1 = kernelSlabKb();
    await release();

    const ends = 2 * n;
    const result = {
      bench: 'connections',
      connections: n,
      fd_limit: limit.soft,
      daemon_kb_per_conn: Math.round(((after.rss - before.rss) / 1024 / ends) * 100) / 100,
      daemon_heap_kb_per_conn: Math.round(((after.heapUsed - before.heapUsed) / 1024 / ends) * 100) / 100,
      daemon_external_kb_per_conn:
        Math.round(((after.external + after.arrayBuffers - before.external - before.arrayBuffers) / 1024 / ends) * 100) / 100,
      ref_kernel_kb_per_conn: Math.round(((slab1 - slab0) / ends) * 100) / 100,
      setup_conns_per_s: Math.round(n / setupS),
    };
    const out = json ? process.stderr : process.stdout;
    out.write(`${n} idle TCP connections across two netstacks of this process (${ends} connection ends; open-file limit ${limit.soft})\n`);
    out.write(
      `  daemon memory per connection end: ${result.daemon_kb_per_conn} KB RSS (V8 heap ${result.daemon_heap_kb_per_conn} KB, buffers ${result.daemon_external_kb_per_conn} KB)\n`,
    );
    out.write(`  kernel loopback, slab per connection end (reference): ${result.ref_kernel_kb_per_conn} KB\n`);
    out.write(`  set-up: ${result.setup_conns_per_s} connections/s (blocking connects, one at a time)\n`);
    if (wanted > n) out.write(`  (asked for ${wanted}; the open-file limit allows ${n})\n`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await release();
    for (const s of servers) await s.close();
    stacks.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
