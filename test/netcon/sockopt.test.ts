/**
 * Socket options as src/netcon/sockopt.ts maps them onto the stack: IP_TOS/IP_TTL on the packets
 * a connection sends, struct tcp_info's layout, and the kernel's answers for options that are
 * kept without effect or refused. Expected errnos and roundings were measured against Linux
 * (test/shim/behave.c compares the rest with the kernel directly).
 */
import { describe, expect, it } from 'vitest';
import { MAX_FRAME, RESPONSE_HEADER } from '../../src/netcon/protocol.js';
import { Errno } from '../../src/netstack/errno.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import {
  encodeCcInfo,
  encodeTcpInfo,
  getOption,
  IP,
  IPPROTO_IP,
  IPPROTO_TCP,
  KeptOptions,
  setOption,
  SO,
  SOL_SOCKET,
  type SocketStateView,
  TCP,
  TCP_BBR_INFO_SIZE,
  TCP_INFO_SIZE,
} from '../../src/netcon/sockopt.js';
import { ip, makeSegment } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const ENODEV = 19;

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

function viewOf(tcp: TcpSocket): SocketStateView {
  return {
    family: 4,
    listening: tcp.state === 'LISTEN',
    takeError: () => tcp.takeError(),
    kept: new KeptOptions(),
    tcpInfo: () => tcp.info(),
  };
}

function getInt(tcp: TcpSocket, view: SocketStateView, level: number, name: number): number {
  const v = getOption(tcp, view, level, name);
  if (typeof v === 'number') return v;
  expect(v.length).toBe(4);
  return v.readInt32LE(0);
}

/** IPv4 TCP packets on the wire from stack `from`: their TOS, TTL and TCP flags. */
function tcpPackets(frames: { from: number; frame: Buffer }[], from: number): { tos: number; ttl: number; flags: number }[] {
  const out: { tos: number; ttl: number; flags: number }[] = [];
  for (const f of frames) {
    if (f.from !== from || f.frame.readUInt16BE(12) !== 0x0800 || f.frame[23] !== 6) continue;
    const ihl = (f.frame[14]! & 0xf) * 4;
    out.push({ tos: f.frame[15]!, ttl: f.frame[22]!, flags: f.frame[14 + ihl + 13]! });
  }
  return out;
}

function pair(delayMs = 0) {
  const seg = makeSegment(2, { delayMs });
  const [a, b] = seg.stacks as [(typeof seg.stacks)[0], (typeof seg.stacks)[0]];
  a.addAddress(A, 24);
  b.addAddress(B, 24);
  seg.sched.advance(1);
  seg.frames.length = 0;
  return { seg, a, b };
}

/** A listener on B:port, bound and listening (or the test fails there). */
function listenOnB(b: { tcpSocket(): TcpSocket }, port: number): TcpSocket {
  const listener = b.tcpSocket();
  expect(listener.bind(B, port)).toBe(0);
  expect(listener.listen(4)).toBe(0);
  return listener;
}

