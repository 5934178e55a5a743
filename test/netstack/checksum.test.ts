import { describe, expect, it } from 'vitest';
import { checksum, finish, pseudoHeaderSum, sum16, updateChecksum16, updateChecksum32 } from '../../src/netstack/wire/checksum.js';
import { SeededRandom } from '../../src/netstack/random.js';

function naive(buf: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < buf.length; i += 2) s += (buf[i]! << 8) | (i + 1 < buf.length ? buf[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

describe('internet checksum', () => {
  it('matches the RFC 1071 example', () => {
    const b = Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    // sum = 0x2ddf0 → folded 0xddf2 → complement 0x220d
    expect(checksum(b)).toBe(0x220d);
  });

  it('agrees with a naive implementation on random lengths, including odd ones', () => {
    const rnd = new SeededRandom(7);
    for (let n = 0; n < 300; n++) {
      const b = rnd.bytes(n * 7 + (n % 3));
      expect(checksum(b)).toBe(naive(b));
    }
  });

  it('a buffer containing its own checksum sums to zero', () => {
    const b = Buffer.from('45000054a6f200004001000 0c0a80001c0a800c7'.replace(/ /g, ''), 'hex');
    const c = checksum(b);
    b.writeUInt16BE(c, 10);
    expect(checksum(b)).toBe(0);
  });

  it('chains a pseudo-header without copying', () => {
    const payload = Buffer.from('hello world!');
    const withPseudo = finish(sum16(payload, 0, payload.length, pseudoHeaderSum(0x0a000001, 0x0a000002, 17, payload.length)));
    const flat = Buffer.concat([Buffer.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, payload.length]), payload]);
    expect(withPseudo).toBe(checksum(flat));
  });

  it('incremental updates equal a full recomputation', () => {
    const rnd = new SeededRandom(99);
    for (let n = 0; n < 200; n++) {
      const b = rnd.bytes(40);
      const before = checksum(b);
      const oldWord = b.readUInt16BE(12);
      const newWord = rnd.u32() & 0xffff;
      b.writeUInt16BE(newWord, 12);
      expect(updateChecksum16(before, oldWord, newWord)).toBe(checksum(b));
      const old32 = b.readUInt32BE(16);
      const new32 = rnd.u32();
      const c2 = checksum(b);
      b.writeUInt32BE(new32, 16);
      expect(updateChecksum32(c2, old32, new32)).toBe(checksum(b));
    }
  });
});
