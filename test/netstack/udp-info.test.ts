/**
 * UDP receive information and send options between full stacks in virtual time: the local
 * address, TOS and TTL of each datagram (IP_PKTINFO, IP_RECVTOS, IP_RECVTTL), per-datagram TOS,
 * TTL and source, IP_TOS/IP_TTL, IP_MTU_DISCOVER (DF and -EMSGSIZE as Linux), IP_MTU, and ICMP
 * errors reported as IcmpErrorReport (connected sockets always, others with IP_RECVERR).
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { PmtuDisc, type IcmpErrorReport } from '../../src/netstack/socket-api.js';
import { IPPROTO_ICMP, IPPROTO_UDP } from '../../src/netstack/transport.js';
import { parseIpv4, Ipv4Header } from '../../src/netstack/wire/ipv4.js';
import { addressedSegment, icmpErrorMessage, ip, ipv4Frame } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const ROUTER = ip(10, 0, 0, 9);

/** The IPv4 headers of the UDP packets stack `from` put on the wire. */
function sentUdp(seg: ReturnType<typeof addressedSegment>, from: number): Ipv4Header[] {
  const out: Ipv4Header[] = [];
  for (const f of seg.frames) {
    if (f.from !== from || f.frame.readUInt16BE(12) !== 0x0800) continue;
    const h = new Ipv4Header();
    if (parseIpv4(f.frame.subarray(14), h) === 0 && h.protocol === IPPROTO_UDP) out.push(h);
  }
  return out;
}

describe('UDP receive information', () => {
  it('each datagram carries the address it was sent to, its TOS and TTL', () => {
    const seg = addressedSegment(2);
    const [a, b] = seg.stacks as [NonNullable<(typeof seg.stacks)[0]>, NonNullable<(typeof seg.stacks)[0]>];
    const server = b.udpSocket();
    expect(server.bind(0, 7000)).toBe(0);
    expect(server.setOption('BROADCAST', 1)).toBe(0);
    const client = a.udpSocket();
    expect(client.setOption('TOS', 0xb8)).toBe(0);
    expect(client.setOption('TTL', 17)).toBe(0);
    expect(client.getOption('TOS')).toBe(0xb8);
    expect(client.getOption('TTL')).toBe(17);
    expect(client.sendTo(Buffer.from('one'), { addr: B, port: 7000 })).toBe(3);
    expect(client.sendTo(Buffer.from('two'), { addr: B, port: 7000 }, { tos: 0x10, ttl: 3 })).toBe(3);
    seg.sched.advance(10); // the unicasts wait for ARP; keep them first
    expect(client.setOption('BROADCAST', 1)).toBe(0);
    expect(client.sendTo(Buffer.from('all'), { addr: ip(10, 0, 0, 255), port: 7000 })).toBe(3);
    seg.sched.advance(10);
    const d1 = server.recv()!;
    expect(d1).toMatchObject({ from: { addr: A }, to: B, tos: 0xb8, ttl: 17 });
    expect(d1.data.toString()).toBe('one');
    expect(server.recv()).toMatchObject({ to: B, tos: 0x10, ttl: 3 });
    expect(server.recv()).toMatchObject({ to: ip(10, 0, 0, 255), tos: 0xb8, ttl: 17 });
    expect(client.setOption('TTL', -1)).toBe(0);
    expect(client.getOption('TTL')).toBe(64);
    expect(client.setOption('TTL', 0)).toBe(-Errno.EINVAL);
    expect(client.setOption('TTL', 256)).toBe(-Errno.EINVAL);
  });

  it('per-datagram options are checked: TTL 1-255, TOS 0-255, a source of our own', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const b = seg.stacks[1]!;
    const server = b.udpSocket();
    server.bind(0, 7000);
    const c = a.udpSocket();
    const to = { addr: B, port: 7000 };
    expect(c.sendTo(Buffer.from('x'), to, { ttl: 0 })).toBe(-Errno.EINVAL);
    expect(c.sendTo(Buffer.from('x'), to, { ttl: 256 })).toBe(-Errno.EINVAL);
    expect(c.sendTo(Buffer.from('x'), to, { tos: 300 })).toBe(-Errno.EINVAL);
    expect(c.sendTo(Buffer.from('x'), to, { src: ip(10, 0, 0, 77) })).toBe(-Errno.EINVAL);
    a.addAddress(ip(10, 0, 0, 50), 24);
    expect(c.sendTo(Buffer.from('x'), to, { src: ip(10, 0, 0, 50) })).toBe(1);
    seg.sched.advance(10);
    expect(server.recv()?.from.addr).toBe(ip(10, 0, 0, 50));
  });
});

