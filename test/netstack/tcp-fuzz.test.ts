/**
 * Random and mutated segments thrown at listeners and live connections: nothing may throw, the
 * internal-error counter stays at zero, and a transfer in progress still completes intact.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/netstack/random.js';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/netstack/wire/tcp.js';
import { bulk, connectPair, FAMILIES, familyRig, rawSegment } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { ADDR_A, ADDR_B, Wire, ANY } = familyRig(family);

  describe('tcp fuzz', () => {
    // with loss-based and model-based senders (RACK and BBR keep a record per segment in flight),
    // and with RFC 6675's DupThresh instead of RACK (RECOVERY 0). A sender that random duplicate
    // ACKs do not fool (RACK), or that undoes the needless recoveries they cause (D-SACK), would
    // finish the transfer on an unlimited link within a few dozen noise rounds, so the link has a
    // 100 Mbit/s bottleneck that keeps the transfer (and the noise) going
    for (const [suffix, algo, rateMbps, recovery] of [
      ['', CongestionAlgo.Cubic, 100, 1],
      [' (RFC 6675)', CongestionAlgo.Cubic, 100, 0],
      [' (NewReno)', CongestionAlgo.NewReno, 100, 1],
      [' (BBR)', CongestionAlgo.Bbr, 100, 1],
    ] as const) {
      it(`survives random segments aimed at live tuples while a transfer runs${suffix}`, () => {
        const w = new Wire({ delayMs: 2, seed: 5, ...(rateMbps ? { rateMbps } : {}) });
        w.a.defaultCongestion = algo;
        w.b.defaultCongestion = algo;
        w.a.defaultRecovery = recovery;
        w.b.defaultRecovery = recovery;
        const { client, server } = connectPair(w);
        const rng = new SeededRandom(77);
        const cport = client.localAddress()!.port;
        const c = client as unknown as { rcvNxt: number; sndNxt: number; sndUna: number };
        const s = server as unknown as { rcvNxt: number; sndNxt: number; sndUna: number };
        let n = 0;
        const flagsPool = [TCP_ACK, TCP_ACK | TCP_FIN, TCP_SYN, TCP_RST, TCP_RST | TCP_ACK, TCP_SYN | TCP_ACK, 0, 0xff];
        const noise = (): void => {
          for (let i = 0; i < 5; i++) {
            n++;
            const toA = rng.u32() & 1;
            const tgt = toA ? c : s;
            const mode = rng.u32() % 4;
            const near = (x: number): number => (x + ((rng.u32() % 200000) - 100000)) >>> 0;
            let seg: Buffer;
            if (mode === 0) seg = rng.bytes(rng.u32() % 100);
            else {
              seg = rawSegment(toA ? ADDR_B : ADDR_A, toA ? ADDR_A : ADDR_B, {
                sport: toA ? 80 : cport,
                dport: toA ? cport : 80,
                // RSTs and SYNs far from RCV.NXT (in-window ones would legitimately reset)
                seq: mode === 1 ? near(tgt.rcvNxt) : rng.u32(),
                ack: mode === 2 ? near(tgt.sndUna) : rng.u32(),
                flags: flagsPool[rng.u32() % flagsPool.length]!,
                window: rng.u32() & 0xffff,
                data: rng.u32() & 1 ? rng.bytes(rng.u32() % 300) : undefined,
                ts: rng.u32() & 1 ? [rng.u32(), rng.u32()] : undefined,
              });
              if (mode === 3) {
                // mostly a checksum failure
                const i = rng.u32() % seg.length;
                seg[i] = seg[i]! ^ 0xff;
              }
            }
            w.inject(toA ? 'a' : 'b', seg);
          }
          if (n < 20000 && client.state !== 'CLOSED') w.sched.setTimer(1, noise);
        };
        noise();
        const r = bulk(
          client,
          server,
          4 * 1024 * 1024,
          (d, l) => w.until(d, l),
          () => w.sched.now(),
          600_000,
        );
        expect(w.a.counters.get('rx_internal_error')).toBe(0);
        expect(w.b.counters.get('rx_internal_error')).toBe(0);
        // random RSTs/SYNs that happen to hit the window exactly may reset the connection; otherwise
        // the data must be intact
        if (client.state !== 'CLOSED' || r.ok) {
          expect(r.sha).toBe(true);
        }
        if (process.env.TCP_TEST_VERBOSE) console.log('fuzz', r, client.state, w.a.counters.snapshot());
        expect(n).toBeGreaterThan(1000);
      });
    }

    it('survives random segments to listeners and closed ports', () => {
      const w = new Wire({ seed: 6 });
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(8);
      const rng = new SeededRandom(78);
      for (let i = 0; i < 20000; i++) {
        const seg = rawSegment(ADDR_A, ADDR_B, {
          sport: 1000 + (rng.u32() % 50),
          dport: rng.u32() & 1 ? 80 : rng.u32() & 0xffff,
          seq: rng.u32(),
          ack: rng.u32(),
          flags: rng.u32() & 0xff,
          window: rng.u32() & 0xffff,
          mss: rng.u32() & 1 ? rng.u32() & 0xffff : undefined,
          wscale: rng.u32() & 1 ? rng.u32() & 0xff : undefined,
          sackPermitted: (rng.u32() & 1) === 1,
          data: rng.u32() & 3 ? undefined : rng.bytes(rng.u32() % 100),
        });
        w.inject('b', seg);
        if (i % 100 === 0) w.run(10);
        while (l.accept()) {
          /* drain */
        }
      }
      w.run(100_000);
      expect(w.b.counters.get('rx_internal_error')).toBe(0);
      expect(l.state).toBe('LISTEN');
    });
  });
});
