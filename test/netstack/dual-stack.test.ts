/**
 * Dual-stack sockets between two full stacks on a simulated Ethernet segment (10.0.0.1/24 and
 * fd00::1/64 on a, 10.0.0.2/24 and fd00::2/64 on b): TCP and UDP over IPv6, family-6 sockets
 * meeting IPv4 peers through v4-mapped addresses (V6ONLY 0) or refusing them (V6ONLY 1), bind
 * conflicts across families as Linux, fragmentation of a large UDP datagram, and ICMPv6 ping.
 */
import { describe, expect, it } from 'vitest';
import { IPV6_ANY, IPV6_LOOPBACK, parseIpv6Addr, v4Mapped, type IpAddr } from '../../src/netstack/addr.js';
import { Errno } from '../../src/netstack/errno.js';
import { SIM_ADDR_A, SIM_ADDR_B, SIM_ADDR6_A, SIM_ADDR6_B, simStackPair } from '../../src/netstack/sim-link.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { bulk, connectPair, familyRig } from '../support/netstack-rig.js';

function dualPair(opts: { mtu?: number; seed?: number } = {}): {
  a: NetStack;
  b: NetStack;
  until: (d: () => boolean, ms?: number) => boolean;
} {
  const seg = simStackPair(opts);
  const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
  a.addAddress(SIM_ADDR6_A, 64);
  b.addAddress(SIM_ADDR6_B, 64);
  seg.sched.advance(10);
  return { a, b, until: (d, ms = 10_000) => seg.sched.runUntil(d, ms) };
}

/** Listens on `server` (bound to addr:port), connects `client` to `dst`:port; returns the accepted socket or null. */
function handshake(
  until: (d: () => boolean, ms?: number) => boolean,
  listener: TcpSocket,
  client: TcpSocket,
  dst: IpAddr,
  port: number,
): TcpSocket | null {
  expect(listener.listen(8)).toBe(0);
  const r = client.connect(dst, port);
  if (r !== -Errno.EINPROGRESS) return null;
  let accepted: TcpSocket | null = null;
  until(() => (accepted ??= listener.accept()) !== null && client.state === 'ESTABLISHED', 5_000);
  return accepted;
}