describe('IP_MTU_DISCOVER and IP_MTU', () => {
  it('WANT (the default) sets DF while a datagram fits and fragments beyond; DONT never sets DF', () => {
    const seg = addressedSegment(2, { mtu: 1500 });
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    b.udpSocket().bind(0, 7000);
    const c = a.udpSocket();
    expect(c.getOption('MTU_DISCOVER')).toBe(PmtuDisc.WANT);
    expect(c.sendTo(Buffer.alloc(100), { addr: B, port: 7000 })).toBe(100);
    expect(c.sendTo(Buffer.alloc(3000), { addr: B, port: 7000 })).toBe(3000);
    expect(c.setOption('MTU_DISCOVER', PmtuDisc.DONT)).toBe(0);
    expect(c.sendTo(Buffer.alloc(100), { addr: B, port: 7000 })).toBe(100);
    seg.sched.advance(10);
    const sent = sentUdp(seg, 0);
    expect(sent.map((h) => h.dontFragment)).toEqual([true, false, false, false, false]);
    expect(sent.slice(1, 4).map((h) => h.isFragment)).toEqual([true, true, true]);
  });

  it('DO and PROBE set DF and refuse a datagram above the MTU with EMSGSIZE', () => {
    const seg = addressedSegment(2, { mtu: 1500 });
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const s = b.udpSocket();
    s.bind(0, 7000);
    const c = a.udpSocket();
    expect(c.setOption('MTU_DISCOVER', PmtuDisc.DO)).toBe(0);
    expect(c.sendTo(Buffer.alloc(1472), { addr: B, port: 7000 })).toBe(1472);
    expect(c.sendTo(Buffer.alloc(1473), { addr: B, port: 7000 })).toBe(-Errno.EMSGSIZE);
    expect(c.setOption('MTU_DISCOVER', PmtuDisc.PROBE)).toBe(0);
    expect(c.sendTo(Buffer.alloc(1473), { addr: B, port: 7000 })).toBe(-Errno.EMSGSIZE);
    expect(c.setOption('MTU_DISCOVER', 6)).toBe(-Errno.EINVAL);
    seg.sched.advance(10);
    expect(sentUdp(seg, 0).map((h) => h.dontFragment)).toEqual([true]);
    expect(s.recv()?.data.length).toBe(1472);
    expect(a.counters().ipv4!.tx_emsgsize).toBe(2);
  });

  it('IP_MTU is the path MTU to the connected peer, lowered by fragmentation needed; ENOTCONN unconnected', () => {
    const seg = addressedSegment(2, { mtu: 1500 });
    const a = seg.stacks[0]!;
    seg.stacks[1]!.udpSocket().bind(0, 7000);
    const c = a.udpSocket();
    expect(c.pathMtu()).toBe(-Errno.ENOTCONN);
    expect(c.connect(B, 7000)).toBe(0);
    expect(c.pathMtu()).toBe(1500);
    expect(c.setOption('MTU_DISCOVER', PmtuDisc.DO)).toBe(0);
    const reports: IcmpErrorReport[] = [];
    c.handlers.onError = (r) => reports.push(r);
    expect(c.sendTo(Buffer.alloc(1400, 7))).toBe(1400);
    seg.sched.advance(10);
    // a router between us says the path carries 1280
    const sent = seg.frames
      .filter((f) => f.from === 0 && f.frame.readUInt16BE(12) === 0x0800)
      .at(-1)!
      .frame.subarray(14);
    const msg = icmpErrorMessage(3, 4, sent.subarray(0, 28 + 16), 1280);
    seg.inject(ipv4Frame(a.mac, { src: ROUTER, dst: A, protocol: IPPROTO_ICMP, payload: msg }));
    seg.sched.advance(10);
    expect(c.pathMtu()).toBe(1280);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      errno: Errno.EMSGSIZE,
      offender: ROUTER,
      type: 3,
      code: 4,
      info: 1280,
      dst: { addr: B, port: 7000 },
    });
    expect(reports[0]!.payload.equals(Buffer.alloc(16, 7))).toBe(true);
    expect(c.sendTo(Buffer.alloc(1400))).toBe(-Errno.EMSGSIZE); // the pending error, once
    expect(c.sendTo(Buffer.alloc(1400))).toBe(-Errno.EMSGSIZE); // now the path MTU
    expect(c.sendTo(Buffer.alloc(1252))).toBe(1252);
  });
});

