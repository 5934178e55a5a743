import { randomBytes } from 'node:crypto';

/** Source of randomness, injected so simulations are reproducible. */
export interface RandomSource {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** n random bytes. */
  bytes(n: number): Buffer;
}

/** Cryptographically strong randomness for real use (ISN secrets, ephemeral ports). */
export class CryptoRandom implements RandomSource {
  private pool = Buffer.alloc(0);
  private off = 0;

  u32(): number {
    if (this.off + 4 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.off = 0;
    }
    const v = this.pool.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  bytes(n: number): Buffer {
    return randomBytes(n);
  }
}

/** Seeded xorshift128 generator for deterministic tests. Not for secrets. */
export class SeededRandom implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next() | 1;
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  u32(): number {
    let t = this.s3;
    const s = this.s0;
    this.s3 = this.s2;
    this.s2 = this.s1;
    this.s1 = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.s0 = (t ^ s ^ (s >>> 19)) >>> 0;
    return this.s0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return b;
  }
}
