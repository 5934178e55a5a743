/**
 * The paths bench's real-time part: the same emulated paths as the virtual-time table, in real
 * time between two network namespaces joined by the impairment relay (bench/_paths-lab.ts), with
 * the kernel's TCP measured in the same run as the reference:
 * - `kernel_<algo>_<path>_mbps`: iperf3 from A to B on the namespaces' own kernel TCP, `-C cubic`
 *   and `-C bbr`;
 * - `ztnc_<algo>_<path>_mbps`: the same iperf3 under libztintercept.so, between a ztnc member in A
 *   and one in B (their UDP crosses the relay; iperf3's `-C` reaches the daemon's TCP as
 *   TCP_CONGESTION);
 * - a checked stream (bench/stream_check.c: every byte compared at the receiver) with ztnc's BBR on
 *   the hardest path: `ztnc_checked_bytes`, `ztnc_checked_intact`;
 * - two flows sharing a 100 Mbit/s, 20 ms bottleneck with a 250 KB drop-tail queue (the relay's
 *   rate limit), both started together, the first second left out: `rt_share_<who>_<a>_<b>_{first,second}_mbps`
 *   for ztnc and the kernel, bbr+bbr and bbr+cubic;
 * - `stock_<algo>_<path>_mbps` is not measured here yet (stock ZeroTier One nodes would need
 *   their own namespaces on the relay's link); `stock_reason` says why there is no stock figure.
 * One stream lasts PATHS_BENCH_RT_SECONDS (default 3; `--quick`: 2) after an unmeasured warm-up
 * of the daemons; the splits are left out (`rt_share_reason`) when the part has already taken
 * more than PATHS_BENCH_RT_BUDGET_S (default 110) seconds, so the whole bench stays within four
 * minutes on a busy host. The machine's CPUs are shared by the relay, both daemons, iperf3 and
 * the kernels of both namespaces, so the figures are what this host gives, not what the paths would.
 */
import { startListening } from './_listening.js';
import { cleanupOnSignals, waitFor } from '../src/demo/processes.js';
import { STOCK_ZEROTIER_ENV } from '../src/demo/stock-zerotier.js';
import { type Host, type PathModel, PathsLab } from './_paths-lab.js';

export interface RealtimePath {
  name: string;
  model: PathModel;
}

export const REALTIME_PATHS: RealtimePath[] = [
  { name: 'clean', model: { delayMs: 0 } },
  { name: 'rtt20', model: { delayMs: 10 } },
  { name: 'rtt20_loss1', model: { delayMs: 10, loss: 0.01 } },
  { name: 'rtt20_loss3_reorder10', model: { delayMs: 10, loss: 0.03, reorder: 0.1 } },
  { name: 'rtt50_loss0_5', model: { delayMs: 25, loss: 0.005 } },
];

const ALGOS = ['cubic', 'bbr'] as const;
const SHARE_PATH: PathModel = { delayMs: 10, rateMbps: 100, queueBytes: 250_000 };

interface IperfResult {
  mbps: number;
  retransmits: number | null;
}

let nextPort = 5301;

/** iperf3 -s on `server`, iperf3 -c on `client` with `-C algo`; received Mbit/s. */
async function iperf(server: Host, client: Host, algo: string, seconds: number, omit = 0): Promise<IperfResult> {
  const port = nextPort++;
  const s = await startListening(server, 'iperf3', ['-s', '-1', '--forceflush', '-B', server.ip, '-p', String(port)], 'Server listening', {
    what: 'iperf3 server',
    pollMs: 50,
  });
  try {
    const args = ['-c', server.ip, '-p', String(port), '-t', String(seconds), '-C', algo, '-J'];
    if (omit > 0) args.push('-O', String(omit));
    const r = await client.run('iperf3', args, (seconds + omit + 60) * 1000);
    let j: { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } }; error?: string } = {};
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch {
      // reported below
    }
    const bps = j.end?.sum_received?.bits_per_second;
    if (r.code !== 0 || typeof bps !== 'number')
      throw new Error(`iperf3 -c ${algo} (${client.label}) failed: ${j.error ?? (r.stderr || r.stdout).trim().slice(-300)}`);
    return { mbps: bps / 1e6, retransmits: j.end?.sum_sent?.retransmits ?? null };
  } finally {
    await s.stop(3000);
  }
}

/** stream_check from `client` to `server` with `algo` for `seconds`: bytes received and whether every one was right. */
async function checkedStream(lab: PathsLab, server: Host, client: Host, algo: string, seconds: number) {
  const port = nextPort++;
  const s = await startListening(server, lab.checkBin, ['serve', server.ip, String(port)], 'listening', {
    what: 'stream_check serve',
    pollMs: 50,
  });
  try {
    const r = await client.run(lab.checkBin, ['send', server.ip, String(port), String(seconds), algo], (seconds + 60) * 1000);
    if (r.code !== 0) throw new Error(`stream_check send (${client.label}) failed: ${(r.stderr || r.stdout).trim().slice(-300)}`);
    await waitFor('stream_check serve to report', () => s.exited() || s.output().includes('"intact"'), 30_000, 50);
    const line = s
      .output()
      .split('\n')
      .find((l) => l.includes('"intact"'));
    if (!line) throw new Error(`stream_check serve printed no result: ${s.output()}`);
    return JSON.parse(line) as { bytes: number; intact: boolean; first_bad: number; mbps: number };
  } finally {
    await s.stop(3000);
  }
}