describe('ICMP errors as IcmpErrorReport', () => {
  it('a connected socket hears port unreachable with the offender, quoted destination and payload', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const c = a.udpSocket();
    expect(c.connect(B, 4444)).toBe(0);
    const reports: IcmpErrorReport[] = [];
    c.handlers.onError = (r) => reports.push(r);
    expect(c.sendTo(Buffer.from('hello'))).toBe(5);
    seg.sched.advance(10);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ errno: Errno.ECONNREFUSED, offender: B, type: 3, code: 3, info: 0, dst: { addr: B, port: 4444 } });
    expect(reports[0]!.payload.toString()).toBe('hello');
    expect(c.takeError()).toBe(Errno.ECONNREFUSED);
    expect(c.takeError()).toBe(0);
  });

  it('an unconnected socket hears errors only with RECVERR', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const quiet = a.udpSocket();
    const loud = a.udpSocket();
    expect(loud.setOption('RECVERR', 1)).toBe(0);
    expect(loud.getOption('RECVERR')).toBe(1);
    const heard: Array<[string, IcmpErrorReport]> = [];
    quiet.handlers.onError = (r) => heard.push(['quiet', r]);
    loud.handlers.onError = (r) => heard.push(['loud', r]);
    quiet.sendTo(Buffer.from('q'), { addr: B, port: 4444 });
    loud.sendTo(Buffer.from('l'), { addr: B, port: 4445 });
    seg.sched.advance(10);
    expect(heard.map(([w, r]) => [w, r.errno, r.dst.port, r.payload.toString()])).toEqual([['loud', Errno.ECONNREFUSED, 4445, 'l']]);
    expect(quiet.takeError()).toBe(0);
    expect(loud.takeError()).toBe(Errno.ECONNREFUSED);
    expect(a.counters().udp!.icmp_unconnected_ignored).toBe(1);
  });

  it('an ARP failure reaches a connected socket as host unreachable from our own address', () => {
    const seg = addressedSegment(1);
    const a = seg.stacks[0]!;
    const c = a.udpSocket();
    expect(c.connect(ip(10, 0, 0, 42), 9)).toBe(0);
    const reports: IcmpErrorReport[] = [];
    c.handlers.onError = (r) => reports.push(r);
    c.sendTo(Buffer.alloc(2000, 1));
    seg.sched.advance(5000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      errno: Errno.EHOSTUNREACH,
      offender: A,
      type: 3,
      code: 1,
      dst: { addr: ip(10, 0, 0, 42), port: 9 },
    });
    // no more of the datagram than an ICMP error would quote (576 − 20 − 8, less the UDP header)
    expect(reports[0]!.payload.equals(Buffer.alloc(540, 1))).toBe(true);
  });
});
