import { describe, expect, it } from 'vitest';
import type { Ipv6Addr } from '../../src/netstack/addr.js';
import { emitFragmentHeader, emitIpv6Header } from '../../src/netstack/wire/ipv6.js';
import { icmpv6Of, makeSegment, type V6Host } from './ipv6-rig.js';
import { v6 } from './ipv6-vectors.js';

const A = v6('fd00::1');
const B = v6('fd00::2');

/** Host B (fd00::2) with A's MAC learned, ready to take frames from A. */
function victim(opts: { maxDatagrams?: number; maxBytes?: number; maxFragments?: number } = {}) {
  const seg = makeSegment(2, 1500, { reassembly: opts });
  const [a, b] = seg.hosts as [V6Host, V6Host];
  a.ip.addAddress(A, 64);
  b.ip.addAddress(B, 64);
  seg.sched.advance(2000);
  // B learns A's MAC (a ping from A resolves both ways)
  a.icmp.ping(B, {}, () => {});
  seg.sched.advance(10);
  seg.wire.length = 0;
  return { seg, a, b };
}

/** A fragment frame from A to B: UDP-ish payload piece [off, off+len) of datagram `id`. */
function frag(
  a: V6Host,
  b: V6Host,
  id: number,
  off: number,
  data: Buffer,
  more: boolean,
  opts: { nh?: number; src?: Ipv6Addr } = {},
): Buffer {
  const f = Buffer.alloc(14 + 48 + data.length);
  b.mac.copy(f, 0);
  a.mac.copy(f, 6);
  f.writeUInt16BE(0x86dd, 12);
  emitIpv6Header(f, 14, 0, 0, 8 + data.length, 44, 64, opts.src ?? A, B);
  emitFragmentHeader(f, 54, opts.nh ?? 17, off, more, id);
  data.copy(f, 62);
  return f;
}

const bytes = (n: number, fill = 7) => Buffer.alloc(n, fill);

