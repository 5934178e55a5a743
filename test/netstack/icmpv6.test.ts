import { describe, expect, it } from 'vitest';
import { IPV6_ALL_NODES, type Ipv6Addr } from '../../src/netstack/addr.js';
import { Errno } from '../../src/netstack/errno.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import { HEADROOM } from '../../src/netstack/transport.js';
import { emitIcmpv6Echo, emitIcmpv6Error } from '../../src/netstack/wire/icmpv6.js';
import { emitIpv6Header } from '../../src/netstack/wire/ipv6.js';
import { icmpv6Of, makeHost, makeSegment, v6Frame, type V6Host } from './ipv6-rig.js';
import { kernelFrame, v6 } from './ipv6-vectors.js';

const KA = v6('fd00::a');
const KB = v6('fd00::b');
const X = v6('fd00::a');
const MAC_X = Buffer.from('02000000000a', 'hex');

/** One host with the kernel capture's B identity (02:00:00:00:00:0b, fd00::b), X's MAC learned. */
function hostB(mtu = 1500) {
  const seg = makeSegment(0);
  const b = makeHost(seg.sched, Buffer.from('02000000000b', 'hex'), 7, {}, mtu);
  b.ip.addAddress(KB, 64);
  b.ip.ndp.cache.learnFromSolicitation(X, MAC_X);
  seg.sched.advance(2000);
  b.sent.length = 0;
  return { sched: seg.sched, b };
}

function fromX(b: V6Host, nh: number, body: Buffer, o: { dst?: Ipv6Addr; dstMac?: Buffer; checksumAt?: number } = {}): Buffer {
  return v6Frame(
    {
      srcMac: MAC_X,
      dstMac: o.dstMac ?? b.mac,
      src: X,
      dst: o.dst ?? KB,
      nh,
      ...(o.checksumAt !== undefined ? { fixChecksumAt: o.checksumAt } : {}),
    },
    body,
  );
}

describe('ICMPv6 echo', () => {
  it('answers the kernel echo request with the kernel echo reply', () => {
    const { b } = hostB();
    b.input(kernelFrame('echo_request'));
    const replies = icmpv6Of(b.sent, 129);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subarray(40).equals(kernelFrame('echo_reply').subarray(54))).toBe(true);
    expect(replies[0]!.toString('hex', 8, 40)).toBe(KB + KA);
  });

  it('answers an echo request sent to ff02::1 from a unicast address', () => {
    const { b } = hostB();
    const req = Buffer.alloc(16);
    emitIcmpv6Echo(req, 0, 16, 128, 1, 2, X, IPV6_ALL_NODES);
    b.input(fromX(b, 58, req, { dst: IPV6_ALL_NODES, dstMac: Buffer.from('333300000001', 'hex') }));
    const replies = icmpv6Of(b.sent, 129);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.toString('hex', 8, 24)).toBe(KB);
  });

  it('pings a neighbor, itself and reports no route and timeouts', () => {
    const seg = makeSegment(2);
    const [a, b] = seg.hosts as [V6Host, V6Host];
    a.ip.addAddress(v6('fd00::1'), 64);
    b.ip.addAddress(v6('fd00::2'), 64);
    seg.sched.advance(2000);
    const results: Record<string, PingResult> = {};
    a.icmp.ping(v6('fd00::2'), { size: 100 }, (r) => (results.neighbor = r));
    a.icmp.ping(v6('fd00::1'), {}, (r) => (results.self = r));
    a.icmp.ping(v6('2001:db8::1'), {}, (r) => (results.noRoute = r));
    seg.sched.advance(100);
    seg.drop = () => true;
    a.icmp.ping(v6('fd00::2'), { timeoutMs: 500 }, (r) => (results.lost = r));
    seg.sched.advance(1000);
    const outcome = (r: PingResult | undefined) => (r === undefined ? 'none' : r.ok ? 'ok' : r.errno);
    expect([results.neighbor, results.self, results.noRoute, results.lost].map(outcome)).toEqual([
      'ok',
      'ok',
      Errno.ENETUNREACH,
      Errno.ETIMEDOUT,
    ]);
  });
});

