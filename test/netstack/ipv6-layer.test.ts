import { describe, expect, it } from 'vitest';
import { IPV6_LOOPBACK, solicitedNode } from '../../src/netstack/addr.js';
import { Errno } from '../../src/netstack/errno.js';
import { linkLocalFromMac } from '../../src/netstack/ipv6-addresses.js';
import { HEADROOM } from '../../src/netstack/transport.js';
import { Ipv6Header, parseIpv6 } from '../../src/netstack/wire/ipv6.js';
import { icmpv6Of, ipv6Packets, makeSegment, v6Frame, type Segment } from './ipv6-rig.js';
import { v6 } from './ipv6-vectors.js';

const A = v6('fd00::1');
const B = v6('fd00::2');

/** Two hosts at fd00::1/64 and fd00::2/64, DAD done. */
function pair(mtu = 1500): Segment {
  const seg = makeSegment(2, mtu);
  seg.hosts[0]!.ip.addAddress(A, 64);
  seg.hosts[1]!.ip.addAddress(B, 64);
  seg.sched.advance(2000);
  return seg;
}

function udpPayload(n: number): Buffer {
  const b = Buffer.alloc(HEADROOM + n);
  for (let i = 0; i < n; i++) b[HEADROOM + i] = i & 0xff;
  return b;
}

describe('Ipv6Layer addresses', () => {
  it('adds the link-local address from the MAC, the groups and the on-link route', () => {
    const seg = pair();
    const a = seg.hosts[0]!;
    const ll = linkLocalFromMac(a.mac);
    expect(ll).toBe(v6('fe80::ff:fe00:1'));
    expect(a.ip.addresses().map((x) => x.addr)).toEqual([A, ll]);
    expect(a.groups.list()).toEqual([v6('ff02::1'), solicitedNode(A)]);
    expect(a.ip.routes()).toContainEqual({ dest: v6('fd00::'), prefixLen: 64, gateway: null, metric: 0 });
    a.ip.removeAddress(A);
    expect(a.ip.routes().some((r) => r.dest === v6('fd00::'))).toBe(false);
    // fe80::ff:fe00:1 shares A's solicited-node group
    expect(a.groups.has(solicitedNode(A))).toBe(true);
  });

  it('chooses the source as RFC 6724: same scope, then longest matching prefix', () => {
    const seg = pair();
    const a = seg.hosts[0]!.ip;
    a.addAddress(v6('2001:db8:1::1'), 64);
    a.addRoute({ dest: v6('::'), prefixLen: 0, gateway: B, metric: 0 });
    expect(a.sourceFor(v6('fe80::99'))).toBe(v6('fe80::ff:fe00:1'));
    expect(a.sourceFor(v6('fd00::99'))).toBe(A);
    expect(a.sourceFor(v6('2001:db8:1::77'))).toBe(v6('2001:db8:1::1'));
    expect(a.sourceFor(v6('2001:db8:ffff::1'))).toBe(v6('2001:db8:1::1'));
    expect(a.sourceFor(v6('ff02::1'))).toBe(v6('fe80::ff:fe00:1'));
    expect(a.sourceFor(A)).toBe(A);
    expect(a.sourceFor(IPV6_LOOPBACK)).toBe(IPV6_LOOPBACK);
  });

  it('has no route without an address or a matching route', () => {
    const seg = makeSegment(1);
    const ip = seg.hosts[0]!.ip;
    expect(ip.sourceFor(B)).toBeNull();
    expect(ip.send(17, A, B, udpPayload(8), HEADROOM)).toBe(-Errno.ENETUNREACH);
  });
});