describe('dual-stack TCP', () => {
  it('a family-6 connection over IPv6 carries data both ways with v6 addresses reported', () => {
    const { a, b, until } = dualPair();
    const l = b.tcpSocket(6);
    expect(l.bind(IPV6_ANY, 80)).toBe(0);
    const c = a.tcpSocket(6);
    const s = handshake(until, l, c, SIM_ADDR6_B, 80);
    expect(s).not.toBeNull();
    expect(s!.remoteAddress()!.addr).toBe(SIM_ADDR6_A);
    expect(s!.localAddress()!.addr).toBe(SIM_ADDR6_B);
    expect(c.localAddress()!.addr).toBe(SIM_ADDR6_A);
    expect(c.write(Buffer.from('hello over v6'))).toBe(13);
    until(() => s!.readableBytes() === 13);
    expect((s!.read() as Buffer).toString()).toBe('hello over v6');
    expect(s!.info().mss).toBe(2800 - 40 - 20 - 12);
  });

  it('a listener on :: with V6ONLY 0 accepts an IPv4 peer, reported as ::ffff:a.b.c.d', () => {
    const { a, b, until } = dualPair();
    const l = b.tcpSocket(6);
    expect(l.getOption('V6ONLY')).toBe(0);
    expect(l.bind(IPV6_ANY, 80)).toBe(0);
    const c = a.tcpSocket(4);
    const s = handshake(until, l, c, SIM_ADDR_B, 80);
    expect(s).not.toBeNull();
    expect(s!.family).toBe(6);
    expect(s!.remoteAddress()).toEqual({ addr: v4Mapped(SIM_ADDR_A), port: c.localAddress()!.port });
    expect(s!.localAddress()!.addr).toBe(v4Mapped(SIM_ADDR_B));
    expect(c.remoteAddress()!.addr).toBe(SIM_ADDR_B);
  });

  it('a listener on :: with V6ONLY 1 refuses an IPv4 peer (RST: ECONNREFUSED)', () => {
    const { a, b, until } = dualPair();
    const l = b.tcpSocket(6);
    expect(l.setOption('V6ONLY', 1)).toBe(0);
    expect(l.bind(IPV6_ANY, 80)).toBe(0);
    expect(l.setOption('V6ONLY', 0)).toBe(-Errno.EINVAL);
    expect(l.listen(8)).toBe(0);
    const c = a.tcpSocket(4);
    let err = 0;
    c.handlers.onError = (e) => (err = e);
    expect(c.connect(SIM_ADDR_B, 80)).toBe(-Errno.EINPROGRESS);
    until(() => err !== 0);
    expect(err).toBe(Errno.ECONNREFUSED);
    expect(l.accept()).toBeNull();
  });

  it('a family-6 socket connects to an IPv4 server through a v4-mapped address; under V6ONLY it cannot', () => {
    const { a, b, until } = dualPair();
    const l = b.tcpSocket(4);
    expect(l.bind(0, 81)).toBe(0);
    const c = a.tcpSocket(6);
    const s = handshake(until, l, c, v4Mapped(SIM_ADDR_B), 81);
    expect(s).not.toBeNull();
    expect(s!.remoteAddress()!.addr).toBe(SIM_ADDR_A);
    expect(c.localAddress()!.addr).toBe(v4Mapped(SIM_ADDR_A));
    expect(c.remoteAddress()!.addr).toBe(v4Mapped(SIM_ADDR_B));
    const only6 = a.tcpSocket(6);
    expect(only6.setOption('V6ONLY', 1)).toBe(0);
    expect(only6.connect(v4Mapped(SIM_ADDR_B), 81)).toBe(-Errno.ENETUNREACH);
  });

  it('addresses of the wrong family: EAFNOSUPPORT', () => {
    const { a } = dualPair();
    expect(a.tcpSocket(4).bind(IPV6_ANY, 0)).toBe(-Errno.EAFNOSUPPORT);
    expect(a.tcpSocket(4).connect(SIM_ADDR6_B, 80)).toBe(-Errno.EAFNOSUPPORT);
    expect(a.tcpSocket(6).bind(0, 0)).toBe(-Errno.EAFNOSUPPORT);
    expect(a.tcpSocket(6).connect(SIM_ADDR_B, 80)).toBe(-Errno.EAFNOSUPPORT);
    expect(a.tcpSocket(4).getOption('V6ONLY')).toBe(-Errno.ENOPROTOOPT);
  });

  it('bind conflicts across families as Linux', () => {
    const { a } = dualPair();
    const dual = a.tcpSocket(6);
    expect(dual.bind(IPV6_ANY, 90)).toBe(0);
    // a dual-stack :: covers 0.0.0.0 and every IPv4 address on the port
    expect(a.tcpSocket(4).bind(0, 90)).toBe(-Errno.EADDRINUSE);
    expect(a.tcpSocket(4).bind(SIM_ADDR_A, 90)).toBe(-Errno.EADDRINUSE);
    expect(a.tcpSocket(6).bind(SIM_ADDR6_A, 90)).toBe(-Errno.EADDRINUSE);
    // a V6ONLY :: does not
    const only6 = a.tcpSocket(6);
    only6.setOption('V6ONLY', 1);
    expect(only6.bind(IPV6_ANY, 91)).toBe(0);
    expect(a.tcpSocket(4).bind(0, 91)).toBe(0);
    // 0.0.0.0 first: a dual-stack :: after it conflicts, a V6ONLY one does not
    expect(a.tcpSocket(4).bind(0, 92)).toBe(0);
    expect(a.tcpSocket(6).bind(IPV6_ANY, 92)).toBe(-Errno.EADDRINUSE);
    const v6only92 = a.tcpSocket(6);
    v6only92.setOption('V6ONLY', 1);
    expect(v6only92.bind(IPV6_ANY, 92)).toBe(0);
    // a specific IPv6 address and an IPv4 wildcard never overlap
    expect(a.tcpSocket(6).bind(SIM_ADDR6_A, 93)).toBe(0);
    expect(a.tcpSocket(4).bind(0, 93)).toBe(0);
    // binding ::ffff:a.b.c.d binds the IPv4 address
    const mapped = a.tcpSocket(6);
    expect(mapped.bind(v4Mapped(SIM_ADDR_A), 94)).toBe(0);
    expect(a.tcpSocket(4).bind(SIM_ADDR_A, 94)).toBe(-Errno.EADDRINUSE);
    expect(mapped.localAddress()!.addr).toBe(v4Mapped(SIM_ADDR_A));
    // an address that is not ours
    expect(a.tcpSocket(6).bind(parseIpv6Addr('2001:db8::1')!, 95)).toBe(-Errno.EADDRNOTAVAIL);
  });

  it('an IPv4 SYN prefers an IPv4 listener on 0.0.0.0 over a dual-stack ::', () => {
    const { a, b, until } = dualPair();
    const l4 = b.tcpSocket(4);
    l4.setOption('REUSEADDR', 1);
    const l6 = b.tcpSocket(6);
    l6.setOption('V6ONLY', 1);
    expect(l6.bind(IPV6_ANY, 80)).toBe(0);
    expect(l4.bind(0, 80)).toBe(0);
    expect(l6.listen(8)).toBe(0);
    const s4 = handshake(until, l4, a.tcpSocket(4), SIM_ADDR_B, 80);
    expect(s4?.family).toBe(4);
    const c6 = a.tcpSocket(6);
    expect(c6.connect(SIM_ADDR6_B, 80)).toBe(-Errno.EINPROGRESS);
    let s6: TcpSocket | null = null;
    until(() => (s6 ??= l6.accept()) !== null);
    expect(s6!.family).toBe(6);
  });
});

