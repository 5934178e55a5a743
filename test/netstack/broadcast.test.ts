/**
 * UDP broadcast between full stacks in virtual time: SO_BROADCAST, the limited and the directed
 * broadcast, delivery to every matching socket of every stack (several sockets on one port, bound
 * to the broadcast address, connected), the address it was sent to, and the sender's own copy.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import type { UdpSocket } from '../../src/netstack/socket-api.js';
import { addressedSegment, ip } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const SUBNET_BROADCAST = ip(10, 0, 0, 255);

function texts(s: UdpSocket): string[] {
  const out: string[] = [];
  for (let d = s.recv(); d; d = s.recv())
    out.push(`${d.data.toString()}>${d.to === SUBNET_BROADCAST ? 'subnet' : d.to === 0xffffffff ? 'all' : d.to}`);
  return out;
}

function bound(s: UdpSocket, addr: number, port: number): UdpSocket {
  s.setOption('REUSEADDR', 1);
  expect(s.bind(addr, port)).toBe(0);
  return s;
}

describe('UDP broadcast', () => {
  it('reaches every socket bound to the port at any or the broadcast address, on every stack', () => {
    const seg = addressedSegment(3);
    const [a, b, c] = [seg.stacks[0]!, seg.stacks[1]!, seg.stacks[2]!];
    const any1 = bound(b.udpSocket(), 0, 6000);
    const any2 = bound(b.udpSocket(), 0, 6000);
    const atBcast = bound(b.udpSocket(), SUBNET_BROADCAST, 6000);
    const atUnicast = bound(b.udpSocket(), B, 6000); // a specific address does not hear broadcasts
    const connectedToA = bound(b.udpSocket(), 0, 6000);
    expect(connectedToA.connect(A, 7000)).toBe(0);
    const connectedElsewhere = bound(b.udpSocket(), 0, 6000);
    expect(connectedElsewhere.connect(ip(10, 0, 0, 3), 7000)).toBe(0);
    const atC = bound(c.udpSocket(), 0, 6000);
    const tx = bound(a.udpSocket(), 0, 7000);
    expect(tx.setOption('BROADCAST', 1)).toBe(0);
    expect(tx.sendTo(Buffer.from('x'), { addr: SUBNET_BROADCAST, port: 6000 })).toBe(1);
    expect(tx.sendTo(Buffer.from('y'), { addr: 0xffffffff, port: 6000 })).toBe(1);
    seg.sched.advance(10);
    for (const s of [any1, any2, connectedToA, atC]) expect(texts(s)).toEqual(['x>subnet', 'y>all']);
    expect(texts(atBcast)).toEqual(['x>subnet']);
    expect(texts(atUnicast)).toEqual([]);
    expect(texts(connectedElsewhere)).toEqual([]);
    expect(b.counters().udp!.rx_broadcast_datagrams).toBe(2);
    // a unicast to B (from a port no socket is connected to) reaches the socket bound to B, not
    // the one bound to the broadcast address
    a.udpSocket().sendTo(Buffer.from('u'), { addr: B, port: 6000 });
    seg.sched.advance(10);
    expect(texts(atBcast)).toEqual([]);
    expect(texts(atUnicast)).toEqual([`u>${B}`]);
  });

  it('needs SO_BROADCAST to send or connect to a broadcast address, for UDP and ping sockets', () => {
    const seg = addressedSegment(2);
    const a = seg.stacks[0]!;
    const u = a.udpSocket();
    expect(u.getOption('BROADCAST')).toBe(0);
    expect(u.connect(SUBNET_BROADCAST, 6000)).toBe(-Errno.EACCES);
    expect(u.sendTo(Buffer.from('x'), { addr: 0xffffffff, port: 6000 })).toBe(-Errno.EACCES);
    u.setOption('BROADCAST', 1);
    expect(u.connect(SUBNET_BROADCAST, 6000)).toBe(0);
    expect(u.sendTo(Buffer.from('x'))).toBe(1);
    const p = a.icmpSocket('ping');
    const req = Buffer.alloc(8);
    req[0] = 8;
    expect(p.sendTo(req, { addr: SUBNET_BROADCAST, port: 0 })).toBe(-Errno.EACCES);
    p.setOption('BROADCAST', 1);
    expect(p.sendTo(req, { addr: SUBNET_BROADCAST, port: 0 })).toBe(8);
    seg.sched.advance(10);
    // an echo request to a broadcast address is not answered (as Linux's icmp_echo_ignore_broadcasts)
    expect(seg.stacks[1]!.counters().icmp!.rx_echo_broadcast_ignored).toBe(1);
  });

  it('the sender stack hears its own broadcast once, sent to the broadcast address', () => {
    const seg = addressedSegment(1);
    const a = seg.stacks[0]!;
    const own = bound(a.udpSocket(), 0, 6000);
    const tx = a.udpSocket();
    tx.setOption('BROADCAST', 1);
    tx.sendTo(Buffer.from('me'), { addr: SUBNET_BROADCAST, port: 6000 });
    seg.sched.advance(10);
    expect(texts(own)).toEqual(['me>subnet']);
  });
});