describe('Ipv6Layer send and receive', () => {
  it('resolves the neighbor with NS/NA and delivers to the transport', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    seg.wire.length = 0;
    expect(a.ip.send(17, A, B, udpPayload(100), HEADROOM, { ttl: 33, tos: 0x28, flowLabel: 0x12345 })).toBe(0);
    seg.sched.advance(10);
    const ns = icmpv6Of(
      seg.wire.filter((w) => w.from === 0).map((w) => w.frame),
      135,
    );
    expect(ns).toHaveLength(1);
    // to B's solicited-node group, its MAC 33:33:ff:00:00:02
    expect(
      seg.wire
        .find((w) => w.from === 0)!
        .frame.subarray(0, 6)
        .toString('hex'),
    ).toBe('3333ff000002');
    expect(b.udp.received).toHaveLength(1);
    const d = b.udp.received[0]!;
    expect(d.info).toMatchObject({ src: A, dst: B, ttl: 33, tos: 0x28, flowLabel: 0x12345, broadcast: false });
    expect(d.payload.length).toBe(100);
    expect(a.ip.ndp.cache.state(B)).toBe('REACHABLE');
  });

  it('fragments its own datagrams above the path MTU as Linux does, and reassembles them', () => {
    const seg = pair(1280);
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    seg.wire.length = 0;
    let r: unknown = null;
    a.icmp.ping(B, { size: 3000 }, (x) => (r = x));
    seg.sched.advance(10);
    expect(r).toMatchObject({ ok: true });
    const frags = ipv6Packets(seg.wire.filter((w) => w.from === 0).map((w) => w.frame)).filter((p) => p[6] === 44);
    // the kernel's own split at MTU 1280 (ipv6-kernel-frames.txt): 1232 + 1232 + 544 bytes of data
    expect(frags.map((p) => p.length - 48)).toEqual([1232, 1232, 544]);
    expect(frags.every((p) => p.length <= 1280)).toBe(true);
    expect(b.counters.ipv6.get('reasm_ok')).toBe(1);
    expect(a.counters.ipv6.get('reasm_ok')).toBe(1);
  });

  it('refuses too-big datagrams with dontFragment (-EMSGSIZE) and never uses a path MTU below 1280', () => {
    const seg = pair();
    const a = seg.hosts[0]!;
    expect(a.ip.send(17, A, B, udpPayload(1461), HEADROOM, { dontFragment: true })).toBe(-Errno.EMSGSIZE);
    expect(a.ip.maxPayloadFor(B)).toBe(1460);
    expect(a.ip.lowerPathMtu(B, 1000)).toBe(true);
    expect(a.ip.maxPayloadFor(B)).toBe(1240);
    seg.sched.advance(600_001);
    expect(a.ip.maxPayloadFor(B)).toBe(1460);
  });

  it('loops packets to its own addresses and ::1 back on a later turn', () => {
    const seg = pair();
    const a = seg.hosts[0]!;
    expect(a.ip.send(17, A, A, udpPayload(10), HEADROOM)).toBe(0);
    expect(a.ip.send(17, IPV6_LOOPBACK, IPV6_LOOPBACK, udpPayload(10), HEADROOM)).toBe(0);
    expect(a.udp.received).toHaveLength(0);
    seg.sched.advance(1);
    expect(a.udp.received.map((d) => [d.info.src, d.info.dst, d.info.loopback])).toEqual([
      [A, A, true],
      [IPV6_LOOPBACK, IPV6_LOOPBACK, true],
    ]);
  });

  it('sends via a gateway route to the gateway MAC', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    a.ip.addRoute({ dest: v6('2001:db8::'), prefixLen: 32, gateway: B, metric: 0 });
    seg.wire.length = 0;
    expect(a.ip.send(17, A, v6('2001:db8::5'), udpPayload(20), HEADROOM)).toBe(0);
    seg.sched.advance(10);
    const toB = seg.wire.filter((w) => w.from === 0 && w.frame.subarray(0, 6).equals(b.mac));
    const h = new Ipv6Header();
    expect(toB.some((w) => parseIpv6(w.frame.subarray(14), h) === 0 && h.dst === v6('2001:db8::5'))).toBe(true);
    // not ours: B drops it (a host does not forward)
    expect(b.counters.ipv6.get('rx_not_for_us')).toBe(1);
  });

  it('answers an unknown next header with parameter problem code 1 pointing at the field', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    seg.wire.length = 0;
    b.input(v6Frame({ srcMac: a.mac, dstMac: b.mac, src: A, dst: B, nh: 99 }, Buffer.alloc(8)));
    seg.sched.advance(10);
    const pp = icmpv6Of(
      seg.wire.filter((w) => w.from === 1).map((w) => w.frame),
      4,
    );
    expect(pp).toHaveLength(1);
    expect(pp[0]![41]).toBe(1);
    expect(pp[0]!.readUInt32BE(44)).toBe(6);
    expect(b.counters.ipv6.get('rx_unknown_protocol')).toBe(1);
  });

  it('answers an unwanted datagram with port unreachable, not when it went to a group', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    b.udp.accept = false;
    seg.wire.length = 0;
    a.ip.send(17, A, B, udpPayload(8), HEADROOM);
    seg.sched.advance(10);
    expect(a.udp.errors).toMatchObject([{ type: 1, code: 4, src: A, dst: B, offender: B }]);
    // to ff02::1 (every host joined it): delivered as a group datagram, never an error
    a.ip.send(17, A, v6('ff02::1'), udpPayload(8), HEADROOM);
    seg.sched.advance(10);
    expect(b.udp.received.at(-1)!.info).toMatchObject({ dst: v6('ff02::1'), broadcast: true });
    expect(a.udp.errors).toHaveLength(1);
  });

  it('drops multicasts for groups it did not join and martian sources', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    const dropped = b.counters.link.get('rx_multicast_dropped');
    b.input(v6Frame({ srcMac: a.mac, dstMac: Buffer.from('333300000099', 'hex'), src: A, dst: v6('ff02::99'), nh: 17 }, Buffer.alloc(8)));
    expect(b.counters.link.get('rx_multicast_dropped')).toBe(dropped + 1);
    b.groups.join(v6('ff05::99'));
    b.input(v6Frame({ srcMac: a.mac, dstMac: Buffer.from('333300000099', 'hex'), src: A, dst: v6('ff02::99'), nh: 17 }, Buffer.alloc(8)));
    expect(b.counters.ipv6.get('rx_multicast_not_joined')).toBe(1);
    b.input(v6Frame({ srcMac: a.mac, dstMac: b.mac, src: v6('ff02::5'), dst: B, nh: 17 }, Buffer.alloc(8)));
    b.input(v6Frame({ srcMac: a.mac, dstMac: b.mac, src: IPV6_LOOPBACK, dst: B, nh: 17 }, Buffer.alloc(8)));
    expect(b.counters.ipv6.get('rx_martian')).toBe(2);
    expect(b.udp.received).toHaveLength(0);
  });

  it('owns a whole prefix: NS for any address in it is answered and packets to it delivered', () => {
    const seg = pair();
    const [a, b] = seg.hosts as [NonNullable<Segment['hosts'][0]>, NonNullable<Segment['hosts'][0]>];
    const plane = v6('fd00::99:1:2:3');
    b.ip.addOwnedPrefix(v6('fd00::99:0:0:0'), 80);
    expect(a.ip.send(17, A, plane, udpPayload(8), HEADROOM)).toBe(0);
    seg.sched.advance(10);
    expect(b.udp.received.map((d) => d.info.dst)).toEqual([plane]);
    expect(b.ip.isLocalAddress(plane)).toBe(true);
    expect(b.ip.isLocalAddress(v6('fd00::98:1:2:3'))).toBe(false);
  });
});
