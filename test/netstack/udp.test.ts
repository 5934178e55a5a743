import { describe, expect, it } from 'vitest';
import { emitUdp, parseUdp, UdpHeader, UdpParseError } from '../../src/netstack/wire/udp.js';

const SRC = 0xc0a80001;
const DST = 0xc0a800c7;

/** Reference one's-complement sum of the pseudo-header and datagram (RFC 768), written plainly. */
function refChecksum(d: Buffer, src: number, dst: number): number {
  const words: number[] = [src >>> 16, src & 0xffff, dst >>> 16, dst & 0xffff, 17, d.length];
  for (let i = 0; i < d.length; i += 2) words.push((d[i]! << 8) | (d[i + 1] ?? 0));
  let s = 0;
  for (const w of words) {
    s += w;
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('wire/udp', () => {
  it('emits header and checksum matching a plain reference, for every length', () => {
    const h = new UdpHeader();
    for (let n = 0; n < 300; n++) {
      const d = Buffer.alloc(8 + n);
      for (let i = 0; i < n; i++) d[8 + i] = (i * 29 + n) & 0xff;
      emitUdp(d, 0, d.length, 5353, 53, SRC, DST);
      expect(d.readUInt16BE(0)).toBe(5353);
      expect(d.readUInt16BE(2)).toBe(53);
      expect(d.readUInt16BE(4)).toBe(8 + n);
      const ck = d.readUInt16BE(6);
      d.writeUInt16BE(0, 6);
      const ref = refChecksum(d, SRC, DST);
      expect(ck).toBe(ref === 0 ? 0xffff : ref);
      d.writeUInt16BE(ck, 6);
      expect(parseUdp(d, h, SRC, DST)).toBe(0);
      expect(h).toMatchObject({ srcPort: 5353, dstPort: 53, length: 8 + n });
    }
  });

  it('emits in place at an offset inside a larger buffer (headroom)', () => {
    const b = Buffer.alloc(34 + 8 + 5, 0xaa);
    b.write('hello', 42);
    emitUdp(b, 34, b.length, 1, 2, SRC, DST);
    expect(b[0]).toBe(0xaa);
    expect(parseUdp(b.subarray(34), new UdpHeader(), SRC, DST)).toBe(0);
  });

  it('sends a computed zero checksum as 0xffff', () => {
    const d = Buffer.alloc(12);
    d.writeUInt16BE(1, 0);
    d.writeUInt16BE(2, 2);
    d.writeUInt16BE(12, 4);
    // choose the last data word so the sum folds to 0xffff (checksum 0)
    const s = ~refChecksum(d, SRC, DST) & 0xffff;
    d.writeUInt16BE((0xffff - s) & 0xffff, 10);
    expect(refChecksum(d, SRC, DST)).toBe(0);
    emitUdp(d, 0, 12, 1, 2, SRC, DST);
    expect(d.readUInt16BE(6)).toBe(0xffff);
    expect(parseUdp(d, new UdpHeader(), SRC, DST)).toBe(0);
  });

  it('accepts a zero (absent) checksum, rejects a wrong one, bad lengths and truncation', () => {
    const h = new UdpHeader();
    const d = Buffer.alloc(12);
    emitUdp(d, 0, 12, 7, 7, SRC, DST);
    const none = Buffer.from(d);
    none.writeUInt16BE(0, 6);
    expect(parseUdp(none, h, SRC, DST)).toBe(0);
    const bad = Buffer.from(d);
    bad[9] = bad[9]! ^ 1;
    expect(parseUdp(bad, h, SRC, DST)).toBe(UdpParseError.BadChecksum);
    expect(parseUdp(d, h, SRC, DST + 1)).toBe(UdpParseError.BadChecksum); // pseudo-header covers the addresses
    expect(parseUdp(d.subarray(0, 7), h)).toBe(UdpParseError.Truncated);
    const long = Buffer.from(d);
    long.writeUInt16BE(13, 4);
    expect(parseUdp(long, h)).toBe(UdpParseError.BadLength);
    const short = Buffer.from(d);
    short.writeUInt16BE(7, 4);
    expect(parseUdp(short, h)).toBe(UdpParseError.BadLength);
    // IP payload longer than the UDP length (padding): only `length` bytes count
    const padded = Buffer.concat([d, Buffer.alloc(4, 0xff)]);
    expect(parseUdp(padded, h, SRC, DST)).toBe(0);
    expect(h.length).toBe(12);
  });
});