describe('IP_TOS and IP_TTL', () => {
  it("go on every packet the connection sends, and an accepted connection takes its listener's", () => {
    const { seg, a, b } = pair();
    const listener = b.tcpSocket();
    const lview = viewOf(listener);
    expect(setOption(listener, lview, IPPROTO_IP, IP.TOS, int32(0x20))).toBe(0);
    expect(setOption(listener, lview, IPPROTO_IP, IP.TTL, int32(21))).toBe(0);
    expect(listener.bind(B, 80)).toBe(0);
    expect(listener.listen(4)).toBe(0);

    const client = a.tcpSocket();
    const cview = viewOf(client);
    // The ECN bits are the stack's (Linux masks them on TCP sockets too).
    expect(setOption(client, cview, IPPROTO_IP, IP.TOS, int32(0xb9))).toBe(0);
    expect(getInt(client, cview, IPPROTO_IP, IP.TOS)).toBe(0xb8);
    expect(setOption(client, cview, IPPROTO_IP, IP.TTL, Buffer.from([33]))).toBe(0);
    expect(getInt(client, cview, IPPROTO_IP, IP.TTL)).toBe(33);
    expect(client.connect(B, 80)).toBe(-Errno.EINPROGRESS);
    let accepted: TcpSocket | null = null;
    seg.sched.runUntil(() => (accepted = listener.accept()) !== null, 10_000);
    expect(accepted).not.toBeNull();
    expect(client.write(Buffer.from('hello'))).toBe(5);
    seg.sched.advance(100);
    const fromClient = tcpPackets(seg.frames, 0);
    const fromServer = tcpPackets(seg.frames, 1);
    expect(fromClient.length).toBeGreaterThanOrEqual(3); // SYN, ACK, data
    expect(fromServer.length).toBeGreaterThanOrEqual(2); // SYN-ACK, ACK
    for (const p of fromClient) expect(p).toMatchObject({ tos: 0xb8, ttl: 33 });
    for (const p of fromServer) expect(p).toMatchObject({ tos: 0x20, ttl: 21 });
    const acc = accepted as unknown as TcpSocket;
    expect(getInt(acc, viewOf(acc), IPPROTO_IP, IP.TOS)).toBe(0x20);

    // Changing them mid-connection applies to what follows, the reset included; -1 is the default.
    expect(setOption(client, cview, IPPROTO_IP, IP.TOS, int32(0x10))).toBe(0);
    expect(setOption(client, cview, IPPROTO_IP, IP.TTL, int32(-1))).toBe(0);
    expect(getInt(client, cview, IPPROTO_IP, IP.TTL)).toBe(64);
    seg.frames.length = 0;
    client.abort();
    seg.sched.advance(100);
    const rst = tcpPackets(seg.frames, 0);
    expect(rst.length).toBe(1);
    expect(rst[0]!.flags & 0x04).toBe(0x04);
    expect(rst[0]).toMatchObject({ tos: 0x10, ttl: 64 });
  });

  it('a socket left at the defaults sends TOS 0 and TTL 64', () => {
    const { seg, a, b } = pair();
    listenOnB(b, 81);
    const client = a.tcpSocket();
    expect(client.connect(B, 81)).toBe(-Errno.EINPROGRESS);
    seg.sched.runUntil(() => client.state === 'ESTABLISHED', 10_000);
    const packets = [...tcpPackets(seg.frames, 0), ...tcpPackets(seg.frames, 1)];
    expect(packets.length).toBeGreaterThanOrEqual(3);
    for (const p of packets) expect(p).toMatchObject({ tos: 0, ttl: 64 });
  });

  it('are validated as Linux does', () => {
    const { a } = pair();
    const s = a.tcpSocket();
    const v = viewOf(s);
    expect(setOption(s, v, IPPROTO_IP, IP.TTL, int32(0))).toBe(-Errno.EINVAL);
    expect(setOption(s, v, IPPROTO_IP, IP.TTL, int32(256))).toBe(-Errno.EINVAL);
    expect(setOption(s, v, IPPROTO_IP, IP.TTL, Buffer.alloc(0))).toBe(-Errno.EINVAL);
    expect(setOption(s, v, IPPROTO_IP, IP.TOS, Buffer.alloc(0))).toBe(0);
    expect(setOption(s, v, IPPROTO_IP, IP.TOS, int32(0x148))).toBe(0);
    expect(getInt(s, v, IPPROTO_IP, IP.TOS)).toBe(0x48);
    expect(getInt(s, v, IPPROTO_IP, IP.TTL)).toBe(64);
    expect(getOption(s, v, IPPROTO_IP, 200)).toBe(-Errno.ENOPROTOOPT);
  });
});

