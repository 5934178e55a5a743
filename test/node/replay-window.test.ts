import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/node/peer/replay-window.js';

function id(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, n));
  return b;
}

describe('ReplayWindow', () => {
  it('accepts an id once and refuses it again, read at an offset', () => {
    const w = new ReplayWindow(8);
    const packet = Buffer.concat([id(0x0123456789abcdefn), Buffer.from('rest of the packet')]);
    expect(w.accept(packet, 0)).toBe(true);
    expect(w.accept(packet, 0)).toBe(false);
    const shifted = Buffer.concat([Buffer.from([9, 9, 9]), id(0x0123456789abcdefn)]);
    expect(w.accept(shifted, 3)).toBe(false);
    expect(w.accept(id(0x0123456789abcdeen))).toBe(true);
    // ids that differ only in the high half are different ids
    expect(w.accept(id(0x1123456789abcdefn))).toBe(true);
    expect(w.accept(id(0n))).toBe(true);
    expect(w.accept(id(0n))).toBe(false);
    expect(w.accept(id(0xffffffffffffffffn))).toBe(true);
    expect(w.size).toBe(5);
  });

  it('forgets the oldest id first once full, and only that one', () => {
    const cap = 64;
    const w = new ReplayWindow(cap);
    for (let i = 0n; i < BigInt(cap); i++) expect(w.accept(id(i))).toBe(true);
    expect(w.size).toBe(cap);
    expect(w.accept(id(BigInt(cap)))).toBe(true); // pushes out id 0
    expect(w.size).toBe(cap);
    for (let i = 1n; i <= BigInt(cap); i++) expect(w.accept(id(i))).toBe(false);
    expect(w.accept(id(0n))).toBe(true); // forgotten, so new again; pushes out id 1
    expect(w.accept(id(2n))).toBe(false);
    expect(w.accept(id(BigInt(cap)))).toBe(false);
    expect(w.accept(id(1n))).toBe(true); // pushes out id 2
  });

  it('agrees with a plain set over a long run of random and sequential ids with repeats', () => {
    // the table is checked against the obvious model: a set plus a FIFO of the last `cap` ids
    const cap = 512;
    const w = new ReplayWindow(cap);
    const seen = new Set<bigint>();
    const order: bigint[] = [];
    const recent: bigint[] = [];
    let counter = 0xfffffffffffff000n; // sequential ids cross the 64-bit wrap and the 32-bit halves
    for (let step = 0; step < 40_000; step++) {
      let n: bigint;
      const pick = step % 5;
      if (pick === 0 && recent.length > 0) n = recent[(step * 7919) % recent.length]!;
      else if (pick === 1) n = BigInt.asUintN(64, counter++);
      else n = randomBytes(8).readBigUInt64BE(0);
      const expected = !seen.has(n);
      expect(w.accept(id(n))).toBe(expected);
      if (expected) {
        seen.add(n);
        order.push(n);
        if (order.length > cap) seen.delete(order.shift()!);
      }
      recent.push(n);
      if (recent.length > cap * 2) recent.shift();
    }
    expect(w.size).toBe(cap);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new ReplayWindow(0)).toThrow(/positive integer/);
    expect(() => new ReplayWindow(1.5)).toThrow(/positive integer/);
  });
});
