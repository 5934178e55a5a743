/**
 * Many endpoints in one daemon (each its own ZeroTier identity and member, a container's worth
 * of network), against one slirp4netns process per container and against one daemon per container:
 * - memory: the daemon's RSS slope over 10, 100 and 500 endpoints, each created, authorized on the
 *   private controller, joined to one network and holding an address (bench/_endpoints-scale.ts),
 *   beside the RSS of one slirp4netns serving a fresh network namespace, measured in the same run
 *   (bench/_endpoints-slirp.ts; null with the reason when slirp4netns is not installed);
 * - cost: the daemon's CPU time per create+join (median; the identity made by the client, as
 *   ztnc-cli, ztnc-run and ztnc-cni make it, the daemon checking it), beside the CPU of a create
 *   whose identity the daemon makes itself, and how many endpoints the run reached;
 * - traffic: iperf3 throughput and the 1-byte TCP ping-pong between two endpoints of one daemon,
 *   between endpoints of two daemons, and — the reference — between two single-endpoint daemons;
 * - fairness: that ping-pong between two endpoints of the crowded daemon while two others move an
 *   iperf3 stream through it, over the same figure idle (goal ≤ 2).
 * Programs on virtual addresses run under the intercept library in network namespaces of their own
 * (`unshare -n`); the network is a private planet's (src/demo/cluster.ts).
 *
 * Knobs: `--quick` (or ENDPOINTS_BENCH_QUICK=1) for a run of a minute or two: scales 2, 5, 10,
 * 2-second iperf3 runs, 1000 round trips (its RSS slope is within the V8 heap's noise: a check
 * that the bench works, not a figure). ENDPOINTS_BENCH_SCALES (e.g. "10,100,500"),
 * ENDPOINTS_BENCH_SECONDS (iperf3 run length, default 4) and ENDPOINTS_BENCH_RTT_ROUNDS (default
 * 5000) override either.
 */
import { Cluster } from '../src/demo/cluster.js';
import { cleanupOnSignals } from '../src/demo/processes.js';
import { packageRoot } from './_package-root.js';
import { buildRoundTripPeer } from './_apps-rtt.js';
import { round, type Side } from './_apps-sides.js';
import { EndpointHost } from './_endpoints-fleet.js';
import { daemonMadeCreateCpu, median, type ScaleResult, scaleUp, slope } from './_endpoints-scale.js';
import { slirpReference } from './_endpoints-slirp.js';
import { type Fairness, fairness, iperfGbps, type PairFigures, pairFigures } from './_endpoints-traffic.js';

const RSS_GOAL_KB = 3 * 1024;
const CREATE_JOIN_GOAL_MS = 100;
const FAIRNESS_GOAL = 2;
const WARMUP_SECONDS = 2;
/** Creates measured with the identity made by the daemon (each ~0.4 s of its CPU). */
const DAEMON_MADE_CREATES = 5;
/**
 * How long the daemon is left alone before its RSS is read: V8 shrinks an idle heap with full
 * collections a few seconds after allocation slows, and the slope is of live memory, not garbage.
 */
const SETTLE_MS = { quick: 4000, full: 10_000 };

interface Knobs {
  quick: boolean;
  scales: number[];
  seconds: number;
  rounds: number;
}

function knobs(): Knobs {
  const quick = process.argv.includes('--quick') || process.env.ENDPOINTS_BENCH_QUICK === '1';
  const scales = (process.env.ENDPOINTS_BENCH_SCALES ?? (quick ? '2,5,10' : '10,100,500')).split(',').map((s) => Number(s.trim()));
  if (scales.length === 0 || scales.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`ENDPOINTS_BENCH_SCALES must list positive whole numbers, not "${process.env.ENDPOINTS_BENCH_SCALES}"`);
  }
  const positive = (name: string, fallback: number): number => {
    const v = Number(process.env[name] ?? fallback);
    if (!(v > 0)) throw new Error(`${name} must be a positive number, not "${process.env[name]}"`);
    return v;
  };
  return {
    quick,
    scales,
    seconds: positive('ENDPOINTS_BENCH_SECONDS', quick ? 2 : 4),
    rounds: positive('ENDPOINTS_BENCH_RTT_ROUNDS', quick ? 1000 : 5000),
  };
}

interface Traffic {
  sameDaemon: PairFigures;
  twoDaemons: PairFigures;
  fair: Fairness;
}

const roundOrNull = (x: number | null | undefined, digits = 3): number | null => (x == null ? null : round(x, digits));
const ratioOrNull = (x: number | null | undefined, y: number | null | undefined, digits = 3): number | null =>
  x == null || y == null || y === 0 ? null : round(x / y, digits);
