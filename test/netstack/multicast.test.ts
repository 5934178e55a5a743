/**
 * IPv4 multicast between full stacks on one Ethernet segment in virtual time: group membership
 * (IP_ADD/DROP_MEMBERSHIP with Linux's errors and limit), the stack's group set and its change
 * events, delivery to the sockets bound to the group's port, the Ethernet mapping 01:00:5e + low
 * 23 bits out and the receive filter in, IP_MULTICAST_TTL, IP_MULTICAST_LOOP and IP_MULTICAST_IF.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { MAX_MEMBERSHIPS, type UdpSocket } from '../../src/netstack/socket-api.js';
import { multicastMac } from '../../src/netstack/multicast-groups.js';
import { IPPROTO_UDP } from '../../src/netstack/transport.js';
import { addressedSegment, ip } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const GROUP = ip(239, 1, 2, 3);
/** Another group with the same Ethernet address as GROUP (only 23 bits are mapped). */
const TWIN = ip(224, 129, 2, 3);

function texts(s: UdpSocket): string[] {
  const out: string[] = [];
  for (let d = s.recv(); d; d = s.recv()) out.push(d.data.toString());
  return out;
}

describe('multicast membership', () => {
  it('join and leave answer as Linux; the stack tells listeners when its set of groups changes', () => {
    const seg = addressedSegment(1);
    const a = seg.stacks[0]!;
    const seen: number[][] = [];
    a.onMulticastGroupsChanged((g) => seen.push(g as number[]));
    const s1 = a.udpSocket();
    const s2 = a.udpSocket();
    expect(s1.joinGroup(A, 0)).toBe(-Errno.EINVAL);
    expect(s1.joinGroup(GROUP, ip(10, 0, 0, 77))).toBe(-Errno.ENODEV);
    expect(s1.joinGroup(GROUP, 0)).toBe(0);
    expect(s1.joinGroup(GROUP, A)).toBe(-Errno.EADDRINUSE);
    expect(s2.joinGroup(GROUP, A)).toBe(0);
    expect(s2.joinGroup(ip(224, 0, 0, 251), 0)).toBe(0);
    expect(a.multicastGroups()).toEqual([ip(224, 0, 0, 251), GROUP]);
    expect(seen).toEqual([[GROUP], [ip(224, 0, 0, 251), GROUP]]);
    expect(s1.leaveGroup(ip(224, 0, 0, 251), 0)).toBe(-Errno.EADDRNOTAVAIL);
    expect(s1.leaveGroup(GROUP, 0)).toBe(0);
    expect(seen).toHaveLength(2); // s2 is still a member
    s2.close();
    expect(a.multicastGroups()).toEqual([]);
    expect(seen.at(-1)).toEqual([]);
  });

  it('a socket joins at most 20 groups (IP_MAX_MEMBERSHIPS)', () => {
    const seg = addressedSegment(1);
    const s = seg.stacks[0]!.udpSocket();
    for (let i = 0; i < MAX_MEMBERSHIPS; i++) expect(s.joinGroup(ip(239, 0, 0, i + 1), 0)).toBe(0);
    expect(s.joinGroup(ip(239, 0, 0, 99), 0)).toBe(-Errno.ENOBUFS);
    expect(s.leaveGroup(ip(239, 0, 0, 1), 0)).toBe(0);
    expect(s.joinGroup(ip(239, 0, 0, 99), 0)).toBe(0);
  });

  it('a stack without an address has no interface to join on', () => {
    const seg = addressedSegment(1);
    const a = seg.stacks[0]!;
    a.removeAddress(A);
    expect(a.udpSocket().joinGroup(GROUP, 0)).toBe(-Errno.ENODEV);
  });
});

