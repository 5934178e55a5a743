import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/netstack/random.js';
import { fastSum16, finish, pseudoHeaderSum, sum16 } from '../../src/netstack/wire/checksum.js';
import {
  emitTcpHeader,
  parseTcp,
  setTcpChecksum,
  TCP_ACK,
  TCP_SYN,
  TcpOptionsOut,
  tcpOptionsLength,
  TcpParseError,
  TcpSegment,
} from '../../src/netstack/wire/tcp.js';

describe('wire/tcp', () => {
  it('fastSum16 equals sum16 for every alignment and length', () => {
    const rng = new SeededRandom(3);
    const big = rng.bytes(5000);
    for (let start = 0; start < 8; start++) {
      for (const len of [0, 1, 2, 3, 63, 64, 65, 66, 67, 100, 1499, 1500, 2801, 4000]) {
        const a = finish(sum16(big, start, start + len));
        const b = finish(fastSum16(big, start, start + len));
        expect(b).toBe(a);
      }
    }
    const ff = Buffer.alloc(3000, 0xff);
    expect(finish(fastSum16(ff, 1, 2999))).toBe(finish(sum16(ff, 1, 2999)));
  });

  it('emits and parses a SYN with all options, verifying the checksum', () => {
    const o = new TcpOptionsOut();
    o.mss = 1460;
    o.wscale = 7;
    o.sackPermitted = true;
    o.hasTimestamp = true;
    o.tsVal = 0xdeadbeef;
    o.tsEcr = 0;
    const hl = 20 + tcpOptionsLength(o);
    expect(hl % 4).toBe(0);
    const buf = Buffer.alloc(hl + 5);
    emitTcpHeader(buf, 0, 1234, 80, 0xfffffff0, 0, TCP_SYN, 65535, o);
    buf.write('hello', hl);
    setTcpChecksum(buf, 0, buf.length, 0x0a000001, 0x0a000002);
    expect(finish(sum16(buf, 0, buf.length, pseudoHeaderSum(0x0a000001, 0x0a000002, 6, buf.length)))).toBe(0);
    const seg = new TcpSegment();
    expect(parseTcp(buf, seg, 0x0a000001, 0x0a000002)).toBe(0);
    expect(seg.srcPort).toBe(1234);
    expect(seg.dstPort).toBe(80);
    expect(seg.seq).toBe(0xfffffff0);
    expect(seg.flags).toBe(TCP_SYN);
    expect(seg.mss).toBe(1460);
    expect(seg.wscale).toBe(7);
    expect(seg.sackPermitted).toBe(true);
    expect(seg.hasTimestamp).toBe(true);
    expect(seg.tsVal).toBe(0xdeadbeef);
    expect(seg.dataLen).toBe(5);
    expect(buf.subarray(seg.dataStart, seg.dataEnd).toString()).toBe('hello');
    // a flipped bit is caught
    buf[hl + 1] = buf[hl + 1]! ^ 4;
    expect(parseTcp(buf, seg, 0x0a000001, 0x0a000002)).toBe(TcpParseError.BadChecksum);
  });

  it('emits SACK blocks after timestamps (at most 3)', () => {
    const o = new TcpOptionsOut();
    o.hasTimestamp = true;
    o.tsVal = 1;
    o.tsEcr = 2;
    o.sackCount = 4;
    for (let i = 0; i < 8; i++) o.sack[i] = 1000 * (i + 1);
    const hl = 20 + tcpOptionsLength(o);
    expect(hl).toBeLessThanOrEqual(60);
    const buf = Buffer.alloc(hl);
    emitTcpHeader(buf, 0, 1, 2, 3, 4, TCP_ACK, 100, o);
    const seg = new TcpSegment();
    expect(parseTcp(buf, seg)).toBe(0);
    expect(seg.sackCount).toBe(3);
    expect([...seg.sack.subarray(0, 6)]).toEqual([1000, 2000, 3000, 4000, 5000, 6000]);
    expect(seg.tsVal).toBe(1);
    expect(seg.tsEcr).toBe(2);
  });

  it('never throws on random or mutated input', () => {
    const rng = new SeededRandom(9);
    const seg = new TcpSegment();
    const o = new TcpOptionsOut();
    o.mss = 1000;
    o.hasTimestamp = true;
    o.sackCount = 2;
    const good = Buffer.alloc(20 + tcpOptionsLength(o) + 10);
    emitTcpHeader(good, 0, 1, 2, 3, 4, TCP_ACK, 5, o);
    let errors = 0;
    for (let i = 0; i < 20000; i++) {
      let b: Buffer;
      if (i % 2) b = rng.bytes(rng.u32() % 80);
      else {
        b = Buffer.from(good.subarray(0, rng.u32() % (good.length + 1)));
        for (let k = 0; k < 3 && b.length; k++) b[rng.u32() % b.length] = rng.u32() & 0xff;
      }
      const r = parseTcp(b, seg, i % 3 ? 1 : undefined, i % 3 ? 2 : undefined);
      if (r !== 0) errors++;
      else {
        expect(seg.dataStart).toBeLessThanOrEqual(seg.dataEnd);
        expect(seg.dataEnd).toBe(b.length);
      }
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('rejects bad data offsets and truncated headers', () => {
    const seg = new TcpSegment();
    expect(parseTcp(Buffer.alloc(10), seg)).toBe(TcpParseError.Truncated);
    const b = Buffer.alloc(20);
    b[12] = 4 << 4;
    expect(parseTcp(b, seg)).toBe(TcpParseError.BadDataOffset);
    b[12] = 6 << 4;
    expect(parseTcp(b, seg)).toBe(TcpParseError.BadDataOffset);
  });
});