const why = (e: unknown): string => (e as Error).message.replace(/\s+/g, ' ').trim().slice(0, 400);

export async function run({ json }: { json: boolean }): Promise<void> {
  const k = knobs();
  const say = (l: string): void => void process.stderr.write(`${l}\n`);
  const cluster = new Cluster({ log: (l) => say(`  ${l}`) });
  const release = cleanupOnSignals(() => cluster.stop());
  try {
    say(`endpoints bench${k.quick ? ' (quick)' : ''}: scales ${k.scales.join(', ')}; a private root+controller and daemon A`);
    await cluster.startRoot();
    const nwid = await createWideNetwork(cluster, Math.max(...k.scales) + 16);
    const a = await cluster.addContainer('bench-a', nwid);
    const hostA = new EndpointHost(a.daemon, cluster.toolset.library);

    say('reference: one slirp4netns serving a fresh network namespace');
    const slirp = await slirpReference();
    say(slirp.rssKb !== null ? `  slirp4netns ${slirp.version}: ${slirp.rssKb} KB RSS` : `  no slirp4netns figure: ${slirp.reason}`);

    say(`memory: endpoints added to daemon A one at a time up to ${Math.max(...k.scales)}`);
    const scale = await scaleUp(hostA, nwid, {
      scales: k.scales,
      authorize: (address) => cluster.authorize(nwid, address),
      settleMs: k.quick ? SETTLE_MS.quick : SETTLE_MS.full,
      log: (l) => say(`  ${l}`),
    });

    say(`cost: ${DAEMON_MADE_CREATES} creates whose identity daemon A makes itself`);
    let daemonMade: number[] = [];
    try {
      daemonMade = await daemonMadeCreateCpu(hostA, DAEMON_MADE_CREATES);
    } catch (e) {
      say(`  not measured: ${why(e)}`);
    }

    const rrPeer = buildRoundTripPeer(packageRoot(), cluster.dir);
    let reference: PairFigures | null = null;
    let referenceReason: string | null = null;
    try {
      say('reference traffic: two single-endpoint daemons');
      // Their default endpoints, with programs in network namespaces as on the endpoints.
      const [r1, r2] = (await Promise.all(
        ['ref-1', 'ref-2'].map(async (n) => {
          const c = await cluster.addContainer(n, nwid);
          return new EndpointHost(c.daemon, cluster.toolset.library).side('default', nwid, c.ip);
        }),
      )) as [Side, Side];
      reference = await measurePair(rrPeer, k, say, 'two single-endpoint daemons', r1, r2);
    } catch (e) {
      referenceReason = why(e);
      say(`reference traffic: not measured (${referenceReason})`);
    }
    let traffic: Traffic | null = null;
    let trafficReason: string | null = null;
    if (scale.endpoints.length < 4) {
      trafficReason = `needs 4 endpoints on daemon A, the run reached ${scale.endpoints.length}`;
    } else {
      try {
        traffic = await measureTraffic(cluster, nwid, hostA, scale, rrPeer, k, say);
      } catch (e) {
        trafficReason = why(e);
      }
    }
    if (trafficReason) say(`traffic: not measured (${trafficReason})`);
    report(json, k, scale, daemonMade, slirp, { reference, referenceReason, traffic, trafficReason });
  } finally {
    await cluster.stop();
    release();
  }
}

/** An unmeasured stream first, so every figure is of daemons whose code V8 has compiled; then throughput and round trip. */
async function measurePair(
  rrPeer: string,
  k: Knobs,
  say: (l: string) => void,
  what: string,
  server: Side,
  client: Side,
): Promise<PairFigures> {
  say(`traffic: ${what} (${client.label} → ${server.label})`);
  await iperfGbps(server, client, WARMUP_SECONDS);
  return pairFigures(rrPeer, server, client, k.seconds, k.rounds);
}

/**
 * A private network whose IPv4 pool holds every endpoint of the run and the other daemons
 * (the cluster's own networks are /24s with 241 addresses): 10.x.0.0/16, the pool from 10.x.0.10.
 */