describe('dual-stack UDP', () => {
  it('UDP over IPv6 both ways, with the v6 source and destination reported', () => {
    const { a, b, until } = dualPair();
    const rx = b.udpSocket(6);
    expect(rx.bind(IPV6_ANY, 5353)).toBe(0);
    const tx = a.udpSocket(6);
    expect(tx.sendTo(Buffer.from('ping6'), { addr: SIM_ADDR6_B, port: 5353 })).toBe(5);
    until(() => rx.pendingDatagrams > 0);
    const d = rx.recv()!;
    expect(d.data.toString()).toBe('ping6');
    expect(d.from.addr).toBe(SIM_ADDR6_A);
    expect(d.to).toBe(SIM_ADDR6_B);
    expect(rx.sendTo(Buffer.from('pong6'), d.from)).toBe(5);
    until(() => tx.pendingDatagrams > 0);
    expect(tx.recv()!.data.toString()).toBe('pong6');
  });

  it('a 3000-byte datagram is fragmented at MTU 2800 and reassembled', () => {
    const { a, b, until } = dualPair({ mtu: 2800 });
    const rx = b.udpSocket(6);
    expect(rx.bind(IPV6_ANY, 7000)).toBe(0);
    const payload = Buffer.alloc(3000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    expect(a.udpSocket(6).sendTo(payload, { addr: SIM_ADDR6_B, port: 7000 })).toBe(3000);
    until(() => rx.pendingDatagrams > 0);
    expect(rx.recv()!.data.equals(payload)).toBe(true);
    expect(a.counters().ipv6!.tx_fragments ?? a.counters().ipv6!.tx_fragmented).toBeGreaterThan(0);
  });

  it('a dual-stack socket on :: hears IPv4 senders as ::ffff:a.b.c.d and answers them; V6ONLY ones do not', () => {
    const { a, b, until } = dualPair();
    const rx = b.udpSocket(6);
    expect(rx.bind(IPV6_ANY, 6000)).toBe(0);
    const tx = a.udpSocket(4);
    expect(tx.sendTo(Buffer.from('v4'), { addr: SIM_ADDR_B, port: 6000 })).toBe(2);
    until(() => rx.pendingDatagrams > 0);
    const d = rx.recv()!;
    expect(d.from.addr).toBe(v4Mapped(SIM_ADDR_A));
    expect(d.to).toBe(v4Mapped(SIM_ADDR_B));
    expect(rx.sendTo(Buffer.from('back'), d.from)).toBe(4);
    until(() => tx.pendingDatagrams > 0);
    expect(tx.recv()!.from.addr).toBe(SIM_ADDR_B);

    const only6 = b.udpSocket(6);
    only6.setOption('V6ONLY', 1);
    expect(only6.bind(IPV6_ANY, 6001)).toBe(0);
    expect(only6.sendTo(Buffer.from('x'), { addr: v4Mapped(SIM_ADDR_A), port: 1 })).toBe(-Errno.ENETUNREACH);
    let refused = 0;
    tx.handlers.onError = (r) => (refused = r.errno);
    tx.connect(SIM_ADDR_B, 6001);
    expect(tx.sendTo(Buffer.from('v4'))).toBe(2);
    until(() => refused !== 0);
    expect(refused).toBe(Errno.ECONNREFUSED);
    expect(only6.pendingDatagrams).toBe(0);
  });

  it('port unreachable over IPv6 reaches a connected socket as ECONNREFUSED with ICMPv6 type/code', () => {
    const { a, until } = dualPair();
    const tx = a.udpSocket(6);
    let report: { errno: number; type: number; code: number; offender: IpAddr } | null = null;
    tx.handlers.onError = (r) => (report = r);
    expect(tx.connect(SIM_ADDR6_B, 9)).toBe(0);
    expect(tx.sendTo(Buffer.from('x'))).toBe(1);
    until(() => report !== null);
    expect(report).toMatchObject({ errno: Errno.ECONNREFUSED, type: 1, code: 4, offender: SIM_ADDR6_B });
    expect(tx.takeError()).toBe(Errno.ECONNREFUSED);
  });

  it('on a family-6 socket TOS is the traffic class and TTL the hop limit; IPv6 datagrams go up to 65,527 bytes', () => {
    const { a, b, until } = dualPair();
    const rx = b.udpSocket(6);
    expect(rx.bind(IPV6_ANY, 5000)).toBe(0);
    const tx = a.udpSocket(6);
    expect(tx.setOption('TOS', 0xb8)).toBe(0);
    expect(tx.setOption('TTL', 7)).toBe(0);
    expect(tx.sendTo(Buffer.from('x'), { addr: SIM_ADDR6_B, port: 5000 })).toBe(1);
    expect(tx.sendTo(Buffer.from('y'), { addr: SIM_ADDR6_B, port: 5000 }, { tos: 0x20, ttl: 3 })).toBe(1);
    expect(tx.sendTo(Buffer.alloc(65_527, 1), { addr: SIM_ADDR6_B, port: 5000 })).toBe(65_527);
    expect(tx.sendTo(Buffer.alloc(65_528), { addr: SIM_ADDR6_B, port: 5000 })).toBe(-Errno.EMSGSIZE);
    until(() => rx.pendingDatagrams === 3);
    expect(rx.recv()).toMatchObject({ tos: 0xb8, ttl: 7 });
    expect(rx.recv()).toMatchObject({ tos: 0x20, ttl: 3 });
    expect(rx.recv()!.data.length).toBe(65_527);
  });

  it('UDP bind conflicts across families', () => {
    const { a } = dualPair();
    expect(a.udpSocket(6).bind(IPV6_ANY, 4000)).toBe(0);
    expect(a.udpSocket(4).bind(0, 4000)).toBe(-Errno.EADDRINUSE);
    const only6 = a.udpSocket(6);
    only6.setOption('V6ONLY', 1);
    expect(only6.bind(IPV6_ANY, 4001)).toBe(0);
    expect(a.udpSocket(4).bind(0, 4001)).toBe(0);
    expect(a.udpSocket(4).bind(0, IPV6_ANY as unknown as number)).toBe(-Errno.EINVAL);
  });

  it('joinGroup6 joins an IPv6 group (listed by multicastGroups) and receives what is sent to it', () => {
    const { a, b, until } = dualPair();
    const group = parseIpv6Addr('ff12::1234')!;
    const rx = b.udpSocket(6);
    expect(rx.bind(IPV6_ANY, 8000)).toBe(0);
    expect(rx.joinGroup6(group)).toBe(0);
    expect(rx.joinGroup6(group)).toBe(-Errno.EADDRINUSE);
    expect(rx.joinGroup6(SIM_ADDR6_A)).toBe(-Errno.EINVAL);
    expect(b.multicastGroups()).toContain(group);
    expect(a.udpSocket(6).sendTo(Buffer.from('m'), { addr: group, port: 8000 })).toBe(1);
    until(() => rx.pendingDatagrams > 0);
    expect(rx.recv()!.to).toBe(group);
    expect(rx.leaveGroup6(group)).toBe(0);
    expect(rx.leaveGroup6(group)).toBe(-Errno.EADDRNOTAVAIL);
    expect(b.multicastGroups()).not.toContain(group);
    expect(a.udpSocket(4).joinGroup6(group)).toBe(-Errno.ENOPROTOOPT);
  });
});

describe('ICMPv6 ping', () => {
  it('stack.ping over IPv6 is answered by the other stack', () => {
    const { a, until } = dualPair();
    let result: { ok: boolean } | null = null;
    a.ping(SIM_ADDR6_B, {}, (r) => (result = r));
    until(() => result !== null);
    expect(result).toMatchObject({ ok: true, ttl: 64 });
  });

  it('a family-6 ping socket sends echo requests (id and checksum stamped by the stack) and gets the replies', () => {
    const { a, until } = dualPair();
    const s = a.icmpSocket('ping', 6);
    const req = Buffer.from([128, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    expect(s.sendTo(req, { addr: SIM_ADDR6_B, port: 0 })).toBe(req.length);
    until(() => s.pendingDatagrams > 0);
    const d = s.recv()!;
    expect(d.data[0]).toBe(129);
    expect(d.from.addr).toBe(SIM_ADDR6_B);
    expect(d.data.readUInt16BE(4)).toBe(s.localAddress()!.port);
    expect(s.sendTo(Buffer.from([8, 0, 0, 0, 0, 0, 0, 1]), { addr: SIM_ADDR6_B, port: 0 })).toBe(-Errno.EINVAL);
  });

  it('a raw ICMPv6 socket sees messages without an IP header', () => {
    const { a, until } = dualPair();
    const raw = a.icmpSocket('raw', 6);
    let result: { ok: boolean } | null = null;
    a.ping(SIM_ADDR6_B, {}, (r) => (result = r));
    until(() => result !== null && raw.pendingDatagrams > 0);
    const seen = [];
    for (let d = raw.recv(); d; d = raw.recv()) seen.push(d.data[0]);
    expect(seen).toContain(129);
    expect(raw.localAddress()!.port).toBe(58);
  });

  it('ICMP6_FILTER blocks the types whose bits are set (Linux layout); ICMP_FILTER is for IPv4', () => {
    const { a, until } = dualPair();
    const raw = a.icmpSocket('raw', 6);
    const words = [0, 0, 0, 0, 1 << (129 & 31), 0, 0, 0];
    expect(raw.setIcmp6Filter(words)).toBe(0);
    expect(raw.getIcmp6Filter()).toEqual(words);
    expect(raw.setIcmp6Filter([1, 2])).toBe(-Errno.EINVAL);
    expect(raw.setOption('ICMP_FILTER', 1)).toBe(-Errno.ENOPROTOOPT);
    expect(a.icmpSocket('raw', 4).setIcmp6Filter(words)).toBe(-Errno.ENOPROTOOPT);
    expect(a.icmpSocket('ping', 6).getIcmp6Filter()).toBe(-Errno.ENOPROTOOPT);
    expect(a.udpSocket(6).getIcmp6Filter()).toBe(-Errno.ENOPROTOOPT);
    let result: { ok: boolean } | null = null;
    a.ping(SIM_ADDR6_B, {}, (r) => (result = r));
    until(() => result !== null);
    expect(result).toMatchObject({ ok: true });
    for (let d = raw.recv(); d; d = raw.recv()) expect(d.data[0]).not.toBe(129);
  });
});

describe('TCP reachability hints', () => {
  it('an IPv6 connection making progress tells the IP layer its peer is reachable, at most once a second; IPv4 never', () => {
    for (const family of [4, 6] as const) {
      const { Wire } = familyRig(family);
      const w = new Wire({ delayMs: 5 });
      const hints: [string, IpAddr, number][] = [];
      for (const [side, layer] of [
        ['a', w.a],
        ['b', w.b],
      ] as const) {
        (layer.ip as { confirmReachable?: (d: IpAddr) => void }).confirmReachable = (d) => hints.push([side, d, w.sched.now()]);
      }
      const { client, server } = connectPair(w);
      const r = bulk(
        client,
        server,
        20 << 20,
        (d, l) => w.until(d, l),
        () => w.sched.now(),
      );
      expect(r.ok).toBe(true);
      if (family === 4) {
        expect(hints).toEqual([]);
        continue;
      }
      // the sender hears ACKs advance, the receiver gets in-sequence data: both hint, about their peer
      expect(hints.filter(([s, d]) => s === 'a' && d === w.addrB).length).toBeGreaterThan(0);
      expect(hints.filter(([s, d]) => s === 'b' && d === w.addrA).length).toBeGreaterThan(0);
      for (const side of ['a', 'b']) {
        const times = hints.filter(([s]) => s === side).map(([, , t]) => t);
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
      }
    }
  });
});

describe('IPv6 loopback', () => {
  it('TCP to ::1 and to our own IPv6 address goes round the loopback queue, checksums unchecked as on lo', () => {
    const { a, until } = dualPair();
    for (const dst of [IPV6_LOOPBACK, SIM_ADDR6_A]) {
      const l = a.tcpSocket(6);
      expect(l.bind(IPV6_ANY, 0)).toBe(0);
      const port = l.localAddress()!.port;
      const c = a.tcpSocket(6);
      const s = handshake(until, l, c, dst, port);
      expect(s).not.toBeNull();
      expect(s!.remoteAddress()!.addr).toBe(dst);
      expect(c.write(Buffer.alloc(100_000, 1))).toBe(100_000);
      until(() => s!.readableBytes() === 100_000);
      expect(s!.readableBytes()).toBe(100_000);
      // the loopback MTU: segments far larger than the link's
      expect(c.info().mss).toBeGreaterThan(60_000);
    }
    expect(a.counters().link!.tx_frames ?? 0).toBeLessThan(10);
  });
});

describe('an owned prefix (6plane: the member owns its whole /80)', () => {
  it('any address in it can be bound, by TCP and UDP sockets, and is reached from the peer; one outside it cannot', () => {
    const { a, b, until } = dualPair();
    const prefix = parseIpv6Addr('fd00::1:0:0:0')!;
    b.addOwnedPrefix(prefix, 80);
    const [first, second] = [parseIpv6Addr('fd00::1:0:0:7')!, parseIpv6Addr('fd00::1:ab:cd:ef')!];
    const l1 = b.tcpSocket(6);
    expect(l1.bind(first, 80)).toBe(0);
    const l2 = b.tcpSocket(6);
    expect(l2.bind(second, 80)).toBe(0);
    const u = b.udpSocket(6);
    expect(u.bind(second, 53)).toBe(0);
    expect(b.tcpSocket(6).bind(parseIpv6Addr('fd00::2:0:0:7')!, 80)).toBe(-Errno.EADDRNOTAVAIL);
    for (const [l, dst] of [
      [l1, first],
      [l2, second],
    ] as const) {
      const s = handshake(until, l, a.tcpSocket(6), dst, 80);
      expect(s).not.toBeNull();
      expect(s!.localAddress()!.addr).toBe(dst);
    }
  });
});
