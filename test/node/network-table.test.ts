import { describe, expect, it } from 'vitest';
import { NetworkTable } from '../../src/node/network/network-table.js';

/** A FRAME-like payload: the network id, then whatever follows. */
function payload(nwid: bigint, at = 0): Buffer {
  const b = Buffer.alloc(at + 10);
  b.writeBigUInt64BE(nwid, at);
  return b;
}

describe('NetworkTable', () => {
  it('finds networks by the id bytes of a payload, telling apart ids that share one 32-bit half', () => {
    const t = new NetworkTable<string>();
    const a = 0x8056c2e21c000001n;
    const sameHigh = 0x8056c2e21c000002n;
    const sameLow = 0x9056c2e21c000001n;
    t.set(a, 'a');
    t.set(sameHigh, 'same high half');
    t.set(sameLow, 'same low half');
    // alternate, so each lookup follows a hit on another network
    for (let i = 0; i < 3; i++) {
      expect(t.at(payload(a), 0)).toBe('a');
      expect(t.at(payload(sameHigh), 0)).toBe('same high half');
      expect(t.at(payload(a), 0)).toBe('a');
      expect(t.at(payload(sameLow), 0)).toBe('same low half');
      expect(t.at(payload(sameLow, 3), 3)).toBe('same low half');
    }
    expect(t.at(payload(0x8056c2e21c000003n), 0)).toBeUndefined();
    expect(t.at(payload(0n), 0)).toBeUndefined();
  });

  it('forgets a network that was left, and finds the one joined in its place', () => {
    const t = new NetworkTable<string>();
    const id = 0xffffffffffffffffn;
    t.set(id, 'first');
    expect(t.at(payload(id), 0)).toBe('first');
    expect(t.delete(id)).toBe(true);
    expect(t.at(payload(id), 0)).toBeUndefined();
    t.set(id, 'second');
    expect(t.at(payload(id), 0)).toBe('second');
    t.clear();
    expect(t.at(payload(id), 0)).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('a miss does not replace the network last found', () => {
    const t = new NetworkTable<string>();
    t.set(1n, 'one');
    expect(t.at(payload(1n), 0)).toBe('one');
    expect(t.at(payload(2n), 0)).toBeUndefined();
    expect(t.at(payload(1n), 0)).toBe('one');
    expect(t.get(1n)).toBe('one');
    expect([...t.values()]).toEqual(['one']);
  });
});
