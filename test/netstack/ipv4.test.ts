import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { Ipv4Reassembler } from '../../src/netstack/ipv4-reassembly.js';
import {
  emitIpv4Header,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  Ipv4Header,
  Ipv4ParseError,
  parseIpv4,
  parseIpv4Quoted,
} from '../../src/netstack/wire/ipv4.js';

// The textbook header (RFC 1071 examples / Wikipedia "IPv4 header checksum"): 192.168.0.1 → 192.168.0.199, UDP, DF
const HEADER = Buffer.from('450000730000400040' + '11' + 'b861' + 'c0a80001' + 'c0a800c7', 'hex');

function packet(total: number): Buffer {
  const p = Buffer.alloc(total);
  HEADER.copy(p);
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(0, 10);
  const sum = (() => {
    let s = 0;
    for (let i = 0; i < 20; i += 2) s += p.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return ~s & 0xffff;
  })();
  p.writeUInt16BE(sum, 10);
  return p;
}

describe('wire/ipv4', () => {
  it('parses the textbook header and verifies its checksum', () => {
    const h = new Ipv4Header();
    const p = Buffer.concat([HEADER, Buffer.alloc(0x73 - 20)]);
    expect(parseIpv4(p, h)).toBe(0);
    expect(h).toMatchObject({
      headerLen: 20,
      totalLen: 0x73,
      ttl: 64,
      protocol: 17,
      src: 0xc0a80001,
      dst: 0xc0a800c7,
      dontFragment: true,
      moreFragments: false,
      fragOffset: 0,
    });
  });

  it('emits byte-identical headers (checksum included)', () => {
    const b = Buffer.alloc(20);
    emitIpv4Header(b, 0, 0, 0x73, 0, IPV4_FLAG_DF, 64, 17, 0xc0a80001, 0xc0a800c7);
    expect(b.equals(HEADER)).toBe(true);
    // random fields round-trip and always verify
    const h = new Ipv4Header();
    for (let i = 0; i < 1000; i++) {
      const total = 20 + ((i * 37) % 1000);
      const p = Buffer.alloc(total);
      const src = (i * 2654435761) >>> 0;
      const dst = (i * 40503 + 7) >>> 0;
      emitIpv4Header(
        p,
        0,
        i & 0xff,
        total,
        (i * 31) & 0xffff,
        (i & 1 ? IPV4_FLAG_MF : 0) | (i & 0x1fff),
        (i % 255) + 1,
        i & 0xff,
        src,
        dst,
      );
      expect(parseIpv4(p, h)).toBe(0);
      expect(h.src).toBe(src);
      expect(h.dst).toBe(dst);
      expect(h.fragOffset).toBe((i & 0x1fff) * 8);
      expect(h.moreFragments).toBe((i & 1) === 1);
    }
  });

  it('validates version, header length, total length and checksum; never throws', () => {
    const h = new Ipv4Header();
    const p = packet(40);
    expect(parseIpv4(p.subarray(0, 19), h)).toBe(Ipv4ParseError.Truncated);
    const v6 = Buffer.from(p);
    v6[0] = 0x65;
    expect(parseIpv4(v6, h)).toBe(Ipv4ParseError.BadVersion);
    const ihl = Buffer.from(p);
    ihl[0] = 0x44;
    expect(parseIpv4(ihl, h)).toBe(Ipv4ParseError.BadHeaderLength);
    const ihlBig = Buffer.from(p);
    ihlBig[0] = 0x4f; // 60 bytes > 40
    expect(parseIpv4(ihlBig, h)).toBe(Ipv4ParseError.BadHeaderLength);
    expect(parseIpv4(p.subarray(0, 39), h)).toBe(Ipv4ParseError.BadTotalLength);
    const short = packet(40);
    short.writeUInt16BE(10, 2);
    expect(parseIpv4(short, h)).toBe(Ipv4ParseError.BadTotalLength);
    const bad = Buffer.from(p);
    bad[8] = bad[8]! ^ 1;
    expect(parseIpv4(bad, h)).toBe(Ipv4ParseError.BadChecksum);
    // link padding after the datagram is allowed
    expect(parseIpv4(Buffer.concat([p, Buffer.alloc(6)]), h)).toBe(0);
    expect(h.totalLen).toBe(40);
  });

  it('skips options (IHL > 5) safely', () => {
    const p = Buffer.alloc(32);
    HEADER.copy(p, 0, 0, 20);
    p[0] = 0x46; // 24-byte header
    p.writeUInt16BE(32, 2);
    p[20] = 0x94; // router alert
    p[21] = 4;
    p.writeUInt16BE(0, 10);
    let s = 0;
    for (let i = 0; i < 24; i += 2) s += p.readUInt16BE(i);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    p.writeUInt16BE(~s & 0xffff, 10);
    const h = new Ipv4Header();
    expect(parseIpv4(p, h)).toBe(0);
    expect(h.headerLen).toBe(24);
  });

  it('parses quoted headers cut short after their first payload bytes', () => {
    const h = new Ipv4Header();
    const quote = Buffer.concat([HEADER, Buffer.alloc(8)]);
    expect(parseIpv4(quote, h)).toBe(Ipv4ParseError.BadTotalLength);
    expect(parseIpv4Quoted(quote, h)).toBe(0);
    expect(h.dst).toBe(0xc0a800c7);
  });
});

// ───────────────────────── reassembly ─────────────────────────