describe('options kept without effect, and refused ones', () => {
  it("answer with the kernel's values and errnos", () => {
    const { a } = pair();
    const s = a.tcpSocket();
    const v = viewOf(s);
    expect(getInt(s, v, IPPROTO_IP, IP.RECVERR)).toBe(0);
    expect(setOption(s, v, IPPROTO_IP, IP.RECVERR, Buffer.from([1]))).toBe(0);
    expect(getInt(s, v, IPPROTO_IP, IP.RECVERR)).toBe(1);
    expect(getInt(s, v, IPPROTO_TCP, TCP.QUICKACK)).toBe(1);
    expect(setOption(s, v, IPPROTO_TCP, TCP.QUICKACK, int32(0))).toBe(0);
    expect(getInt(s, v, IPPROTO_TCP, TCP.QUICKACK)).toBe(0);
    expect(setOption(s, v, IPPROTO_TCP, TCP.QUICKACK, Buffer.alloc(2))).toBe(-Errno.EINVAL);
    // TCP_DEFER_ACCEPT is kept as SYN-ACK retransmissions: these pairs are Linux 6.x's answers.
    const kernel: [number, number][] = [
      [-3, 0],
      [0, 0],
      [1, 1],
      [2, 3],
      [3, 3],
      [4, 7],
      [5, 7],
      [30, 31],
      [100, 127],
      [1000, 1087],
      [100000, 29887],
      [2147483647, 29887],
    ];
    for (const [set, got] of kernel) {
      expect(setOption(s, v, IPPROTO_TCP, TCP.DEFER_ACCEPT, int32(set))).toBe(0);
      expect(getInt(s, v, IPPROTO_TCP, TCP.DEFER_ACCEPT), `defer ${set}`).toBe(got);
    }
    expect(setOption(s, v, IPPROTO_TCP, TCP.FASTOPEN, int32(-1))).toBe(-Errno.EINVAL);
    expect(setOption(s, v, IPPROTO_TCP, TCP.FASTOPEN, int32(8))).toBe(0);
    expect(getInt(s, v, IPPROTO_TCP, TCP.FASTOPEN)).toBe(8);
    expect(setOption(s, v, IPPROTO_TCP, TCP.FASTOPEN_CONNECT, int32(2))).toBe(-Errno.EINVAL);
    expect(setOption(s, v, IPPROTO_TCP, TCP.FASTOPEN_CONNECT, int32(1))).toBe(0);
    expect(getInt(s, v, IPPROTO_TCP, TCP.FASTOPEN_CONNECT)).toBe(1);
    expect(setOption(s, v, IPPROTO_TCP, TCP.INFO, int32(1))).toBe(-Errno.ENOPROTOOPT);
    // No device of the virtual network has a name the app could give.
    expect(setOption(s, v, SOL_SOCKET, SO.BINDTODEVICE, Buffer.from('eth0\0'))).toBe(-ENODEV);
    expect(setOption(s, v, SOL_SOCKET, SO.BINDTODEVICE, Buffer.alloc(0))).toBe(0);
    expect(setOption(s, v, SOL_SOCKET, SO.BINDTODEVICE, Buffer.from('\0'))).toBe(0);
    expect(getOption(s, v, SOL_SOCKET, SO.BINDTODEVICE)).toEqual(Buffer.alloc(0));
    // IPv6 options on an IPv4 socket: setsockopt ENOPROTOOPT, getsockopt EOPNOTSUPP (ip_getsockopt).
    expect(setOption(s, v, IPPROTO_IPV6, IPV6_V6ONLY, int32(1))).toBe(-Errno.ENOPROTOOPT);
    expect(getOption(s, v, IPPROTO_IPV6, IPV6_V6ONLY)).toBe(-Errno.EOPNOTSUPP);
  });

  it('TCP_FASTOPEN on a connected socket and TCP_FASTOPEN_CONNECT after connect are refused', () => {
    const { seg, a, b } = pair();
    const listener = listenOnB(b, 82);
    const lv = viewOf(listener);
    expect(setOption(listener, lv, IPPROTO_TCP, TCP.FASTOPEN, int32(5))).toBe(0);
    const c = a.tcpSocket();
    c.connect(B, 82);
    seg.sched.runUntil(() => c.state === 'ESTABLISHED', 10_000);
    const cv = viewOf(c);
    expect(setOption(c, cv, IPPROTO_TCP, TCP.FASTOPEN, int32(5))).toBe(-Errno.EINVAL);
    expect(setOption(c, cv, IPPROTO_TCP, TCP.FASTOPEN_CONNECT, int32(1))).toBe(-Errno.EINVAL);
  });
});

