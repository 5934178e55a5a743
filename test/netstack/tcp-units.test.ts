import { describe, expect, it } from 'vitest';
import { Cubic } from '../../src/netstack/tcp/congestion/cubic.js';
import { NewReno } from '../../src/netstack/tcp/congestion/newreno.js';
import { IsnGenerator } from '../../src/netstack/tcp/isn.js';
import { Reassembly } from '../../src/netstack/tcp/reassembly.js';
import { ReceiveBuffer } from '../../src/netstack/tcp/receive-buffer.js';
import { RttEstimator } from '../../src/netstack/tcp/rtt-estimator.js';
import { SackScoreboard } from '../../src/netstack/tcp/sack-scoreboard.js';
import { SendBuffer } from '../../src/netstack/tcp/send-buffer.js';
import { seqDiff, seqGt, seqInRange, seqLt, seqMax } from '../../src/netstack/tcp/seq.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';

describe('seq arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    expect(seqLt(0xfffffff0, 5)).toBe(true);
    expect(seqGt(5, 0xfffffff0)).toBe(true);
    expect(seqDiff(5, 0xfffffff0)).toBe(21);
    expect(seqMax(0xfffffff0, 3)).toBe(3);
    expect(seqInRange(2, 0xfffffffe, 10)).toBe(true);
    expect(seqInRange(10, 0xfffffffe, 10)).toBe(false);
  });
});

describe('RTT estimator (RFC 6298)', () => {
  it('first sample, smoothing, 200 ms floor, backoff', () => {
    const r = new RttEstimator();
    expect(r.current()).toBe(1000);
    r.sample(100);
    expect(r.srtt).toBe(100);
    expect(r.rttvar).toBe(50);
    expect(r.current()).toBe(300);
    for (let i = 0; i < 50; i++) r.sample(10);
    expect(r.current()).toBe(200);
    r.onTimeout();
    expect(r.current()).toBe(400);
    r.onTimeout();
    expect(r.current()).toBe(800);
    for (let i = 0; i < 20; i++) r.onTimeout();
    expect(r.current()).toBe(120_000);
    r.resetBackoff();
    expect(r.current()).toBe(200);
  });
});

describe('congestion control', () => {
  it('NewReno: slow start doubles, loss halves, avoidance adds one MSS per window', () => {
    const c = new NewReno(1000);
    expect(c.cwnd).toBe(10_000);
    c.onAck(10_000, 0, 10, 10, false);
    expect(c.cwnd).toBe(20_000);
    c.onCongestion(0, 20_000);
    expect(c.ssthresh).toBe(10_000);
    expect(c.cwnd).toBe(10_000);
    c.onAck(10_000, 0, 10, 10, false);
    expect(c.cwnd).toBe(11_000);
    c.onRto(0, 11_000);
    expect(c.cwnd).toBe(1000);
    expect(c.ssthresh).toBe(5500);
  });

  it('CUBIC: beta 0.7 reduction, concave regrowth towards W_max, then convex probing', () => {
    const c = new Cubic(1000);
    c.onAck(90_000, 0, 100, 100, false); // slow start to 100 segments
    expect(c.cwnd).toBe(100_000);
    c.onCongestion(0, 100_000);
    expect(c.cwnd).toBe(70_000);
    // feed a window of ACKs per 100 ms RTT and watch it approach W_max = 100 segments
    let t = 0;
    const at: number[] = [];
    for (let rtt = 0; rtt < 80; rtt++) {
      t += 100;
      const w = c.cwnd;
      for (let k = 0; k < w / 1000; k++) c.onAck(1000, t, 100, 100, false);
      at.push(c.cwnd);
    }
    // K = cbrt(100 * 0.3 / 0.4) ≈ 4.2 s: near W_max around 42 RTTs, growing faster later
    expect(at[10]!).toBeGreaterThan(75_000);
    expect(at[40]!).toBeGreaterThan(95_000);
    expect(at[40]!).toBeLessThan(106_000);
    expect(at[79]! - at[60]!).toBeGreaterThan(at[45]! - at[40]!);
    // app-limited ACKs do not grow the window
    const before = c.cwnd;
    c.onAck(100_000, t + 100, 100, 100, true);
    expect(c.cwnd).toBe(before);
  });
});

describe('send buffer', () => {
  it('appends across chunks, copies out any range, consumes acknowledged bytes', () => {
    const b = new SendBuffer();
    const src = new SeededRandom(1).bytes(300_000);
    expect(b.append(src.subarray(0, 100_000), 1_000_000)).toBe(100_000);
    expect(b.append(src.subarray(100_000), 150_000)).toBe(150_000);
    expect(b.length).toBe(250_000);
    const out = Buffer.alloc(70_000);
    b.copyOut(60_000, 70_000, out, 0);
    expect(out.equals(src.subarray(60_000, 130_000))).toBe(true);
    b.consumeTo(131_072 + 5);
    expect(b.length).toBe(250_000 - 131_077);
    b.copyOut(200_000, 50_000, out, 0);
    expect(out.subarray(0, 50_000).equals(src.subarray(200_000, 250_000))).toBe(true);
    b.consumeTo(250_000);
    expect(b.length).toBe(0);
    expect(b.append(src.subarray(250_000), 10)).toBe(10);
    b.copyOut(250_000, 10, out, 0);
    expect(out.subarray(0, 10).equals(src.subarray(250_000, 250_010))).toBe(true);
  });
});