describe('multicast delivery', () => {
  it('reaches the joined sockets of every stack, on 01:00:5e + the low 23 bits, TTL 1 by default', () => {
    const seg = addressedSegment(4);
    const [a, b, c, d] = seg.stacks as [(typeof seg.stacks)[0], (typeof seg.stacks)[0], (typeof seg.stacks)[0], (typeof seg.stacks)[0]];
    const rb = b!.udpSocket();
    rb.bind(0, 5000);
    expect(rb.joinGroup(GROUP, 0)).toBe(0);
    const rc = c!.udpSocket();
    rc.bind(GROUP, 5000); // bound to the group itself
    expect(rc.joinGroup(GROUP, 0)).toBe(0);
    const otherPort = c!.udpSocket();
    otherPort.bind(0, 5001);
    const rd = d!.udpSocket(); // never joined: its stack lets the frame pass no further than the link
    rd.bind(0, 5000);
    const tx = a!.udpSocket();
    expect(tx.sendTo(Buffer.from('hello group'), { addr: GROUP, port: 5000 })).toBe(11);
    seg.sched.advance(10);
    const frames = seg.frames.filter((f) => f.from === 0 && f.frame[14 + 9] === IPPROTO_UDP);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.frame.subarray(0, 6).equals(multicastMac(GROUP))).toBe(true);
    expect(multicastMac(GROUP).toString('hex')).toBe('01005e010203');
    expect(frames[0]!.frame[14 + 8]).toBe(1); // TTL
    const got = rb.recv()!;
    expect(got).toMatchObject({ from: { addr: A }, to: GROUP, ttl: 1 });
    expect(got.data.toString()).toBe('hello group');
    expect(texts(rc)).toEqual(['hello group']);
    expect(texts(otherPort)).toEqual([]);
    expect(texts(rd)).toEqual([]);
    expect(d!.counters().link!.rx_multicast_dropped).toBe(1);
    expect(b!.counters().udp!.rx_multicast_datagrams).toBe(1);
    // a socket bound to the group receives nothing sent to the host's own address
    const direct = a!.udpSocket();
    direct.sendTo(Buffer.from('unicast'), { addr: ip(10, 0, 0, 3), port: 5000 });
    seg.sched.advance(10);
    expect(texts(rc)).toEqual([]);
  });

  it('a group sharing the Ethernet address of a joined one is dropped by IPv4 and counted', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    expect(multicastMac(TWIN).equals(multicastMac(GROUP))).toBe(true);
    const r = b.udpSocket();
    r.bind(0, 5000);
    r.joinGroup(GROUP, 0);
    a.udpSocket().sendTo(Buffer.from('twin'), { addr: TWIN, port: 5000 });
    seg.sched.advance(10);
    expect(texts(r)).toEqual([]);
    expect(b.counters().ipv4!.rx_multicast_not_joined).toBe(1);
  });

  it('every socket bound to the port hears a group some socket joined (IP_MULTICAST_ALL, as Linux)', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const member = b.udpSocket();
    member.setOption('REUSEADDR', 1);
    member.bind(0, 5000);
    member.joinGroup(GROUP, 0);
    const bystander = b.udpSocket();
    bystander.setOption('REUSEADDR', 1);
    expect(bystander.bind(0, 5000)).toBe(0);
    a.udpSocket().sendTo(Buffer.from('x'), { addr: GROUP, port: 5000 });
    seg.sched.advance(10);
    expect(texts(member)).toEqual(['x']);
    expect(texts(bystander)).toEqual(['x']);
  });

  it('IP_MULTICAST_LOOP (default on) gives the sender stack its own copy; off, it does not', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const local = a.udpSocket();
    local.bind(0, 5000);
    local.joinGroup(GROUP, 0);
    const remote = b.udpSocket();
    remote.bind(0, 5000);
    remote.joinGroup(GROUP, 0);
    const tx = a.udpSocket();
    expect(tx.getOption('MULTICAST_LOOP')).toBe(1);
    tx.sendTo(Buffer.from('looped'), { addr: GROUP, port: 5000 });
    expect(tx.setOption('MULTICAST_LOOP', 0)).toBe(0);
    tx.sendTo(Buffer.from('not looped'), { addr: GROUP, port: 5000 });
    seg.sched.advance(10);
    expect(texts(local)).toEqual(['looped']);
    expect(texts(remote)).toEqual(['looped', 'not looped']);
  });

  it('IP_MULTICAST_TTL sets the TTL (0 keeps the datagram on this host); IP_MULTICAST_IF the source', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    a.addAddress(ip(10, 0, 0, 50), 24);
    seg.sched.advance(1);
    const remote = b.udpSocket();
    remote.bind(0, 5000);
    remote.joinGroup(GROUP, 0);
    const local = a.udpSocket();
    local.bind(0, 5000);
    local.joinGroup(GROUP, 0);
    const tx = a.udpSocket();
    expect(tx.getOption('MULTICAST_TTL')).toBe(1);
    expect(tx.setOption('MULTICAST_TTL', 5)).toBe(0);
    expect(tx.setOption('MULTICAST_TTL', 256)).toBe(-Errno.EINVAL);
    expect(tx.setOption('MULTICAST_IF', ip(10, 0, 0, 77))).toBe(-Errno.EADDRNOTAVAIL);
    expect(tx.setOption('MULTICAST_IF', ip(10, 0, 0, 50))).toBe(0);
    expect(tx.getOption('MULTICAST_IF')).toBe(ip(10, 0, 0, 50));
    tx.sendTo(Buffer.from('five'), { addr: GROUP, port: 5000 });
    expect(tx.setOption('MULTICAST_TTL', 0)).toBe(0);
    tx.sendTo(Buffer.from('zero'), { addr: GROUP, port: 5000 });
    seg.sched.advance(10);
    const d = remote.recv()!;
    expect(d).toMatchObject({ from: { addr: ip(10, 0, 0, 50) }, ttl: 5 });
    expect(remote.recv()).toBeNull();
    expect(texts(local)).toEqual(['five', 'zero']);
    expect(a.counters().ipv4!.tx_multicast_ttl0_local).toBe(1);
    // a per-datagram TTL wins over the multicast TTL
    tx.sendTo(Buffer.from('ttl 9'), { addr: GROUP, port: 5000 }, { ttl: 9 });
    seg.sched.advance(10);
    expect(remote.recv()?.ttl).toBe(9);
  });

  it('large multicast datagrams fragment and reassemble at every member', () => {
    const seg = addressedSegment(3, { mtu: 1500 });
    const rs = [seg.stacks[1]!, seg.stacks[2]!].map((s) => {
      const r = s.udpSocket();
      r.bind(0, 5000);
      r.joinGroup(GROUP, 0);
      return r;
    });
    const data = Buffer.alloc(20_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    expect(seg.stacks[0]!.udpSocket().sendTo(data, { addr: GROUP, port: 5000 })).toBe(20_000);
    seg.sched.advance(10);
    for (const r of rs) expect(r.recv()?.data.equals(data)).toBe(true);
  });

  it('an echo request to a group draws no reply; a raw socket still sees it', () => {
    const seg = addressedSegment(2);
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const member = b.udpSocket();
    member.joinGroup(GROUP, 0);
    const raw = b.icmpSocket('raw');
    const p = a.icmpSocket('ping');
    const req = Buffer.alloc(16);
    req[0] = 8;
    expect(p.sendTo(req, { addr: GROUP, port: 0 })).toBe(16);
    seg.sched.advance(10);
    expect(b.counters().icmp!.rx_echo_broadcast_ignored).toBe(1);
    expect(raw.recv()?.data.readUInt32BE(16)).toBe(GROUP);
    expect(p.recv()).toBeNull();
  });
});
