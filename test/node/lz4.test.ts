import { describe, expect, it } from 'vitest';
import { lz4Compress, lz4Decompress } from '../../src/node/packet/lz4.js';
import { hexBuf, packetsJson, vectorJson } from './zt-vectors.js';

interface Lz4Json {
  vectors: { source: string; compressedHex: string; decompressedHex: string; decompressedLength: number }[];
}

describe('LZ4 block codec', () => {
  const vectors = vectorJson<Lz4Json>('lz4.json').vectors;

  it('decompresses the four captured payloads exactly', () => {
    expect(vectors.length).toBe(4);
    for (const v of vectors) {
      const out = lz4Decompress(hexBuf(v.compressedHex), 16384);
      if (!out.ok) throw new Error(`${v.source}: ${out.error}`);
      expect(out.value.toString('hex')).toBe(v.decompressedHex);
      expect(out.value.length).toBe(v.decompressedLength);
    }
  });

  it('decompresses every compressed packet in packets.json to its recorded plaintext', () => {
    let n = 0;
    for (const p of packetsJson().packets) {
      if (!p.compressed) continue;
      const out = lz4Decompress(hexBuf(p.lz4BlockHex!), 16384);
      if (!out.ok) throw new Error(`${p.id}: ${out.error}`);
      expect(out.value.toString('hex')).toBe(p.plaintextHex!.slice(2));
      n++;
    }
    expect(n).toBeGreaterThanOrEqual(8);
  });

  it('round-trips compress → decompress on vectors, text, zeros, random and tiny inputs', () => {
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const inputs: Buffer[] = [
      ...vectors.map((v) => hexBuf(v.decompressedHex)),
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from('abcdefghijkl'),
      Buffer.alloc(70000),
      Buffer.from('ZeroTier '.repeat(500)),
      Buffer.from(Array.from({ length: 5000 }, rnd)),
    ];
    for (const input of inputs) {
      const c = lz4Compress(input);
      const d = lz4Decompress(c, input.length);
      if (!d.ok) throw new Error(d.error);
      expect(d.value.equals(input)).toBe(true);
    }
    // compressible data really shrinks
    expect(lz4Compress(Buffer.alloc(70000)).length).toBeLessThan(400);
    expect(lz4Compress(hexBuf(vectors[0]!.decompressedHex)).length).toBeLessThan(vectors[0]!.decompressedHex.length / 2);
  });

  it('enforces the output cap', () => {
    const c = lz4Compress(Buffer.alloc(10000, 0x41));
    expect(lz4Decompress(c, 10000).ok).toBe(true);
    const r = lz4Decompress(c, 9999);
    expect(r.ok).toBe(false);
  });

  it('rejects every truncation and random garbage without throwing', () => {
    const c = hexBuf(vectors[1]!.compressedHex);
    const full = hexBuf(vectors[1]!.decompressedHex);
    for (let n = 0; n < c.length; n++) {
      const r = lz4Decompress(c.subarray(0, n), 16384);
      // a prefix may happen to end on a sequence boundary; it must then be a prefix of the output
      if (r.ok) expect(full.subarray(0, r.value.length).equals(r.value)).toBe(true);
    }
    let seed = 3;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(Array.from({ length: 1 + (i % 64) }, rnd));
      const r = lz4Decompress(b, 4096);
      if (r.ok) expect(r.value.length).toBeLessThanOrEqual(4096);
    }
    // zero offset and an offset before the start are errors
    expect(lz4Decompress(Buffer.from([0x10, 0x41, 0x00, 0x00, 0x00]), 100).ok).toBe(false);
    expect(lz4Decompress(Buffer.from([0x10, 0x41, 0x05, 0x00, 0x00]), 100).ok).toBe(false);
  });
});
