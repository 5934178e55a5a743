/**
 * Options of datagram sockets through the daemon (src/netcon/dgram-sockopt.ts), with the values
 * and errnos Linux gives (net/core/sock.c, net/ipv4/ip_sockglue.c, net/ipv4/raw.c): sizes,
 * doubling of buffer sizes, ip_mreq/ip_mreqn/in_addr forms, unknown levels and options.
 */
import { describe, expect, it } from 'vitest';
import { Op } from '../../src/netcon/protocol.js';
import { Errno } from '../../src/netstack/errno.js';
import { dgramSocket, dgramSuite, getOpt, IPPROTO_ICMP, setOpt, SOCK_RAW, sockopt, STACK } from './dgram-client.js';

const SOL_SOCKET = 1;
const SO = { TYPE: 3, ERROR: 4, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, PROTOCOL: 38, DOMAIN: 39 };
const IPPROTO_IP = 0;
const IP = {
  TOS: 1,
  TTL: 2,
  RECVOPTS: 6,
  RETOPTS: 7,
  MTU_DISCOVER: 10,
  RECVERR: 11,
  MTU: 14,
  MULTICAST_IF: 32,
  MULTICAST_TTL: 33,
  MULTICAST_LOOP: 34,
  ADD: 35,
  DROP: 36,
};
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const ENODEV = 19;

function mreq(group: number, iface: number, ifindex?: number): Buffer {
  const b = Buffer.alloc(ifindex === undefined ? 8 : 12);
  b.writeUInt32BE(group, 0);
  b.writeUInt32BE(iface, 4);
  if (ifindex !== undefined) b.writeInt32LE(ifindex, 8);
  return b;
}

function inAddr(a: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(a, 0);
  return b;
}

const GROUP = 0xe0010203; // 224.1.2.3

