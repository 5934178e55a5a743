/**
 * F-RTO (RFC 5682): a spurious retransmission timeout — the receiver's ACKs held back longer than
 * the RTO and then delivered in one burst — is recognised from the first two ACKs after it, and
 * the window cut is undone; with real loss the ordinary RTO recovery runs. Streams are checked.
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { bulk, connectPair, familyRig, holdSegments } from '../support/netstack-rig.js';

const { Wire } = familyRig(4);

function pair(algo: CongestionAlgo, recovery: 0 | 1): { w: InstanceType<typeof Wire>; client: TcpSocket; server: TcpSocket } {
  const w = new Wire({ mtu: 1500, delayMs: 5, rateMbps: 50, seed: 9 });
  for (const l of [w.a, w.b]) {
    l.defaultCongestion = algo;
    l.defaultRecovery = recovery;
  }
  const { client, server } = connectPair(w);
  return { w, client, server };
}

describe('F-RTO (RFC 5682)', () => {
  for (const [name, algo] of [
    ['cubic', CongestionAlgo.Cubic],
    ['reno', CongestionAlgo.NewReno],
    ['bbr', CongestionAlgo.Bbr],
  ] as const) {
    for (const recovery of [0, 1] as const) {
      it(`${name}, RECOVERY ${recovery}: a delay spike longer than the RTO is found spurious and the window restored`, () => {
        const { w, client, server } = pair(algo, recovery);
        const start = w.sched.now();
        // from 300 ms to 800 ms into the transfer every ACK is held, then they all arrive at once
        const from = start + 300;
        const to = start + 800;
        holdSegments(w, (dir, _seg, now) => (dir === 'ba' && now >= from && now < to ? to - now + 5 : 0));
        let cwndBefore = 0;
        let cwndAfter = 0;
        let rtxBefore = 0;
        let rtxAfter = 0;
        w.sched.setTimer(299, () => {
          cwndBefore = Number(client.info().cwnd);
          rtxBefore = Number(client.info().retransmits);
        });
        w.sched.setTimer(830, () => {
          cwndAfter = Number(client.info().cwnd);
          rtxAfter = Number(client.info().retransmits);
        });
        const r = bulk(
          client,
          server,
          8 * 1024 * 1024,
          (d, l) => w.until(d, l),
          () => w.sched.now(),
          600_000,
        );
        expect(r.ok && r.sha).toBe(true);
        const c = w.a.counters;
        if (process.env.TCP_TEST_VERBOSE) console.log(name, recovery, c.snapshot(), client.info().retransmits);
        expect(c.get('rto_timeout')).toBe(1);
        expect(c.get('undo_frto')).toBe(1);
        // only the head was resent, not the flight
        expect(rtxAfter - rtxBefore).toBe(1);
        // loss-based algorithms get their window back instead of slow-starting from one segment
        if (algo !== CongestionAlgo.Bbr) expect(cwndAfter).toBeGreaterThanOrEqual(cwndBefore);
      });
    }
  }

  it('a real loss after the RTO (the burst carries duplicate ACKs) keeps the ordinary recovery', () => {
    const { w, client, server } = pair(CongestionAlgo.Cubic, 0);
    const start = w.sched.now();
    // the link dies for 500 ms: everything sent then is lost, the RTO retransmissions too
    let cut = true;
    holdSegments(w, () => 0);
    w.opts.filter = (dir) => cut && dir === 'ab' && w.sched.now() >= start + 300 && w.sched.now() < start + 800;
    w.sched.setTimer(1000, () => (cut = false));
    const r = bulk(
      client,
      server,
      8 * 1024 * 1024,
      (d, l) => w.until(d, l),
      () => w.sched.now(),
      600_000,
    );
    expect(r.ok && r.sha).toBe(true);
    expect(w.a.counters.get('rto_timeout')).toBeGreaterThanOrEqual(1);
    expect(w.a.counters.get('undo_frto')).toBe(0);
  });
});