async function createWideNetwork(cluster: Cluster, members: number): Promise<string> {
  const root = cluster.root!;
  const second = 100 + Math.floor(Math.random() * 150);
  const last = 10 + members;
  if (last > 65_000) throw new Error(`a /16 holds no ${members} members`);
  const body = {
    name: 'endpoints-bench',
    private: true,
    v4AssignMode: { zt: true },
    routes: [{ target: `10.${second}.0.0/16`, via: null }],
    ipAssignmentPools: [{ ipRangeStart: `10.${second}.0.10`, ipRangeEnd: `10.${second}.${last >> 8}.${last & 255}` }],
  };
  const net = (await root.apiOk('POST', `/controller/network/${root.address}______`, body)) as { id?: unknown; nwid?: unknown };
  const nwid = typeof net.id === 'string' ? net.id : typeof net.nwid === 'string' ? net.nwid : null;
  if (!nwid) throw new Error(`controller answered without a network id: ${JSON.stringify(net)}`);
  return nwid;
}

async function measureTraffic(
  cluster: Cluster,
  nwid: string,
  hostA: EndpointHost,
  scale: ScaleResult,
  rrPeer: string,
  k: Knobs,
  say: (l: string) => void,
): Promise<Traffic> {
  const [e1, e2, e3, e4] = scale.endpoints.map((e) => hostA.side(e.name, nwid, e.ip)) as [Side, Side, Side, Side];
  say('traffic: daemon B with endpoint b1');
  const b = await cluster.addContainer('bench-b', nwid);
  const hostB = new EndpointHost(b.daemon, cluster.toolset.library);
  await cluster.authorize(nwid, await hostB.create('b1'));
  await hostB.join('b1', nwid);
  const b1 = hostB.side('b1', nwid, await hostB.waitForAddress('b1', nwid));
  const sameDaemon = await measurePair(rrPeer, k, say, 'two endpoints of daemon A', e1, e2);
  const twoDaemons = await measurePair(rrPeer, k, say, 'endpoints of two daemons', e1, b1);
  say('fairness: 1-byte round trip e4 → e3, idle and while e2 streams to e1 (all on daemon A)');
  const fair = await fairness(rrPeer, { server: e3, client: e4 }, { server: e1, client: e2 }, k.rounds);
  return { sameDaemon, twoDaemons, fair };
}

interface TrafficReport {
  reference: PairFigures | null;
  referenceReason: string | null;
  traffic: Traffic | null;
  trafficReason: string | null;
}

