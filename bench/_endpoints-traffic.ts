/**
 * The endpoints bench's traffic figures between two sides (endpoints, or single-endpoint daemons
 * as the reference): iperf3 TCP throughput (one stream, Gbit/s received) and the apps bench's
 * 1-byte TCP ping-pong (bench/_apps-rtt.ts); and the fairness figure: the ping-pong's p50 between
 * two sides while two others move an iperf3 stream as fast as they can, over the same p50 idle.
 */
import { startListening } from './_listening.js';
import type { LongRunning } from '../src/demo/processes.js';
import { type RoundTrip, roundTrip } from './_apps-rtt.js';
import { freePort, type Side } from './_apps-sides.js';
import { iperfRun } from './_iperf.js';
import { median } from './_endpoints-scale.js';

export interface PairFigures {
  gbps: number;
  rtt: RoundTrip;
}

/** iperf3 server on `server`, client on `client` for `seconds`: received Gbit/s. */
export async function iperfGbps(server: Side, client: Side, seconds: number): Promise<number> {
  return (await iperfRun(server, client, seconds)).gbps;
}

/** Throughput then round trip between two sides (the server side serves both). */
export async function pairFigures(rrPeer: string, server: Side, client: Side, seconds: number, rounds: number): Promise<PairFigures> {
  const gbps = await iperfGbps(server, client, seconds);
  const rtt = await roundTrip(rrPeer, server, client, rounds);
  return { gbps, rtt };
}

/** The bitrates iperf3 printed per interval, Gbit/s. */
export function intervalGbps(output: string): number[] {
  const unit: Record<string, number> = { '': 1e-9, K: 1e-6, M: 1e-3, G: 1 };
  return [...output.matchAll(/\bsec\s+\S+ \S*Bytes\s+([0-9.]+) ([KMG]?)bits\/sec/g)].map((m) => Number(m[1]) * unit[m[2]!]!);
}

interface Load {
  stop(): Promise<void>;
  /** The stream's Gbit/s per interval so far. */
  gbps(): number[];
}

/** An iperf3 stream from `client` to `server` that runs until stopped; resolves once it has moved data. */
async function saturate(server: Side, client: Side): Promise<Load> {
  const port = await freePort();
  const s = await startListening(server, 'iperf3', ['-s', '-1', '--forceflush', '-B', server.ip, '-p', String(port)], 'Server listening', {
    what: 'iperf3 server (load)',
  });
  let c: LongRunning | null = null;
  const stop = async (): Promise<void> => {
    await c?.stop(3000);
    await s.stop(3000);
  };
  try {
    c = await startListening(client, 'iperf3', ['-c', server.ip, '-p', String(port), '-t', '600', '--forceflush', '-i', '1'], ' sec ', {
      what: 'iperf3 client (load)',
    });
    const running = c;
    return { stop, gbps: () => intervalGbps(running.output()) };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface Fairness {
  idle: RoundTrip;
  loaded: RoundTrip;
  loadedOverIdle: number;
  /** The saturating stream's median Gbit/s per second while the loaded round trips ran. */
  loadGbps: number | null;
}

/** Round trip between `probeServer` and `probeClient`, idle and then while `loadClient` saturates a stream to `loadServer`. */
export async function fairness(
  rrPeer: string,
  probe: { server: Side; client: Side },
  load: { server: Side; client: Side },
  rounds: number,
): Promise<Fairness> {
  const idle = await roundTrip(rrPeer, probe.server, probe.client, rounds);
  const stream = await saturate(load.server, load.client);
  let loaded: RoundTrip;
  let loadGbps: number[];
  try {
    loaded = await roundTrip(rrPeer, probe.server, probe.client, rounds);
    loadGbps = stream.gbps();
  } finally {
    await stream.stop();
  }
  return { idle, loaded, loadedOverIdle: loaded.p50Us / idle.p50Us, loadGbps: median(loadGbps) };
}
