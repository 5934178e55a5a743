/**
 * Ping sockets (SOCK_DGRAM + IPPROTO_ICMP) and raw ICMP sockets between full stacks in virtual
 * time, with Linux's semantics: echo ids per ping socket, replies and errors to the socket whose
 * id they carry, raw sockets seeing every ICMP packet (IP header included) less ICMP_FILTER's
 * types, and the stack still answering echo requests itself.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import type { IcmpErrorReport, UdpSocket } from '../../src/netstack/socket-api.js';
import { IPPROTO_ICMP } from '../../src/netstack/transport.js';
import { checksum } from '../../src/netstack/wire/checksum.js';
import { emitIcmpEcho } from '../../src/netstack/wire/icmp.js';
import { addressedSegment, icmpErrorMessage, ip, ipv4Frame } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const ROUTER = ip(10, 0, 0, 9);

/** An echo request with `id`, `seq` and `data` (checksummed, though a ping socket redoes it). */
function echoRequest(seq: number, data = Buffer.from('ping data'), id = 0): Buffer {
  const m = Buffer.alloc(8 + data.length);
  data.copy(m, 8);
  emitIcmpEcho(m, 0, m.length, 8, id, seq);
  return m;
}

function drain(s: UdpSocket): Buffer[] {
  const out: Buffer[] = [];
  for (let d = s.recv(); d; d = s.recv()) out.push(d.data);
  return out;
}

describe('ping sockets', () => {
  it('echo requests carry the socket id; each socket gets its own replies, whole, from port 0', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const p1 = a.icmpSocket('ping');
    const p2 = a.icmpSocket('ping');
    expect(p1.bind(0, 0)).toBe(0);
    expect(p2.bind(0, 4242)).toBe(0);
    const id1 = p1.localAddress()!.port;
    expect(id1).toBeGreaterThan(0);
    expect(p2.localAddress()).toEqual({ addr: 0, port: 4242 });
    expect(a.icmpSocket('ping').bind(0, 4242)).toBe(-Errno.EADDRINUSE);
    expect(p1.sendTo(echoRequest(1, Buffer.from('one')), { addr: B, port: 0 })).toBe(11);
    expect(p2.sendTo(echoRequest(2, Buffer.from('two')), { addr: B, port: 0 })).toBe(11);
    seg.sched.advance(10);
    const d1 = p1.recv()!;
    expect(d1.from).toEqual({ addr: B, port: 0 });
    expect(d1.to).toBe(A);
    expect(d1.ttl).toBe(64);
    expect(d1.data[0]).toBe(0); // echo reply
    expect(d1.data.readUInt16BE(4)).toBe(id1);
    expect(d1.data.readUInt16BE(6)).toBe(1);
    expect(d1.data.subarray(8).toString()).toBe('one');
    expect(checksum(d1.data, 0, d1.data.length)).toBe(0);
    expect(p1.recv()).toBeNull();
    const d2 = p2.recv()!;
    expect(d2.data.readUInt16BE(4)).toBe(4242);
    expect(d2.data.subarray(8).toString()).toBe('two');
    expect(seg.stacks[1]!.counters().icmp!.tx_echo_reply).toBe(2); // the stack answered itself
  });

  it('only echo requests of at least 8 bytes go; a first send picks an id; the own address answers', () => {
    const seg = addressedSegment(1);
    const a = seg.stacks[0]!;
    const p = a.icmpSocket('ping');
    expect(p.sendTo(Buffer.alloc(7, 0), { addr: A, port: 0 })).toBe(-Errno.EINVAL);
    const reply = echoRequest(1);
    reply[0] = 0;
    expect(p.sendTo(reply, { addr: A, port: 0 })).toBe(-Errno.EINVAL);
    expect(p.sendTo(Buffer.alloc(8), { addr: A, port: 0 })).toBe(-Errno.EINVAL); // type 0
    expect(p.sendTo(echoRequest(1))).toBe(-Errno.EDESTADDRREQ);
    expect(p.localAddress()).toBeNull();
    expect(p.connect(A, 0)).toBe(0);
    expect(p.localAddress()!.port).toBeGreaterThan(0);
    expect(p.sendTo(echoRequest(9))).toBe(17);
    seg.sched.advance(1);
    const d = p.recv()!;
    expect(d.from.addr).toBe(A);
    expect(d.data.readUInt16BE(6)).toBe(9);
    expect(p.getOption('ICMP_FILTER')).toBe(-Errno.ENOPROTOOPT);
    expect(a.udpSocket().setOption('ICMP_FILTER', 1)).toBe(-Errno.ENOPROTOOPT);
  });

  it('errors quoting our echo requests reach the socket with that id (RECVERR or connected)', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const p = a.icmpSocket('ping');
    const other = a.icmpSocket('ping');
    expect(p.setOption('RECVERR', 1)).toBe(0);
    expect(other.setOption('RECVERR', 1)).toBe(0);
    const reports: IcmpErrorReport[] = [];
    p.handlers.onError = (r) => reports.push(r);
    other.handlers.onError = () => reports.push({ errno: -1 } as IcmpErrorReport);
    other.bind(0, 0);
    p.bind(0, 0);
    const far = ip(10, 0, 5, 5);
    a.addRoute({ dest: ip(10, 0, 5, 0), prefixLen: 24, gateway: ROUTER, metric: 0 });
    // the router says the TTL ran out, quoting our request
    const req = echoRequest(3);
    req.writeUInt16BE(p.localAddress()!.port, 4);
    const quotedIp = Buffer.alloc(28);
    quotedIp[0] = 0x45;
    quotedIp.writeUInt16BE(20 + req.length, 2);
    quotedIp[9] = IPPROTO_ICMP;
    quotedIp.writeUInt32BE(A, 12);
    quotedIp.writeUInt32BE(far, 16);
    req.copy(quotedIp, 20, 0, 8);
    seg.inject(ipv4Frame(a.mac, { src: ROUTER, dst: A, protocol: IPPROTO_ICMP, payload: icmpErrorMessage(11, 0, quotedIp) }));
    seg.sched.advance(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      errno: Errno.EHOSTUNREACH,
      offender: ROUTER,
      type: 11,
      code: 0,
      info: 0,
      dst: { addr: far, port: 0 },
    });
    expect(reports[0]!.payload[0]).toBe(8);
    expect(reports[0]!.payload.readUInt16BE(4)).toBe(p.localAddress()!.port);
    // an ARP failure is a host unreachable from ourselves
    expect(p.sendTo(echoRequest(4), { addr: ip(10, 0, 0, 77), port: 0 })).toBe(17);
    seg.sched.advance(5000);
    expect(reports.map((r) => [r.errno, r.offender])).toEqual([
      [Errno.EHOSTUNREACH, ROUTER],
      [Errno.EHOSTUNREACH, A],
    ]);
  });

  it('the ping() helper keeps working beside ping sockets', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const p = a.icmpSocket('ping');
    p.bind(0, 0);
    let result: unknown = null;
    a.ping(B, {}, (r) => (result = r));
    p.sendTo(echoRequest(1), { addr: B, port: 0 });
    seg.sched.runUntil(() => result !== null, 2000);
    expect(result).toMatchObject({ ok: true, ttl: 64 });
    seg.sched.advance(10);
    expect(drain(p)).toHaveLength(1);
  });
});