function report(
  json: boolean,
  k: Knobs,
  scale: ScaleResult,
  daemonMade: number[],
  slirp: Awaited<ReturnType<typeof slirpReference>>,
  { reference: ref, referenceReason, traffic: t, trafficReason }: TrafficReport,
): void {
  const perEndpoint = slope(scale.points.map((p) => ({ x: p.endpoints, y: p.rssKb })));
  const createJoin = median(scale.createJoinCpuMs);
  const result = {
    bench: 'endpoints',
    quick: k.quick,
    scales: k.scales,
    rss_per_endpoint_kb: roundOrNull(perEndpoint, 1),
    rss_points: scale.points.map((p) => ({ endpoints: p.endpoints, rss_kb: p.rssKb })),
    rss_base_kb: scale.baseRssKb,
    ref_slirp4netns_rss_kb: slirp.rssKb,
    slirp4netns_reason: slirp.reason,
    slirp4netns_version: slirp.version,
    rss_per_endpoint_vs_slirp4netns: ratioOrNull(perEndpoint, slirp.rssKb),
    rss_goal_kb: RSS_GOAL_KB,
    rss_goal_met: perEndpoint === null ? null : perEndpoint <= RSS_GOAL_KB,
    endpoints_total: scale.reached,
    endpoints_target: scale.target,
    endpoints_stop_reason: scale.stopReason,
    create_join_daemon_ms: roundOrNull(createJoin, 1),
    create_daemon_ms: roundOrNull(median(scale.createCpuMs), 1),
    create_daemon_made_identity_ms: roundOrNull(median(daemonMade), 1),
    create_join_daemon_ms_mean: roundOrNull(scale.meanCpuMsPerEndpoint, 1),
    create_wall_ms: roundOrNull(median(scale.createWallMs), 1),
    join_to_address_ms: roundOrNull(median(scale.joinToAddressWallMs), 0),
    create_join_goal_met: createJoin === null ? null : createJoin <= CREATE_JOIN_GOAL_MS,
    seconds: k.seconds,
    rtt_rounds: k.rounds,
    gbps_same_daemon: roundOrNull(t?.sameDaemon.gbps),
    rtt_p50_us_same_daemon: roundOrNull(t?.sameDaemon.rtt.p50Us, 1),
    rtt_p99_us_same_daemon: roundOrNull(t?.sameDaemon.rtt.p99Us, 1),
    gbps_two_daemons: roundOrNull(t?.twoDaemons.gbps),
    rtt_p50_us_two_daemons: roundOrNull(t?.twoDaemons.rtt.p50Us, 1),
    rtt_p99_us_two_daemons: roundOrNull(t?.twoDaemons.rtt.p99Us, 1),
    ref_gbps: roundOrNull(ref?.gbps),
    ref_rtt_p50_us: roundOrNull(ref?.rtt.p50Us, 1),
    ref_rtt_p99_us: roundOrNull(ref?.rtt.p99Us, 1),
    same_daemon_gbps_ratio: ratioOrNull(t?.sameDaemon.gbps, ref?.gbps),
    same_daemon_rtt_ratio: ratioOrNull(t?.sameDaemon.rtt.p50Us, ref?.rtt.p50Us),
    two_daemons_gbps_ratio: ratioOrNull(t?.twoDaemons.gbps, ref?.gbps),
    two_daemons_rtt_ratio: ratioOrNull(t?.twoDaemons.rtt.p50Us, ref?.rtt.p50Us),
    rtt_idle_p50_us: roundOrNull(t?.fair.idle.p50Us, 1),
    rtt_loaded_p50_us: roundOrNull(t?.fair.loaded.p50Us, 1),
    rtt_loaded_over_idle: roundOrNull(t?.fair.loadedOverIdle, 2),
    load_gbps: roundOrNull(t?.fair.loadGbps),
    fairness_goal_met: t ? t.fair.loadedOverIdle <= FAIRNESS_GOAL : null,
    traffic_reason: trafficReason,
    ref_reason: referenceReason,
  };
  const fmt = (x: number | null | undefined, digits = 1): string => (x == null ? '-' : x.toFixed(digits));
  const rows: Array<[string, string, string]> = [
    ['RSS per endpoint, KB (slope)', fmt(perEndpoint), `${fmt(slirp.rssKb, 0)} (slirp4netns)`],
    ...scale.points.map((p): [string, string, string] => [`daemon RSS at ${p.endpoints} endpoints, KB`, String(p.rssKb), '']),
    ['endpoints holding an address', `${scale.reached}/${scale.target}`, ''],
    ['create+join daemon CPU, ms (median)', fmt(createJoin), `goal ≤ ${CREATE_JOIN_GOAL_MS}`],
    ['  of which create (identity check), ms', fmt(median(scale.createCpuMs)), `${fmt(median(daemonMade))} (daemon-made)`],
    ['create wall ms, join to address ms', `${fmt(median(scale.createWallMs), 0)}, ${fmt(median(scale.joinToAddressWallMs), 0)}`, ''],
    ['daemon CPU per endpoint, whole run, ms', fmt(scale.meanCpuMsPerEndpoint), ''],
    ['TCP Gbit/s, endpoints of one daemon', fmt(t?.sameDaemon.gbps, 3), `${fmt(ref?.gbps, 3)} (two daemons)`],
    ['TCP Gbit/s, endpoints of two daemons', fmt(t?.twoDaemons.gbps, 3), `${fmt(ref?.gbps, 3)} (two daemons)`],
    ['1-byte RTT p50 µs, one daemon', fmt(t?.sameDaemon.rtt.p50Us), `${fmt(ref?.rtt.p50Us)} (two daemons)`],
    ['1-byte RTT p50 µs, two daemons', fmt(t?.twoDaemons.rtt.p50Us), `${fmt(ref?.rtt.p50Us)} (two daemons)`],
    ['1-byte RTT p50 µs, beside a stream', fmt(t?.fair.loaded.p50Us), `${fmt(t?.fair.idle.p50Us)} (idle)`],
    ['  loaded over idle', fmt(t?.fair.loadedOverIdle, 2), `goal ≤ ${FAIRNESS_GOAL}`],
    ['  the stream beside it, Gbit/s', fmt(t?.fair.loadGbps, 3), ''],
  ];
  process.stdout.write(`${'measure'.padEnd(40)}${'endpoints'.padStart(14)}${'reference'.padStart(26)}\n`);
  for (const [m, x, y] of rows) process.stdout.write(`${m.padEnd(40)}${x.padStart(14)}${y.padStart(26)}\n`);
  if (slirp.reason) process.stdout.write(`slirp4netns reference: not measured (${slirp.reason})\n`);
  if (scale.stopReason) process.stdout.write(`scale-up stopped: ${scale.stopReason}\n`);
  if (trafficReason) process.stdout.write(`traffic: not measured (${trafficReason})\n`);
  if (referenceReason) process.stdout.write(`reference traffic: not measured (${referenceReason})\n`);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}
