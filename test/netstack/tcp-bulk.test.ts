/**
 * Long transfers checked by SHA-256 under scripted impairments, in virtual time — through two full
 * stacks over an impaired Ethernet link.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import { bulk, type BulkResult, FAMILIES, makePair, type TestPair, type WireOptions } from '../support/netstack-rig.js';

const MB = 1024 * 1024;

// the transfers are about TCP itself: each runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  async function transfer(opts: WireOptions, total: number, limitMs: number, cc = 0): Promise<{ r: BulkResult; p: TestPair }> {
    const p = makePair({ ...opts, family });
    p.client.setOption('CONGESTION', cc);
    const r = bulk(p.client, p.server, total, p.until, p.now, limitMs);
    return { r, p };
  }

  function check(r: BulkResult, total: number): void {
    expect(r.ok).toBe(true);
    expect(r.sent).toBe(total);
    expect(r.received).toBe(total);
    expect(r.sha).toBe(true);
  }

  const c = (p: TestPair, side: 'a' | 'b', name: string): number => p.tcpCounters(side)[name] ?? 0;

  describe('tcp bulk 50 MB with SHA-256', () => {
    it('clean link', async () => {
      const { r, p } = await transfer({ mtu: 2800 }, 50 * MB, 60_000);
      check(r, 50 * MB);
      expect(p.client.info().retransmits).toBe(0);
    });

    // the loss, reordering, duplication and corruption cases run with CUBIC, NewReno and BBR
    for (const [suffix, cc] of [
      ['', 0],
      [' (NewReno)', 1],
      [' (BBR)', 2],
    ] as const) {
      it(`5% loss${suffix}`, async () => {
        const { r, p } = await transfer({ mtu: 2800, loss: 0.05, delayMs: 1, seed: 11 }, 50 * MB, 3_600_000, cc);
        check(r, 50 * MB);
        expect(Number(p.client.info().retransmits)).toBeGreaterThan(1000);
      });

      it(`2% loss with reordering${suffix}`, async () => {
        const { r, p } = await transfer(
          { mtu: 2800, loss: 0.02, reorder: 0.1, reorderDelayMs: 3, delayMs: 1, seed: 12 },
          50 * MB,
          3_600_000,
          cc,
        );
        check(r, 50 * MB);
        expect(c(p, 'b', 'rx_out_of_order')).toBeGreaterThan(100);
      });

      it(`duplication${suffix}`, async () => {
        const { r, p } = await transfer({ mtu: 2800, dup: 0.05, delayMs: 1, seed: 13 }, 50 * MB, 600_000, cc);
        check(r, 50 * MB);
        expect(c(p, 'b', 'rx_duplicate') + c(p, 'b', 'rx_out_of_window')).toBeGreaterThan(100);
        // duplicates are not mistaken for loss
        expect(Number(p.client.info().rtoTimeouts)).toBe(0);
      });

      it(`1% corruption${suffix}`, async () => {
        const { r, p } = await transfer({ mtu: 2800, corrupt: 0.01, delayMs: 1, seed: 14 }, 50 * MB, 3_600_000, cc);
        check(r, 50 * MB);
        expect(c(p, 'a', 'rx_bad_checksum') + c(p, 'b', 'rx_bad_checksum')).toBeGreaterThan(100);
      });
    }

    it('100 ms RTT, no loss: the window scales far past 64 KiB', async () => {
      const { r, p } = await transfer({ mtu: 2800, delayMs: 50, seed: 15 }, 50 * MB, 600_000);
      check(r, 50 * MB);
      // 64 KiB per RTT would need 50 MB / (64 KiB / 100 ms) = 80 s
      const windowCapped = ((50 * MB) / (64 * 1024)) * 100;
      expect(r.timeMs).toBeLessThan(windowCapped / 10);
      expect(Number(p.client.info().cwnd)).toBeGreaterThan(1024 * 1024);
    });

    it('100 ms RTT with 1% loss finishes in bounded time (cwnd opens beyond the initial window)', async () => {
      const { r, p } = await transfer({ mtu: 2800, delayMs: 50, loss: 0.01, seed: 16 }, 50 * MB, 3_600_000);
      check(r, 50 * MB);
      const mss = Number(p.client.info().mss);
      // With the initial window only (10 segments per RTT) it would take this long:
      const iwBound = ((50 * MB) / (10 * mss)) * 100;
      // Loss-based AIMD at p = 1% sustains ~sqrt(1.5/p) ≈ 12 segments per RTT (Mathis et al.; CUBIC
      // is in its Reno-friendly region at this BDP, RFC 9438 §5.2), so no standard congestion control
      // beats 64 KiB/RTT here. Assert the transfer tracks that response function (within 25%) and
      // beats a window stuck at the initial 10 segments.
      const mathis = ((50 * MB) / (mss * Math.sqrt(1.5 / 0.01))) * 100;
      if (process.env.TCP_TEST_VERBOSE)
        console.log(
          `1% loss @100ms: ${(r.timeMs / 1000).toFixed(1)} s (IW-only ${(iwBound / 1000).toFixed(0)} s, Mathis ${(mathis / 1000).toFixed(0)} s)`,
          p.client.info(),
        );
      expect(r.timeMs).toBeLessThan(iwBound);
      expect(r.timeMs).toBeLessThan(mathis * 1.25);
    });

    it('NewReno also completes under 2% loss', async () => {
      const { r, p } = await transfer({ mtu: 1500, loss: 0.02, delayMs: 2, seed: 17 }, 10 * MB, 3_600_000, 1);
      check(r, 10 * MB);
      expect(p.client.info().congestion).toBe('newreno');
    });

    it('both directions at once with loss', async () => {
      const p = makePair({ mtu: 1500, loss: 0.02, delayMs: 3, seed: 18, family });
      let doneA = false;
      let doneB = false;
      const a = bulkAsync(p.client, p.server, 8 * MB, () => (doneA = true));
      const b = bulkAsync(p.server, p.client, 8 * MB, () => (doneB = true));
      expect(p.until(() => doneA && doneB, 3_600_000)).toBe(true);
      expect(a.result()).toBe(true);
      expect(b.result()).toBe(true);
    });
  });

  describe('tcp congestion control over a bottleneck', () => {
    for (const [name, cc] of [
      ['CUBIC', 0],
      ['NewReno', 1],
    ] as const) {
      // over IPv6 this needs TCP's forward-progress hint to keep the receiver's neighbor entry
      // REACHABLE: probing it would lose its answers in the full queue and stall the ACKs
      it(`${name} fills a 20 Mbit/s, 40 ms RTT bottleneck with a drop-tail queue`, async () => {
        const total = 20 * MB;
        const { r, p } = await transfer({ mtu: 1500, delayMs: 20, rateMbps: 20, queuePackets: 60, seed: 21 }, total, 600_000, cc);
        check(r, total);
        const mbps = (total * 8) / (r.timeMs * 1000);
        if (process.env.TCP_TEST_VERBOSE) console.log(name, mbps.toFixed(1), 'Mbit/s', p.queueDrops(), p.client.info());
        // goodput over 85% of the bottleneck (headers take ~4%), and the queue did overflow
        expect(mbps).toBeGreaterThan(20 * 0.85);
        expect(p.queueDrops()).toBeGreaterThan(0);
        // a few RTOs at most (the slow-start overshoot can also lose the first RTO retransmission,
        // depending on the exact frame timing of the link), never an RTO storm
        expect(Number(p.client.info().rtoTimeouts)).toBeLessThanOrEqual(3);
      });
    }
  });

  /** One direction of a concurrent transfer (full-duplex test): sender on tx, receiver on rx. */
  function bulkAsync(tx: TcpSocket, rx: TcpSocket, total: number, done: () => void): { result: () => boolean } {
    const block = Buffer.alloc(1 << 15);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    const h1 = createHash('sha256');
    const h2 = createHash('sha256');
    let sent = 0;
    let got = 0;
    const pump = (): void => {
      while (sent < total) {
        const n = tx.write(block.subarray(0, Math.min(block.length, total - sent)));
        if (n <= 0) return;
        h1.update(block.subarray(0, n));
        sent += n;
      }
      tx.shutdown(1);
    };
    // both sockets play both roles: chain the handlers
    const prevW = tx.handlers.onWritable;
    tx.handlers.onWritable = () => {
      prevW?.();
      pump();
    };
    const prevR = rx.handlers.onReadable;
    rx.handlers.onReadable = () => {
      prevR?.();
      for (;;) {
        const r = rx.read();
        if (typeof r === 'number') {
          if (r === 0) done();
          return;
        }
        h2.update(r);
        got += r.length;
      }
    };
    pump();
    return { result: () => got === total && h1.digest('hex') === h2.digest('hex') };
  }

  describe('tcp HyStart++', () => {
    it('leaves slow start on a rising RTT before a deep queue overflows', async () => {
      const total = 10 * MB;
      const { r, p } = await transfer({ mtu: 1500, delayMs: 20, rateMbps: 20, queuePackets: 1500, seed: 22 }, total, 600_000);
      check(r, total);
      if (process.env.TCP_TEST_VERBOSE) console.log('hystart', p.queueDrops(), p.tcpCounters('a'), p.client.info());
      expect(c(p, 'a', 'hystart_exit')).toBeGreaterThanOrEqual(1);
      expect(Number(p.client.info().hystartCss)).toBeGreaterThanOrEqual(1);
      // slow start stopped short of the 400-packet queue: far fewer drops than an overshoot would cause
      expect(p.queueDrops()).toBeLessThan(50);
    });
  });
});