/** Two iperf3 flows from A to B at once (`algos`), each over `seconds` after a 1 s omission: Mbit/s of each. */
async function share(server: Host, client: Host, algos: [string, string], seconds: number): Promise<[number, number]> {
  const [x, y] = await Promise.all([iperf(server, client, algos[0], seconds, 1), iperf(server, client, algos[1], seconds, 1)]);
  return [x.mbps, y.mbps];
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Runs the real-time comparison; returns its JSON fields and the table lines. Throws when the lab
 * cannot be built; the caller reports why and keeps the virtual-time figures.
 */
export async function realtimePaths(
  packageRoot: string,
  opts: { seconds: number; budgetS: number; only?: string[]; say: (l: string) => void },
): Promise<{ fields: Record<string, number | string | boolean>; lines: string[] }> {
  const { seconds, say } = opts;
  const fields: Record<string, number | string | boolean> = { rt_seconds: seconds };
  fields.stock_reason = process.env[STOCK_ZEROTIER_ENV]
    ? 'stock ZeroTier One nodes on the relay link are not implemented yet (bench apps measures stock on a plain bridge)'
    : `${STOCK_ZEROTIER_ENV} does not name a zerotier-one binary`;
  const lines: string[] = [];
  const t0 = Date.now();
  const lab = await PathsLab.create(packageRoot, say);
  const release = cleanupOnSignals(() => lab.stop());
  try {
    await lab.setPath({ delayMs: 0 });
    await lab.startDaemons();
    const kA = lab.kernelHost('a');
    const kB = lab.kernelHost('b');
    const zA = lab.ztncHost('a');
    const zB = lab.ztncHost('b');
    // Freshly started daemons run their packet path unoptimised until V8 has compiled it; BBR's
    // code (pacer, rate samples) too: warmed with CUBIC alone, a fresh daemon's first BBR stream
    // got a third of its second. One BBR stream warms both, and keeps the bench in its time.
    await iperf(zB, zA, 'bbr', 2);
    lines.push(
      `real time, namespaces A → B through the relay (MTU 1500 link, ZeroTier MTU 2800 inside), ${seconds} s per stream; Mbit/s (retransmits)`,
    );
    const cols = ALGOS.flatMap((a) => [`kernel ${a}`, `ztnc ${a}`]);
    lines.push(`${'path'.padEnd(24)}${cols.map((c) => c.padStart(18)).join('')}`);
    for (const path of REALTIME_PATHS) {
      if (opts.only && !opts.only.includes(path.name)) continue;
      await lab.setPath(path.model);
      let line = path.name.padEnd(24);
      for (const algo of ALGOS) {
        for (const [who, server, client] of [
          ['kernel', kB, kA],
          ['ztnc', zB, zA],
        ] as const) {
          const r = await iperf(server, client, algo, seconds);
          fields[`${who}_${algo}_${path.name}_mbps`] = r1(r.mbps);
          if (r.retransmits !== null) fields[`${who}_${algo}_${path.name}_retransmits`] = r.retransmits;
          line += `${r.mbps.toFixed(1)} (${r.retransmits ?? '-'})`.padStart(18);
        }
      }
      const relay = await lab.relayStats();
      fields[`rt_${path.name}_relay_lost`] = (relay.a_to_b?.lost ?? 0) + (relay.b_to_a?.lost ?? 0);
      lines.push(line);
      say(line);
    }
    const hard = REALTIME_PATHS.find((p) => p.name === 'rtt20_loss3_reorder10')!;
    await lab.setPath(hard.model);
    const checked = await checkedStream(lab, zB, zA, 'bbr', seconds);
    fields.ztnc_checked_path = hard.name;
    fields.ztnc_checked_bytes = checked.bytes;
    fields.ztnc_checked_intact = checked.intact;
    lines.push(
      `checked stream, ztnc bbr on ${hard.name}: ${checked.bytes} bytes, ${checked.intact ? 'every byte intact' : `CORRUPTED from byte ${checked.first_bad}`} (${checked.mbps.toFixed(1)} Mbit/s)`,
    );
    // The splits are the part to leave out when the host is so busy that the run would overstay
    // its budget (the acceptance checks give the whole bench four minutes).
    const spentS = (Date.now() - t0) / 1000;
    if (spentS > opts.budgetS) {
      fields.rt_share_reason = `left out: the paths took ${Math.round(spentS)} s of a ${opts.budgetS} s budget`;
      lines.push(`real time, two flows sharing a bottleneck: ${fields.rt_share_reason}`);
    } else {
      await lab.setPath(SHARE_PATH);
      const shares: string[] = [];
      for (const [who, server, client] of [
        ['ztnc', zB, zA],
        ['kernel', kB, kA],
      ] as const) {
        for (const pair of [
          ['bbr', 'bbr'],
          ['bbr', 'cubic'],
        ] as [string, string][]) {
          const [x, y] = await share(server, client, pair, seconds);
          fields[`rt_share_${who}_${pair[0]}_${pair[1]}_first_mbps`] = r1(x);
          fields[`rt_share_${who}_${pair[0]}_${pair[1]}_second_mbps`] = r1(y);
          shares.push(`${who} ${pair.join(' + ')} ${x.toFixed(1)} / ${y.toFixed(1)}`);
        }
      }
      lines.push(`real time, two flows sharing 100 Mbit/s, 20 ms, 250 KB queue (Mbit/s): ${shares.join('; ')}`);
    }
    fields.rt_wall_s = Math.round((Date.now() - t0) / 1000);
    return { fields, lines };
  } finally {
    await lab.stop();
    release();
  }
}
