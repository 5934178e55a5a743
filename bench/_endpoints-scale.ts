/**
 * The endpoints bench's memory and cost figures: endpoints are added to one daemon one at a time
 * (created, authorized on the controller, joined to the network, waited for until they hold an
 * address), and at each scale (10, 100, 500 by default) the daemon's resident memory is read once
 * it has settled. The slope of RSS over the endpoint count (least squares over the scales) is the
 * memory one more idle endpoint costs. Each endpoint's create+join is timed in the daemon's CPU
 * time (utime+stime of every thread, /proc/<pid>/stat), from the create call until it holds an
 * address: identity generation, the network join, its config and its netstack, all included.
 */
import { processCpuMs } from '../src/demo/stock-zerotier.js';
import { sleep } from '../src/demo/processes.js';
import type { EndpointHost } from './_endpoints-fleet.js';
import { vmRssKb } from './_endpoints-slirp.js';

export interface ScalePoint {
  endpoints: number;
  rssKb: number;
}

export interface ScaleResult {
  /** RSS with the default endpoint only (joined, holding its address), before the first endpoint. */
  baseRssKb: number;
  points: ScalePoint[];
  /** Endpoints created that hold an address. */
  reached: number;
  target: number;
  /** Why the run stopped short of `target` (null when it did not). */
  stopReason: string | null;
  /** Per endpoint: daemon CPU ms of the create call alone, and from create until it holds an address. */
  createCpuMs: number[];
  createJoinCpuMs: number[];
  /** Per endpoint: wall ms from create until it holds an address. */
  createJoinWallMs: number[];
  /** The daemon's CPU over the whole scale-up (settling included) per endpoint reached. */
  meanCpuMsPerEndpoint: number | null;
  /** Names of the endpoints in the order they were created, with their virtual addresses. */
  endpoints: Array<{ name: string; ip: string }>;
}

export interface ScaleOptions {
  scales: readonly number[];
  /** Authorizes a ZeroTier address on the network's controller. */
  authorize: (address: string) => Promise<void>;
  /** How long to leave the daemon alone before reading its RSS at a scale. */
  settleMs: number;
  log: (line: string) => void;
}

export const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Least-squares slope of y over x (null with fewer than two distinct x). */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  if (points.length < 2) return null;
  const mx = points.reduce((a, p) => a + p.x, 0) / points.length;
  const my = points.reduce((a, p) => a + p.y, 0) / points.length;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (sxx === 0) return null;
  return points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
}

/** The daemon's RSS once settled: the median of three readings half a second apart. */
async function settledRssKb(pid: number, settleMs: number): Promise<number> {
  await sleep(settleMs);
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(500);
    const kb = vmRssKb(pid);
    if (kb === null) throw new Error(`daemon ${pid} is gone`);
    readings.push(kb);
  }
  return median(readings)!;
}

export async function scaleUp(host: EndpointHost, nwid: string, opts: ScaleOptions): Promise<ScaleResult> {
  const pid = host.daemon.pid;
  if (pid === undefined) throw new Error(`${host.daemon.name} is not running`);
  const scales = [...opts.scales].sort((a, b) => a - b);
  const target = scales[scales.length - 1] ?? 0;
  const result: ScaleResult = {
    baseRssKb: await settledRssKb(pid, opts.settleMs),
    points: [],
    reached: 0,
    target,
    stopReason: null,
    createCpuMs: [],
    createJoinCpuMs: [],
    createJoinWallMs: [],
    meanCpuMsPerEndpoint: null,
    endpoints: [],
  };
  opts.log(`daemon RSS with its default endpoint only: ${result.baseRssKb} KB`);
  const cpuStart = processCpuMs(pid);
  const started = Date.now();
  for (let i = 1; i <= target; i++) {
    const name = `e${i}`;
    try {
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      const address = await host.create(name);
      const cpu1 = processCpuMs(pid);
      await opts.authorize(address);
      await host.join(name, nwid);
      const ip = await host.waitForAddress(name, nwid);
      result.createJoinWallMs.push(performance.now() - t0);
      result.createJoinCpuMs.push(processCpuMs(pid) - cpu0);
      result.createCpuMs.push(cpu1 - cpu0);
      result.endpoints.push({ name, ip });
      result.reached = i;
    } catch (e) {
      result.stopReason = `endpoint ${name}: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 400)}`;
      opts.log(`stopped at ${i - 1} endpoints: ${result.stopReason}`);
      break;
    }
    if (scales.includes(i)) {
      const rssKb = await settledRssKb(pid, opts.settleMs);
      result.points.push({ endpoints: i, rssKb });
      opts.log(
        `${i} endpoints hold addresses after ${((Date.now() - started) / 1000).toFixed(1)} s: daemon RSS ${rssKb} KB ` +
          `(+${((rssKb - result.baseRssKb) / i) | 0} KB each), create+join median ${median(result.createJoinCpuMs)} ms daemon CPU`,
      );
    } else if (i % 50 === 0) {
      opts.log(`${i} endpoints hold addresses after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  if (result.reached > 0) result.meanCpuMsPerEndpoint = (processCpuMs(pid) - cpuStart) / result.reached;
  return result;
}
