/**
 * Poly1305 one-time authenticator (RFC 8439), single shot over a byte range, with no allocation
 * per call. node:crypto has no standalone Poly1305 on Node 20, so it is written here with ten
 * 13-bit limbs of h and r: products and their sums stay exact in JS numbers (< 2^53). The sums
 * can exceed 2^32, so their carries use division, not `>>> 13` (which would truncate them; a
 * BigInt reference test with all-0xff keys catches that).
 */

const tail = new Uint8Array(16);

/**
 * Writes the 16-byte Poly1305 tag of msg[start, end) under the 32-byte one-time key at
 * key[keyOffset] into out[outOffset].
 */
export function poly1305(
  key: Uint8Array,
  keyOffset: number,
  msg: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const k = keyOffset;
  const t0 = key[k]! | (key[k + 1]! << 8);
  const t1 = key[k + 2]! | (key[k + 3]! << 8);
  const t2 = key[k + 4]! | (key[k + 5]! << 8);
  const t3 = key[k + 6]! | (key[k + 7]! << 8);
  const t4 = key[k + 8]! | (key[k + 9]! << 8);
  const t5 = key[k + 10]! | (key[k + 11]! << 8);
  const t6 = key[k + 12]! | (key[k + 13]! << 8);
  const t7 = key[k + 14]! | (key[k + 15]! << 8);
  // r, clamped as the RFC requires
  const r0 = t0 & 0x1fff;
  const r1 = ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
  const r2 = ((t1 >>> 10) | (t2 << 6)) & 0x1f03;
  const r3 = ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
  const r4 = ((t3 >>> 4) | (t4 << 12)) & 0x00ff;
  const r5 = (t4 >>> 1) & 0x1ffe;
  const r6 = ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
  const r7 = ((t5 >>> 11) | (t6 << 5)) & 0x1f81;
  const r8 = ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
  const r9 = (t7 >>> 5) & 0x007f;
  const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5;
  const s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;

  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0, h6 = 0, h7 = 0, h8 = 0, h9 = 0;
  let m: Uint8Array = msg;
  let p = start;
  let remaining = end - start;
  let hibit = 1 << 11;

  while (remaining > 0) {
    if (remaining < 16) {
      // last partial block: pad with a 1 byte then zeros, and no implicit high bit
      tail.fill(0);
      for (let i = 0; i < remaining; i++) tail[i] = msg[p + i]!;
      tail[remaining] = 1;
      m = tail;
      p = 0;
      remaining = 16;
      hibit = 0;
    }
    const m0 = m[p]! | (m[p + 1]! << 8);
    const m1 = m[p + 2]! | (m[p + 3]! << 8);
    const m2 = m[p + 4]! | (m[p + 5]! << 8);
    const m3 = m[p + 6]! | (m[p + 7]! << 8);
    const m4 = m[p + 8]! | (m[p + 9]! << 8);
    const m5 = m[p + 10]! | (m[p + 11]! << 8);
    const m6 = m[p + 12]! | (m[p + 13]! << 8);
    const m7 = m[p + 14]! | (m[p + 15]! << 8);
    h0 += m0 & 0x1fff;
    h1 += ((m0 >>> 13) | (m1 << 3)) & 0x1fff;
    h2 += ((m1 >>> 10) | (m2 << 6)) & 0x1fff;
    h3 += ((m2 >>> 7) | (m3 << 9)) & 0x1fff;
    h4 += ((m3 >>> 4) | (m4 << 12)) & 0x1fff;
    h5 += (m4 >>> 1) & 0x1fff;
    h6 += ((m4 >>> 14) | (m5 << 2)) & 0x1fff;
    h7 += ((m5 >>> 11) | (m6 << 5)) & 0x1fff;
    h8 += ((m6 >>> 8) | (m7 << 8)) & 0x1fff;
    h9 += (m7 >>> 5) | hibit;

    let c = 0;
    let d0 = c + h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6 + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
    c = Math.floor(d0 / 8192); d0 -= c * 8192;
    let d1 = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7 + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
    c = Math.floor(d1 / 8192); d1 -= c * 8192;
    let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8 + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
    c = Math.floor(d2 / 8192); d2 -= c * 8192;
    let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9 + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
    c = Math.floor(d3 / 8192); d3 -= c * 8192;
    let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
    c = Math.floor(d4 / 8192); d4 -= c * 8192;
    let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
    c = Math.floor(d5 / 8192); d5 -= c * 8192;
    let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2 + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
    c = Math.floor(d6 / 8192); d6 -= c * 8192;
    let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3 + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
    c = Math.floor(d7 / 8192); d7 -= c * 8192;
    let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4 + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
    c = Math.floor(d8 / 8192); d8 -= c * 8192;
    let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5 + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    c = Math.floor(d9 / 8192); d9 -= c * 8192;
    c = ((c << 2) + c) | 0;
    c = (c + d0) | 0;
    d0 = c & 0x1fff;
    c = c >>> 13;
    d1 += c;
    h0 = d0; h1 = d1; h2 = d2; h3 = d3; h4 = d4; h5 = d5; h6 = d6; h7 = d7; h8 = d8; h9 = d9;

    p += 16;
    remaining -= 16;
  }

  // full carry of h
  let c = h1 >>> 13; h1 &= 0x1fff;
  h2 += c; c = h2 >>> 13; h2 &= 0x1fff;
  h3 += c; c = h3 >>> 13; h3 &= 0x1fff;
  h4 += c; c = h4 >>> 13; h4 &= 0x1fff;
  h5 += c; c = h5 >>> 13; h5 &= 0x1fff;
  h6 += c; c = h6 >>> 13; h6 &= 0x1fff;
  h7 += c; c = h7 >>> 13; h7 &= 0x1fff;
  h8 += c; c = h8 >>> 13; h8 &= 0x1fff;
  h9 += c; c = h9 >>> 13; h9 &= 0x1fff;
  h0 += c * 5; c = h0 >>> 13; h0 &= 0x1fff;
  h1 += c; c = h1 >>> 13; h1 &= 0x1fff;
  h2 += c;

  // g = h + 5 - 2^130; choose g when h >= p, without branching on secret data
  let g0 = h0 + 5; c = g0 >>> 13; g0 &= 0x1fff;
  let g1 = h1 + c; c = g1 >>> 13; g1 &= 0x1fff;
  let g2 = h2 + c; c = g2 >>> 13; g2 &= 0x1fff;
  let g3 = h3 + c; c = g3 >>> 13; g3 &= 0x1fff;
  let g4 = h4 + c; c = g4 >>> 13; g4 &= 0x1fff;
  let g5 = h5 + c; c = g5 >>> 13; g5 &= 0x1fff;
  let g6 = h6 + c; c = g6 >>> 13; g6 &= 0x1fff;
  let g7 = h7 + c; c = g7 >>> 13; g7 &= 0x1fff;
  let g8 = h8 + c; c = g8 >>> 13; g8 &= 0x1fff;
  let g9 = h9 + c; c = g9 >>> 13; g9 &= 0x1fff;
  g9 -= 1 << 13;
  let mask = (c ^ 1) - 1;
  g0 &= mask; g1 &= mask; g2 &= mask; g3 &= mask; g4 &= mask;
  g5 &= mask; g6 &= mask; g7 &= mask; g8 &= mask; g9 &= mask;
  mask = ~mask;
  h0 = (h0 & mask) | g0; h1 = (h1 & mask) | g1; h2 = (h2 & mask) | g2; h3 = (h3 & mask) | g3;
  h4 = (h4 & mask) | g4; h5 = (h5 & mask) | g5; h6 = (h6 & mask) | g6; h7 = (h7 & mask) | g7;
  h8 = (h8 & mask) | g8; h9 = (h9 & mask) | g9;

  // h to 16-bit words, then add s (the second key half) mod 2^128
  const w0 = (h0 | (h1 << 13)) & 0xffff;
  const w1 = ((h1 >>> 3) | (h2 << 10)) & 0xffff;
  const w2 = ((h2 >>> 6) | (h3 << 7)) & 0xffff;
  const w3 = ((h3 >>> 9) | (h4 << 4)) & 0xffff;
  const w4 = ((h4 >>> 12) | (h5 << 1) | (h6 << 14)) & 0xffff;
  const w5 = ((h6 >>> 2) | (h7 << 11)) & 0xffff;
  const w6 = ((h7 >>> 5) | (h8 << 8)) & 0xffff;
  const w7 = ((h8 >>> 8) | (h9 << 5)) & 0xffff;
  let f = w0 + (key[k + 16]! | (key[k + 17]! << 8));
  out[outOffset] = f & 0xff; out[outOffset + 1] = (f >>> 8) & 0xff;
  f = w1 + (key[k + 18]! | (key[k + 19]! << 8)) + (f >>> 16);
  out[outOffset + 2] = f & 0xff; out[outOffset + 3] = (f >>> 8) & 0xff;
  f = w2 + (key[k + 20]! | (key[k + 21]! << 8)) + (f >>> 16);
  out[outOffset + 4] = f & 0xff; out[outOffset + 5] = (f >>> 8) & 0xff;
  f = w3 + (key[k + 22]! | (key[k + 23]! << 8)) + (f >>> 16);
  out[outOffset + 6] = f & 0xff; out[outOffset + 7] = (f >>> 8) & 0xff;
  f = w4 + (key[k + 24]! | (key[k + 25]! << 8)) + (f >>> 16);
  out[outOffset + 8] = f & 0xff; out[outOffset + 9] = (f >>> 8) & 0xff;
  f = w5 + (key[k + 26]! | (key[k + 27]! << 8)) + (f >>> 16);
  out[outOffset + 10] = f & 0xff; out[outOffset + 11] = (f >>> 8) & 0xff;
  f = w6 + (key[k + 28]! | (key[k + 29]! << 8)) + (f >>> 16);
  out[outOffset + 12] = f & 0xff; out[outOffset + 13] = (f >>> 8) & 0xff;
  f = w7 + (key[k + 30]! | (key[k + 31]! << 8)) + (f >>> 16);
  out[outOffset + 14] = f & 0xff; out[outOffset + 15] = (f >>> 8) & 0xff;
}
