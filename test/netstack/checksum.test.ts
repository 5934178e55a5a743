import { describe, expect, it } from 'vitest';
import {
  checksum,
  finish,
  ipPseudoHeaderSum,
  pseudoHeaderSum,
  pseudoHeaderSum6,
  sum16,
  updateChecksum16,
  updateChecksum32,
} from '../../src/netstack/wire/checksum.js';
import { emitTcpHeader, parseTcp, setTcpChecksum, TCP_ACK, TcpSegment } from '../../src/netstack/wire/tcp.js';
import { emitUdp, parseUdp, UdpHeader } from '../../src/netstack/wire/udp.js';
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

describe('IPv6 pseudo-header (RFC 8200 §8.1)', () => {
  it('sums both addresses, the upper-layer length and the next header, as read from a packet', () => {
    const rnd = new SeededRandom(6);
    for (let i = 0; i < 200; i++) {
      const hdr = Buffer.from(rnd.bytes(40));
      const src = hdr.toString('hex', 8, 24);
      const dst = hdr.toString('hex', 24, 40);
      const len = rnd.u32() % 70000;
      const fold = (s: number): number => finish(s);
      // the same sum as the words of the two addresses in the header, plus length and protocol
      expect(fold(pseudoHeaderSum6(src, dst, 6, len))).toBe(fold(sum16(hdr, 8, 40) + (len >>> 16) + (len & 0xffff) + 6));
      expect(ipPseudoHeaderSum(src, dst, 17, len)).toBe(pseudoHeaderSum6(src, dst, 17, len));
    }
    expect(ipPseudoHeaderSum(0x0a000001, 0x0a000002, 6, 20)).toBe(pseudoHeaderSum(0x0a000001, 0x0a000002, 6, 20));
  });

  it('a TCP segment checksummed over IPv6 verifies, and fails with another address', () => {
    const a = `fd${'0'.repeat(29)}1`;
    const b = `fd${'0'.repeat(29)}2`;
    const seg = Buffer.alloc(20 + 11);
    emitTcpHeader(seg, 0, 1234, 80, 1, 2, TCP_ACK, 1000, null);
    seg.write('hello world', 20);
    setTcpChecksum(seg, 0, seg.length, a, b);
    expect(parseTcp(seg, new TcpSegment(), a, b)).toBe(0);
    expect(parseTcp(seg, new TcpSegment(), a, `fd${'0'.repeat(29)}3`)).not.toBe(0);
  });

  it('UDP over IPv6 must carry a checksum: zero is refused, as IPv4 accepts it', () => {
    const d = Buffer.alloc(12);
    emitUdp(d, 0, d.length, 1, 2, `fd${'0'.repeat(29)}1`, `fd${'0'.repeat(29)}2`);
    d[6] = 0;
    d[7] = 0;
    expect(parseUdp(d, new UdpHeader(), `fd${'0'.repeat(29)}1`, `fd${'0'.repeat(29)}2`)).not.toBe(0);
    expect(parseUdp(d, new UdpHeader(), 1, 2)).toBe(0);
  });
});