function frag(id: number, offset: number, data: Buffer, more: boolean, src = 0x0a000001): { h: Ipv4Header; p: Buffer } {
  const p = Buffer.alloc(20 + data.length);
  emitIpv4Header(p, 0, 0, 20 + data.length, id, (more ? IPV4_FLAG_MF : 0) | (offset >>> 3), 64, 17, src, 0x0a000002);
  data.copy(p, 20);
  const h = new Ipv4Header();
  expect(parseIpv4(p, h)).toBe(0);
  return { h, p };
}

function makeReasm(o: ConstructorParameters<typeof Ipv4Reassembler>[3] = {}) {
  const sched = new VirtualScheduler();
  const counters = new Counters();
  const timeouts: (Buffer | null)[] = [];
  const r = new Ipv4Reassembler(sched, counters, (f) => timeouts.push(f), o);
  return { sched, counters, timeouts, r };
}

const payload = (n: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 11 + 3) & 0xff;
  return b;
};

describe('IPv4 reassembly', () => {
  it('reassembles fragments in any order', () => {
    const data = payload(4000);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const { r } = makeReasm();
      const parts = [
        frag(1, 0, data.subarray(0, 1480), true),
        frag(1, 1480, data.subarray(1480, 2960), true),
        frag(1, 2960, data.subarray(2960), false),
      ];
      let out: Buffer | null = null;
      for (const i of order) {
        const f = parts[i]!;
        const res = r.add(f.h, f.p);
        if (res) out = res;
      }
      expect(out).not.toBeNull();
      const h = new Ipv4Header();
      expect(parseIpv4(out!, h)).toBe(0);
      expect(h.totalLen).toBe(4020);
      expect(h.isFragment).toBe(false);
      expect(out!.subarray(20).equals(data)).toBe(true);
      expect(r.datagrams).toBe(0);
      expect(r.heldBytes).toBe(0);
    }
  });

  it('ignores exact duplicates and drops the datagram on overlap', () => {
    const { r, counters } = makeReasm();
    const data = payload(3000);
    const a = frag(2, 0, data.subarray(0, 1600), true);
    expect(r.add(a.h, a.p)).toBeNull();
    expect(r.add(a.h, a.p)).toBeNull();
    expect(counters.get('reasm_duplicate')).toBe(1);
    // overlapping fragment with different bytes (a classic evasion trick)
    const evil = frag(2, 1592, Buffer.alloc(800, 0x41), true);
    expect(r.add(evil.h, evil.p)).toBeNull();
    expect(counters.get('reasm_overlap')).toBe(1);
    expect(r.datagrams).toBe(0);
    // the rest of the original alone can no longer complete it
    const b = frag(2, 1600, data.subarray(1600), false);
    expect(r.add(b.h, b.p)).toBeNull();
    expect(r.datagrams).toBe(1);
  });

  it('rejects inconsistent lengths', () => {
    const { r, counters } = makeReasm();
    const odd = frag(3, 0, Buffer.alloc(13), true); // MF fragments must be multiples of 8
    expect(r.add(odd.h, odd.p)).toBeNull();
    expect(counters.get('reasm_bad_fragment')).toBe(1);
    const last = frag(4, 800, Buffer.alloc(100), false);
    r.add(last.h, last.p);
    const beyond = frag(4, 1600, Buffer.alloc(80), true);
    expect(r.add(beyond.h, beyond.p)).toBeNull();
    expect(counters.get('reasm_bad_length')).toBe(1);
    const huge = frag(5, 65528, Buffer.alloc(16), false); // past 65535
    expect(r.add(huge.h, huge.p)).toBeNull();
    expect(counters.get('reasm_bad_fragment')).toBe(2);
  });

  it('gives up after 30 s and reports the first fragment for ICMP time exceeded', () => {
    const { r, sched, timeouts, counters } = makeReasm();
    const a = frag(6, 0, payload(800), true);
    r.add(a.h, a.p);
    const b = frag(7, 800, payload(800), true); // first fragment never arrives
    r.add(b.h, b.p);
    sched.advance(29_999);
    expect(r.datagrams).toBe(2);
    sched.advance(1);
    expect(r.datagrams).toBe(0);
    expect(counters.get('reasm_timeout')).toBe(2);
    expect(timeouts).toHaveLength(2);
    expect(timeouts[0]!.length).toBe(28); // header + 8 bytes
    expect(timeouts[1]).toBeNull();
  });

  it('memory stays bounded under a flood of incomplete datagrams', () => {
    const { r, counters } = makeReasm({ maxBytes: 256 * 1024, maxDatagrams: 64 });
    for (let i = 0; i < 10_000; i++) {
      const f = frag(i & 0xffff, 8 * (i % 50), Buffer.alloc(1400), true, 0x0a000000 + (i % 7));
      r.add(f.h, f.p);
      expect(r.heldBytes).toBeLessThanOrEqual(256 * 1024);
      expect(r.datagrams).toBeLessThanOrEqual(64);
    }
    expect(counters.get('reasm_evicted_memory') + counters.get('reasm_evicted_count')).toBeGreaterThan(9000);
  });

  it('bounds the fragments per datagram', () => {
    const { r, counters } = makeReasm({ maxFragments: 10 });
    for (let i = 0; i < 20; i++) {
      const f = frag(8, i * 8, Buffer.alloc(8), true);
      r.add(f.h, f.p);
    }
    expect(counters.get('reasm_too_many_fragments')).toBe(1);
  });
});
