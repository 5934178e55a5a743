/**
 * TCP goodput over emulated internet paths, per congestion-control algorithm, in virtual time:
 * two TCP layers joined by the simulated IP path of `src/netstack/sim-link.ts` with a 1 Gbit/s
 * bottleneck (drop-tail queue), one-way delay, random loss, reordering and duplication, all drawn
 * from a fixed seed, so every run prints the same figures. MTU 2800 as on a ZeroTier network.
 *
 * Each case is one stream of `PATHS_BENCH_MB` (default 128) MiB of pseudo-random bytes, SHA-256
 * checked at both ends; goodput = bytes / virtual time from the connection's first byte to the
 * last one read. The size is chosen so a fast case costs one to two seconds of CPU and lasts well
 * past BBR's startup (128 MiB at 500 Mbit/s is 2.1 s, 100 round trips of 20 ms); a slow case (a
 * loss-based algorithm at a few Mbit/s) costs the same CPU, only more virtual time. Virtual time
 * is capped at `PATHS_BENCH_CAP_S` (default 120 s): a case that has not finished by then reports
 * what arrived in that time (the stream is still checked up to there). The whole table takes
 * about 30 s of CPU.
 *
 * Both ends use 32 MiB socket buffers (a tuned host's tcp_rmem/tcp_wmem), so the receive window is
 * not the limit on the long paths.
 *
 * Fields: `<algo>_<path>_mbps` for every algorithm (cubic, reno, bbr) and path, and `<algo>_<path>_s`
 * (the virtual seconds it took); then how two flows share a 100 Mbit/s bottleneck:
 * `share_bbr_bbr_ratio` (the slower BBR flow's goodput over the faster's), and
 * `share_bbr_cubic_bbr_mbps` / `share_bbr_cubic_cubic_mbps` (the split between BBR and CUBIC).
 *
 * Then, as root, the same paths in real time against the kernel's TCP in the same run
 * (bench/_paths-realtime.ts, about two minutes): `kernel_<algo>_<path>_mbps` and
 * `ztnc_<algo>_<path>_mbps` for cubic and bbr, a byte-checked stream, and real-time two-flow
 * splits (`rt_share_*`). Elsewhere, or with PATHS_BENCH_REALTIME=0, `realtime_reason` says why it
 * did not run; `--quick` shortens its streams (PATHS_BENCH_RT_SECONDS sets them).
 */
import { createHash } from 'node:crypto';
import { connectTcp, SIM_ADDR_B, SimTcpWire, type SimTcpWireOptions } from '../src/netstack/sim-link.js';
import { CONGESTION_NAMES, congestionAlgoByName } from '../src/netstack/tcp/congestion/select.js';
import { realtimeUnavailable } from './_paths-lab.js';
import { realtimePaths } from './_paths-realtime.js';
import { packageRoot } from './_package-root.js';

interface PathSpec {
  name: string;
  rttMs: number;
  loss?: number;
  reorder?: number;
  dup?: number;
  /** Bottleneck queue, bytes (default: one 20 ms BDP at 1 Gbit/s, 2.5 MB). */
  queueBytes?: number;
}

const RATE_MBPS = 1000;
const MTU = 2800;
const PORT = 5201;
const BUF = 32 * 1024 * 1024;

const PATHS: PathSpec[] = [
  { name: 'clean', rttMs: 1 },
  { name: 'rtt20', rttMs: 20 },
  { name: 'rtt20_loss1', rttMs: 20, loss: 0.01 },
  { name: 'rtt20_loss3_reorder10', rttMs: 20, loss: 0.03, reorder: 0.1 },
  { name: 'rtt50_loss0_5', rttMs: 50, loss: 0.005 },
  { name: 'rtt20_loss1_dup1', rttMs: 20, loss: 0.01, dup: 0.01 },
  { name: 'rtt100_loss0_1_buf50k', rttMs: 100, loss: 0.001, queueBytes: 50_000 },
];

interface CaseResult {
  mbps: number;
  seconds: number;
  bytes: number;
  cpuMs: number;
  retransmits: number;
  rtos: number;
}

function pattern(seed: number): Buffer {
  const block = Buffer.alloc(1 << 16);
  let x = seed >>> 0;
  for (let i = 0; i < block.length; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    block.writeUInt32LE(x, i);
  }
  return block;
}

