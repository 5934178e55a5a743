/**
 * The endpoints bench's traffic part alone, in a minute: one daemon with four endpoints (e1…e4)
 * on a private planet; per repeat, the same-daemon iperf3 stream e2 → e1 and the fairness figure
 * (the 1-byte ping-pong e4 → e3 idle, then while e2 streams to e1). The figures are the medians
 * over the repeats, with every repeat's own, so a change to the daemon's scheduling can be measured
 * without the endpoints bench's memory scale-up. The full figures stay `npm run bench -- endpoints`.
 *
 * Knobs: FAIRNESS_BENCH_REPEATS (default 3), FAIRNESS_BENCH_SECONDS (iperf3 length, default 2),
 * FAIRNESS_BENCH_RTT_ROUNDS (default 2000); FAIRNESS_BENCH_STREAM_ONLY=1 measures the same-daemon stream
 * alone (no round trips), for throughput A/B runs.
 */
import { Cluster } from '../src/demo/cluster.js';
import { cleanupOnSignals } from '../src/demo/processes.js';
import { packageRoot } from './_package-root.js';
import { buildRoundTripPeer } from './_apps-rtt.js';
import { round, type Side } from './_apps-sides.js';
import { EndpointHost } from './_endpoints-fleet.js';
import { median } from './_endpoints-scale.js';
import { fairness, iperfGbps } from './_endpoints-traffic.js';

const positive = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!(v > 0)) throw new Error(`${name} must be a positive number, not "${process.env[name]}"`);
  return v;
};

interface Repeat {
  gbpsSameDaemon: number;
  idleP50Us: number;
  loadedP50Us: number;
  loadedOverIdle: number;
  loadGbps: number | null;
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const repeats = positive('FAIRNESS_BENCH_REPEATS', 3);
  const seconds = positive('FAIRNESS_BENCH_SECONDS', 2);
  const rounds = positive('FAIRNESS_BENCH_RTT_ROUNDS', 2000);
  const streamOnly = process.env.FAIRNESS_BENCH_STREAM_ONLY === '1';
  const say = (l: string): void => void process.stderr.write(`${l}\n`);
  const cluster = new Cluster({ log: (l) => say(`  ${l}`) });
  const release = cleanupOnSignals(() => cluster.stop());
  try {
    await cluster.startRoot();
    const nwid = await cluster.createNetwork({ name: 'endpoints-fairness' });
    const a = await cluster.addContainer('bench-a', nwid);
    const host = new EndpointHost(a.daemon, cluster.toolset.library);
    const sides: Side[] = [];
    for (const name of ['e1', 'e2', 'e3', 'e4']) {
      await cluster.authorize(nwid, await host.create(name));
      await host.join(name, nwid);
      sides.push(host.side(name, nwid, await host.waitForAddress(name, nwid)));
    }
    const [e1, e2, e3, e4] = sides as [Side, Side, Side, Side];
    const rrPeer = buildRoundTripPeer(packageRoot(), cluster.dir);
    say('warm-up: an unmeasured stream e2 → e1');
    await iperfGbps(e1, e2, 2);
    const runs: Repeat[] = [];
    for (let i = 0; i < repeats; i++) {
      const gbpsSameDaemon = await iperfGbps(e1, e2, seconds);
      if (streamOnly) {
        say(`  repeat ${i + 1}: same-daemon ${round(gbpsSameDaemon, 3)} Gbit/s`);
        runs.push({ gbpsSameDaemon, idleP50Us: NaN, loadedP50Us: NaN, loadedOverIdle: NaN, loadGbps: null });
        continue;
      }
      const f = await fairness(rrPeer, { server: e3, client: e4 }, { server: e1, client: e2 }, rounds);
      const r = {
        gbpsSameDaemon,
        idleP50Us: f.idle.p50Us,
        loadedP50Us: f.loaded.p50Us,
        loadedOverIdle: f.loadedOverIdle,
        loadGbps: f.loadGbps,
      };
      say(
        `  repeat ${i + 1}: same-daemon ${round(r.gbpsSameDaemon, 3)} Gbit/s; RTT p50 idle ${r.idleP50Us} µs, ` +
          `loaded ${r.loadedP50Us} µs (×${round(r.loadedOverIdle, 2)}), stream ${r.loadGbps == null ? '-' : round(r.loadGbps, 3)} Gbit/s`,
      );
      runs.push(r);
    }
    const m = (pick: (r: Repeat) => number | null): number | null =>
      median(runs.map(pick).filter((x): x is number => x !== null && !Number.isNaN(x)));
    const result = {
      bench: 'endpoints-fairness',
      repeats,
      seconds,
      rtt_rounds: rounds,
      gbps_same_daemon: m((r) => r.gbpsSameDaemon),
      rtt_idle_p50_us: m((r) => r.idleP50Us),
      rtt_loaded_p50_us: m((r) => r.loadedP50Us),
      rtt_loaded_over_idle: m((r) => r.loadedOverIdle),
      load_gbps: m((r) => r.loadGbps),
      runs,
    };
    const fmt = (x: number | null, d = 1): string => (x == null ? '-' : x.toFixed(d));
    process.stdout.write(`TCP Gbit/s, endpoints of one daemon (median)  ${fmt(result.gbps_same_daemon, 3)}\n`);
    process.stdout.write(
      `1-byte RTT p50 µs idle / beside a stream      ${fmt(result.rtt_idle_p50_us)} / ${fmt(result.rtt_loaded_p50_us)}\n`,
    );
    process.stdout.write(`  loaded over idle (median of repeats)       ${fmt(result.rtt_loaded_over_idle, 2)}\n`);
    process.stdout.write(`  the stream beside it, Gbit/s               ${fmt(result.load_gbps, 3)}\n`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await cluster.stop();
    release();
  }
}
