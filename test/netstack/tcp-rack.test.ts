/**
 * RACK-TLP (RFC 8985) in virtual time: the reordering window and timer on scripted ACKs, a late
 * (reordered, not lost) segment left alone where DupThresh would resend it, a tail loss repaired
 * by the probe without an RTO, and probes that cost no spurious retransmission when the peer's
 * ACKs stall. Each transfer is checked by SHA-256 and runs with CUBIC, NewReno and BBR.
 */
import { describe, expect, it } from 'vitest';
import { TcpLossState, type TcpSocket } from '../../src/netstack/socket-api.js';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { RackRecovery } from '../../src/netstack/tcp/rack.js';
import { Counters } from '../../src/netstack/counters.js';
import type { TcpSegment } from '../../src/netstack/wire/tcp.js';
import { bulk, connectPair, FAMILIES, familyRig, holdSegments } from '../support/netstack-rig.js';

const MB = 1024 * 1024;
const ALGOS = [
  ['cubic', CongestionAlgo.Cubic],
  ['reno', CongestionAlgo.NewReno],
  ['bbr', CongestionAlgo.Bbr],
] as const;

/** An ACK carrying SACK blocks, as the recovery code reads it. */
function sackAck(ack: number, blocks: [number, number][]): TcpSegment {
  return { ack, sackCount: blocks.length, sack: blocks.flat() } as unknown as TcpSegment;
}

/** Payload bytes and sequence number of a TCP segment on the wire. */
function dataOf(seg: Buffer): { len: number; seq: number } {
  return { len: seg.length - (seg[12]! >> 4) * 4, seq: seg.readUInt32BE(4) };
}

describe('RackRecovery (RFC 8985)', () => {
  const MSS = 1000;
  /** Five segments sent 1 ms apart from t = 0. */
  function flight(): RackRecovery {
    const r = new RackRecovery(0);
    r.reset(0);
    for (let i = 0; i < 5; i++) r.onTransmit(i * MSS, (i + 1) * MSS, i, 0, false);
    return r;
  }

  it('marks a segment lost once a later one is delivered and RACK.rtt plus min_RTT/4 has passed, and times the rest', () => {
    const r = flight();
    // at t = 20 the last segment (sent at 4, so RACK.rtt = 16) is SACKed; min RTT 16 → window 4 ms
    r.beginAck(20, 16, 16, MSS, 0);
    r.onSackBlocks(sackAck(0, [[4000, 5000]]), 0, 0, 5000, new Counters());
    const wait = r.endAck(0, 5000);
    expect(r.reoWnd()).toBe(4);
    // segment 0 (sent at 0) is due now; 1..3 are due 1..3 ms later
    expect(r.segments.lostBytes).toBe(MSS);
    expect(wait).toBe(3);
    expect(r.nextLost(0)).toBe(0);
    expect(r.pipe(0, 5000)).toBe(5000 - 1000 - 1000);
    // the reordering timer at t = 23 finds the other three
    expect(r.reorderTimeout(23)).toBe(0);
    expect(r.segments.lostBytes).toBe(4 * MSS);
    // resending the first takes it out of "lost, not resent" and puts it back in flight
    r.onTransmit(0, 1000, 23, 0, true);
    expect(r.nextLost(0)).toBe(1000);
    expect(r.pipe(0, 5000)).toBe(5000 - 1000 - 4000 + 1000);
  });

  it('uses no window in recovery before reordering is seen, and widens it per round with a D-SACK', () => {
    const r = flight();
    r.state = TcpLossState.Recovery;
    r.beginAck(20, 16, 16, MSS, 0);
    r.onSackBlocks(sackAck(0, [[4000, 5000]]), 0, 0, 5000, new Counters());
    expect(r.endAck(0, 5000)).toBe(0);
    expect(r.segments.lostBytes).toBe(4 * MSS);
    // a D-SACK (below the cumulative ACK) is reordering seen, and one more step of window
    r.beginAck(21, 16, 16, MSS, 0);
    r.onSackBlocks(sackAck(1000, [[0, 1000]]), 1000, 0, 5000, new Counters());
    r.endAck(0, 5000);
    expect(r.reorderingSeen).toBe(true);
    expect(r.reoWndMult).toBe(2);
    expect(r.reoWnd()).toBe(8);
  });

  it('after an RTO takes everything not SACKed as lost, with nothing in flight', () => {
    const r = flight();
    r.beginAck(20, 16, 16, MSS, 0);
    r.onSackBlocks(sackAck(0, [[2000, 3000]]), 0, 0, 5000, new Counters());
    r.endAck(0, 5000);
    r.onRto(0, 5000);
    expect(r.segments.lostBytes).toBe(4 * MSS);
    expect(r.pipe(0, 5000)).toBe(0);
    expect(r.nextLost(0)).toBe(0);
    expect(r.holeEnd(0, 5000)).toBe(2000);
  });
});