function runCase(algo: string, path: PathSpec, total: number, capMs: number, seed: number): CaseResult {
  const opts: SimTcpWireOptions = {
    mtu: MTU,
    seed,
    delayMs: path.rttMs / 2,
    rateMbps: RATE_MBPS,
    queueBytes: path.queueBytes ?? RATE_MBPS * 125 * 20,
    ...(path.loss ? { loss: path.loss } : {}),
    ...(path.reorder ? { reorder: path.reorder } : {}),
    ...(path.dup ? { dup: path.dup } : {}),
  };
  const w = new SimTcpWire(opts);
  const run = (d: () => boolean, l: number): boolean => w.sched.runUntil(d, l);
  const mk = (layer: typeof w.a) => () => {
    const s = layer.socket();
    s.setOption('RCVBUF', BUF);
    s.setOption('SNDBUF', BUF);
    s.setOption('CONGESTION', congestionAlgoByName(algo)!);
    return s;
  };
  const { client, server } = connectTcp(mk(w.a), mk(w.b), SIM_ADDR_B, PORT, run, 30_000, 8);
  const block = pattern(seed);
  const hTx = createHash('sha256');
  const hRx = createHash('sha256');
  let sent = 0;
  let off = 0;
  let received = 0;
  let eof = false;
  let lastReadAt = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(total - sent, block.length - off);
      const k = client.write(block.subarray(off, off + n));
      if (k <= 0) return;
      hTx.update(block.subarray(off, off + k));
      sent += k;
      off = (off + k) % block.length;
    }
    client.shutdown(1);
  };
  server.handlers.onReadable = () => {
    for (;;) {
      const r = server.read();
      if (typeof r === 'number') {
        if (r === 0) eof = true;
        return;
      }
      hRx.update(r);
      received += r.length;
      lastReadAt = w.sched.now();
    }
  };
  client.handlers.onWritable = pump;
  const cpu0 = process.cpuUsage();
  const t0 = w.sched.now();
  pump();
  run(() => eof, capMs);
  const cpu = process.cpuUsage(cpu0);
  const info = client.info();
  if (eof) {
    if (received !== total || hTx.digest('hex') !== hRx.digest('hex')) {
      throw new Error(`paths bench: ${algo} on ${path.name}: stream corrupted (${received} of ${total} bytes, SHA-256 differs)`);
    }
  } else {
    // cut short by the cap: check the prefix that arrived against the pattern it must be
    const hRef = createHash('sha256');
    for (let done = 0, o = 0; done < received;) {
      const n = Math.min(received - done, block.length - o);
      hRef.update(block.subarray(o, o + n));
      done += n;
      o = (o + n) % block.length;
    }
    if (hRef.digest('hex') !== hRx.digest('hex')) throw new Error(`paths bench: ${algo} on ${path.name}: stream corrupted`);
  }
  const seconds = ((eof ? lastReadAt : w.sched.now()) - t0) / 1000;
  client.abort();
  server.abort();
  return {
    mbps: (received * 8) / Math.max(seconds, 1e-9) / 1e6,
    seconds,
    bytes: received,
    cpuMs: (cpu.user + cpu.system) / 1000,
    retransmits: info.retransmits,
    rtos: info.rtoTimeouts,
  };
}

/**
 * Fairness: two backlogged flows from a to b through one 100 Mbit/s, 20 ms bottleneck with a
 * one-BDP (250 KB) drop-tail queue, the second starting 1 s after the first; Mbit/s of each over
 * 20 s after a 5 s warm-up.
 */