describe('receive side', () => {
  it('receive buffer hands out views and concatenates on demand', () => {
    const r = new ReceiveBuffer();
    const a = Buffer.from('hello');
    r.push(a);
    r.push(Buffer.from(' world'));
    const first = r.read(5);
    expect(first).toBe(a); // zero copy
    expect(r.read(100).toString()).toBe(' world');
    r.push(Buffer.from('abc'));
    r.push(Buffer.from('def'));
    expect(r.read(4).toString()).toBe('abcd');
    expect(r.read(4).toString()).toBe('ef');
    expect(r.length).toBe(0);
  });

  it('readv hands out the queued pieces themselves, trimming the last to the limit', () => {
    const r = new ReceiveBuffer();
    const a = Buffer.alloc(1000, 1);
    const b = Buffer.alloc(1000, 2);
    r.push(a);
    r.push(b);
    r.push(Buffer.from('tail'));
    const got = r.readv(1500);
    expect(got.length).toBe(2);
    expect(got[0]).toBe(a); // no copy
    expect(got[1]!.buffer).toBe(b.buffer);
    expect(got[1]!.length).toBe(500);
    expect(r.length).toBe(504);
    const rest = r.readv(10_000);
    expect(Buffer.concat(rest).equals(Buffer.concat([Buffer.alloc(500, 2), Buffer.from('tail')]))).toBe(true);
    expect(r.length).toBe(0);
    expect(r.readv(10)).toEqual([]);
  });

  it('reassembly keeps out-of-order pieces, trims overlaps, builds SACK blocks', () => {
    const q = new Reassembly();
    const base = 0xfffffff0; // across the wrap
    const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    expect(q.insert((base + 10) >>> 0, data.subarray(10, 15), base)).toBe(5);
    expect(q.insert((base + 20) >>> 0, data.subarray(20, 25), base)).toBe(5);
    expect(q.insert((base + 12) >>> 0, data.subarray(12, 22), base)).toBe(5); // fills 15..20 only
    const blocks = new Uint32Array(8);
    expect(q.sackBlocks(blocks, 0, 3)).toBe(1);
    expect(blocks[0]).toBe((base + 10) >>> 0);
    expect(blocks[1]).toBe((base + 25) >>> 0);
    q.insert((base + 30) >>> 0, data.subarray(30, 32), base);
    expect(q.sackBlocks(blocks, 0, 3)).toBe(2);
    expect(blocks[0]).toBe((base + 30) >>> 0); // most recent first
    const got: Buffer[] = [];
    let nxt = q.drain(base, (b) => got.push(b));
    expect(nxt).toBe(base);
    nxt = q.drain((base + 10) >>> 0, (b) => got.push(b));
    expect(nxt).toBe((base + 25) >>> 0);
    expect(Buffer.concat(got).toString()).toBe('abcdefghijklmno');
    expect(q.bytes).toBe(2);
  });

  it('SACK scoreboard merges blocks, finds the loss edge and hole bytes', () => {
    const s = new SackScoreboard();
    const una = 1000;
    s.add(3000, 4000, una);
    s.add(5000, 6000, una);
    s.add(3500, 5200, una);
    expect(s.sacked).toBe(3000);
    expect(s.highest(una)).toBe(6000);
    expect(s.lossEdge(una, 1000)).toBe(3000); // > 2 MSS SACKed above everything below 3000
    expect(s.holeBytes(1000, 6000)).toBe(2000);
    expect(s.skipSacked(3200)).toBe(6000);
    expect(s.nextSackedStart(1000, 9000)).toBe(3000);
    s.advance(3500);
    expect(s.sacked).toBe(2500);
    expect(s.lossEdge(3500, 1000)).toBe(3500);
    s.advance(7000);
    expect(s.empty).toBe(true);
    expect(s.sacked).toBe(0);
  });
});

describe('ISN (RFC 6528)', () => {
  it('differs per tuple, advances with the clock, is not predictable across secrets', () => {
    const sched = new VirtualScheduler();
    const g = new IsnGenerator(sched, new SeededRandom(1));
    const a = g.next(1, 2, 3, 4);
    const b = g.next(1, 2, 3, 5);
    expect(a).not.toBe(b);
    sched.advance(1000);
    const a2 = g.next(1, 2, 3, 4);
    expect(seqDiff(a2, a)).toBe(250_000);
    const g2 = new IsnGenerator(new VirtualScheduler(), new SeededRandom(2));
    expect(g2.next(1, 2, 3, 4)).not.toBe(a);
  });
});

describe('receive buffer coalescing', () => {
  it('copies small pieces together and never re-exposes bytes already read', () => {
    const r = new ReceiveBuffer();
    let expect_ = '';
    for (let i = 0; i < 3000; i++) {
      const piece = Buffer.from(String.fromCharCode(97 + (i % 26)));
      r.pushCopy(piece);
      expect_ += piece.toString();
      if (i % 7 === 0) {
        r.push(Buffer.from('XYZ'.repeat(200)));
        expect_ += 'XYZ'.repeat(200);
      }
    }
    let got = '';
    let k = 0;
    while (r.length > 0) {
      got += r.read(1 + (k++ % 50)).toString();
      if (k % 5 === 0) {
        r.pushCopy(Buffer.from('q'));
        expect_ += 'q';
      }
    }
    expect(got).toBe(expect_);
  });
});