describe.each(FAMILIES)('over IPv%i', (family) => {
  const { Wire } = familyRig(family);

  function pair(
    opts: ConstructorParameters<typeof Wire>[0],
    algo: CongestionAlgo,
    recovery = 1,
  ): { w: InstanceType<typeof Wire>; client: TcpSocket; server: TcpSocket } {
    const w = new Wire(opts);
    for (const l of [w.a, w.b]) {
      l.defaultCongestion = algo;
      l.defaultRecovery = recovery as 0 | 1;
    }
    const { client, server } = connectPair(w);
    return { w, client, server };
  }

  it("is the layer's default loss detection with SACK, as Linux's net.ipv4.tcp_recovery = 1", () => {
    const w = new Wire();
    expect(w.a.defaultRecovery).toBe(1);
    expect(w.a.socket().getOption('RECOVERY')).toBe(1);
  });

  for (const [name, algo] of ALGOS) {
    describe(`RACK-TLP with ${name}`, () => {
      it('leaves a late (reordered, not lost) segment alone where DupThresh resends it every time', () => {
        const run = (recovery: number): { spurious: number; rtx: number } => {
          const { w, client, server } = pair({ mtu: 2800, delayMs: 10, seed: 4 }, algo, recovery);
          // every 40th data segment arrives 3 ms late: the ones sent just after it overtake it
          let n = 0;
          holdSegments(w, (dir, seg) => (dir === 'ab' && dataOf(seg).len > 0 && ++n % 40 === 0 ? 13 : 0));
          const r = bulk(
            client,
            server,
            8 * MB,
            (d, l) => w.until(d, l),
            () => w.sched.now(),
            600_000,
          );
          expect(r.ok && r.sha).toBe(true);
          return { spurious: w.a.counters.get('rx_dsack'), rtx: Number(client.info().retransmits) };
        };
        const rack = run(1);
        const dupThresh = run(0);
        expect(dupThresh.spurious).toBeGreaterThan(20);
        expect(rack.rtx).toBeLessThanOrEqual(3);
        expect(rack.spurious).toBeLessThanOrEqual(3);
      });

      it('repairs a tail loss with the probe, without an RTO', () => {
        const { w, client, server } = pair({ mtu: 1500, delayMs: 5, seed: 5 }, algo);
        client.setOption('NODELAY', 1);
        // warm up the RTT estimate, then lose the last two segments of a 10-segment write once
        client.write(Buffer.alloc(1000, 1));
        w.run(100);
        server.read();
        const mss = Number(client.info().mss);
        const payload = Buffer.alloc(10 * mss);
        for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
        const lost = new Set<number>();
        let base = -1;
        holdSegments(w, (dir, seg) => {
          const d = dataOf(seg);
          if (dir !== 'ab' || d.len === 0) return 0;
          if (base < 0) base = d.seq;
          const idx = Math.round((d.seq - base) / mss);
          if (idx >= 8 && !lost.has(idx)) {
            lost.add(idx);
            return 1e9; // never delivered within the test
          }
          return 0;
        });
        client.write(payload);
        w.run(1000);
        const got: Buffer[] = [];
        for (let r = server.read(); typeof r !== 'number'; r = server.read()) got.push(r);
        expect(Buffer.concat(got).equals(payload)).toBe(true);
        expect(lost.size).toBe(2);
        expect(Number(client.info().rtoTimeouts)).toBe(0);
        expect(w.a.counters.get('tx_tlp_retransmit')).toBe(1);
      });

      it('probes with new data while the peer stalls its ACKs: no spurious retransmission', () => {
        const { w, client, server } = pair({ mtu: 2800, delayMs: 1, rateMbps: 200, queueBytes: 1e9, queuePackets: 1e9, seed: 3 }, algo);
        // the receiver's ACKs are held 15 ms in every 100 (a busy host sending its stretch ACKs late)
        holdSegments(w, (dir, _seg, now) => (dir === 'ba' && now % 100 < 15 ? 15 - (now % 100) + 1 : 0));
        const r = bulk(
          client,
          server,
          24 * MB,
          (d, l) => w.until(d, l),
          () => w.sched.now(),
          600_000,
        );
        expect(r.ok && r.sha).toBe(true);
        const c = w.a.counters;
        expect(c.get('rx_dsack')).toBe(0);
        expect(Number(client.info().retransmits)).toBe(0);
        expect(c.get('tx_tlp')).toBe(c.get('tx_tlp_new_data'));
        if (algo === CongestionAlgo.Bbr) expect(c.get('tx_tlp_new_data')).toBeGreaterThan(5);
      });
    });
  }
});