describe('TCP_INFO', () => {
  /** Reads the fields of Linux's struct tcp_info the tests look at. */
  function parse(b: Buffer) {
    return {
      state: b[0]!,
      caState: b[1]!,
      options: b[5]!,
      sndWscale: b[6]! & 0xf,
      rcvWscale: b[6]! >> 4,
      rto: b.readUInt32LE(8),
      sndMss: b.readUInt32LE(16),
      rcvMss: b.readUInt32LE(20),
      unacked: b.readUInt32LE(24),
      sacked: b.readUInt32LE(28),
      pmtu: b.readUInt32LE(60),
      rtt: b.readUInt32LE(68),
      rttvar: b.readUInt32LE(72),
      sndSsthresh: b.readUInt32LE(76),
      sndCwnd: b.readUInt32LE(80),
      advmss: b.readUInt32LE(84),
      totalRetrans: b.readUInt32LE(100),
      maxPacingRate: b.readBigUInt64LE(112),
      bytesAcked: b.readBigUInt64LE(120),
      bytesReceived: b.readBigUInt64LE(128),
      segsOut: b.readUInt32LE(136),
      segsIn: b.readUInt32LE(140),
      minRtt: b.readUInt32LE(148),
      bytesSent: b.readBigUInt64LE(200),
      sndWnd: b.readUInt32LE(228),
      totalRto: b.readUInt16LE(240),
    };
  }

  it("lays the figures out as Linux's struct tcp_info", () => {
    const b = encodeTcpInfo({
      state: 'ESTABLISHED',
      mss: 1448,
      rcvMss: 1436,
      advMss: 1460,
      cwnd: 14480,
      ssthresh: 0x7fffffff,
      srtt: 12.5,
      rttvar: 3.25,
      rttSamples: 4,
      minRtt: 10,
      rto: 212,
      timestamps: 1,
      sack: 1,
      wscale: 1,
      sndWscale: 7,
      rcvWscale: 9,
      unacked: 2897,
      sacked: 0,
      retransmits: 5,
      rtoTimeouts: 2,
      bytesAcked: 2 ** 33 + 5,
      bytesReceived: 77,
      bytesSent: 2 ** 33 + 3000,
      segsOut: 40,
      segsIn: 30,
      sndWnd: 123456,
      pmtu: 1500,
      inRecovery: 0,
    });
    expect(b.length).toBe(TCP_INFO_SIZE);
    // One GETSOCKOPT reply carries it whole.
    expect(TCP_INFO_SIZE).toBeLessThanOrEqual(MAX_FRAME - RESPONSE_HEADER);
    expect(parse(b)).toEqual({
      state: 1,
      caState: 0,
      options: 7,
      sndWscale: 7,
      rcvWscale: 9,
      rto: 212_000,
      sndMss: 1448,
      rcvMss: 1436,
      unacked: 3, // segments: two full and a partial one
      sacked: 0,
      pmtu: 1500,
      rtt: 12_500,
      rttvar: 3_250,
      sndSsthresh: 0x7fffffff,
      sndCwnd: 10,
      advmss: 1460,
      totalRetrans: 5,
      maxPacingRate: 0xffffffffffffffffn,
      bytesAcked: 2n ** 33n + 5n,
      bytesReceived: 77n,
      segsOut: 40,
      segsIn: 30,
      minRtt: 10_000,
      bytesSent: 2n ** 33n + 3000n,
      sndWnd: 123456,
      totalRto: 2,
    });
  });

  it('reports recovery, a finite ssthresh in segments, and a sub-millisecond RTT as measured', () => {
    const p = parse(
      encodeTcpInfo({
        state: 'FIN_WAIT_1',
        mss: 1000,
        cwnd: 5000,
        ssthresh: 7000,
        srtt: 0,
        rttSamples: 1,
        minRtt: 0,
        inRecovery: 1,
        wscale: 0,
        sndWscale: 7,
      }),
    );
    expect(p.state).toBe(4);
    expect(p.caState).toBe(3);
    expect(p.sndSsthresh).toBe(7);
    expect(p.sndCwnd).toBe(5);
    expect(p.rtt).toBe(1);
    expect(p.minRtt).toBe(1);
    // No window scaling negotiated: no shifts reported.
    expect(p.options & 4).toBe(0);
    expect(p.sndWscale).toBe(0);
    const none = parse(encodeTcpInfo({ state: 'SYN_SENT', mss: 536, rttSamples: 0, inRecovery: 2 }));
    expect(none.state).toBe(2);
    expect(none.caState).toBe(4);
    expect(none.rtt).toBe(0);
    expect(none.minRtt).toBe(0xffffffff);
  });

  it('a listener reports its accept queue and backlog, and nothing of a connection', () => {
    const p = parse(encodeTcpInfo({ state: 'LISTEN', mss: 536, cwnd: 5360, rto: 1000, acceptQueued: 2, backlog: 128, rttSamples: 0 }));
    expect(p.state).toBe(10);
    expect(p.unacked).toBe(2);
    expect(p.sacked).toBe(128);
    expect(p.rto).toBe(0);
    expect(p.sndMss).toBe(0);
    expect(p.sndCwnd).toBe(10);
    expect(p.maxPacingRate).toBe(0xffffffffffffffffn);
  });

  it('comes from the live connection: state, negotiated options, bytes acked and received', () => {
    const { seg, a, b } = pair();
    const listener = listenOnB(b, 83);
    const c = a.tcpSocket();
    const cv = viewOf(c);
    const info = (s: TcpSocket) => {
      const v = getOption(s, viewOf(s), IPPROTO_TCP, TCP.INFO);
      if (typeof v === 'number') throw new Error(`TCP_INFO: ${v}`);
      return parse(v);
    };
    expect(info(c).state).toBe(7);
    expect(info(listener).state).toBe(10);
    c.connect(B, 83);
    let acc: TcpSocket | null = null;
    seg.sched.runUntil(() => (acc = listener.accept()) !== null && c.state === 'ESTABLISHED', 10_000);
    const server = acc as unknown as TcpSocket;
    const before = info(c);
    expect(before.state).toBe(1);
    expect(before.options).toBe(7);
    expect(before.sndMss).toBeGreaterThan(0);
    expect(before.pmtu).toBeGreaterThanOrEqual(before.sndMss + 40);
    const data = Buffer.alloc(200_000, 7);
    let written = 0;
    let read = 0;
    seg.sched.runUntil(() => {
      if (written < data.length) {
        const n = c.write(data.subarray(written));
        if (n > 0) written += n;
      }
      for (;;) {
        const r = server.read();
        if (typeof r === 'number') break;
        read += r.length;
      }
      return read === data.length && info(c).unacked === 0;
    }, 60_000);
    expect(read).toBe(data.length);
    const after = info(c);
    expect(after.bytesAcked - before.bytesAcked).toBe(BigInt(data.length));
    expect(info(server).bytesReceived).toBe(BigInt(data.length));
    expect(after.segsOut).toBeGreaterThan(before.segsOut);
    expect(info(server).segsIn).toBeGreaterThan(1);
    expect(cv.tcpInfo().state).toBe('ESTABLISHED');
    server.close();
    seg.sched.runUntil(() => c.state === 'CLOSE_WAIT', 10_000);
    expect(info(c).state).toBe(8);
  });
});

