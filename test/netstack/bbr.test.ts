/**
 * BBR in virtual time: its two filters, the model's phases on a bottleneck, the pacer's spacing,
 * goodput on a lossy path against CUBIC in the same run (relative figures, deterministic), and
 * byte-stream integrity under loss, reordering, duplication and corruption.
 */
import { describe, expect, it } from 'vitest';
import { Bbr, BbrMode, BBR_BW_ROUNDS, BBR_MIN_RTT_WINDOW_MS } from '../../src/netstack/tcp/congestion/bbr.js';
import { MaxPerRoundFilter, MinRttFilter } from '../../src/netstack/tcp/congestion/bbr-filters.js';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { TcpLossState, type TcpSocket } from '../../src/netstack/socket-api.js';
import type { AckContext } from '../../src/netstack/tcp/congestion/congestion.js';
import { DeliveryRate } from '../../src/netstack/tcp/delivery-rate.js';
import { TcpSegment } from '../../src/netstack/wire/tcp.js';
import { bulk, CoarseTimerScheduler, connectPair, holdSegments, FAMILIES, familyRig, type WireOptions } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { Wire, ipHeaderLen } = familyRig(family);

  const MB = 1024 * 1024;

  /** The BBR instance of a connected socket (the stack's sockets are TcpConnections). */
  const bbrOf = (s: TcpSocket): Bbr => (s as unknown as { cc: Bbr }).cc;

  function pairOn(opts: WireOptions, algo: CongestionAlgo): { w: InstanceType<typeof Wire>; client: TcpSocket; server: TcpSocket } {
    const w = new Wire(opts);
    w.a.defaultCongestion = algo;
    w.b.defaultCongestion = algo;
    const { client, server } = connectPair(w);
    return { w, client, server };
  }

  /** Keeps `client` writing and `server` reading for ever (a backlogged flow); returns the bytes read. */
  function endless(client: TcpSocket, server: TcpSocket): () => number {
    const block = Buffer.alloc(1 << 16, 0x61);
    let got = 0;
    const pump = (): void => {
      while (client.write(block) > 0);
    };
    client.handlers.onWritable = pump;
    server.handlers.onReadable = () => {
      for (;;) {
        const r = server.read();
        if (typeof r === 'number') return;
        got += r.length;
      }
    };
    pump();
    return () => got;
  }

  describe('BBR filters', () => {
    it('the bandwidth filter keeps the largest sample of the last 10 rounds', () => {
      const f = new MaxPerRoundFilter(BBR_BW_ROUNDS);
      f.update(1, 100);
      f.update(2, 40);
      expect(f.value).toBe(100);
      for (let r = 3; r <= 10; r++) f.update(r, 50);
      expect(f.value).toBe(100);
      f.update(11, 50); // round 1 is now 10 rounds old
      expect(f.value).toBe(50);
      f.update(11, 70);
      expect(f.value).toBe(70);
    });

    it('the min-RTT filter takes lower samples at once, and any sample once 10 s old', () => {
      const f = new MinRttFilter(BBR_MIN_RTT_WINDOW_MS);
      expect(f.update(20, 0)).toBe(false);
      f.update(25, 5000);
      expect(f.value).toBe(20);
      f.update(18, 6000);
      expect(f.value).toBe(18);
      expect(f.expired(16_000)).toBe(false);
      expect(f.update(30, 16_001)).toBe(true);
      expect(f.value).toBe(30);
    });

    it('the min-RTT filter has not expired before its first sample, whatever the clock says', () => {
      const f = new MinRttFilter(BBR_MIN_RTT_WINDOW_MS);
      expect(f.expired(50_000)).toBe(false);
      expect(f.update(20, 50_000)).toBe(false);
      expect(f.value).toBe(20);
      expect(f.expired(60_001)).toBe(true);
    });
  });

  describe('BBR window on loss', () => {
    const ctx = (lossState: TcpLossState, inflight: number, acked: number, lost: number, delivered: number): AckContext => ({
      now: 100,
      rs: { delivered: 0, intervalMs: 0, rate: 0, rttMs: -1, priorDelivered: 0, appLimited: false, newlyDelivered: acked },
      delivered,
      inflight,
      lost,
      lossState,
    });

    it('takes what an ACK found lost off the window, holds it at what is in flight through recovery, then restores it', () => {
      const b = new Bbr(1000);
      b.cwnd = 100_000;
      // in STARTUP the window also grows by what each ACK delivered
      b.onAckSample(ctx(TcpLossState.Open, 90_000, 1000, 5000, 200_000));
      expect(b.cwnd).toBe(100_000 - 5000 + 1000);
      b.onCongestion();
      b.onAckSample(ctx(TcpLossState.Recovery, 50_000, 1000, 3000, 201_000));
      expect(b.cwnd).toBe(51_000); // packet conservation: in flight + delivered
      b.onAckSample(ctx(TcpLossState.Recovery, 52_000, 2000, 0, 203_000));
      expect(b.cwnd).toBe(54_000);
      b.onAckSample(ctx(TcpLossState.Open, 60_000, 1000, 0, 204_000));
      expect(b.cwnd).toBe(96_000 + 1000); // the window from before the loss, grown by this ACK
    });

    it('after a timeout starts from one segment and comes back to the saved window when recovery ends', () => {
      const b = new Bbr(1000);
      b.cwnd = 80_000;
      b.onRto();
      expect(b.cwnd).toBe(1000);
      b.onAckSample(ctx(TcpLossState.Loss, 1000, 1000, 0, 300_000));
      expect(b.cwnd).toBe(4000); // never below 4 segments
      b.onAckSample(ctx(TcpLossState.Open, 4000, 1000, 0, 301_000));
      expect(b.cwnd).toBe(80_000);
    });
  });

  describe('BBR pacing rate before its first bandwidth sample', () => {
    it('paces the initial window over the first RTT seen, even below the guess made without one', () => {
      const b = new Bbr(1000);
      const noSample = { delivered: 0, intervalMs: 0, rate: 0, rttMs: -1, priorDelivered: 0, appLimited: false, newlyDelivered: 0 };
      // an ACK without an RTT (the handshake's): the guess is the initial window over 1 ms
      b.onAckSample({ now: 10, rs: noSample, delivered: 0, inflight: 0, lost: 0, lossState: TcpLossState.Open });
      expect(b.pacingRate).toBeCloseTo(2.885 * 10_000, 0);
      // the first RTT, 20 ms: 2.885 × the initial window over it, as Linux's bbr_init_pacing_rate_from_rtt
      b.onAckSample({ now: 30, rs: { ...noSample, rttMs: 20 }, delivered: 0, inflight: 10_000, lost: 0, lossState: TcpLossState.Open });
      expect(b.pacingRate).toBeCloseTo((2.885 * 10_000) / 20, 0);
    });
  });

  describe('delivery-rate samples', () => {
    const ackOf = (blocks: [number, number][] = []): TcpSegment => {
      const seg = new TcpSegment();
      seg.sackCount = blocks.length;
      blocks.forEach(([l, r], i) => {
        seg.sack[2 * i] = l;
        seg.sack[2 * i + 1] = r;
      });
      return seg;
    };

    it('measure the rate data is delivered at, with the RTT of the newest segment delivered', () => {
      const d = new DeliveryRate();
      d.reset(0);
      // a window of 10 segments of 1000 bytes, one per ms; each ACKed 20 ms after it left, and each
      // ACK sends the next segment (ACK clocking): 10 000 bytes per 20 ms round trip
      for (let i = 0; i < 10; i++) d.onSend(1000 * i, 1000 * (i + 1), i, 1000 * i);
      let rs = d.onAck(1000, ackOf(), 0, 1000, 20);
      expect(rs.newlyDelivered).toBe(1000);
      expect(rs.rttMs).toBe(20);
      for (let i = 1; i < 10; i++) {
        d.onSend(1000 * (9 + i), 1000 * (10 + i), 19 + i, 9000); // segment 9+i leaves 20 ms before its ACK
        rs = d.onAck(1000 * (i + 1), ackOf(), 0, 1000 * (i + 1), 20 + i);
      }
      // the first flight's samples span its send time and the round trip: 10 000 bytes in 29 ms
      expect(rs.rate).toBeCloseTo(10_000 / 29, 5);
      d.onSend(19_000, 20_000, 29, 9000);
      for (let i = 10; i < 20; i++) rs = d.onAck(1000 * (i + 1), ackOf(), 0, 1000 * (i + 1), i + 30);
      // the ACK-clocked flight: exactly the window per round trip
      expect(rs.rttMs).toBe(20);
      expect(rs.intervalMs).toBe(20);
      expect(rs.rate).toBeCloseTo(500, 5);
      expect(d.delivered).toBe(20_000);
      expect(d.size).toBe(0);
    });

    it('count SACKed segments as delivered once, however often a block is repeated', () => {
      const d = new DeliveryRate();
      d.reset(0);
      for (let i = 0; i < 10; i++) d.onSend(1000 * i, 1000 * (i + 1), i * 0.1, 1000 * i);
      // segment 0 lost; 1..3 SACKed, then the block grows to 1..5 and is repeated
      let rs = d.onAck(0, ackOf([[1000, 4000]]), 3000, 0, 20);
      expect(rs.newlyDelivered).toBe(3000);
      expect(d.walked).toBe(3000);
      rs = d.onAck(0, ackOf([[1000, 6000]]), 5000, 0, 20.2);
      expect(rs.newlyDelivered).toBe(2000);
      expect(d.walked).toBe(2000);
      rs = d.onAck(0, ackOf([[1000, 6000]]), 5000, 0, 20.3);
      expect(rs.newlyDelivered).toBe(0);
      expect(d.walked).toBe(0);
      // the retransmission of segment 0 fills the hole: the cumulative ACK covers it and the SACKed run
      d.onRetransmit(0, 1000, 25);
      rs = d.onAck(6000, ackOf(), 0, 6000, 45);
      expect(rs.newlyDelivered).toBe(1000);
      expect(d.walked).toBe(1000);
      expect(rs.rttMs).toBe(-1); // a retransmission gives no RTT sample
      expect(d.delivered).toBe(6000);
    });

    it('are marked app-limited while the sender had nothing to send, until that data is delivered', () => {
      const d = new DeliveryRate();
      d.reset(0);
      d.onSend(0, 1000, 0, 0);
      d.markAppLimited(1000);
      d.onSend(1000, 2000, 1, 1000);
      expect(d.onAck(1000, ackOf(), 0, 1000, 20).appLimited).toBe(false);
      expect(d.onAck(2000, ackOf(), 0, 2000, 21).appLimited).toBe(true);
      expect(d.appLimitedUntil).toBe(0);
    });
  });

  describe('BBR model on a 50 Mbit/s, 20 ms bottleneck', () => {
    it('goes STARTUP → DRAIN → PROBE_BW, estimates the path, cycles its gain, and probes the RTT every 10 s', () => {
      const { w, client, server } = pairOn({ mtu: 1500, delayMs: 10, rateMbps: 50, queuePackets: 200, seed: 31 }, CongestionAlgo.Bbr);
      const got = endless(client, server);
      const bbr = bbrOf(client);
      expect(bbr.name).toBe('bbr');
      expect(client.info().congestion).toBe('bbr');
      const modes: number[] = [];
      const gains = new Set<number>();
      let probeRttCwnd = Infinity;
      let firstProbeRttAt = -1;
      for (let t = 0; t < 12_000; t += 1) {
        w.run(1);
        if (modes[modes.length - 1] !== bbr.mode) modes.push(bbr.mode);
        if (bbr.mode === BbrMode.ProbeBw) gains.add(bbr.pacingGain);
        if (bbr.mode === BbrMode.ProbeRtt) {
          probeRttCwnd = Math.min(probeRttCwnd, bbr.cwnd);
          if (firstProbeRttAt < 0) firstProbeRttAt = w.sched.now();
        }
      }
      expect(modes.slice(0, 3)).toEqual([BbrMode.Startup, BbrMode.Drain, BbrMode.ProbeBw]);
      expect(modes).toContain(BbrMode.ProbeRtt);
      expect(modes[modes.length - 1]).toBe(BbrMode.ProbeBw);
      // PROBE_RTT comes once the min RTT is 10 s old, and holds cwnd at 4 segments
      expect(firstProbeRttAt).toBeGreaterThan(BBR_MIN_RTT_WINDOW_MS);
      expect(probeRttCwnd).toBe(4 * client.info().mss);
      expect([...gains].sort()).toEqual([0.75, 1, 1.25]);
      // the model: bottleneck bandwidth (50 Mbit/s = 6250 bytes/ms of IP packets) and propagation delay
      expect(bbr.maxBw).toBeGreaterThan(6250 * 0.85);
      expect(bbr.maxBw).toBeLessThan(6250 * 1.05);
      expect(bbr.minRtt.value).toBeGreaterThanOrEqual(20);
      expect(bbr.minRtt.value).toBeLessThan(22);
      // goodput near the bottleneck over the run, with the queue mostly empty (few drops)
      const mbps = (got() * 8) / (w.sched.now() * 1000);
      expect(mbps).toBeGreaterThan(50 * 0.85);
    });
  });

  describe('BBR through PROBE_RTT', () => {
    it('keeps its bandwidth estimate: the 4-segment window of PROBE_RTT gives app-limited samples', () => {
      // 10 ms RTT: PROBE_RTT's 200 ms are 20 rounds, twice the bandwidth filter's window
      const { w, client, server } = pairOn({ mtu: 1500, delayMs: 5, rateMbps: 50, queuePackets: 200, seed: 42 }, CongestionAlgo.Bbr);
      const got = endless(client, server);
      const bbr = bbrOf(client);
      let probed = false;
      let lowest = Infinity;
      for (let t = 0; t < 11_500; t += 1) {
        w.run(1);
        if (bbr.mode === BbrMode.ProbeRtt) probed = true;
        if (t > 3000) lowest = Math.min(lowest, bbr.maxBw);
      }
      expect(probed).toBe(true);
      expect(bbr.mode).toBe(BbrMode.ProbeBw);
      // 50 Mbit/s = 6250 bytes/ms of IP packets
      expect(lowest).toBeGreaterThan(6250 * 0.85);
      expect(got()).toBeGreaterThan(0);
    });
  });

  describe('BBR on a clock that did not start at zero', () => {
    it('a connection opened 15 s into the run starts in STARTUP, not PROBE_RTT, and finds the bandwidth', () => {
      const w = new Wire({ mtu: 1500, delayMs: 10, rateMbps: 50, queuePackets: 200, seed: 39 });
      w.a.defaultCongestion = CongestionAlgo.Bbr;
      w.b.defaultCongestion = CongestionAlgo.Bbr;
      // a daemon's clock runs from its start: later connections meet a clock far past BBR's 10 s window
      w.run(15_000);
      const { client, server } = connectPair(w);
      const got = endless(client, server);
      const bbr = bbrOf(client);
      const modes: number[] = [bbr.mode];
      for (let t = 0; t < 2000; t += 1) {
        w.run(1);
        if (modes[modes.length - 1] !== bbr.mode) modes.push(bbr.mode);
      }
      expect(modes.slice(0, 3)).toEqual([BbrMode.Startup, BbrMode.Drain, BbrMode.ProbeBw]);
      expect(modes).not.toContain(BbrMode.ProbeRtt);
      expect(bbr.maxBw).toBeGreaterThan(6250 * 0.85);
      expect(got()).toBeGreaterThan(0);
    });
  });

  describe('BBR pacing', () => {
    it('spaces segments at the pacing rate from the connection timer, not in window-sized bursts', () => {
      // no rate limit on the link: without pacing each ACK would release segments back to back
      const departures: number[] = [];
      const { w, client, server } = pairOn(
        {
          mtu: 1500,
          delayMs: 10,
          rateMbps: 10,
          queuePackets: 100,
          seed: 32,
          filter: (dir, seg) => {
            if (dir === 'ab' && seg.length > 100) departures.push(w.sched.now());
            return false;
          },
        },
        CongestionAlgo.Bbr,
      );
      const got = endless(client, server);
      w.run(3000);
      const bbr = bbrOf(client);
      expect(bbr.mode).toBe(BbrMode.ProbeBw);
      const rate = bbr.pacingRate; // bytes per ms
      // the rate is of payload: IPv6's larger header leaves a little less of the line for it
      const share = (1500 - ipHeaderLen - 32) / (1500 - 20 - 32);
      expect(rate).toBeGreaterThan(1250 * 0.7 * share);
      expect(rate).toBeLessThan(1250 * 1.4);
      departures.length = 0;
      w.run(1000);
      expect(got()).toBeGreaterThan(0);
      // at most a send quantum (2 segments at this rate) leaves at one instant
      let maxSameInstant = 1;
      let run = 1;
      for (let i = 1; i < departures.length; i++) {
        run = departures[i] === departures[i - 1] ? run + 1 : 1;
        if (run > maxSameInstant) maxSameInstant = run;
      }
      expect(maxSameInstant).toBeLessThanOrEqual(2);
      // over a second, the sender kept to its pacing rates (gain 1.25 at most) of a 10 Mbit/s model
      const segs = departures.length;
      const mss = client.info().mss;
      expect(segs * (mss + ipHeaderLen + 32)).toBeLessThan(1250 * 1.25 * 1.1 * 1000);
      expect(segs * (mss + ipHeaderLen + 32)).toBeGreaterThan(1250 * 0.8 * 1000);
    });
  });

  describe('BBR pacing with late timers', () => {
    it('keeps to its pacing rate when the host fires its timers on a 4 ms tick', () => {
      // a busy host: the pacer's 1 ms timer fires up to 4 ms late; the sender must make up the
      // time lost, or BBR reads its own shortfall as the path's bandwidth and spirals down
      const w = new Wire({ mtu: 1500, delayMs: 10, rateMbps: 100, queuePackets: 400, seed: 40 }, new CoarseTimerScheduler(4));
      w.a.defaultCongestion = CongestionAlgo.Bbr;
      w.b.defaultCongestion = CongestionAlgo.Bbr;
      const { client, server } = connectPair(w);
      const got = endless(client, server);
      w.run(2000);
      const before = got();
      w.run(4000);
      const mbps = ((got() - before) * 8) / 4000 / 1000;
      if (process.env.TCP_TEST_VERBOSE) console.log('late timers, 100 Mbit/s:', mbps, bbrOf(client).maxBw);
      expect(mbps).toBeGreaterThan(100 * 0.85);
    });
  });

  describe('BBR under ACK aggregation', () => {
    it('keeps sending through ACK silences: ACKs released in bursts every 20 ms on a 2 ms path', () => {
      // the window of a 2 ms min RTT runs dry long before a 20 ms silence ends; ACK aggregation's
      // extra window (Linux's extra_acked) covers what the ACKs bring in bursts
      const w = new Wire({ mtu: 1500, delayMs: 1, rateMbps: 100, queuePackets: 400, seed: 41 });
      w.a.defaultCongestion = CongestionAlgo.Bbr;
      w.b.defaultCongestion = CongestionAlgo.Bbr;
      const { client, server } = connectPair(w);
      holdSegments(w, (dir, _seg, now) => (dir === 'ba' ? Math.ceil(now / 20) * 20 - now : 0));
      const got = endless(client, server);
      w.run(2000);
      const before = got();
      w.run(4000);
      const mbps = ((got() - before) * 8) / 4000 / 1000;
      if (process.env.TCP_TEST_VERBOSE) console.log('ACK aggregation, 100 Mbit/s:', mbps, bbrOf(client).aggregationCwnd);
      expect(mbps).toBeGreaterThan(100 * 0.85);
    });
  });

  describe('BBR against CUBIC on a lossy path', () => {
    it('keeps its rate under 1% random loss, far above CUBIC in the same run', () => {
      const path: WireOptions = { mtu: 2800, delayMs: 10, rateMbps: 200, queuePackets: 400, loss: 0.01, seed: 33 };
      const mbps: Record<string, number> = {};
      for (const [name, algo] of [
        ['cubic', CongestionAlgo.Cubic],
        ['bbr', CongestionAlgo.Bbr],
      ] as const) {
        const { w, client, server } = pairOn(path, algo);
        const total = 12 * MB;
        const r = bulk(
          client,
          server,
          total,
          (d, l) => w.until(d, l),
          () => w.sched.now(),
          3_600_000,
        );
        expect(r.ok && r.sha && r.received === total).toBe(true);
        mbps[name] = (total * 8) / (r.timeMs * 1000);
      }
      if (process.env.TCP_TEST_VERBOSE) console.log('1% loss, 20 ms, 200 Mbit/s:', mbps);
      expect(mbps.bbr!).toBeGreaterThan(5 * mbps.cubic!);
      expect(mbps.bbr!).toBeGreaterThan(200 * 0.5);
    });
  });

  describe('BBR sharing a bottleneck', () => {
    /** Mbit/s of two backlogged flows a → b through one 50 Mbit/s, 20 ms link with a one-BDP queue, over 8 s after 4 s. */
    function share(first: CongestionAlgo, second: CongestionAlgo): [number, number] {
      const w = new Wire({ mtu: 1500, delayMs: 10, rateMbps: 50, queueBytes: 125_000, seed: 38 });
      const counts: (() => number)[] = [];
      for (const [i, algo] of [first, second].entries()) {
        if (i === 1) w.run(1000);
        w.a.defaultCongestion = algo;
        w.b.defaultCongestion = algo;
        const { client, server } = connectPair(w, 80 + i);
        counts.push(endless(client, server));
      }
      w.run(3000);
      const before = counts.map((c) => c());
      w.run(8000);
      return [0, 1].map((i) => ((counts[i]!() - before[i]!) * 8) / 8e6) as [number, number];
    }

    it('two BBR flows get shares within 20% of each other, and fill the link', () => {
      const [a, b] = share(CongestionAlgo.Bbr, CongestionAlgo.Bbr);
      expect(Math.min(a, b) / Math.max(a, b)).toBeGreaterThan(0.8);
      expect(a + b).toBeGreaterThan(50 * 0.85);
    });

    it('a BBR flow does not starve a CUBIC flow', () => {
      const [bbr, cubic] = share(CongestionAlgo.Bbr, CongestionAlgo.Cubic);
      if (process.env.TCP_TEST_VERBOSE) console.log('bbr vs cubic', bbr, cubic);
      expect(cubic).toBeGreaterThan((bbr + cubic) * 0.1);
    });
  });

  describe('BBR byte-stream integrity', () => {
    for (const [name, opts] of [
      ['3% loss, 10% reordering, 20 ms', { mtu: 2800, delayMs: 10, rateMbps: 100, loss: 0.03, reorder: 0.1, reorderDelayMs: 2, seed: 34 }],
      ['duplication and loss', { mtu: 1500, delayMs: 5, rateMbps: 100, loss: 0.01, dup: 0.05, seed: 35 }],
      ['corruption, loss and reordering', { mtu: 1500, delayMs: 2, loss: 0.02, corrupt: 0.01, reorder: 0.05, seed: 36 }],
      ['a shallow 50 KB buffer at 100 ms', { mtu: 2800, delayMs: 50, rateMbps: 200, queueBytes: 50_000, loss: 0.001, seed: 37 }],
    ] as [string, WireOptions][]) {
      it(`delivers 16 MB intact under ${name}`, () => {
        const { w, client, server } = pairOn(opts, CongestionAlgo.Bbr);
        const total = 16 * MB;
        const r = bulk(
          client,
          server,
          total,
          (d, l) => w.until(d, l),
          () => w.sched.now(),
          3_600_000,
        );
        expect(r.ok).toBe(true);
        expect(r.received).toBe(total);
        expect(r.sha).toBe(true);
        expect(client.info().congestion).toBe('bbr');
      });
    }
  });
});

describe('BBR model as TCP_CC_INFO reports it', () => {
  it("gives Linux's fixed-point gains and no min RTT before the first sample", () => {
    const bbr = new Bbr(1400);
    expect(bbr.bbrInfo()).toEqual({ bw: 0, minRttUs: 0xffffffff, pacingGain: 739, cwndGain: 739 });
  });

  it('reports the filtered bandwidth in bytes/s and the min RTT in µs', () => {
    const bbr = new Bbr(1400);
    bbr.bw.update(1, 125); // round 1: 125 bytes per ms, 1 Mbit/s
    bbr.minRtt.update(20.5, 0);
    bbr.pacingGain = 5 / 4;
    bbr.cwndGain = 2;
    expect(bbr.bbrInfo()).toEqual({ bw: 125_000, minRttUs: 20_500, pacingGain: 320, cwndGain: 512 });
  });
});
