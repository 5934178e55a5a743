/**
 * Network containers end to end: two programs under libztintercept.so talking through one netcon
 * daemon (its NetStack's own address), beside the same programs over the kernel's loopback in
 * the same run. Reports connect + accept + 1-byte round trip latency (µs, p50/p99) and one-way
 * bulk throughput (Gbit/s) between two processes, with ratios to the kernel.
 *
 * The daemon runs in this process (nothing else runs here); the programs are test/shim/bench_peer.c,
 * compiled with cc into a temp dir. NETCON_BENCH_MB (default 1000) and NETCON_BENCH_ROUNDS
 * (default 1000) size the runs. Beside the wall-clock figures it reports the daemon's own CPU time
 * per round and per GB (process.cpuUsage around each run): on a shared machine those move less
 * with other load than the latencies do.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { NetconServer } from '../src/netcon/server.js';
import { parseIpv4 } from '../src/netstack/addr.js';
import { RealScheduler } from '../src/netstack/clock.js';
import { createNetStack } from '../src/netstack/index.js';

const STACK_ADDR = '10.147.17.5';
const NWID = '8056c2e21c000001';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'native', 'intercept', 'Makefile'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package root not found');
    dir = up;
  }
  return dir;
}

function runPeer(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${args.join(' ')} failed (${code}): ${out} ${err}`));
      else resolve(JSON.parse(line) as Record<string, number>);
    });
  });
}

/** Runs `f` and returns its result with the CPU time (µs, user + system) this process used meanwhile. */
async function withCpu<T>(f: () => Promise<T>): Promise<{ value: T; cpuUs: number }> {
  const before = process.cpuUsage();
  const value = await f();
  const d = process.cpuUsage(before);
  return { value, cpuUs: d.user + d.system };
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const root = packageRoot();
  const mb = Number(process.env.NETCON_BENCH_MB ?? 1000);
  const rounds = Number(process.env.NETCON_BENCH_ROUNDS ?? 1000);
  const tmp = mkdtempSync(join(tmpdir(), 'ztnc-bench-'));
  const bin = join(tmp, 'bench_peer');
  execFileSync('make', ['-s', '-C', join(root, 'native', 'intercept')], { stdio: 'inherit' });
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'test', 'shim', 'bench_peer.c')], { stdio: 'inherit' });

  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 5]), name: 'bench' });
  stack.addAddress(parseIpv4(STACK_ADDR)!, 24);
  stack.setLinkOutput(() => {});
  const socketPath = join(tmp, 'rpc', 'net.sock');
  const server = new NetconServer(stack, socketPath, pino({ level: 'warn' }, pino.destination(2)));
  await server.start();

  const plain = { ...process.env };
  delete plain.LD_PRELOAD;
  const shim = {
    ...process.env,
    LD_PRELOAD: join(root, 'native', 'intercept', 'libztintercept.so'),
    ZT_NC_NWID: NWID,
    ZT_NC_SOCKET: socketPath,
  };
  try {
    // Warm-up: JIT the daemon's paths.
    await runPeer(bin, ['latency', STACK_ADDR, '200'], shim);
    await runPeer(bin, ['bulk', STACK_ADDR, '100'], shim);

    const refLat = await runPeer(bin, ['latency', '127.0.0.1', String(rounds)], plain);
    const latRun = await withCpu(() => runPeer(bin, ['latency', STACK_ADDR, String(rounds)], shim));
    const lat = latRun.value;
    const refBulk = await runPeer(bin, ['bulk', '127.0.0.1', String(mb)], plain);
    const bulkRun = await withCpu(() => runPeer(bin, ['bulk', STACK_ADDR, String(mb)], shim));
    const bulk = bulkRun.value;

    const result = {
      bench: 'netcon',
      p50_us: lat.p50_us!,
      p99_us: lat.p99_us!,
      ref_p50_us: refLat.p50_us!,
      ref_p99_us: refLat.p99_us!,
      latency_ratio: lat.p50_us! / refLat.p50_us!,
      gbps: bulk.gbps!,
      ref_gbps: refBulk.gbps!,
      ratio: bulk.gbps! / refBulk.gbps!,
      daemon_cpu_us_per_round: latRun.cpuUs / rounds,
      daemon_cpu_s_per_gb: bulkRun.cpuUs / 1e6 / ((mb * 1024 * 1024) / 1e9),
      rounds,
      mb,
    };
    const rows: [string, string, string][] = [
      ['connect+accept+1B RTT p50 (µs)', result.p50_us.toFixed(1), result.ref_p50_us.toFixed(1)],
      ['connect+accept+1B RTT p99 (µs)', result.p99_us.toFixed(1), result.ref_p99_us.toFixed(1)],
      ['bulk between two programs (Gbit/s)', result.gbps.toFixed(2), result.ref_gbps.toFixed(2)],
    ];
    process.stdout.write(`${'measure'.padEnd(38)}${'ztnc'.padStart(12)}${'kernel lo'.padStart(12)}\n`);
    for (const [k, a, b] of rows) process.stdout.write(`${k.padEnd(38)}${a.padStart(12)}${b.padStart(12)}\n`);
    process.stdout.write(
      `daemon CPU: ${result.daemon_cpu_us_per_round.toFixed(0)} µs per connect round, ${result.daemon_cpu_s_per_gb.toFixed(2)} s per GB of bulk\n`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server.close();
    stack.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