describe('TCP_CONGESTION', () => {
  const ENOENT = 2;
  const name = (s: TcpSocket, v: SocketStateView): string => {
    const b = getOption(s, v, IPPROTO_TCP, TCP.CONGESTION);
    if (typeof b === 'number') throw new Error(`getsockopt failed: ${b}`);
    return b.toString('latin1').replace(/\0.*$/s, '');
  };

  it("takes Linux's names cubic, reno and bbr, reports the one in use, and refuses others with ENOENT", () => {
    const { a } = pair();
    const s = a.tcpSocket();
    const v = viewOf(s);
    expect(name(s, v)).toBe('cubic');
    expect(setOption(s, v, IPPROTO_TCP, TCP.CONGESTION, Buffer.from('bbr\0'))).toBe(0);
    expect(name(s, v)).toBe('bbr');
    expect(s.info().congestion).toBe('bbr');
    expect(setOption(s, v, IPPROTO_TCP, TCP.CONGESTION, Buffer.from('reno'))).toBe(0);
    expect(name(s, v)).toBe('reno');
    expect(setOption(s, v, IPPROTO_TCP, TCP.CONGESTION, Buffer.from('vegas\0'))).toBe(-ENOENT);
    expect(setOption(s, v, IPPROTO_TCP, TCP.CONGESTION, Buffer.from('bbr2'))).toBe(-ENOENT);
    expect(name(s, v)).toBe('reno');
  });

  it("a BBR connection reports its pacing rate and delivery rate in tcp_info, as Linux's fields", () => {
    const { seg, a, b } = pair(5); // a round trip long enough for rate samples
    const listener = listenOnB(b, 84);
    const c = a.tcpSocket();
    const cv = viewOf(c);
    expect(setOption(c, cv, IPPROTO_TCP, TCP.CONGESTION, Buffer.from('bbr'))).toBe(0);
    c.connect(B, 84);
    let acc: TcpSocket | null = null;
    seg.sched.runUntil(() => (acc = listener.accept()) !== null && c.state === 'ESTABLISHED', 10_000);
    const server = acc as unknown as TcpSocket;
    const data = Buffer.alloc(500_000, 7);
    let written = 0;
    let read = 0;
    seg.sched.runUntil(() => {
      if (written < data.length) {
        const n = c.write(data.subarray(written));
        if (n > 0) written += n;
      }
      for (;;) {
        const r = server.read();
        if (typeof r === 'number') break;
        read += r.length;
      }
      return read === data.length;
    }, 60_000);
    expect(read).toBe(data.length);
    const ti = getOption(c, cv, IPPROTO_TCP, TCP.INFO);
    if (typeof ti === 'number') throw new Error(`TCP_INFO: ${ti}`);
    const pacing = Number(ti.readBigUInt64LE(104));
    const delivery = Number(ti.readBigUInt64LE(160));
    expect(pacing).toBe(c.info().pacingRate);
    expect(pacing).toBeGreaterThan(0);
    expect(delivery).toBe(c.info().deliveryRate);
    expect(delivery).toBeGreaterThan(0);
    // a CUBIC connection does not pace
    const d = a.tcpSocket();
    expect(d.info().pacingRate).toBe(0);
  });
});