describe('ICMPv6 errors sent (RFC 4443 §2.4)', () => {
  const udp = (n = 8) => Buffer.alloc(n);

  it('rate-limits errors with a token bucket: a burst of 50, then 100/s', () => {
    const { sched, b } = hostB();
    b.udp.accept = false;
    for (let i = 0; i < 80; i++) b.input(fromX(b, 17, udp()));
    expect(icmpv6Of(b.sent, 1)).toHaveLength(50);
    expect(b.counters.icmpv6.get('tx_error_rate_limited')).toBe(30);
    sched.advance(100);
    for (let i = 0; i < 30; i++) b.input(fromX(b, 17, udp()));
    expect(icmpv6Of(b.sent, 1)).toHaveLength(60);
  });

  /** A destination options header with option `type` in front of `inner` (next header `nh`). */
  const destOpts = (nh: number, type: number, inner: Buffer) => Buffer.concat([Buffer.from([nh, 0, type, 4, 0, 0, 0, 0]), inner]);

  it('never answers an ICMPv6 error with one', () => {
    const { b } = hostB();
    const err = Buffer.alloc(8 + 48);
    emitIcmpv6Error(err, 0, err.length, 1, 4, 0, X, KB);
    b.input(fromX(b, 60, destOpts(58, 0xde, err)));
    expect(icmpv6Of(b.sent, 4)).toHaveLength(0);
    expect(b.counters.icmpv6.get('tx_error_suppressed')).toBe(1);
    const echo = Buffer.alloc(16);
    emitIcmpv6Echo(echo, 0, 16, 128, 1, 1, X, KB);
    b.input(fromX(b, 60, destOpts(58, 0xde, echo)));
    const pp = icmpv6Of(b.sent, 4);
    expect(pp).toHaveLength(1);
    expect([pp[0]![41], pp[0]!.readUInt32BE(44)]).toEqual([2, 42]);
  });

  it('answers a group only for option type 10xxxxxx (parameter problem code 2), never for 11xxxxxx', () => {
    const { b } = hostB();
    const mc = { dst: IPV6_ALL_NODES, dstMac: Buffer.from('333300000001', 'hex') };
    b.input(fromX(b, 60, destOpts(17, 0xde, udp()), mc));
    expect(icmpv6Of(b.sent, 4)).toHaveLength(0);
    b.input(fromX(b, 60, destOpts(17, 0x9e, udp()), mc));
    expect(icmpv6Of(b.sent, 4)).toHaveLength(1);
    // and never port unreachable for a group datagram
    b.udp.accept = false;
    b.input(fromX(b, 17, udp(), mc));
    expect(icmpv6Of(b.sent, 1)).toHaveLength(0);
  });

  it('answers a routing header with segments left (type 0 is refused, RFC 5095)', () => {
    const { b } = hostB();
    const rh0 = Buffer.concat([Buffer.from([17, 2, 0, 1, 0, 0, 0, 0]), Buffer.alloc(16), udp()]);
    b.input(fromX(b, 43, rh0));
    const pp = icmpv6Of(b.sent, 4);
    expect(pp).toHaveLength(1);
    expect([pp[0]![41], pp[0]!.readUInt32BE(44)]).toEqual([0, 42]);
    expect(b.udp.received).toHaveLength(0);
  });
});

describe('ICMPv6 errors received', () => {
  /** An error from router R quoting a packet we sent to `dst` (UDP, next header 17). */
  function errorFrame(b: V6Host, type: number, code: number, param: number, dst: Ipv6Addr, quotedLen = 1280): Buffer {
    const quoted = Buffer.alloc(Math.min(quotedLen, 1232));
    emitIpv6Header(quoted, 0, 0, 0, quotedLen - 40, 17, 64, KB, dst);
    quoted.writeUInt16BE(40000, 40);
    quoted.writeUInt16BE(53, 42);
    const msg = Buffer.alloc(8 + quoted.length);
    quoted.copy(msg, 8);
    const r = v6('fd00::fe');
    emitIcmpv6Error(msg, 0, msg.length, type, code, param, r, KB);
    return v6Frame({ srcMac: MAC_X, dstMac: b.mac, src: r, dst: KB, nh: 58 }, msg);
  }

  it('packet too big lowers the path MTU (never below 1280) and tells the transport', () => {
    const { b } = hostB(9000);
    const far = v6('2001:db8::9');
    b.ip.addRoute({ dest: v6('::'), prefixLen: 0, gateway: X, metric: 0 });
    b.input(errorFrame(b, 2, 0, 1400, far));
    expect(b.ip.maxPayloadFor(far)).toBe(1360);
    expect(b.udp.errors).toMatchObject([{ type: 2, code: 0, src: KB, dst: far, mtu: 1400, offender: v6('fd00::fe') }]);
    expect(b.udp.errors[0]!.quoted.readUInt16BE(0)).toBe(40000);
    b.input(errorFrame(b, 2, 0, 600, far));
    expect(b.ip.maxPayloadFor(far)).toBe(1240);
    expect(b.udp.errors[1]!.mtu).toBe(1280);
    // our next datagram above it goes in fragments of at most 1280 bytes
    b.sent.length = 0;
    expect(b.ip.send(17, KB, far, Buffer.alloc(HEADROOM + 3000), HEADROOM)).toBe(0);
    const frames = b.sent.filter((f) => f.readUInt16BE(12) === 0x86dd && f[20] === 44);
    expect(frames.length).toBe(3);
    expect(frames.every((f) => f.length - 14 <= 1280)).toBe(true);
  });

  it('hands destination unreachable and time exceeded to the transport; ignores errors quoting others', () => {
    const { b } = hostB();
    b.input(errorFrame(b, 1, 4, 0, X, 60));
    b.input(errorFrame(b, 3, 0, 0, X, 60));
    expect(b.udp.errors.map((e) => [e.type, e.code])).toEqual([
      [1, 4],
      [3, 0],
    ]);
    const notOurs = errorFrame(b, 1, 4, 0, X, 60);
    notOurs.write(v6('fd00::55'), 54 + 8 + 8, 16, 'hex');
    // fix its checksum
    const msg = notOurs.subarray(54);
    emitIcmpv6Error(msg, 0, msg.length, 1, 4, 0, v6('fd00::fe'), KB);
    b.input(notOurs);
    expect(b.counters.icmpv6.get('rx_error_not_ours')).toBe(1);
    expect(b.udp.errors).toHaveLength(2);
  });

  it('drops messages with a bad checksum', () => {
    const { b } = hostB();
    const f = kernelFrame('echo_request');
    f[f.length - 1] = f[f.length - 1]! ^ 1;
    b.input(f);
    expect(b.counters.icmpv6.get('rx_bad_checksum')).toBe(1);
    expect(icmpv6Of(b.sent, 129)).toHaveLength(0);
  });
});
