/**
 * Salsa20 with an 8-byte nonce and a 64-bit block counter (the original Bernstein construction,
 * as ZeroTier uses it), with 12 or 20 rounds. Not in node:crypto, so written here on typed arrays
 * with no per-call allocation.
 *
 * Like stock ZeroTier's Salsa20 class, an instance is a running stream: each `crypt`/`keystream`
 * call starts on a fresh 64-byte block, so a call whose length is not a multiple of 64 throws away
 * the rest of its last block. Armor relies on that: the Poly1305 key takes 32 bytes of block 0 and
 * encryption starts at block 1.
 */

export type SalsaRounds = 12 | 20;

export class Salsa20 {
  private readonly input = new Uint32Array(16);
  private readonly out = new Uint32Array(16);

  constructor(private readonly rounds: SalsaRounds) {}

  /** Sets key (32 bytes at keyOffset) and nonce (8 bytes at ivOffset); the block counter restarts at 0. */
  init(key: Uint8Array, keyOffset: number, iv: Uint8Array, ivOffset: number): this {
    const s = this.input;
    // "expand 32-byte k"
    s[0] = 0x61707865;
    s[5] = 0x3320646e;
    s[10] = 0x79622d32;
    s[15] = 0x6b206574;
    s[1] = le32(key, keyOffset);
    s[2] = le32(key, keyOffset + 4);
    s[3] = le32(key, keyOffset + 8);
    s[4] = le32(key, keyOffset + 12);
    s[11] = le32(key, keyOffset + 16);
    s[12] = le32(key, keyOffset + 20);
    s[13] = le32(key, keyOffset + 24);
    s[14] = le32(key, keyOffset + 28);
    s[6] = le32(iv, ivOffset);
    s[7] = le32(iv, ivOffset + 4);
    s[8] = 0;
    s[9] = 0;
    return this;
  }

  /** XORs the keystream into data[start, end) in place. */
  crypt(data: Uint8Array, start: number, end: number): void {
    const out = this.out;
    let p = start;
    while (p < end) {
      this.nextBlock();
      const n = end - p >= 64 ? 64 : end - p;
      if (n === 64) {
        for (let w = 0; w < 16; w++) {
          const k = out[w]!;
          const q = p + (w << 2);
          data[q] = data[q]! ^ (k & 0xff);
          data[q + 1] = data[q + 1]! ^ ((k >>> 8) & 0xff);
          data[q + 2] = data[q + 2]! ^ ((k >>> 16) & 0xff);
          data[q + 3] = data[q + 3]! ^ (k >>> 24);
        }
      } else {
        for (let i = 0; i < n; i++) data[p + i] = data[p + i]! ^ ((out[i >>> 2]! >>> ((i & 3) << 3)) & 0xff);
      }
      p += n;
    }
  }

  /** Writes raw keystream to dest[start, end) (same block accounting as `crypt`). */
  keystream(dest: Uint8Array, start: number, end: number): void {
    dest.fill(0, start, end);
    this.crypt(dest, start, end);
  }

  /** Computes the next keystream block into `out` and advances the 64-bit counter. */
  private nextBlock(): void {
    const s = this.input;
    const j0 = s[0]!, j1 = s[1]!, j2 = s[2]!, j3 = s[3]!, j4 = s[4]!, j5 = s[5]!, j6 = s[6]!, j7 = s[7]!;
    const j8 = s[8]!, j9 = s[9]!, j10 = s[10]!, j11 = s[11]!, j12 = s[12]!, j13 = s[13]!, j14 = s[14]!, j15 = s[15]!;
    let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
    let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
    let u: number;
    for (let i = 0; i < this.rounds; i += 2) {
      // column round
      u = (x0 + x12) | 0; x4 ^= (u << 7) | (u >>> 25);
      u = (x4 + x0) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x4) | 0; x12 ^= (u << 13) | (u >>> 19);
      u = (x12 + x8) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x1) | 0; x9 ^= (u << 7) | (u >>> 25);
      u = (x9 + x5) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x9) | 0; x1 ^= (u << 13) | (u >>> 19);
      u = (x1 + x13) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x6) | 0; x14 ^= (u << 7) | (u >>> 25);
      u = (x14 + x10) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x14) | 0; x6 ^= (u << 13) | (u >>> 19);
      u = (x6 + x2) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x11) | 0; x3 ^= (u << 7) | (u >>> 25);
      u = (x3 + x15) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x3) | 0; x11 ^= (u << 13) | (u >>> 19);
      u = (x11 + x7) | 0; x15 ^= (u << 18) | (u >>> 14);
      // row round
      u = (x0 + x3) | 0; x1 ^= (u << 7) | (u >>> 25);
      u = (x1 + x0) | 0; x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x1) | 0; x3 ^= (u << 13) | (u >>> 19);
      u = (x3 + x2) | 0; x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x4) | 0; x6 ^= (u << 7) | (u >>> 25);
      u = (x6 + x5) | 0; x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x6) | 0; x4 ^= (u << 13) | (u >>> 19);
      u = (x4 + x7) | 0; x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x9) | 0; x11 ^= (u << 7) | (u >>> 25);
      u = (x11 + x10) | 0; x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x11) | 0; x9 ^= (u << 13) | (u >>> 19);
      u = (x9 + x8) | 0; x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x14) | 0; x12 ^= (u << 7) | (u >>> 25);
      u = (x12 + x15) | 0; x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x12) | 0; x14 ^= (u << 13) | (u >>> 19);
      u = (x14 + x13) | 0; x15 ^= (u << 18) | (u >>> 14);
    }
    const o = this.out;
    o[0] = x0 + j0; o[1] = x1 + j1; o[2] = x2 + j2; o[3] = x3 + j3;
    o[4] = x4 + j4; o[5] = x5 + j5; o[6] = x6 + j6; o[7] = x7 + j7;
    o[8] = x8 + j8; o[9] = x9 + j9; o[10] = x10 + j10; o[11] = x11 + j11;
    o[12] = x12 + j12; o[13] = x13 + j13; o[14] = x14 + j14; o[15] = x15 + j15;
    // 64-bit little-endian block counter in words 8 and 9
    s[8] = (j8 + 1) >>> 0;
    if (s[8] === 0) s[9] = (j9 + 1) >>> 0;
  }
}

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