describe('TCP_CC_INFO', () => {
  /** A connection from a to b with `algo`, after 500 kB moved over a 5 ms link: the client and its view. */
  function afterTransfer(algo: string): { c: TcpSocket; cv: SocketStateView } {
    const { seg, a, b } = pair(5);
    const listener = listenOnB(b, 85);
    const c = a.tcpSocket();
    const cv = viewOf(c);
    expect(setOption(c, cv, IPPROTO_TCP, TCP.CONGESTION, Buffer.from(algo))).toBe(0);
    c.connect(B, 85);
    let acc: TcpSocket | null = null;
    seg.sched.runUntil(() => (acc = listener.accept()) !== null && c.state === 'ESTABLISHED', 10_000);
    const server = acc as unknown as TcpSocket;
    const data = Buffer.alloc(500_000, 7);
    let written = 0;
    let read = 0;
    seg.sched.runUntil(() => {
      if (written < data.length) {
        const n = c.write(data.subarray(written));
        if (n > 0) written += n;
      }
      for (;;) {
        const r = server.read();
        if (typeof r === 'number') break;
        read += r.length;
      }
      return read === data.length;
    }, 60_000);
    expect(read).toBe(data.length);
    return { c, cv };
  }

  it("gives a BBR connection's model as struct tcp_bbr_info: bw in bytes/s, min RTT in µs, gains << 8", () => {
    const { c, cv } = afterTransfer('bbr');
    const b = getOption(c, cv, IPPROTO_TCP, TCP.CC_INFO);
    if (typeof b === 'number') throw new Error(`TCP_CC_INFO: ${b}`);
    expect(b.length).toBe(TCP_BBR_INFO_SIZE);
    const bbr = c.info().bbr!;
    const bw = b.readUInt32LE(0) + b.readUInt32LE(4) * 2 ** 32;
    expect(bw).toBe(bbr.bw);
    expect(bw).toBeGreaterThan(0);
    // the link's round trip is 10 ms (5 ms each way)
    expect(b.readUInt32LE(8)).toBeGreaterThanOrEqual(10_000);
    expect(b.readUInt32LE(8)).toBeLessThan(20_000);
    // Linux's BBR_UNIT fixed point: STARTUP 739 (2/ln 2), DRAIN 88, PROBE_BW 320/192/256; cwnd gain 739 or 512
    expect([739, 88, 320, 192, 256]).toContain(b.readUInt32LE(12));
    expect([739, 512, 256]).toContain(b.readUInt32LE(16));
  });

  it('gives nothing (length 0, success) for CUBIC and Reno, which have no get_info in Linux', () => {
    for (const algo of ['cubic', 'reno']) {
      const { c, cv } = afterTransfer(algo);
      const b = getOption(c, cv, IPPROTO_TCP, TCP.CC_INFO);
      expect(b).toEqual(Buffer.alloc(0));
      expect(c.info().bbr).toBeUndefined();
    }
  });

  it("encodes a 64-bit bandwidth in Linux's lo/hi halves and a missing min RTT as ~0", () => {
    const b = encodeCcInfo({ bbr: { bw: 2 ** 32 + 5, minRttUs: 0xffffffff, pacingGain: 739, cwndGain: 739 } });
    expect(b.readUInt32LE(0)).toBe(5);
    expect(b.readUInt32LE(4)).toBe(1);
    expect(b.readUInt32LE(8)).toBe(0xffffffff);
  });

  it("reports an unpaced CUBIC flow's pacing rate as Linux does: 120% (or 200% in slow start) of cwnd × MSS / SRTT", () => {
    const { c, cv } = afterTransfer('cubic');
    const ti = getOption(c, cv, IPPROTO_TCP, TCP.INFO);
    if (typeof ti === 'number') throw new Error(`TCP_INFO: ${ti}`);
    const info = c.info();
    const segs = Math.floor(info.cwnd / info.mss);
    const ratio = info.cwnd < info.ssthresh / 2 ? 2 : 1.2;
    expect(Number(ti.readBigUInt64LE(104))).toBe(Math.round((info.mss * segs * ratio * 1000) / info.srtt));
    expect(info.pacingRate).toBeGreaterThan(0);
  });
});
