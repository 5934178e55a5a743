/**
 * AF_INET6 sockets through the netcon server over a real dual-stack stack (in-process, the wire
 * protocol spoken directly): a `::` listener accepts IPv4 peers as ::ffff:a.b.c.d and IPv6 ones
 * as themselves, IPV6_V6ONLY refuses IPv4, names come back in the socket's family, UDP records
 * carry v4-mapped addresses for IPv4 traffic, ICMPv6 ping and raw sockets work, and the
 * IPPROTO_IPV6 / IPPROTO_ICMPV6 options answer with Linux's values and errnos.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeFd, recvFds, sendFds } from '../../src/native/binding.js';
import { nativePlumbing } from '../../src/netcon/fd-plumbing.js';
import { DGF, encodeSocketRequest, FLAG_WAIT, Kind, Op, SOCK_STREAM } from '../../src/netcon/protocol.js';
import { NetconServer } from '../../src/netcon/server.js';
import { IPV6_ANY, parseIpv4, parseIpv6Addr, v4Mapped } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { Errno } from '../../src/netstack/errno.js';
import { createNetStack, type NetStack } from '../../src/netstack/index.js';
import { type Requirement, requireOrSkip } from '../support/requirements.js';
import {
  dgramSocket,
  drainRecords,
  expectRecord,
  getOpt,
  IPPROTO_ICMPV6,
  sendDatagram,
  setOpt,
  SOCK_DGRAM,
  SOCK_RAW,
  sockopt,
} from './dgram-client.js';
import { tempDir, waitFor } from './harness.js';
import { acceptFrom, RpcClient } from './rpc-client.js';

const STACK4 = parseIpv4('10.147.17.5')!;
const STACK6 = parseIpv6Addr('fd80:56c2:e21c::5')!;
const MAPPED = v4Mapped(STACK4);
const IPPROTO_IPV6 = 41;
const IPPROTO_TCP = 6;
const SOL_SOCKET = 1;
const SO_DOMAIN = 39;
const SO_PROTOCOL = 38;
const TCP_INFO = 11;
const IPV6 = {
  CHECKSUM: 7,
  UNICAST_HOPS: 16,
  MULTICAST_HOPS: 18,
  MULTICAST_LOOP: 19,
  JOIN_GROUP: 20,
  LEAVE_GROUP: 21,
  MTU_DISCOVER: 23,
  MTU: 24,
  V6ONLY: 26,
  RECVPKTINFO: 49,
  TCLASS: 67,
};
const ICMP6_FILTER = 1;
const EPROTO = 71;
const EPROTONOSUPPORT = 93;

function makeStack(): NetStack {
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 0x16]), name: 'v6-netcon' });
  stack.addAddress(STACK4, 24);
  stack.addAddress(STACK6, 64);
  stack.setLinkOutput(() => {});
  return stack;
}

/** The stack this suite needs carries IPv6 (its addresses list the IPv6 one given). */
function needIpv6Stack(): Requirement {
  const stack = makeStack();
  const ok = stack.addresses().some((a) => a.addr === STACK6);
  stack.close();
  return { ok, reason: 'the stack does not carry IPv6 addresses' };
}

/** An int option value of `n` bytes (a short one when n < 4). */
function shortInt(v: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b.subarray(0, n);
}

/** An ICMPv6 echo request (the stack fills the checksum, a ping socket also the identifier). */
function echoRequest(seq: number): Buffer {
  return Buffer.from([128, 0, 0, 0, 0, 0, 0, seq, 0x70, 0x69, 0x6e, 0x67]);
}