describe('IPv6 reassembly rules', () => {
  it('reassembles out of order and ignores exact duplicates', () => {
    const { a, b } = victim();
    b.input(frag(a, b, 1, 16, bytes(8, 2), false));
    b.input(frag(a, b, 1, 0, bytes(16, 1), true));
    b.input(frag(a, b, 1, 0, bytes(16, 1), true));
    expect(b.udp.received).toHaveLength(1);
    expect(b.udp.received[0]!.payload).toEqual(Buffer.concat([bytes(16, 1), bytes(8, 2)]));
    b.input(frag(a, b, 2, 0, bytes(16), true));
    b.input(frag(a, b, 2, 0, bytes(16), true));
    expect(b.counters.ipv6.get('reasm_duplicate')).toBe(1);
  });

  it('discards the whole datagram on an overlap, and its later fragments too (RFC 5722)', () => {
    const { seg, a, b } = victim();
    b.input(frag(a, b, 7, 0, bytes(16), true));
    b.input(frag(a, b, 7, 8, bytes(16), true)); // overlaps [8,16)
    expect(b.counters.ipv6.get('reasm_overlap')).toBe(1);
    expect(b.ip.reassembler.heldBytes).toBe(0);
    // what would have completed it is dropped
    b.input(frag(a, b, 7, 0, bytes(16), true));
    b.input(frag(a, b, 7, 16, bytes(8), false));
    expect(b.counters.ipv6.get('reasm_dropped_after_overlap')).toBe(2);
    expect(b.udp.received).toHaveLength(0);
    // and its timer ends it without a time-exceeded error
    seg.sched.advance(60_001);
    expect(
      icmpv6Of(
        seg.wire.map((w) => w.frame),
        3,
      ),
    ).toHaveLength(0);
    expect(b.ip.reassembler.datagrams).toBe(0);
  });

  it('gives up after 60 s with time exceeded code 1 when the first fragment had come', () => {
    const { seg, a, b } = victim();
    b.input(frag(a, b, 3, 0, bytes(16), true));
    b.input(frag(a, b, 4, 16, bytes(16), true)); // no first fragment: no error
    seg.sched.advance(59_999);
    expect(
      icmpv6Of(
        seg.wire.map((w) => w.frame),
        3,
      ),
    ).toHaveLength(0);
    seg.sched.advance(2);
    const te = icmpv6Of(
      seg.wire.map((w) => w.frame),
      3,
    );
    expect(te).toHaveLength(1);
    expect(te[0]![41]).toBe(1); // code 1: fragment reassembly time exceeded
    expect(te[0]!.readUInt32BE(48 + 44)).toBe(3); // quoting the first fragment (its fragment id)
    expect(b.counters.ipv6.get('reasm_timeout')).toBe(2);
  });

  it('answers a non-last fragment whose length is no multiple of 8 with parameter problem at the payload length', () => {
    const { seg, a, b } = victim();
    b.input(frag(a, b, 5, 0, bytes(13), true));
    const pp = icmpv6Of(
      seg.wire.map((w) => w.frame),
      4,
    );
    expect(pp).toHaveLength(1);
    expect([pp[0]![41], pp[0]!.readUInt32BE(44)]).toEqual([0, 4]);
  });

  it('answers a fragment reaching past 65535 with parameter problem at the fragment offset', () => {
    const { seg, a, b } = victim();
    b.input(frag(a, b, 6, 65528, bytes(16), false));
    const pp = icmpv6Of(
      seg.wire.map((w) => w.frame),
      4,
    );
    expect([pp[0]![41], pp[0]!.readUInt32BE(44)]).toEqual([0, 42]);
  });

  it('refuses a first fragment without the whole header chain (RFC 7112, code 3)', () => {
    const { seg, a, b } = victim();
    // destination options header of 16 bytes but only 8 in the first fragment
    const d = Buffer.alloc(8);
    d[0] = 17;
    d[1] = 1;
    d[2] = 1;
    d[3] = 4;
    b.input(frag(a, b, 8, 0, d, true, { nh: 60 }));
    const pp = icmpv6Of(
      seg.wire.map((w) => w.frame),
      4,
    );
    expect(pp).toHaveLength(1);
    expect(pp[0]![41]).toBe(3);
    expect(b.counters.ipv6.get('rx_first_fragment_incomplete')).toBe(1);
  });

  it('processes an atomic fragment on its own (RFC 6946)', () => {
    const { a, b } = victim();
    b.input(frag(a, b, 9, 0, bytes(8), false));
    expect(b.udp.received).toHaveLength(1);
    expect(b.ip.reassembler.datagrams).toBe(0);
  });

  it('bounds datagrams in progress, bytes held and fragments per datagram', () => {
    const { a, b } = victim({ maxDatagrams: 4, maxBytes: 4096, maxFragments: 3 });
    for (let id = 100; id < 110; id++) b.input(frag(a, b, id, 0, bytes(16), true));
    expect(b.ip.reassembler.datagrams).toBe(4);
    expect(b.counters.ipv6.get('reasm_evicted_count')).toBe(6);
    for (let i = 0; i < 4; i++) b.input(frag(a, b, 200, i * 16, bytes(16), true));
    expect(b.counters.ipv6.get('reasm_too_many_fragments')).toBe(1);
    b.input(frag(a, b, 300, 0, bytes(2000), true));
    b.input(frag(a, b, 301, 0, bytes(2000), true));
    b.input(frag(a, b, 302, 0, bytes(2000), true));
    expect(b.ip.reassembler.heldBytes).toBeLessThanOrEqual(4096);
    expect(b.counters.ipv6.get('reasm_evicted_memory')).toBeGreaterThan(0);
  });

  it('rejects a last fragment that contradicts the length already known', () => {
    const { a, b } = victim();
    b.input(frag(a, b, 11, 0, bytes(16), true));
    b.input(frag(a, b, 11, 32, bytes(8), false));
    b.input(frag(a, b, 11, 24, bytes(8), false));
    expect(b.counters.ipv6.get('reasm_bad_length')).toBe(1);
    expect(b.udp.received).toHaveLength(0);
  });
});
