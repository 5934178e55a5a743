/**
 * The endpoints bench's memory and cost figures: endpoints are added to one daemon one at a time
 * (created, authorized on the controller, joined to the network, waited for until they hold an
 * address), and at each scale (10, 100, 500 by default) the daemon's resident memory is read once
 * it has settled. The slope of RSS over the endpoint count (least squares over the scales) is the
 * memory one more idle endpoint costs. Each endpoint's create and join calls are timed in the
 * daemon's CPU time (utime+stime of every thread, /proc/<pid>/stat): the create posts an identity
 * made beforehand in the bench's process, as the clients do (the daemon checks it: one hash), and
 * the join. `daemonMadeCreateCpu` measures, beside it, creates whose identity the daemon makes. Its address arrives seconds later, so endpoints are created one after another while the
 * earlier ones wait for theirs; the daemon's CPU over the whole scale-up (config, netstacks and
 * the polling included, the settling before each RSS reading not) per endpoint is the other figure.
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
  /** Per endpoint: daemon CPU ms of the create call, and of the create and join calls together. */
  createCpuMs: number[];
  createJoinCpuMs: number[];
  /** Per endpoint: wall ms of the create call (the identity's check), and from join until it holds an address. */
  createWallMs: number[];
  joinToAddressWallMs: number[];
  /** The daemon's CPU while endpoints were being added and getting addresses (not while settling), per endpoint reached. */
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

/**
 * Endpoints that have joined and wait for their address: polled (each alone, cheap for the daemon)
 * every POLL_MS while the next ones are created, since the address arrives seconds after the join.
 */
class AddressWatch {
  private readonly pending = new Map<string, number>();
  private readonly found = new Map<string, string>();
  private failure: string | null = null;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly host: EndpointHost,
    private readonly nwid: string,
    private readonly onAddress: (name: string, ip: string, waitedMs: number) => void,
    private readonly timeoutMs = 120_000,
  ) {
    this.loop = this.run();
  }

  add(name: string): void {
    this.pending.set(name, performance.now());
  }

  ip(name: string): string | undefined {
    return this.found.get(name);
  }

  /** Resolves once every endpoint added so far holds an address; throws when one never gets it. */
  async drained(): Promise<void> {
    while (this.pending.size > 0 && this.failure === null) await sleep(POLL_MS / 2);
    if (this.failure !== null) throw new Error(this.failure);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      for (const [name, since] of [...this.pending]) {
        const ip = await this.host.address(name, this.nwid).catch(() => null);
        const waited = performance.now() - since;
        if (ip) {
          this.pending.delete(name);
          this.found.set(name, ip);
          this.onAddress(name, ip, waited);
        } else if (waited > this.timeoutMs && this.failure === null) {
          this.failure = `endpoint ${name} holds no address ${Math.round(waited / 1000)} s after joining ${this.nwid}`;
        }
      }
      await sleep(POLL_MS);
    }
  }
}

const POLL_MS = 500;

export async function scaleUp(host: EndpointHost, nwid: string, opts: ScaleOptions): Promise<ScaleResult> {
  const pid = host.daemon.pid;
  if (pid === undefined) throw new Error(`${host.daemon.name} is not running`);
  const scales = [...new Set(opts.scales)].sort((a, b) => a - b);
  const target = scales[scales.length - 1] ?? 0;
  const result: ScaleResult = {
    baseRssKb: await settledRssKb(pid, opts.settleMs),
    points: [],
    reached: 0,
    target,
    stopReason: null,
    createCpuMs: [],
    createJoinCpuMs: [],
    createWallMs: [],
    joinToAddressWallMs: [],
    meanCpuMsPerEndpoint: null,
    endpoints: [],
  };
  opts.log(`daemon RSS with its default endpoint only: ${result.baseRssKb} KB`);
  const watch = new AddressWatch(host, nwid, (_name, _ip, waited) => {
    result.joinToAddressWallMs.push(waited);
  });
  const names: string[] = [];
  let busyCpuMs = 0;
  const started = Date.now();
  try {
    let i = 0;
    for (const scale of scales) {
      const cpuPhase = processCpuMs(pid);
      for (i += 1; i <= scale; i++) {
        const name = `e${i}`;
        try {
          const identity = await host.makeIdentity();
          const cpu0 = processCpuMs(pid);
          const t0 = performance.now();
          const address = await host.create(name, identity);
          const cpu1 = processCpuMs(pid);
          result.createWallMs.push(performance.now() - t0);
          await opts.authorize(address);
          const cpu2 = processCpuMs(pid);
          await host.join(name, nwid);
          watch.add(name);
          names.push(name);
          result.createCpuMs.push(cpu1 - cpu0);
          result.createJoinCpuMs.push(cpu1 - cpu0 + (processCpuMs(pid) - cpu2));
        } catch (e) {
          result.stopReason = `endpoint ${name}: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 400)}`;
          break;
        }
        if (i % 50 === 0) opts.log(`${i} endpoints created after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      i = names.length;
      try {
        await watch.drained();
      } catch (e) {
        result.stopReason ??= (e as Error).message;
      }
      busyCpuMs += processCpuMs(pid) - cpuPhase;
      result.reached = names.filter((n) => watch.ip(n) !== undefined).length;
      if (result.stopReason !== null) {
        opts.log(`stopped with ${result.reached} endpoints holding addresses: ${result.stopReason}`);
        break;
      }
      const rssKb = await settledRssKb(pid, opts.settleMs);
      result.points.push({ endpoints: scale, rssKb });
      opts.log(
        `${scale} endpoints hold addresses after ${((Date.now() - started) / 1000).toFixed(1)} s: daemon RSS ${rssKb} KB ` +
          `(${rssKb >= result.baseRssKb ? '+' : ''}${Math.round((rssKb - result.baseRssKb) / scale)} KB each over the base), ` +
          `create+join median ${median(result.createJoinCpuMs)} ms daemon CPU, join to address median ${Math.round(median(result.joinToAddressWallMs) ?? 0)} ms`,
      );
    }
  } finally {
    await watch.stop();
  }
  result.endpoints = names.flatMap((name) => {
    const ip = watch.ip(name);
    return ip ? [{ name, ip }] : [];
  });
  if (result.reached > 0) result.meanCpuMsPerEndpoint = busyCpuMs / result.reached;
  return result;
}

/**
 * The daemon's CPU ms of each of `count` creates without an identity (the daemon searches for
 * one: the cost before clients made them), each endpoint deleted again; median taken by the caller.
 */
export async function daemonMadeCreateCpu(host: EndpointHost, count: number): Promise<number[]> {
  const pid = host.daemon.pid;
  if (pid === undefined) throw new Error(`${host.daemon.name} is not running`);
  const out: number[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `daemon-made-${i}`;
    const cpu0 = processCpuMs(pid);
    await host.create(name);
    out.push(processCpuMs(pid) - cpu0);
    await host.daemon.apiOk('DELETE', `/endpoint/${name}`);
  }
  return out;
}