describe.runIf(requireOrSkip(needIpv6Stack(), 'netcon AF_INET6 sockets'))('netcon AF_INET6 sockets', () => {
  const tmp = tempDir('ztnc-netcon-v6-');
  const sockPath = join(tmp.dir, 'rpc', 'net.sock');
  let stack: NetStack;
  let server: NetconServer;
  const clients: RpcClient[] = [];
  const fds: number[] = [];

  beforeAll(async () => {
    stack = makeStack();
    server = new NetconServer(stack, sockPath, pino({ level: 'silent' }));
    await server.start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const fd of fds.splice(0)) closeFd(fd);
  });
  afterAll(async () => {
    await server.close();
    stack.close();
    tmp.remove();
  });

  async function client(): Promise<RpcClient> {
    const c = await RpcClient.connect(sockPath);
    clients.push(c);
    return c;
  }

  async function tcp(c: RpcClient, family: 4 | 6): Promise<{ fd: number; ino: number }> {
    const s = await c.socket(family);
    fds.push(s.fd);
    return s;
  }

  async function dgram(c: RpcClient, type: number, protocol: number, family: 4 | 6): Promise<{ fd: number; ino: number }> {
    const s = await dgramSocket(c, type, protocol, family);
    if (typeof s === 'number') throw new Error(`SOCKET: ${s}`);
    fds.push(s.fd);
    return s;
  }

  /** Bytes that reach a connection's app end within a few seconds. */
  async function readSome(fd: number): Promise<string> {
    let got = '';
    await waitFor(
      () => {
        const r = recvFds(fd, 64, 0);
        if (r !== null) got += r.data.toString();
        return got.length > 0;
      },
      3000,
      'bytes on the app end',
    );
    return got;
  }

  describe('TCP', () => {
    it('a listener on :: accepts an IPv4 peer as ::ffff:a.b.c.d and an IPv6 peer as itself; names in each family', async () => {
      const c = await client();
      const l = await tcp(c, 6);
      expect(await c.bind(l.ino, IPV6_ANY, 7200)).toBe(0);
      expect(await c.listen(l.ino)).toBe(0);
      expect(await c.nameOf(Op.GETSOCKNAME, l.ino)).toEqual({ family: 6, addr: IPV6_ANY, port: 7200, flowinfo: 0, scopeId: 0 });
      expect((await c.call(Op.WHOIS, l.ino)).result).toBe(Kind.LISTENER);

      const four = await tcp(c, 4);
      expect(await c.connectTo(four.ino, STACK4, 7200, FLAG_WAIT)).toBe(0);
      const a4 = await acceptFrom(l.fd);
      fds.push(a4.fd);
      expect([a4.family, a4.addr]).toEqual([6, MAPPED]);
      const mine4 = await c.nameOf(Op.GETSOCKNAME, four.ino);
      expect([mine4.family, mine4.addr, a4.port]).toEqual([4, STACK4, mine4.port]);
      const acceptedIno = nativePlumbing.inode(a4.fd);
      expect(await c.nameOf(Op.GETPEERNAME, acceptedIno)).toMatchObject({ family: 6, addr: MAPPED, port: mine4.port });
      expect(await c.nameOf(Op.GETSOCKNAME, acceptedIno)).toMatchObject({ family: 6, addr: MAPPED, port: 7200 });
      expect(await c.nameOf(Op.GETPEERNAME, four.ino)).toMatchObject({ family: 4, addr: STACK4, port: 7200 });
      expect(sendFds(four.fd, Buffer.from('over v4'), [])).toBe(7);
      expect(await readSome(a4.fd)).toBe('over v4');

      const six = await tcp(c, 6);
      expect(await c.connectTo(six.ino, STACK6, 7200, FLAG_WAIT)).toBe(0);
      const a6 = await acceptFrom(l.fd);
      fds.push(a6.fd);
      const mine6 = await c.nameOf(Op.GETSOCKNAME, six.ino);
      expect([a6.family, a6.addr, a6.port]).toEqual([6, STACK6, mine6.port]);
      expect(mine6).toMatchObject({ family: 6, addr: STACK6 });
      expect(await c.nameOf(Op.GETPEERNAME, six.ino)).toMatchObject({ family: 6, addr: STACK6, port: 7200 });
      expect(sendFds(a6.fd, Buffer.from('over v6'), [])).toBe(7);
      expect(await readSome(six.fd)).toBe('over v6');
    });

    it('IPV6_V6ONLY: settable before bind only; a V6ONLY listener refuses IPv4 and serves IPv6', async () => {
      const c = await client();
      const l = await tcp(c, 6);
      expect(await getOpt(c, l.ino, IPPROTO_IPV6, IPV6.V6ONLY)).toBe(0);
      expect(await setOpt(c, l.ino, IPPROTO_IPV6, IPV6.V6ONLY, shortInt(1, 2))).toBe(-Errno.EINVAL);
      expect(await setOpt(c, l.ino, IPPROTO_IPV6, IPV6.V6ONLY, 1)).toBe(0);
      expect(await c.bind(l.ino, IPV6_ANY, 7201)).toBe(0);
      expect(await setOpt(c, l.ino, IPPROTO_IPV6, IPV6.V6ONLY, 0)).toBe(-Errno.EINVAL);
      expect(await getOpt(c, l.ino, IPPROTO_IPV6, IPV6.V6ONLY)).toBe(1);
      expect(await c.listen(l.ino)).toBe(0);
      const four = await tcp(c, 4);
      expect(await c.connectTo(four.ino, STACK4, 7201, FLAG_WAIT)).toBe(-Errno.ECONNREFUSED);
      const six = await tcp(c, 6);
      expect(await c.connectTo(six.ino, STACK6, 7201, FLAG_WAIT)).toBe(0);
      const a = await acceptFrom(l.fd);
      fds.push(a.fd);
      expect(a.addr).toBe(STACK6);
    });

    it('a sockaddr of the other family is EAFNOSUPPORT, a short one EINVAL; SOCKET of an unknown domain is EAFNOSUPPORT', async () => {
      const c = await client();
      const six = await tcp(c, 6);
      const four = await tcp(c, 4);
      expect(await c.bind(six.ino, STACK4, 7202)).toBe(-Errno.EAFNOSUPPORT);
      expect(await c.bind(four.ino, STACK6, 7202)).toBe(-Errno.EAFNOSUPPORT);
      expect(await c.connectTo(six.ino, STACK4, 7202, FLAG_WAIT)).toBe(-Errno.EAFNOSUPPORT);
      expect((await c.call(Op.BIND, six.ino, Buffer.alloc(16))).result).toBe(-Errno.EINVAL);
      const packet = encodeSocketRequest(SOCK_STREAM, 0, 4);
      packet.writeInt32LE(17, 8); // AF_PACKET
      const r = await c.call(Op.SOCKET, 0, packet);
      expect([r.result, r.fds.length]).toEqual([-Errno.EAFNOSUPPORT, 0]);
    });

    it('answers IPPROTO_IPV6 options as Linux: hop limit and traffic class ranges, TCP-only refusals, SO_DOMAIN', async () => {
      const c = await client();
      const s = await tcp(c, 6);
      expect(await getOpt(c, s.ino, SOL_SOCKET, SO_DOMAIN)).toBe(10);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS, 255)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS)).toBe(255);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS, 256)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS, -2)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS, shortInt(9, 1))).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS, -1)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.UNICAST_HOPS)).toBe(64);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.TCLASS, 0x28)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.TCLASS)).toBe(0x28);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.TCLASS, -1)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.TCLASS)).toBe(0);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.TCLASS, 256)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_HOPS, 1)).toBe(-Errno.ENOPROTOOPT);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.JOIN_GROUP, Buffer.alloc(20))).toBe(-EPROTO);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.RECVPKTINFO, 1)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.RECVPKTINFO)).toBe(1);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU, 1279)).toBe(-Errno.EINVAL);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU)).toBe(-Errno.ENOTCONN);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, 99, 1)).toBe(-Errno.ENOPROTOOPT);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, 99)).toBe(-Errno.ENOPROTOOPT);
      // ipv6_getsockopt: a level it does not know is ENOPROTOOPT (ip_getsockopt's is EOPNOTSUPP)
      expect(await getOpt(c, s.ino, IPPROTO_ICMPV6, ICMP6_FILTER)).toBe(-Errno.ENOPROTOOPT);
      const four = await tcp(c, 4);
      expect(await getOpt(c, four.ino, IPPROTO_IPV6, IPV6.V6ONLY)).toBe(-Errno.EOPNOTSUPP);
      // TCP_INFO is unchanged on AF_INET6
      const info = await c.call(Op.GETSOCKOPT, s.ino, sockopt(IPPROTO_TCP, TCP_INFO, Buffer.alloc(0), 104));
      expect(info.result).toBe(104);
    });
  });

  describe('UDP', () => {
    it('an AF_INET6 socket on :: receives IPv4 as v4-mapped and IPv6 as itself, and answers both', async () => {
      const c = await client();
      const s6 = await dgram(c, SOCK_DGRAM, 0, 6);
      expect(await c.bind(s6.ino, IPV6_ANY, 7300)).toBe(0);
      expect(await c.nameOf(Op.GETSOCKNAME, s6.ino)).toMatchObject({ family: 6, addr: IPV6_ANY, port: 7300 });
      expect(await setOpt(c, s6.ino, IPPROTO_IPV6, IPV6.RECVPKTINFO, 1)).toBe(0);

      const s4 = await dgram(c, SOCK_DGRAM, 0, 4);
      sendDatagram(s4.fd, Buffer.from('from v4'), { addr: STACK4, port: 7300 });
      const r4 = await expectRecord(s6.fd, 3000, 6);
      expect(r4.payload.toString()).toBe('from v4');
      expect([r4.header.addr, r4.header.local, r4.header.flags & DGF.PKTINFO]).toEqual([MAPPED, MAPPED, DGF.PKTINFO]);
      const port4 = (await c.nameOf(Op.GETSOCKNAME, s4.ino)).port;
      expect(r4.header.port).toBe(port4);
      sendDatagram(s6.fd, Buffer.from('back to v4'), { addr: MAPPED, port: port4 });
      const back4 = await expectRecord(s4.fd);
      expect([back4.header.addr, back4.header.port, back4.payload.toString()]).toEqual([STACK4, 7300, 'back to v4']);

      const other = await dgram(c, SOCK_DGRAM, 0, 6);
      sendDatagram(other.fd, Buffer.from('from v6'), { addr: STACK6, port: 7300 });
      const r6 = await expectRecord(s6.fd, 3000, 6);
      expect([r6.header.addr, r6.header.local, r6.payload.toString()]).toEqual([STACK6, STACK6, 'from v6']);
      const otherName = await c.nameOf(Op.GETSOCKNAME, other.ino);
      expect(r6.header.port).toBe(otherName.port);
      expect(await c.connectTo(other.ino, STACK6, 7300)).toBe(0);
      expect(await c.nameOf(Op.GETPEERNAME, other.ino)).toMatchObject({ family: 6, addr: STACK6, port: 7300 });
      // getsockname names the source the association picked
      expect(await c.nameOf(Op.GETSOCKNAME, other.ino)).toMatchObject({ family: 6, addr: STACK6 });
    });

    it('answers the datagram IPPROTO_IPV6 options with Linux’s checks, and joins IPv6 groups', async () => {
      const c = await client();
      const s = await dgram(c, SOCK_DGRAM, 0, 6);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_HOPS, -1)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_HOPS)).toBe(1);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_HOPS, 256)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_LOOP, 2)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_LOOP, 0)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.MULTICAST_LOOP)).toBe(0);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU_DISCOVER, 6)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU_DISCOVER, 2)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU_DISCOVER)).toBe(2);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU, 1000)).toBe(-Errno.EINVAL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU, 1280)).toBe(0);
      expect(await getOpt(c, s.ino, IPPROTO_IPV6, IPV6.MTU)).toBe(-Errno.ENOTCONN);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.CHECKSUM, 2)).toBe(-Errno.ENOPROTOOPT);
      const mreq = Buffer.alloc(20);
      Buffer.from(parseIpv6Addr('ff02::1:3')!, 'hex').copy(mreq);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.JOIN_GROUP, mreq)).toBe(0);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.JOIN_GROUP, mreq)).toBe(-Errno.EADDRINUSE);
      expect(stack.multicastGroups()).toContain(parseIpv6Addr('ff02::1:3'));
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.LEAVE_GROUP, mreq)).toBe(0);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.LEAVE_GROUP, mreq)).toBe(-Errno.EADDRNOTAVAIL);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.JOIN_GROUP, mreq.subarray(0, 19))).toBe(-Errno.EINVAL);
      const unicast = Buffer.alloc(20);
      Buffer.from(STACK6, 'hex').copy(unicast);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.JOIN_GROUP, unicast)).toBe(-Errno.EINVAL);
      expect(await getOpt(c, s.ino, SOL_SOCKET, SO_DOMAIN)).toBe(10);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.V6ONLY, 1)).toBe(0);
      expect(await c.bind(s.ino, IPV6_ANY, 0)).toBe(0);
      expect(await setOpt(c, s.ino, IPPROTO_IPV6, IPV6.V6ONLY, 0)).toBe(-Errno.EINVAL);
    });
  });

  describe('ICMPv6', () => {
    it('ping sockets take IPPROTO_ICMPV6 on AF_INET6 only, and echo through the stack', async () => {
      const c = await client();
      expect(await dgramSocket(c, SOCK_DGRAM, 1, 6)).toBe(-EPROTONOSUPPORT);
      expect(await dgramSocket(c, SOCK_DGRAM, IPPROTO_ICMPV6, 4)).toBe(-EPROTONOSUPPORT);
      const p = await dgram(c, SOCK_DGRAM, IPPROTO_ICMPV6, 6);
      expect((await c.call(Op.WHOIS, p.ino)).result).toBe(Kind.PING);
      expect(await getOpt(c, p.ino, SOL_SOCKET, SO_PROTOCOL)).toBe(IPPROTO_ICMPV6);
      sendDatagram(p.fd, echoRequest(1), { addr: STACK6, port: 0 });
      const reply = await expectRecord(p.fd, 3000, 6);
      expect([reply.payload[0], reply.payload[7], reply.header.addr]).toEqual([129, 1, STACK6]);
      expect(reply.payload.subarray(8).toString()).toBe('ping');
    });

    it('raw ICMPv6 sockets: IPV6_CHECKSUM is 2 and read-only, ICMP6_FILTER keeps blocked types from the app', async () => {
      const c = await client();
      const r = await dgram(c, SOCK_RAW, IPPROTO_ICMPV6, 6);
      expect((await c.call(Op.WHOIS, r.ino)).result).toBe(Kind.RAW_ICMP);
      expect(await getOpt(c, r.ino, IPPROTO_IPV6, IPV6.CHECKSUM)).toBe(2);
      expect(await setOpt(c, r.ino, IPPROTO_IPV6, IPV6.CHECKSUM, 4)).toBe(-Errno.EINVAL);
      expect((await c.nameOf(Op.GETSOCKNAME, r.ino)).port).toBe(IPPROTO_ICMPV6);
      const none = await c.call(Op.GETSOCKOPT, r.ino, sockopt(IPPROTO_ICMPV6, ICMP6_FILTER, Buffer.alloc(0), 32));
      expect([none.result, none.payload.equals(Buffer.alloc(32))]).toEqual([32, true]);

      sendDatagram(r.fd, echoRequest(2), { addr: STACK6, port: 0 });
      await waitFor(
        async () => (await drainRecords(r.fd, 100)).some((m) => m.payload[0] === 129),
        3000,
        'the echo reply on the raw socket',
      );

      const blockReplies = Buffer.alloc(32);
      blockReplies[129 >> 3] = 1 << (129 & 7);
      expect(await setOpt(c, r.ino, IPPROTO_ICMPV6, ICMP6_FILTER, blockReplies)).toBe(0);
      const got = await c.call(Op.GETSOCKOPT, r.ino, sockopt(IPPROTO_ICMPV6, ICMP6_FILTER, Buffer.alloc(0), 32));
      expect(got.payload.equals(blockReplies)).toBe(true);
      const p = await dgram(c, SOCK_DGRAM, IPPROTO_ICMPV6, 6);
      sendDatagram(p.fd, echoRequest(3), { addr: STACK6, port: 0 });
      expect((await expectRecord(p.fd, 3000, 6)).payload[0]).toBe(129);
      // the ping socket has its reply: the raw socket would have had its copy by now
      expect((await drainRecords(r.fd, 200)).filter((m) => m.payload[0] === 129)).toEqual([]);
    });
  });
});
