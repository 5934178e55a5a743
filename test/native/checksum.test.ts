import { afterEach, describe, expect, it } from 'vitest';
import { inetSum16 } from '../../src/native/binding.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { fastSum16, finish, setSum16Accelerator, sum16 } from '../../src/netstack/wire/checksum.js';

afterEach(() => setSum16Accelerator(null));

describe('native Internet checksum sum', () => {
  it('gives the TypeScript checksum for every alignment and length, already folded', () => {
    const rng = new SeededRandom(11);
    const big = rng.bytes(70_000);
    for (let start = 0; start < 17; start++) {
      for (const len of [0, 1, 2, 3, 15, 16, 17, 31, 255, 256, 257, 1499, 1500, 2801, 9000, 65_535]) {
        const sum = inetSum16(big, start, start + len);
        expect(sum).toBeLessThanOrEqual(0xffff);
        expect(finish(sum)).toBe(finish(sum16(big, start, start + len)));
      }
    }
    // all-ones data exercises every carry
    const ff = Buffer.alloc(66_000, 0xff);
    expect(finish(inetSum16(ff, 1, 65_999))).toBe(finish(sum16(ff, 1, 65_999)));
  });

  it('serves fastSum16 once installed, and refuses ranges outside the buffer', () => {
    const rng = new SeededRandom(12);
    const buf = rng.bytes(3000);
    const expected = finish(fastSum16(buf, 3, 2803));
    let calls = 0;
    setSum16Accelerator((b, s, e) => {
      calls++;
      return inetSum16(b, s, e);
    });
    expect(finish(fastSum16(buf, 3, 2803))).toBe(expected);
    expect(calls).toBe(1);
    // short ranges stay in TypeScript
    fastSum16(buf, 0, 40);
    expect(calls).toBe(1);
    expect(() => inetSum16(buf, 0, 3001)).toThrow(RangeError);
    expect(() => inetSum16(buf, 10, 5)).toThrow(RangeError);
  });
});
