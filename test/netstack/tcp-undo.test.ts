/**
 * Undoing a needless window reduction (D-SACK, RFC 3708 / RFC 4015's response): the bookkeeping
 * on a scripted episode, and a transfer where a late segment draws a spurious fast retransmit
 * (RFC 6675's DupThresh) each time — the D-SACK for it gives the window back.
 */
import { describe, expect, it } from 'vitest';
import { CongestionAlgo } from '../../src/netstack/tcp/congestion/select.js';
import { RecoveryUndo } from '../../src/netstack/tcp/undo.js';
import { bulk, connectPair, familyRig, holdSegments } from '../support/netstack-rig.js';

describe('RecoveryUndo', () => {
  it('undoes once every retransmission of the episode was D-SACKed, and ignores D-SACKs outside it', () => {
    const u = new RecoveryUndo();
    u.start(1000, 9000, 20_000, 1 << 30);
    u.onRetransmit();
    u.onRetransmit();
    expect(u.allDsacked()).toBe(false);
    u.onDsack(9000, 10_000, 1000); // above what the episode could have resent
    u.onDsack(0, 1000, 1000); // below it
    expect(u.allDsacked()).toBe(false);
    u.onDsack(1000, 2000, 1000);
    expect(u.allDsacked()).toBe(false);
    u.onDsack(3000, 4000, 1000);
    expect(u.allDsacked()).toBe(true);
    expect(u.priorCwnd).toBe(20_000);
  });

  it('has nothing to undo before a retransmission', () => {
    const u = new RecoveryUndo();
    u.start(0, 5000, 10_000, 8000);
    u.onDsack(0, 1000, 1000);
    expect(u.allDsacked()).toBe(false);
  });
});

describe('D-SACK undo in a transfer', () => {
  const { Wire } = familyRig(4);
  for (const [name, algo] of [
    ['cubic', CongestionAlgo.Cubic],
    ['reno', CongestionAlgo.NewReno],
  ] as const) {
    it(`${name}: a late segment's needless fast retransmit is undone when its D-SACK arrives`, () => {
      const w = new Wire({ mtu: 2800, delayMs: 10, seed: 4 });
      for (const l of [w.a, w.b]) {
        l.defaultCongestion = algo;
        l.defaultRecovery = 0;
      }
      const { client, server } = connectPair(w);
      let n = 0;
      holdSegments(w, (dir, seg) => (dir === 'ab' && seg.length > (seg[12]! >> 4) * 4 && ++n % 40 === 0 ? 13 : 0));
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
      expect(c.get('fast_recovery')).toBeGreaterThan(20);
      // nearly every episode was a late segment, and nearly every one is undone
      expect(c.get('undo_dsack')).toBeGreaterThan(c.get('fast_recovery') * 0.8);
    });
  }
});