describe('datagram socket options', () => {
  const t = dgramSuite('ztnc-dgram-opts-');

  it('reports the socket type, protocol and domain of each kind', async () => {
    const c = await t.client();
    const udp = await t.udp(c);
    expect(await getOpt(c, udp.ino, SOL_SOCKET, SO.TYPE)).toBe(2);
    expect(await getOpt(c, udp.ino, SOL_SOCKET, SO.PROTOCOL)).toBe(17);
    expect(await getOpt(c, udp.ino, SOL_SOCKET, SO.DOMAIN)).toBe(2);
    expect(await getOpt(c, udp.ino, SOL_SOCKET, SO.ERROR)).toBe(0);
    const raw = await dgramSocket(c, SOCK_RAW, IPPROTO_ICMP);
    if (typeof raw === 'number') throw new Error(`SOCKET: ${raw}`);
    t.track(raw.fd);
    expect(await getOpt(c, raw.ino, SOL_SOCKET, SO.TYPE)).toBe(3);
    expect(await getOpt(c, raw.ino, SOL_SOCKET, SO.PROTOCOL)).toBe(1);
  });

  it('doubles SO_RCVBUF and SO_SNDBUF as Linux, with its floor, and wants a whole int', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await setOpt(c, s.ino, SOL_SOCKET, SO.RCVBUF, 4096)).toBe(0);
    expect(await getOpt(c, s.ino, SOL_SOCKET, SO.RCVBUF)).toBe(8192);
    expect(await setOpt(c, s.ino, SOL_SOCKET, SO.RCVBUF, 1)).toBe(0);
    expect(await getOpt(c, s.ino, SOL_SOCKET, SO.RCVBUF)).toBe(2304);
    expect(await setOpt(c, s.ino, SOL_SOCKET, SO.SNDBUF, 10000)).toBe(0);
    expect(await getOpt(c, s.ino, SOL_SOCKET, SO.SNDBUF)).toBe(20000);
    expect(await setOpt(c, s.ino, SOL_SOCKET, SO.BROADCAST, Buffer.from([1, 0]))).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, SOL_SOCKET, SO.BROADCAST, 5)).toBe(0);
    expect(await getOpt(c, s.ino, SOL_SOCKET, SO.BROADCAST)).toBe(1);
  });

  it('takes IP_TOS, IP_TTL and the multicast TTL and loop with Linux ranges and defaults', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.TTL)).toBe(64);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.TTL, 0)).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.TTL, 256)).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.TTL, Buffer.from([7]))).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.TTL)).toBe(7);
    // a buffer shorter than an int gets one byte
    const short = await c.call(Op.GETSOCKOPT, s.ino, sockopt(IPPROTO_IP, IP.TTL, Buffer.alloc(0), 2));
    expect(short.result).toBe(1);
    expect(short.payload[0]).toBe(7);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.TTL, -1)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.TTL)).toBe(64);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.TOS, 0xb8)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.TOS)).toBe(0xb8);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_TTL)).toBe(1);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_TTL, 256)).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_TTL, Buffer.alloc(0))).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_TTL, 8)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_TTL)).toBe(8);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_LOOP)).toBe(1);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_LOOP, 0)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_LOOP)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.RECVERR)).toBe(0);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.RECVERR, 1)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.RECVERR)).toBe(1);
  });

  it('takes IP_RECVOPTS and IP_RETOPTS as flags, as iputils ping sets them', async () => {
    const c = await t.client();
    const ping = await dgramSocket(c, 2, IPPROTO_ICMP);
    if (typeof ping === 'number') throw new Error(`SOCKET: ${ping}`);
    t.track(ping.fd);
    for (const s of [await t.udp(c), ping]) {
      for (const name of [IP.RECVOPTS, IP.RETOPTS]) {
        expect(await getOpt(c, s.ino, IPPROTO_IP, name)).toBe(0);
        expect(await setOpt(c, s.ino, IPPROTO_IP, name, 1)).toBe(0);
        expect(await getOpt(c, s.ino, IPPROTO_IP, name)).toBe(1);
        expect(await setOpt(c, s.ino, IPPROTO_IP, name, 0)).toBe(0);
        expect(await getOpt(c, s.ino, IPPROTO_IP, name)).toBe(0);
      }
    }
  });

  it('answers IP_MTU_DISCOVER and IP_MTU (ENOTCONN until connected)', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MTU_DISCOVER)).toBe(1);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MTU_DISCOVER, 6)).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MTU_DISCOVER, 2)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MTU_DISCOVER)).toBe(2);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MTU)).toBe(-Errno.ENOTCONN);
    expect(await c.connectTo(s.ino, STACK + 1, 9)).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.MTU)).toBe(t.stack.mtu);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MTU, 1000)).toBe(-Errno.ENOPROTOOPT);
  });

  it('joins and leaves groups with ip_mreq and ip_mreqn, with the kernel errnos', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, inAddr(GROUP))).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, mreq(STACK, 0))).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, mreq(GROUP, 0x0b000001))).toBe(-ENODEV);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, mreq(GROUP, 0))).toBe(0);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, mreq(GROUP, 0))).toBe(-Errno.EADDRINUSE);
    expect(t.stack.multicastGroups()).toContain(GROUP);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.DROP, mreq(GROUP, STACK, 0))).toBe(0);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.DROP, mreq(GROUP, 0))).toBe(-Errno.EADDRNOTAVAIL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.ADD, mreq(GROUP + 1, STACK, 0))).toBe(0);
    expect(await getOpt(c, s.ino, IPPROTO_IP, IP.ADD)).toBe(-Errno.ENOPROTOOPT);
  });

  it('takes IP_MULTICAST_IF as in_addr, ip_mreq or ip_mreqn, and refuses an address not ours', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, Buffer.from([10, 0]))).toBe(-Errno.EINVAL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, inAddr(0x0b000001))).toBe(-Errno.EADDRNOTAVAIL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, inAddr(STACK))).toBe(0);
    const got = await c.call(Op.GETSOCKOPT, s.ino, sockopt(IPPROTO_IP, IP.MULTICAST_IF, Buffer.alloc(0), 4));
    expect(got.payload.readUInt32BE(0)).toBe(STACK);
    // ip_mreq: the interface is its second field
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, mreq(GROUP, 0x0b000001))).toBe(-Errno.EADDRNOTAVAIL);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, mreq(GROUP, STACK))).toBe(0);
    expect(await setOpt(c, s.ino, IPPROTO_IP, IP.MULTICAST_IF, mreq(0, 0, 0))).toBe(0);
    const reset = await c.call(Op.GETSOCKOPT, s.ino, sockopt(IPPROTO_IP, IP.MULTICAST_IF, Buffer.alloc(0), 4));
    expect(reset.payload.readUInt32BE(0)).toBe(0);
  });

  it('answers unknown levels and options as Linux, and ICMP_FILTER on raw sockets only', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await setOpt(c, s.ino, 41, 26, 1)).toBe(-Errno.ENOPROTOOPT);
    expect(await getOpt(c, s.ino, 41, 26)).toBe(-Errno.EOPNOTSUPP);
    expect(await setOpt(c, s.ino, SOL_UDP, UDP_SEGMENT, 1400)).toBe(-Errno.ENOPROTOOPT);
    expect(await getOpt(c, s.ino, SOL_UDP, UDP_SEGMENT)).toBe(-Errno.ENOPROTOOPT);
    expect(await setOpt(c, s.ino, IPPROTO_IP, 99, 1)).toBe(-Errno.ENOPROTOOPT);
    expect(await setOpt(c, s.ino, SOL_SOCKET, 999, 1)).toBe(-Errno.ENOPROTOOPT);
    expect(await setOpt(c, s.ino, SOL_RAW, ICMP_FILTER, 1)).toBe(-Errno.ENOPROTOOPT);
    expect(await getOpt(c, s.ino, SOL_RAW, ICMP_FILTER)).toBe(-Errno.EOPNOTSUPP);
    const raw = await dgramSocket(c, SOCK_RAW, IPPROTO_ICMP);
    if (typeof raw === 'number') throw new Error(`SOCKET: ${raw}`);
    t.track(raw.fd);
    expect(await setOpt(c, raw.ino, SOL_RAW, ICMP_FILTER, 1 << 8)).toBe(0);
    expect(await getOpt(c, raw.ino, SOL_RAW, ICMP_FILTER)).toBe(1 << 8);
    expect(await getOpt(c, raw.ino, SOL_RAW, 2)).toBe(-Errno.ENOPROTOOPT);
  });
});