describe('raw ICMP sockets', () => {
  it('see a copy of every ICMP packet, IP header first; ICMP_FILTER drops the types it names', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const rawB = b.icmpSocket('raw');
    const rawA = a.icmpSocket('raw');
    const filtered = a.icmpSocket('raw');
    expect(filtered.setOption('ICMP_FILTER', 1 << 0)).toBe(0); // no echo replies
    expect(filtered.getOption('ICMP_FILTER')).toBe(1);
    expect(rawA.localAddress()).toEqual({ addr: 0, port: IPPROTO_ICMP });
    // a hand-made echo request sent as given, checksum and all
    const req = echoRequest(5, Buffer.from('raw'), 0x1234);
    expect(rawA.sendTo(req, { addr: B, port: 0 })).toBe(req.length);
    seg.sched.advance(10);
    const atB = drain(rawB);
    expect(atB).toHaveLength(1); // the request; B's own reply leaves, it does not arrive
    expect(atB[0]![0]).toBe(0x45);
    expect(atB[0]!.readUInt32BE(12)).toBe(A);
    expect(atB[0]!.subarray(20).equals(req)).toBe(true);
    const atA = drain(rawA);
    expect(atA).toHaveLength(1);
    expect(atA[0]![20]).toBe(0); // the reply
    expect(atA[0]!.readUInt16BE(24)).toBe(0x1234);
    expect(drain(filtered)).toHaveLength(0);
    expect(a.counters().icmp!.raw_filtered).toBe(1);
    // a ping socket's replies also show on raw sockets, as on Linux
    const p = a.icmpSocket('ping');
    p.sendTo(echoRequest(6), { addr: B, port: 0 });
    seg.sched.advance(10);
    expect(drain(p)).toHaveLength(1);
    expect(drain(rawA)).toHaveLength(1);
  });

  it('a bound or connected raw socket sees only its address and peer', () => {
    const seg = addressedSegment(3);
    const [a, b, c] = [seg.stacks[0]!, seg.stacks[1]!, seg.stacks[2]!];
    const fromB = a.icmpSocket('raw');
    expect(fromB.connect(B, 0)).toBe(0);
    const any = a.icmpSocket('raw');
    expect(any.bind(ip(10, 0, 0, 99), 0)).toBe(-Errno.EADDRNOTAVAIL);
    expect(any.bind(A, 0)).toBe(0);
    let n = 0;
    b.ping(A, {}, () => n++);
    c.ping(A, {}, () => n++);
    seg.sched.runUntil(() => n === 2, 2000);
    expect(drain(fromB)).toHaveLength(1);
    expect(drain(any)).toHaveLength(2);
  });

  it('a raw socket with RECVERR hears errors about the ICMP it sent', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const raw = a.icmpSocket('raw');
    raw.setOption('RECVERR', 1);
    const errs: number[] = [];
    raw.handlers.onError = (r) => errs.push(r.errno);
    raw.sendTo(echoRequest(1), { addr: ip(10, 0, 0, 77), port: 0 });
    seg.sched.advance(5000);
    expect(errs).toEqual([Errno.EHOSTUNREACH]);
  });
});
