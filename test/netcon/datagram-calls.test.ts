/**
 * Datagram sockets' RPCs on the daemon (src/netcon/datagram-calls.ts): SOCKET by type and
 * protocol, WHOIS, BIND/CONNECT/GETSOCKNAME/GETPEERNAME/SHUTDOWN with Linux's UDP answers, LISTEN
 * refused, and the socket's end when the app closes its end.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { FLAG_UNSPEC, Kind, Op } from '../../src/netcon/protocol.js';
import { SOCKADDR_SIZE } from '../../src/netcon/protocol.js';
import { dgramSocket, dgramSuite, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW, STACK } from './dgram-client.js';
import { waitFor } from './harness.js';

const EPROTONOSUPPORT = 93;

describe('datagram socket calls', () => {
  const t = dgramSuite('ztnc-dgram-calls-');

  it('makes a UDP socket for SOCK_DGRAM with protocol 0 or IPPROTO_UDP, and refuses other protocols', async () => {
    const c = await t.client();
    for (const proto of [0, IPPROTO_UDP]) {
      const s = await dgramSocket(c, SOCK_DGRAM, proto);
      if (typeof s === 'number') throw new Error(`SOCKET: ${s}`);
      t.track(s.fd);
      expect((await c.call(Op.WHOIS, s.ino)).result).toBe(Kind.UDP);
    }
    // the flags the library passes with the type (SOCK_NONBLOCK | SOCK_CLOEXEC) do not matter
    const flagged = await dgramSocket(c, SOCK_DGRAM | 0x800 | 0x80000, 0);
    if (typeof flagged === 'number') throw new Error(`SOCKET: ${flagged}`);
    t.track(flagged.fd);
    expect((await c.call(Op.WHOIS, flagged.ino)).result).toBe(Kind.UDP);
    expect(await dgramSocket(c, SOCK_DGRAM, 6)).toBe(-EPROTONOSUPPORT);
    expect(await dgramSocket(c, SOCK_RAW, IPPROTO_UDP)).toBe(-EPROTONOSUPPORT);
    expect(await dgramSocket(c, SOCK_RAW, 255)).toBe(-EPROTONOSUPPORT);
    expect(await dgramSocket(c, 5 /* SOCK_SEQPACKET */, 0)).toBe(-EPROTONOSUPPORT);
    // protocol 2 always sends type, protocol and domain: a shorter payload is refused
    const short = Buffer.alloc(8);
    short.writeUInt32LE(SOCK_DGRAM, 0);
    const r = await c.call(Op.SOCKET, 0, short);
    expect(r.result).toBe(-Errno.EINVAL);
    expect(r.fds).toEqual([]);
  });

  it('keeps TCP for SOCK_STREAM (and refuses a stream socket of another protocol)', async () => {
    const c = await t.client();
    const s = await dgramSocket(c, 1, 6);
    if (typeof s === 'number') throw new Error(`SOCKET: ${s}`);
    t.track(s.fd);
    expect((await c.call(Op.WHOIS, s.ino)).result).toBe(Kind.TCP);
    expect(await dgramSocket(c, 1, IPPROTO_UDP)).toBe(-EPROTONOSUPPORT);
  });

  it('binds as Linux: explicit and ephemeral ports, EINVAL for a second bind, EADDRINUSE, EADDRNOTAVAIL', async () => {
    const c = await t.client();
    const a = await t.udp(c);
    const b = await t.udp(c);
    expect(await c.name(a.ino)).toEqual({ addr: 0, port: 0 });
    expect(await c.bind(a.ino, 0, 4000)).toBe(0);
    expect(await c.name(a.ino)).toEqual({ addr: 0, port: 4000 });
    expect(await c.bind(a.ino, 0, 4001)).toBe(-Errno.EINVAL);
    expect(await c.bind(b.ino, STACK, 4000)).toBe(-Errno.EADDRINUSE);
    expect(await c.bind(b.ino, 0x0a000001, 4002)).toBe(-Errno.EADDRNOTAVAIL);
    expect(await c.bind(b.ino, STACK, 0)).toBe(0);
    const n = await c.name(b.ino);
    expect(n.addr).toBe(STACK);
    expect(n.port).toBeGreaterThan(0);
    expect((await c.call(Op.LISTEN, a.ino, Buffer.from([1, 0, 0, 0]))).result).toBe(-Errno.EOPNOTSUPP);
  });

  it('connects and dissolves: getpeername, the source address in getsockname, AF_UNSPEC, shutdown', async () => {
    const c = await t.client();
    const a = await t.udp(c);
    expect((await c.call(Op.GETPEERNAME, a.ino)).result).toBe(-Errno.ENOTCONN);
    const shut = Buffer.from([1, 0, 0, 0]);
    // Linux: ENOTCONN for an unconnected datagram socket, EINVAL for a bad `how`
    expect((await c.call(Op.SHUTDOWN, a.ino, shut)).result).toBe(-Errno.ENOTCONN);
    expect((await c.call(Op.SHUTDOWN, a.ino, Buffer.from([3, 0, 0, 0]))).result).toBe(-Errno.EINVAL);
    const peer = STACK + 1;
    expect(await c.connectTo(a.ino, peer, 9999)).toBe(0);
    const p = await c.nameOf(Op.GETPEERNAME, a.ino);
    expect([p.family, p.addr, p.port]).toEqual([4, peer, 9999]);
    const local = await c.name(a.ino);
    expect(local.addr).toBe(STACK);
    expect(local.port).toBeGreaterThan(0);
    // a second connect moves the association
    expect(await c.connectTo(a.ino, peer + 1, 53)).toBe(0);
    expect((await c.nameOf(Op.GETPEERNAME, a.ino)).addr).toBe(peer + 1);
    expect((await c.call(Op.SHUTDOWN, a.ino, Buffer.from([0, 0, 0, 0]))).result).toBe(0);
    expect((await c.call(Op.CONNECT, a.ino, Buffer.alloc(SOCKADDR_SIZE), FLAG_UNSPEC)).result).toBe(0);
    expect((await c.call(Op.GETPEERNAME, a.ino)).result).toBe(-Errno.ENOTCONN);
    expect((await c.name(a.ino)).addr).toBe(0);
    expect(await c.connectTo(a.ino, 0x08080808, 53)).toBe(-Errno.ENETUNREACH);
  });

  it('closes the stack socket when the app closes its end: the port is free again', async () => {
    const c = await t.client();
    const a = await t.udp(c);
    expect(await c.bind(a.ino, 0, 4100)).toBe(0);
    const before = t.server.socketCount();
    t.close(a.fd);
    await waitFor(() => t.server.socketCount() === before - 1, 3000, 'the datagram socket to go');
    expect((await c.call(Op.WHOIS, a.ino)).result).toBe(-Errno.EBADF);
    const b = await t.udp(c);
    expect(await c.bind(b.ino, 0, 4100)).toBe(0);
  });

  it('keeps a socket shut down for sending while the app holds it, and lets it go when the app closes it', async () => {
    const c = await t.client();
    const a = await t.udp(c);
    expect(await c.bind(a.ino, 0, 4200)).toBe(0);
    expect(await c.connectTo(a.ino, STACK, 4201)).toBe(0);
    expect((await c.call(Op.SHUTDOWN, a.ino, Buffer.from([1, 0, 0, 0]))).result).toBe(0);
    expect((await c.call(Op.WHOIS, a.ino)).result).toBe(Kind.UDP);
    const before = t.server.socketCount();
    t.close(a.fd);
    await waitFor(() => t.server.socketCount() === before - 1, 5000, 'the datagram socket to go');
    const b = await t.udp(c);
    expect(await c.bind(b.ino, 0, 4200)).toBe(0);
  });
});
