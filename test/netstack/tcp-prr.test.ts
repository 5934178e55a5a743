/**
 * Proportional Rate Reduction (RFC 6937): the amounts sent per ACK in scripted recovery
 * episodes — the proportional part while pipe is above ssthresh, the slow-start reduction bound
 * below it — and a lossy transfer with CUBIC and NewReno (and RACK, which PRR goes with), checked by SHA-256.
 */
import { describe, expect, it } from 'vitest';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { ProportionalRateReduction } from '../../src/netstack/tcp/prr.js';
import { bulk, connectPair, familyRig } from '../support/netstack-rig.js';

const MSS = 1000;

describe('ProportionalRateReduction (RFC 6937)', () => {
  it('with one loss in a 20-segment window halved by Reno, sends one segment every other ACK', () => {
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS);
    // the fast retransmit leaves at once; 19 segments are still in flight
    prr.onSent(MSS);
    let pipe = 19 * MSS + MSS;
    const perAck: number[] = [];
    for (let i = 0; i < 19; i++) {
      pipe -= MSS; // each duplicate ACK delivers one segment
      const sndcnt = prr.onAck(MSS, pipe, 10 * MSS, MSS);
      const send = Math.floor(sndcnt / MSS) * MSS;
      prr.onSent(send);
      pipe += send;
      perAck.push(send / MSS);
    }
    // sending proportional to delivery at ssthresh / RecoverFS = 1/2, the fast retransmit counted
    // (whole segments: the third ACK allows half of one)
    expect(perAck.slice(0, 8)).toEqual([0, 0, 0, 1, 0, 1, 0, 1]);
    // by the end about ssthresh has left: ceil(19 · 10 / 20) = 10 segments less the half owed
    expect(prr.out).toBe(10 * MSS);
  });

  it('below ssthresh grows back by at most one segment more than was delivered (PRR-SSRB)', () => {
    const prr = new ProportionalRateReduction();
    prr.start(20 * MSS);
    // heavy loss: only 4 segments left in flight, ssthresh 10
    expect(prr.onAck(MSS, 4 * MSS, 10 * MSS, MSS)).toBe(2 * MSS);
    prr.onSent(2 * MSS);
    expect(prr.onAck(2 * MSS, 4 * MSS, 10 * MSS, MSS)).toBe(3 * MSS);
    // never past ssthresh
    expect(prr.onAck(20 * MSS, 9 * MSS, 10 * MSS, MSS)).toBe(MSS);
  });
});

describe('PRR in a transfer', () => {
  const { Wire } = familyRig(4);
  for (const [name, algo] of [
    ['cubic', CongestionAlgo.Cubic],
    ['reno', CongestionAlgo.NewReno],
  ] as const) {
    it(`${name} with RACK: recovery sends no more than PRR allows and the stream arrives intact`, () => {
      const w = new Wire({ mtu: 1500, delayMs: 10, loss: 0.01, seed: 21 });
      for (const l of [w.a, w.b]) {
        l.defaultCongestion = algo;
        l.defaultRecovery = 1; // PRR goes with RACK
      }
      const { client, server } = connectPair(w);
      const conn = client as unknown as { prr: ProportionalRateReduction; rec: { state: number }; cc: { ssthresh: number } };
      let worst = 0;
      const timer = (): void => {
        // at every moment of a recovery, PRR has sent at most ceil(delivered·ssthresh/RecoverFS) plus SSRB's segment
        if (conn.prr.active) worst = Math.max(worst, conn.prr.out - conn.prr.delivered - 2 * 1500);
        w.sched.setTimer(1, timer);
      };
      timer();
      const r = bulk(
        client,
        server,
        4 * 1024 * 1024,
        (d, l) => w.until(d, l),
        () => w.sched.now(),
        600_000,
      );
      expect(r.ok && r.sha).toBe(true);
      expect(w.a.counters.get('fast_recovery')).toBeGreaterThan(5);
      // a recovery never sends more than it got delivered (plus the fast retransmit and one segment)
      expect(worst).toBeLessThanOrEqual(0);
    });
  }
});
