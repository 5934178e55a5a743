import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { FragmentReassembly, type ReassemblyResult } from '../../src/node/packet/fragment-reassembly.js';
import { FragmentView, PacketView, buildPacket, fragmentPacket, isFragment } from '../../src/node/wire/packet.js';
import { hexBuf, sessionRecords } from './zt-vectors.js';

function feed(r: FragmentReassembly, datagram: Buffer): ReassemblyResult {
  if (isFragment(datagram)) {
    const f = FragmentView.parse(datagram);
    if (!f.ok) return { kind: 'dropped', reason: f.error };
    return r.addFragment(f.value);
  }
  const p = PacketView.parse(datagram);
  if (!p.ok) return { kind: 'dropped', reason: p.error };
  return r.addHead(p.value);
}

function bigPacket(id: bigint, size: number): Buffer {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7 + Number(id)) & 0xff;
  const p = buildPacket({ packetId: id, destination: 0x1122334455n, source: 0x66778899aan, cipher: 3, verb: 6 }, payload);
  p[18]! |= 0x40;
  return p;
}

describe('fragment reassembly', () => {
  const records = sessionRecords();
  const byNo = new Map(records.map((r) => [r.r, r]));

  it('reassembles every fragmented packet of the capture byte-identically, in either order', () => {
    const frags = records.filter((r) => r.kind === 'fragment');
    expect(frags.length).toBe(3);
    for (const last of frags) {
      const pieces = last.reassembledFromRecords!.map((n) => hexBuf(byNo.get(n)!.hex));
      const expected = Buffer.concat([pieces[0]!, ...pieces.slice(1).map((p) => p.subarray(16))]);
      for (const order of [pieces, [...pieces].reverse()]) {
        const clock = new VirtualScheduler();
        const r = new FragmentReassembly(clock);
        const results = order.map((d) => feed(r, d));
        expect(results.slice(0, -1).every((x) => x.kind === 'pending')).toBe(true);
        const done = results[results.length - 1]!;
        expect(done.kind).toBe('complete');
        if (done.kind === 'complete') expect(done.packet.equals(expected)).toBe(true);
        expect(r.bytesHeld).toBe(0);
        expect(r.packetsInFlight).toBe(0);
      }
    }
  });

  it('round-trips our own fragmentation with shuffled, duplicated pieces', () => {
    const clock = new VirtualScheduler();
    const r = new FragmentReassembly(clock);
    const whole = bigPacket(77n, 9000);
    const pieces = fragmentPacket(whole, 1432)!;
    expect(pieces.length).toBe(7);
    const order = [3, 0, 6, 3, 1, 5, 2, 4];
    let done: ReassemblyResult | undefined;
    for (const i of order) {
      const res = feed(r, Buffer.from(pieces[i]!));
      if (res.kind === 'complete') done = res;
    }
    expect(done?.kind).toBe('complete');
    if (done?.kind === 'complete') expect(done.packet.equals(whole)).toBe(true);
    expect(r.counters.get('frag_duplicate')).toBe(1);
  });

  it('drops partial packets after the timeout and counts them', () => {
    const clock = new VirtualScheduler();
    const r = new FragmentReassembly(clock, { maxPackets: 16, maxBytes: 1 << 20, timeoutMs: 500 });
    const pieces = fragmentPacket(bigPacket(5n, 3000), 1432)!;
    expect(feed(r, pieces[0]!).kind).toBe('pending');
    clock.advance(600);
    r.expire();
    expect(r.packetsInFlight).toBe(0);
    expect(r.counters.get('frag_timeout')).toBe(1);
    // the rest alone cannot complete it any more
    expect(feed(r, pieces[1]!).kind).toBe('pending');
    expect(feed(r, pieces[2]!).kind).toBe('pending');
  });

  it('rejects fragments that disagree on the count or destination', () => {
    const clock = new VirtualScheduler();
    const r = new FragmentReassembly(clock);
    const pieces = fragmentPacket(bigPacket(9n, 3000), 1432)!;
    const bad = Buffer.from(pieces[2]!);
    bad[14] = (4 << 4) | 2;
    expect(feed(r, pieces[1]!).kind).toBe('pending');
    expect(feed(r, bad).kind).toBe('dropped');
    expect(r.counters.get('frag_inconsistent')).toBe(1);
    const otherDest = Buffer.from(pieces[1]!);
    otherDest[8] = otherDest[8]! ^ 1;
    expect(feed(r, pieces[2]!).kind).toBe('pending');
    expect(feed(r, otherDest).kind).toBe('dropped');
  });

  it('stays within its memory cap under a flood of heads and fragments for distinct packets', () => {
    const clock = new VirtualScheduler();
    const limits = { maxPackets: 64, maxBytes: 256 * 1024, timeoutMs: 500 };
    const r = new FragmentReassembly(clock, limits);
    let maxHeld = 0;
    let seed = 99;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    for (let i = 0; i < 5000; i++) {
      // fragments of distinct packets, and every third datagram a head that never completes
      const f = Buffer.alloc(16 + 1400);
      f.writeUInt32BE(rnd(), 0);
      f.writeUInt32BE(i, 4);
      if (i % 3 === 0) {
        f[18] = 0x40 | (3 << 3);
      } else {
        f[13] = 0xff;
        f[14] = (15 << 4) | (1 + (rnd() % 14));
      }
      const res = feed(r, f);
      expect(res.kind).not.toBe('complete');
      maxHeld = Math.max(maxHeld, r.bytesHeld);
      expect(r.packetsInFlight).toBeLessThanOrEqual(limits.maxPackets);
    }
    expect(maxHeld).toBeLessThanOrEqual(limits.maxBytes);
    expect(r.counters.get('frag_evicted')).toBeGreaterThan(0);
  });

  it('rejects malformed fragment headers (count 0/1, number 0, number ≥ count) without throwing', () => {
    const f = Buffer.alloc(40);
    f[13] = 0xff;
    for (const nb of [0x00, 0x10, 0x20, 0x22, 0x25, 0xf0, 0x1f]) {
      f[14] = nb;
      expect(FragmentView.parse(f).ok).toBe(false);
    }
    f[14] = 0x21;
    expect(FragmentView.parse(f).ok).toBe(true);
    expect(FragmentView.parse(f.subarray(0, 16)).ok).toBe(false);
  });

  it('refuses a head without the fragmented flag', () => {
    const r = new FragmentReassembly(new VirtualScheduler());
    const p = PacketView.parse(buildPacket({ packetId: 1n, destination: 2n, source: 3n, cipher: 1, verb: 8 }, Buffer.alloc(4)));
    if (!p.ok) throw new Error(p.error);
    expect(r.addHead(p.value).kind).toBe('dropped');
  });
});
