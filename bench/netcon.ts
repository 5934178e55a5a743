/**
 * Network containers end to end: two programs under libztintercept.so talking through one netcon
 * daemon (its NetStack's own address), beside the same programs over the kernel's loopback in
 * the same run. Reports connect + accept + 1-byte round trip latency (µs, p50/p99), 1-byte
 * ping-pong round trips on an established connection (µs, p50/p99) and one-way bulk throughput
 * (Gbit/s) between two processes, with ratios to the kernel.
 *
 * Two programs on one daemon take the same-daemon fast path (src/netcon/fast-path.ts) unless they
 * opt out: the unprefixed figures (`p50_us`, `gbps`, `ratio`, `latency_ratio`…) and the
 * `fastpath_*` ones are what users get by default; the `stack_*` figures are the same runs with
 * ZT_NC_FASTPATH=0, through the daemon's userspace TCP. `fastpath_connects` counts the
 * connections the fast path took (0 would mean the default figures measured the stack).
 *
 * The daemon runs in this process (nothing else runs here); the programs are test/shim/bench_peer.c
 * and, for the ping-pong, test/shim/rr_peer.c (as the apps bench's, bench/_apps-rtt.ts: 1000
 * unmeasured rounds first), compiled with cc into a temp dir. NETCON_BENCH_MB (default 1000), NETCON_BENCH_ROUNDS (default
 * 1000, connect rounds) and NETCON_BENCH_PINGS (default 10000, ping-pong rounds) size the runs.
 * Beside the wall-clock figures it reports the daemon's own CPU time per round and per GB
 * (process.cpuUsage around each run): on a shared machine those move less with other load than
 * the latencies do.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { run as runProgram, start } from '../src/demo/processes.js';
import { NetconServer } from '../src/netcon/server.js';
import { parseIpv4 } from '../src/netstack/addr.js';
import { RealScheduler } from '../src/netstack/clock.js';
import { createNetStack } from '../src/netstack/index.js';
import { buildRoundTripPeer, roundTrip } from './_apps-rtt.js';
import type { Side } from './_apps-sides.js';
import { packageRoot } from './_package-root.js';

const STACK_ADDR = '10.147.17.5';
const NWID = '8056c2e21c000001';

/** A program's side for the ping-pong (bench/_apps-rtt.ts): at `ip`, run with `env`. */
function at(ip: string, env: NodeJS.ProcessEnv): Side {
  return {
    label: env.LD_PRELOAD ? `netcon ${ip}${env.ZT_NC_FASTPATH === '0' ? ' through the stack' : ''}` : 'kernel loopback',
    ip,
    ip6: null,
    start: (cmd, args) => start(cmd, args, { env }),
    run: (cmd, args, timeoutMs) => runProgram(cmd, args, { env, timeoutMs }),
  };
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
  const pings = Number(process.env.NETCON_BENCH_PINGS ?? 10000);
  const tmp = mkdtempSync(join(tmpdir(), 'ztnc-bench-'));
  const bin = join(tmp, 'bench_peer');
  execFileSync('make', ['-s', '-C', join(root, 'native', 'intercept')], { stdio: 'inherit' });
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'test', 'shim', 'bench_peer.c')], { stdio: 'inherit' });
  const rrPeer = buildRoundTripPeer(root, tmp);

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
    const stackEnv = { ...shim, ZT_NC_FASTPATH: '0' };
    // Warm-up: JIT the daemon's paths, both of them.
    await runPeer(bin, ['latency', STACK_ADDR, '200'], shim);
    await runPeer(bin, ['latency', STACK_ADDR, '200'], stackEnv);
    await runPeer(bin, ['bulk', STACK_ADDR, '100'], stackEnv);

    const refLat = await runPeer(bin, ['latency', '127.0.0.1', String(rounds)], plain);
    const refPing = await roundTrip(rrPeer, at('127.0.0.1', plain), at('127.0.0.1', plain), pings);
    const refBulk = await runPeer(bin, ['bulk', '127.0.0.1', String(mb)], plain);
    const fastBefore = server.counters.get('fastPath.connects');
    const latRun = await withCpu(() => runPeer(bin, ['latency', STACK_ADDR, String(rounds)], shim));
    const ping = await roundTrip(rrPeer, at(STACK_ADDR, shim), at(STACK_ADDR, shim), pings);
    const bulkRun = await withCpu(() => runPeer(bin, ['bulk', STACK_ADDR, String(mb)], shim));
    const fastConnects = server.counters.get('fastPath.connects') - fastBefore;
    const stackLatRun = await withCpu(() => runPeer(bin, ['latency', STACK_ADDR, String(rounds)], stackEnv));
    const stackPing = await roundTrip(rrPeer, at(STACK_ADDR, stackEnv), at(STACK_ADDR, stackEnv), pings);
    const stackBulkRun = await withCpu(() => runPeer(bin, ['bulk', STACK_ADDR, String(mb)], stackEnv));
    const lat = latRun.value;
    const bulk = bulkRun.value;
    const stackLat = stackLatRun.value;
    const stackBulk = stackBulkRun.value;
    const perGb = (cpuUs: number): number => cpuUs / 1e6 / ((mb * 1024 * 1024) / 1e9);

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
      daemon_cpu_s_per_gb: perGb(bulkRun.cpuUs),
      fastpath_gbps: bulk.gbps!,
      fastpath_ratio: bulk.gbps! / refBulk.gbps!,
      fastpath_rtt_p50_us: ping.p50Us,
      fastpath_rtt_p99_us: ping.p99Us,
      ref_rtt_p50_us: refPing.p50Us,
      ref_rtt_p99_us: refPing.p99Us,
      fastpath_rtt_ratio: ping.p50Us / refPing.p50Us,
      fastpath_connects: fastConnects,
      stack_p50_us: stackLat.p50_us!,
      stack_p99_us: stackLat.p99_us!,
      stack_latency_ratio: stackLat.p50_us! / refLat.p50_us!,
      stack_rtt_p50_us: stackPing.p50Us,
      stack_rtt_p99_us: stackPing.p99Us,
      stack_gbps: stackBulk.gbps!,
      stack_ratio: stackBulk.gbps! / refBulk.gbps!,
      stack_daemon_cpu_us_per_round: stackLatRun.cpuUs / rounds,
      stack_daemon_cpu_s_per_gb: perGb(stackBulkRun.cpuUs),
      rounds,
      pings,
      mb,
    };
    const rows: [string, string, string, string][] = [
      ['connect+accept+1B RTT p50 (µs)', result.p50_us.toFixed(1), result.stack_p50_us.toFixed(1), result.ref_p50_us.toFixed(1)],
      ['connect+accept+1B RTT p99 (µs)', result.p99_us.toFixed(1), result.stack_p99_us.toFixed(1), result.ref_p99_us.toFixed(1)],
      ['1B ping-pong RTT p50 (µs)', ping.p50Us.toFixed(1), stackPing.p50Us.toFixed(1), refPing.p50Us.toFixed(1)],
      ['1B ping-pong RTT p99 (µs)', ping.p99Us.toFixed(1), stackPing.p99Us.toFixed(1), refPing.p99Us.toFixed(1)],
      ['bulk between two programs (Gbit/s)', result.gbps.toFixed(2), result.stack_gbps.toFixed(2), result.ref_gbps.toFixed(2)],
    ];
    process.stdout.write(`${'measure'.padEnd(38)}${'ztnc'.padStart(12)}${'ztnc stack'.padStart(12)}${'kernel lo'.padStart(12)}\n`);
    for (const [k, a, b, c] of rows) process.stdout.write(`${k.padEnd(38)}${a.padStart(12)}${b.padStart(12)}${c.padStart(12)}\n`);
    process.stdout.write(
      `ztnc: the same-daemon fast path (${fastConnects} connections); ztnc stack: ZT_NC_FASTPATH=0, the daemon's userspace TCP\n`,
    );
    process.stdout.write(
      `daemon CPU per connect round: ${result.daemon_cpu_us_per_round.toFixed(0)} µs (stack ${result.stack_daemon_cpu_us_per_round.toFixed(0)}); ` +
        `per GB of bulk: ${result.daemon_cpu_s_per_gb.toFixed(2)} s (stack ${result.stack_daemon_cpu_s_per_gb.toFixed(2)})\n`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server.close();
    stack.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
