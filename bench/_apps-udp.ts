/**
 * The apps bench's UDP figures (issue 15): iperf3 -u between two sides, run the same way on two
 * containers on two daemons and on the kernel's loopback in the same run.
 * - 1400-byte datagrams: throughput in Gbit/s; 64-byte datagrams: datagrams per second.
 * - Method, per size and side: one run with the sender unlimited (`-b 0`) gives the saturated
 *   goodput, what the receiver got while the sender pushed as fast as it could, and the loss that
 *   came with it. Then a short descending search for the highest offered rate with < 1% loss: it
 *   starts at 90% of the saturated goodput and steps down by 30% per run, at most
 *   UDP_SEARCH_STEPS runs; the figure is what the receiver got in the first run under 1% loss
 *   (null when none was). iperf3's receiver counts datagrams and gaps in its sequence numbers:
 *   delivered = packets - lost_packets. Both ends ask for 4 MB socket buffers (-w 4M), as UDP
 *   benchmarks do: with the default the kernel's own loopback drops bursts.
 * APPS_BENCH_UDP_SECONDS (default 2) sets each run's length.
 */
import { startListening } from './_listening.js';
import type { LongRunning } from '../src/demo/processes.js';
import { freePort, must, round, type Side } from './_apps-sides.js';

const UDP_SECONDS = Number(process.env.APPS_BENCH_UDP_SECONDS ?? 2);
const UDP_SEARCH_STEPS = 4;
/** Socket buffers of both iperf3 ends (-w): a receiver's default buffer drops bursts, with the kernel too. */
const SOCKET_BUFFER = '4M';
const LOSS_LIMIT_PERCENT = 1;

/** One iperf3 -u run as the receiver counted it. */
export interface UdpRun {
  /** Offered rate in bit/s; 0 = unlimited. */
  offeredBps: number;
  deliveredBps: number;
  deliveredPerSec: number;
  lossPercent: number;
}

/** A side pair's figures for one datagram size. */
export interface UdpFigure {
  saturated: UdpRun;
  /** The first run of the search under LOSS_LIMIT_PERCENT, or null. */
  lossless: UdpRun | null;
  runs: UdpRun[];
}

interface IperfUdpJson {
  error?: string;
  end?: { sum_received?: { seconds?: number; bytes?: number; packets?: number; lost_packets?: number } };
}

/** iperf3 -s on `server` for the runs of one measurement; stopped by the caller. */
function iperfServer(server: Side, port: number): Promise<LongRunning> {
  return startListening(server, 'iperf3', ['-s', '--forceflush', '-B', server.ip, '-p', String(port)], 'Server listening', {
    what: 'iperf3 server',
  });
}

async function udpRun(server: Side, client: Side, port: number, length: number, offeredBps: number): Promise<UdpRun> {
  const args = ['-c', server.ip, '-p', String(port), '-u', '-l', String(length), '-b', String(Math.round(offeredBps)), '-w', SOCKET_BUFFER];
  const out = must(
    await client.run('iperf3', [...args, '-t', String(UDP_SECONDS), '-J'], (UDP_SECONDS + 60) * 1000),
    `iperf3 -u -l ${length} (${client.label})`,
  );
  const r = JSON.parse(out) as IperfUdpJson;
  const s = r.end?.sum_received;
  if (
    !s ||
    typeof s.seconds !== 'number' ||
    typeof s.bytes !== 'number' ||
    typeof s.packets !== 'number' ||
    typeof s.lost_packets !== 'number'
  ) {
    throw new Error(`iperf3 -u gave no receiver figures: ${r.error ?? out.slice(0, 300)}`);
  }
  const delivered = s.packets - s.lost_packets;
  return {
    offeredBps,
    deliveredBps: (s.bytes * 8) / s.seconds,
    deliveredPerSec: delivered / s.seconds,
    lossPercent: s.packets > 0 ? (100 * s.lost_packets) / s.packets : 100,
  };
}

/** The saturated run, then the descending search for the highest rate under 1% loss. */
export async function udpFigure(server: Side, client: Side, length: number, say: (l: string) => void): Promise<UdpFigure> {
  const port = await freePort();
  const s = await iperfServer(server, port);
  try {
    const show = (x: UdpRun): string =>
      `offered ${x.offeredBps === 0 ? 'unlimited' : `${(x.offeredBps / 1e6).toFixed(1)} Mbit/s`}: ` +
      `${(x.deliveredBps / 1e6).toFixed(1)} Mbit/s, ${Math.round(x.deliveredPerSec)} datagrams/s, ${x.lossPercent.toFixed(2)}% lost`;
    const saturated = await udpRun(server, client, port, length, 0);
    say(`    ${length} B, ${client.label} → ${server.label}, ${show(saturated)}`);
    const runs = [saturated];
    let lossless: UdpRun | null = saturated.lossPercent < LOSS_LIMIT_PERCENT ? saturated : null;
    let rate = saturated.deliveredBps * 0.9;
    for (let step = 0; lossless === null && step < UDP_SEARCH_STEPS && rate > 0; step++) {
      const x = await udpRun(server, client, port, length, rate);
      say(`    ${length} B, ${show(x)}`);
      runs.push(x);
      if (x.lossPercent < LOSS_LIMIT_PERCENT) lossless = x;
      rate *= 0.7;
    }
    return { saturated, lossless, runs };
  } finally {
    await s.stop(3000);
  }
}