function runShare(algoA: string, algoB: string, seed: number): [number, number] {
  const w = new SimTcpWire({ mtu: MTU, seed, delayMs: 10, rateMbps: 100, queueBytes: 250_000 });
  const run = (d: () => boolean, l: number): boolean => w.sched.runUntil(d, l);
  const got = [0, 0];
  const block = Buffer.alloc(1 << 16, 0x5a);
  [algoA, algoB].forEach((algo, i) => {
    if (i === 1) w.sched.advance(1000);
    const mk = (layer: typeof w.a) => () => {
      const s = layer.socket();
      s.setOption('RCVBUF', BUF);
      s.setOption('SNDBUF', BUF);
      s.setOption('CONGESTION', congestionAlgoByName(algo)!);
      return s;
    };
    const { client, server } = connectTcp(mk(w.a), mk(w.b), SIM_ADDR_B, PORT + 1 + i, run, 30_000, 8);
    const pump = (): void => {
      while (client.write(block) > 0);
    };
    client.handlers.onWritable = pump;
    server.handlers.onReadable = () => {
      for (;;) {
        const r = server.read();
        if (typeof r === 'number') return;
        got[i]! += r.length;
      }
    };
    pump();
  });
  w.sched.advance(5000);
  const before = [got[0]!, got[1]!];
  w.sched.advance(20_000);
  return [((got[0]! - before[0]!) * 8) / 20e6, ((got[1]! - before[1]!) * 8) / 20e6];
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const total = Math.round(Number(process.env.PATHS_BENCH_MB ?? 128) * 1024 * 1024);
  const capMs = Number(process.env.PATHS_BENCH_CAP_S ?? 120) * 1000;
  const seed = Number(process.env.PATHS_BENCH_SEED ?? 1);
  const only = process.env.PATHS_BENCH_ONLY?.split(',');
  const algos = (process.env.PATHS_BENCH_ALGOS?.split(',') ?? CONGESTION_NAMES).filter((a) => congestionAlgoByName(a) !== undefined);
  const out = process.stdout;
  const fields: Record<string, number | string> = { bench: 'paths' };
  out.write(
    `1 Gbit/s bottleneck, MTU 2800, ${(total / 1048576).toFixed(0)} MiB per stream, seed ${seed}; Mbit/s (virtual s, retransmits/RTOs)\n`,
  );
  out.write(`${'path'.padEnd(24)}${algos.map((a) => a.padStart(26)).join('')}\n`);
  for (const path of PATHS) {
    if (only && !only.includes(path.name)) continue;
    let line = path.name.padEnd(24);
    for (const algo of algos) {
      const r = runCase(algo, path, total, capMs, seed);
      fields[`${algo}_${path.name}_mbps`] = Math.round(r.mbps * 10) / 10;
      fields[`${algo}_${path.name}_s`] = Math.round(r.seconds * 1000) / 1000;
      const cell = `${r.mbps.toFixed(1)} (${r.seconds.toFixed(2)} s, ${r.retransmits}/${r.rtos})`;
      line += cell.padStart(26);
      if (process.env.PATHS_BENCH_CPU) line += ` [${r.cpuMs.toFixed(0)} ms cpu]`;
    }
    out.write(line + '\n');
  }
  if (!only && congestionAlgoByName('bbr') !== undefined) {
    const [b1, b2] = runShare('bbr', 'bbr', seed);
    const [bb, bc] = runShare('bbr', 'cubic', seed);
    out.write(`sharing 100 Mbit/s, 20 ms, 250 KB queue: bbr + bbr ${b1.toFixed(1)} / ${b2.toFixed(1)} Mbit/s; `);
    out.write(`bbr + cubic ${bb.toFixed(1)} / ${bc.toFixed(1)} Mbit/s\n`);
    fields.share_bbr_bbr_first_mbps = Math.round(b1 * 10) / 10;
    fields.share_bbr_bbr_second_mbps = Math.round(b2 * 10) / 10;
    fields.share_bbr_bbr_ratio = Math.round((Math.min(b1, b2) / Math.max(b1, b2)) * 1000) / 1000;
    fields.share_bbr_cubic_bbr_mbps = Math.round(bb * 10) / 10;
    fields.share_bbr_cubic_cubic_mbps = Math.round(bc * 10) / 10;
  }
  fields.bytes = total;
  fields.seed = seed;
  if (process.env.PATHS_BENCH_REALTIME === '0') {
    fields.realtime_reason = 'PATHS_BENCH_REALTIME=0';
  } else {
    const why = await realtimeUnavailable();
    if (why) {
      fields.realtime_reason = why;
      out.write(`real-time comparison with the kernel not run: ${why}\n`);
    } else {
      const quick = process.argv.includes('--quick');
      const rtSeconds = Number(process.env.PATHS_BENCH_RT_SECONDS ?? (quick ? 2 : 3));
      try {
        const rt = await realtimePaths(packageRoot(), {
          seconds: rtSeconds,
          budgetS: Number(process.env.PATHS_BENCH_RT_BUDGET_S ?? 110),
          only,
          say: (l) => void process.stderr.write(`  ${l}\n`),
        });
        Object.assign(fields, rt.fields);
        for (const l of rt.lines) out.write(`${l}\n`);
      } catch (e) {
        // the virtual-time figures stand; the JSON says why the real-time ones are missing
        fields.realtime_reason = (e as Error).message.replace(/\s+/g, ' ').slice(0, 400);
        out.write(`real-time comparison failed: ${fields.realtime_reason}\n`);
      }
    }
  }
  if (json) out.write(JSON.stringify(fields) + '\n');
}