/** The UDP figures of ztnc (A ← B) and of the kernel's loopback, and their JSON fields. */
export async function udpFigures(
  a: Side,
  b: Side,
  kernel: Side,
  say: (l: string) => void,
): Promise<{ json: Record<string, number | null>; rows: Array<[string, string, string, string]> }> {
  say('UDP: iperf3 -u, B → A across two daemons, then the kernel loopback (1400-byte, then 64-byte datagrams)');
  const big = await udpFigure(a, b, 1400, say);
  const refBig = await udpFigure(kernel, kernel, 1400, say);
  const small = await udpFigure(a, b, 64, say);
  const refSmall = await udpFigure(kernel, kernel, 64, say);
  const ratio = (x: number | undefined, y: number | undefined): number | null => (x !== undefined && y ? round(x / y, 4) : null);
  const gbps = (r: UdpRun | null | undefined): number | null => (r ? round(r.deliveredBps / 1e9) : null);
  const pps = (r: UdpRun | null | undefined): number | null => (r ? Math.round(r.deliveredPerSec) : null);
  const json = {
    udp_seconds: UDP_SECONDS,
    udp_1400_gbps: gbps(big.saturated),
    ref_udp_1400_gbps: gbps(refBig.saturated),
    udp_1400_ratio: ratio(big.saturated.deliveredBps, refBig.saturated.deliveredBps),
    udp_1400_loss_percent: round(big.saturated.lossPercent, 2),
    ref_udp_1400_loss_percent: round(refBig.saturated.lossPercent, 2),
    udp_1400_lossless_gbps: gbps(big.lossless),
    ref_udp_1400_lossless_gbps: gbps(refBig.lossless),
    udp_1400_lossless_ratio: ratio(big.lossless?.deliveredBps, refBig.lossless?.deliveredBps),
    udp_64_pps: pps(small.saturated),
    ref_udp_64_pps: pps(refSmall.saturated),
    udp_64_ratio: ratio(small.saturated.deliveredPerSec, refSmall.saturated.deliveredPerSec),
    udp_64_loss_percent: round(small.saturated.lossPercent, 2),
    ref_udp_64_loss_percent: round(refSmall.saturated.lossPercent, 2),
    udp_64_lossless_pps: pps(small.lossless),
    ref_udp_64_lossless_pps: pps(refSmall.lossless),
    udp_64_lossless_ratio: ratio(small.lossless?.deliveredPerSec, refSmall.lossless?.deliveredPerSec),
  };
  const txt = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));
  const rows: Array<[string, string, string, string]> = [
    ['UDP 1400 B Gbit/s, sender unlimited', txt(json.udp_1400_gbps, 3), txt(json.ref_udp_1400_gbps, 3), txt(json.udp_1400_ratio, 4)],
    [
      'UDP 1400 B Gbit/s, < 1% loss',
      txt(json.udp_1400_lossless_gbps, 3),
      txt(json.ref_udp_1400_lossless_gbps, 3),
      txt(json.udp_1400_lossless_ratio, 4),
    ],
    ['UDP 64 B datagrams/s, sender unlimited', txt(json.udp_64_pps, 0), txt(json.ref_udp_64_pps, 0), txt(json.udp_64_ratio, 4)],
    [
      'UDP 64 B datagrams/s, < 1% loss',
      txt(json.udp_64_lossless_pps, 0),
      txt(json.ref_udp_64_lossless_pps, 0),
      txt(json.udp_64_lossless_ratio, 4),
    ],
  ];
  return { json, rows };
}

/** How the UDP figures were measured, printed under the table. */
export const UDP_METHOD =
  `UDP: iperf3 -u -w ${SOCKET_BUFFER} for ${UDP_SECONDS} s per run, B's client sending to A's server; "sender unlimited" is what the receiver got with -b 0 ` +
  `(the loss beside it in the JSON); "< 1% loss" is what it got at the highest offered rate under 1% loss, searched down from 90% of ` +
  `that by 30% a run (at most ${UDP_SEARCH_STEPS} runs; "-" when none was). Goals (issue 15): >= 1 Gbit/s with 1400-byte datagrams, ` +
  `>= 200k datagrams/s with 64-byte ones.\n`;
