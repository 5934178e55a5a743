/**
 * Full stacks over a simulated Ethernet segment in virtual time: ARP, ping, UDP, TCP, loopback,
 * routing, ICMP errors.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import type { Stack } from '../../src/netstack/index.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import type { TcpSocket, UdpDatagram } from '../../src/netstack/socket-api.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { createNetStack } from '../../src/netstack/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { HEADROOM } from '../../src/netstack/transport.js';
import { ip, makeSegment } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);

function pair(opts: { mtu?: number; delayMs?: number } = {}) {
  const seg = makeSegment(2, opts);
  const [a, b] = seg.stacks as [(typeof seg.stacks)[0], (typeof seg.stacks)[0]];
  a.addAddress(A, 24);
  b.addAddress(B, 24);
  seg.sched.advance(1 + (opts.delayMs ?? 0)); // let the gratuitous ARPs land
  seg.frames.length = 0;
  return { seg, a, b };
}

function pingSync(seg: ReturnType<typeof makeSegment>, from: (typeof seg.stacks)[0], dst: number, opts = {}): PingResult {
  let r: PingResult | null = null;
  from.ping(dst, opts, (x) => (r = x));
  seg.sched.runUntil(() => r !== null, 60_000);
  if (!r) throw new Error('ping never completed');
  return r;
}

describe('stack: addresses and routes', () => {
  it('adding an address brings its subnet route and a gratuitous ARP', () => {
    const seg = makeSegment(1);
    const s = seg.stacks[0]!;
    s.addAddress(ip(192, 168, 5, 7), 24);
    expect(s.addresses()).toEqual([{ addr: ip(192, 168, 5, 7), prefixLen: 24 }]);
    expect(s.routes()).toEqual([{ dest: ip(192, 168, 5, 0), prefixLen: 24, gateway: null, metric: 0 }]);
    expect(seg.frames).toHaveLength(1);
    const f = seg.frames[0]!.frame;
    expect(f.readUInt16BE(12)).toBe(0x0806);
    expect(f.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).toBe(true);
    expect(f.readUInt16BE(14 + 6)).toBe(1); // request
    expect(f.readUInt32BE(14 + 14)).toBe(ip(192, 168, 5, 7)); // sender
    expect(f.readUInt32BE(14 + 24)).toBe(ip(192, 168, 5, 7)); // target = sender
    s.addRoute({ dest: 0, prefixLen: 0, gateway: ip(192, 168, 5, 1), metric: 10 });
    s.removeAddress(ip(192, 168, 5, 7));
    expect(s.addresses()).toEqual([]);
    // the subnet route went with the address; the gateway route the user added stays
    expect(s.routes()).toEqual([{ dest: 0, prefixLen: 0, gateway: ip(192, 168, 5, 1), metric: 10 }]);
  });

  it('a default route sends off-subnet traffic to the gateway MAC', () => {
    const seg = makeSegment(2);
    const [a, gw] = seg.stacks as [NonNullable<(typeof seg.stacks)[0]>, NonNullable<(typeof seg.stacks)[0]>];
    a.addAddress(A, 24);
    gw.addAddress(B, 24);
    a.addRoute({ dest: 0, prefixLen: 0, gateway: B, metric: 0 });
    seg.sched.advance(1);
    seg.frames.length = 0;
    const u = a.udpSocket();
    expect(u.sendTo(Buffer.from('hi'), { addr: ip(8, 8, 8, 8), port: 53 })).toBe(2);
    seg.sched.advance(10);
    // ARP asks for the gateway, then the datagram goes to the gateway's MAC with the far dst in IP
    const arpReq = seg.frames.find((f) => f.from === 0 && f.frame.readUInt16BE(12) === 0x0806)!;
    expect(arpReq.frame.readUInt32BE(14 + 24)).toBe(B);
    const udp = seg.frames.find((f) => f.from === 0 && f.frame.readUInt16BE(12) === 0x0800)!;
    expect([...udp.frame.subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 2]);
    expect(udp.frame.readUInt32BE(14 + 16)).toBe(ip(8, 8, 8, 8));
    // the gateway is not a router: it counts the packet as not for it
    expect(gw.counters().ipv4!.rx_not_for_us).toBe(1);
    // no route at all
    a.removeRoute(0, 0);
    expect(u.sendTo(Buffer.from('hi'), { addr: ip(8, 8, 8, 8), port: 53 })).toBe(-Errno.ENETUNREACH);
  });
});

describe('stack: ARP and ping', () => {
  it('ping resolves the peer by ARP and measures the RTT', () => {
    const { seg, a, b } = pair({ delayMs: 5 });
    const r = pingSync(seg, a, B);
    expect(r).toEqual({ ok: true, rttMs: 20, ttl: 64 }); // ARP request+reply, echo+reply: 4 × 5 ms
    expect(a.counters().arp!.tx_request).toBe(1);
    expect(b.counters().arp!.tx_reply).toBe(1);
    expect(b.counters().icmp!.tx_echo_reply).toBe(1);
    // B learned A from the request, so its reply needed no ARP of its own
    expect(b.counters().arp!.tx_request ?? 0).toBe(0);
    const r2 = pingSync(seg, a, B, { size: 1000 });
    expect(r2).toEqual({ ok: true, rttMs: 10, ttl: 64 });
  });

  it('ping of an absent host fails with EHOSTUNREACH after 3 ARP requests 1 s apart', () => {
    const { seg, a } = pair();
    const t0 = seg.sched.now();
    const r = pingSync(seg, a, ip(10, 0, 0, 99), { timeoutMs: 10_000 });
    expect(r).toEqual({ ok: false, errno: Errno.EHOSTUNREACH });
    expect(seg.sched.now() - t0).toBe(3000);
    const reqs = seg.frames.filter((f) => f.frame.readUInt16BE(12) === 0x0806);
    expect(reqs).toHaveLength(3);
    expect(a.counters().arp!.resolve_failed).toBe(1);
  });

  it('ping times out when replies are lost', () => {
    const { seg, a } = pair();
    seg.filter = (from, f) => !(from === 1 && f.readUInt16BE(12) === 0x0800);
    expect(pingSync(seg, a, B, { timeoutMs: 500 })).toEqual({ ok: false, errno: Errno.ETIMEDOUT });
  });

  it('ping of our own and a loopback address never touches the link', () => {
    const { seg, a } = pair();
    expect(pingSync(seg, a, A)).toEqual({ ok: true, rttMs: 0, ttl: 64 });
    expect(pingSync(seg, a, ip(127, 0, 0, 1))).toEqual({ ok: true, rttMs: 0, ttl: 64 });
    expect(pingSync(seg, a, ip(127, 9, 9, 9))).toEqual({ ok: true, rttMs: 0, ttl: 64 });
    expect(seg.frames).toHaveLength(0);
  });

  it('ARP entries expire and are refreshed while in use, then dropped when unanswered', () => {
    const { seg, a, b } = pair();
    expect(pingSync(seg, a, B).ok).toBe(true);
    seg.sched.advance(31_000); // past reachable time
    seg.frames.length = 0;
    expect(pingSync(seg, a, B).ok).toBe(true);
    // the stale entry was still used, and a refresh request went out
    expect(a.counters().arp!.tx_refresh_request).toBe(1);
    // now B goes silent
    b.close();
    seg.sched.advance(31_000);
    for (let i = 0; i < 5; i++) pingSync(seg, a, B, { timeoutMs: 1000 });
    expect(a.counters().arp!.stale_expired).toBe(1);
    expect(a.counters().arp!.tx_refresh_request).toBeGreaterThanOrEqual(4);
  });

  it('the pending queue per address is bounded and overflow is counted', () => {
    const { seg, a } = pair();
    seg.filter = () => false; // nothing answers
    const u = a.udpSocket();
    for (let i = 0; i < 100; i++) expect(u.sendTo(Buffer.alloc(10), { addr: ip(10, 0, 0, 50), port: 9 })).toBe(10);
    expect(a.counters().arp!.queue_overflow).toBe(36);
    seg.sched.advance(5000);
    expect(a.counters().ipv4!.tx_arp_failed).toBe(64);
  });

  it('answers ARP requests only for its own addresses and learns the asker', () => {
    const { seg, b } = pair();
    const req = (target: number): Buffer => {
      const f = Buffer.alloc(42);
      Buffer.from('ffffffffffff0200000000990806000108000604000102000000009900000000000000000000000000', 'hex').copy(f);
      f.writeUInt32BE(ip(10, 0, 0, 77), 28);
      f.writeUInt32BE(target, 38);
      return f;
    };
    seg.inject(req(ip(10, 0, 0, 200)), -1);
    seg.sched.advance(1);
    expect(b.counters().arp!.tx_reply ?? 0).toBe(0);
    seg.inject(req(B), -1);
    seg.sched.advance(1);
    expect(b.counters().arp!.tx_reply).toBe(1);
    const reply = seg.frames.find((f) => f.from === 1 && f.frame.readUInt16BE(12) === 0x0806)!.frame;
    expect([...reply.subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 0x99]);
    expect(reply.readUInt16BE(20)).toBe(2);
    expect(reply.readUInt32BE(28)).toBe(B);
    expect(reply.readUInt32BE(38)).toBe(ip(10, 0, 0, 77));
  });
});

describe('stack: UDP', () => {
  it('echo between two stacks, with recvfrom addresses and ephemeral ports', () => {
    const { seg, a, b } = pair();
    const server = b.udpSocket();
    expect(server.bind(0, 7)).toBe(0);
    server.handlers.onReadable = () => {
      let d: UdpDatagram | null;
      while ((d = server.recv())) server.sendTo(d.data, d.from);
    };
    const client = a.udpSocket();
    const got: UdpDatagram[] = [];
    client.handlers.onReadable = () => {
      let d: UdpDatagram | null;
      while ((d = client.recv())) got.push(d);
    };
    for (let i = 0; i < 5; i++) expect(client.sendTo(Buffer.from(`msg ${i}`), { addr: B, port: 7 })).toBe(5);
    seg.sched.advance(100);
    expect(got.map((d) => d.data.toString())).toEqual(['msg 0', 'msg 1', 'msg 2', 'msg 3', 'msg 4']);
    expect(got[0]!.from).toEqual({ addr: B, port: 7 });
    const port = client.localAddress()!.port;
    expect(port).toBeGreaterThanOrEqual(32768);
    expect(port).toBeLessThanOrEqual(60999);
  });

  it('a large datagram is fragmented and reassembled', () => {
    const { seg, a, b } = pair({ mtu: 1500 });
    const s = b.udpSocket();
    s.bind(0, 9000);
    const c = a.udpSocket();
    const data = Buffer.alloc(60_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    expect(c.sendTo(data, { addr: B, port: 9000 })).toBe(60_000);
    seg.sched.advance(100);
    const d = s.recv();
    expect(d?.data.equals(data)).toBe(true);
    expect(a.counters().ipv4!.tx_fragments).toBe(Math.ceil(60_008 / 1480));
    expect(b.counters().ipv4!.reasm_ok).toBe(1);
  });

  it('closed port draws ICMP port unreachable; a connected socket gets ECONNREFUSED', () => {
    const { seg, a, b } = pair();
    const c = a.udpSocket();
    expect(c.connect(B, 4444)).toBe(0);
    const errs: number[] = [];
    c.handlers.onError = (e) => errs.push(e.errno);
    expect(c.sendTo(Buffer.from('x'))).toBe(1);
    seg.sched.advance(100);
    expect(b.counters().icmp!.tx_dest_unreach).toBe(1);
    expect(errs).toEqual([Errno.ECONNREFUSED]);
    expect(c.sendTo(Buffer.from('x'))).toBe(-Errno.ECONNREFUSED); // reported once
    expect(c.sendTo(Buffer.from('x'))).toBe(1);
  });

  it('the receive queue is bounded by SO_RCVBUF and drops are counted', () => {
    const { seg, a, b } = pair();
    const s = b.udpSocket();
    s.bind(0, 5000);
    s.setOption('RCVBUF', 10_100);
    const c = a.udpSocket();
    for (let i = 0; i < 50; i++) c.sendTo(Buffer.alloc(1000), { addr: B, port: 5000 });
    seg.sched.advance(100);
    expect(s.pendingDatagrams).toBe(8); // 8 × (1000 + 256 accounting overhead) ≤ 10100
    expect(b.counters().udp!.rx_queue_full).toBe(42);
  });

  it('broadcast needs SO_BROADCAST and reaches sockets on the subnet', () => {
    const { seg, a, b } = pair();
    const s = b.udpSocket();
    s.bind(0, 6000);
    const c = a.udpSocket();
    expect(c.sendTo(Buffer.from('all'), { addr: ip(10, 0, 0, 255), port: 6000 })).toBe(-Errno.EACCES);
    c.setOption('BROADCAST', 1);
    expect(c.sendTo(Buffer.from('all'), { addr: ip(10, 0, 0, 255), port: 6000 })).toBe(3);
    expect(c.sendTo(Buffer.from('lim'), { addr: 0xffffffff, port: 6000 })).toBe(3);
    const local = a.udpSocket(); // the sender's own stack hears its broadcasts too, as Linux
    local.bind(0, 6000);
    seg.sched.advance(10);
    expect(s.recv()?.data.toString()).toBe('all');
    expect(s.recv()?.data.toString()).toBe('lim');
    expect(local.recv()?.data.toString()).toBe('all');
    expect(local.recv()?.data.toString()).toBe('lim');
    expect(local.recv()).toBeNull();
    // no ARP was needed for broadcasts
    expect(a.counters().arp!.tx_request ?? 0).toBe(0);
    // broadcasts to closed ports draw no ICMP
    c.sendTo(Buffer.from('x'), { addr: 0xffffffff, port: 6001 });
    seg.sched.advance(10);
    expect(b.counters().icmp!.tx_dest_unreach ?? 0).toBe(0);
  });

  it('bind conflicts and options', () => {
    const { a } = pair();
    const s1 = a.udpSocket();
    const s2 = a.udpSocket();
    expect(s1.bind(0, 53)).toBe(0);
    expect(s2.bind(A, 53)).toBe(-Errno.EADDRINUSE);
    expect(s2.bind(ip(10, 9, 9, 9), 54)).toBe(-Errno.EADDRNOTAVAIL);
    const s3 = a.udpSocket();
    const s4 = a.udpSocket();
    s3.setOption('REUSEADDR', 1);
    s4.setOption('REUSEADDR', 1);
    expect(s3.bind(0, 99)).toBe(0);
    expect(s4.bind(0, 99)).toBe(0);
    expect(s1.sendTo(Buffer.alloc(65508), { addr: B, port: 1 })).toBe(-Errno.EMSGSIZE);
    expect(s1.sendTo(Buffer.alloc(1))).toBe(-Errno.EDESTADDRREQ);
    s1.close();
    expect(s2.bind(A, 53)).toBe(0);
  });

  it('IPv4 fragments without DF and refuses with -EMSGSIZE when DF is set', () => {
    const { seg, a } = pair({ mtu: 1500 });
    const st = a as Stack;
    const mk = (n: number): Buffer => Buffer.alloc(HEADROOM + 8 + n);
    expect(st.ipv4.send(17, A, B, mk(3000), HEADROOM, { dontFragment: true })).toBe(-Errno.EMSGSIZE);
    expect(st.ipv4.send(17, A, B, mk(1472), HEADROOM, { dontFragment: true })).toBe(0); // exactly 1500
    expect(st.ipv4.send(17, A, B, mk(3000), HEADROOM)).toBe(0);
    seg.sched.advance(10);
    const ipFrames = seg.frames.filter((f) => f.from === 0 && f.frame.readUInt16BE(12) === 0x0800);
    expect(ipFrames.map((f) => f.frame.length - 14)).toEqual([1500, 1500, 1500, 68]);
    // the DF packet carries DF; fragments carry MF and offsets in 8-byte units
    expect(ipFrames[0]!.frame.readUInt16BE(20)).toBe(0x4000);
    expect(ipFrames[1]!.frame.readUInt16BE(20)).toBe(0x2000);
    expect(ipFrames[2]!.frame.readUInt16BE(20)).toBe(0x2000 | (1480 / 8));
    expect(ipFrames[3]!.frame.readUInt16BE(20)).toBe(2960 / 8);
    // a transport without headroom is copied, not refused
    expect(st.ipv4.send(17, A, B, Buffer.alloc(20), 0)).toBe(0);
    expect(a.counters().ipv4!.tx_headroom_copy).toBe(1);
  });

  it('UDP over loopback within one stack', () => {
    const { seg, a } = pair();
    const s = a.udpSocket();
    s.bind(ip(127, 0, 0, 1), 7777);
    const c = a.udpSocket();
    expect(c.sendTo(Buffer.from('lo'), { addr: ip(127, 0, 0, 1), port: 7777 })).toBe(2);
    expect(s.pendingDatagrams).toBe(0); // asynchronous
    seg.sched.advance(0);
    const d = s.recv()!;
    expect(d.data.toString()).toBe('lo');
    expect(d.from.addr).toBe(ip(127, 0, 0, 1));
    expect(seg.frames).toHaveLength(0);
  });
});

function tcpConnect(
  seg: ReturnType<typeof makeSegment>,
  from: (typeof seg.stacks)[0],
  to: (typeof seg.stacks)[0],
  addr: number,
  port: number,
) {
  const l = to.tcpSocket();
  expect(l.bind(0, port)).toBe(0);
  expect(l.listen(8)).toBe(0);
  const c = from.tcpSocket();
  expect(c.connect(addr, port)).toBe(-Errno.EINPROGRESS);
  let s: TcpSocket | null = null;
  seg.sched.runUntil(() => (s ??= l.accept()) !== null && c.state === 'ESTABLISHED', 10_000);
  expect(s).not.toBeNull();
  return { l, c, s: s! };
}

function echoBytes(seg: ReturnType<typeof makeSegment>, c: TcpSocket, s: TcpSocket, data: Buffer): Buffer {
  const got: Buffer[] = [];
  s.handlers.onReadable = () => {
    for (;;) {
      const r = s.read();
      if (typeof r === 'number') return;
      s.write(r);
    }
  };
  c.handlers.onReadable = () => {
    for (;;) {
      const r = c.read();
      if (typeof r === 'number') return;
      got.push(Buffer.from(r));
    }
  };
  let off = 0;
  const pump = (): void => {
    while (off < data.length) {
      const n = c.write(data.subarray(off, off + 65536));
      if (n <= 0) return;
      off += n;
    }
  };
  c.handlers.onWritable = pump;
  pump();
  seg.sched.runUntil(() => got.reduce((n, b) => n + b.length, 0) >= data.length, 60_000);
  return Buffer.concat(got);
}

describe('stack: TCP', () => {
  it('connect, echo and close through two full stacks', () => {
    const { seg, a, b } = pair();
    const { c, s } = tcpConnect(seg, a, b, B, 80);
    expect(c.localAddress()!.addr).toBe(A);
    expect(s.remoteAddress()).toEqual(c.localAddress());
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    expect(echoBytes(seg, c, s, data).equals(data)).toBe(true);
    c.close();
    s.close();
    seg.sched.advance(1000);
    expect(c.state).toBe('TIME_WAIT');
  });

  it('loopback TCP within one stack (127.0.0.1 and its own address) never touches the link', () => {
    const { seg, a } = pair();
    for (const [addr, port] of [
      [ip(127, 0, 0, 1), 8080],
      [A, 8081],
    ] as const) {
      const { c, s } = tcpConnect(seg, a, a, addr, port);
      const data = Buffer.alloc(200_000, 7);
      expect(echoBytes(seg, c, s, data).equals(data)).toBe(true);
    }
    expect(seg.frames).toHaveLength(0);
  });

  it('connect to a closed port is refused (RST)', () => {
    const { seg, a } = pair();
    const c = a.tcpSocket();
    let err = 0;
    c.handlers.onError = (e) => (err = e);
    c.connect(B, 81);
    seg.sched.runUntil(() => err !== 0, 10_000);
    expect(err).toBe(Errno.ECONNREFUSED);
  });

  it('connect to an absent host fails with EHOSTUNREACH once ARP gives up', () => {
    const { seg, a } = pair();
    const c = a.tcpSocket();
    let err = 0;
    c.handlers.onError = (e) => (err = e);
    c.connect(ip(10, 0, 0, 42), 80);
    seg.sched.runUntil(() => err !== 0, 10_000);
    expect(err).toBe(Errno.EHOSTUNREACH);
  });

  it('path MTU: ICMP fragmentation-needed lowers the MSS of a live connection', () => {
    const { seg, a, b } = pair({ mtu: 2800 });
    const { c, s } = tcpConnect(seg, a, b, B, 80);
    expect(Number(c.info().mss)).toBe(2800 - 40 - 12);
    // a "router" that only passes 1400-byte packets: turn big frames into frag-needed errors
    seg.filter = (from, f) => {
      if (from !== 0 || f.readUInt16BE(12) !== 0x0800 || f.length - 14 <= 1400) return true;
      const quote = f.subarray(14, 14 + 28);
      const icmp = Buffer.alloc(8 + quote.length);
      icmp[0] = 3;
      icmp[1] = 4;
      icmp.writeUInt16BE(1400, 6);
      quote.copy(icmp, 8);
      icmp.writeUInt16BE(checksumOf(icmp), 2);
      const ipHdr = Buffer.alloc(20);
      ipHdr.writeUInt8(0x45, 0);
      ipHdr.writeUInt16BE(20 + icmp.length, 2);
      ipHdr[8] = 64;
      ipHdr[9] = 1;
      ipHdr.writeUInt32BE(ip(10, 0, 0, 254), 12);
      ipHdr.writeUInt32BE(A, 16);
      ipHdr.writeUInt16BE(checksumOf(ipHdr), 10);
      const eth = Buffer.concat([f.subarray(6, 12), Buffer.from([2, 0, 0, 0, 0, 0xfe]), Buffer.from([8, 0])]);
      seg.sched.setTimer(0, () => a.input(Buffer.concat([eth, ipHdr, icmp])));
      return false;
    };
    const data = Buffer.alloc(100_000, 3);
    expect(echoBytes(seg, c, s, data).equals(data)).toBe(true);
    expect(Number(c.info().mss)).toBeLessThanOrEqual(1400 - 40);
    expect(a.counters().icmp!.rx_frag_needed_pmtu_lowered).toBeGreaterThanOrEqual(1);
  });
});

describe('stack: lifecycle', () => {
  it('close() aborts sockets, fails pending pings and cancels every timer', () => {
    const { seg, a, b } = pair();
    const { c } = tcpConnect(seg, a, b, B, 80);
    seg.sched.advance(100);
    seg.filter = () => false; // from here on only the stacks' own timers are armed
    c.write(Buffer.alloc(10_000));
    const u = a.udpSocket();
    u.sendTo(Buffer.alloc(10), { addr: ip(10, 0, 0, 77), port: 1 }); // ARP pending
    u.sendTo(Buffer.alloc(5000), { addr: ip(127, 0, 0, 1), port: 1 }); // loopback queued
    b.input(Buffer.alloc(10)); // junk
    const results: PingResult[] = [];
    a.ping(ip(10, 0, 0, 78), { timeoutMs: 5000 }, (r) => results.push(r));
    expect(seg.sched.pending()).toBeGreaterThan(0);
    a.close();
    b.close();
    expect(results).toEqual([{ ok: false, errno: Errno.ENETDOWN }]);
    expect(seg.sched.pending()).toBe(0);
    expect(c.state).toBe('CLOSED');
    // a closed stack ignores input and refuses new pings without throwing
    a.input(Buffer.alloc(60));
    a.ping(B, {}, (r) => results.push(r));
    seg.sched.advance(10);
    expect(results[1]).toEqual({ ok: false, errno: Errno.EINVAL });
  });

  it('setMtu clamps and changes what TCP and UDP may send', () => {
    const { a } = pair({ mtu: 2800 });
    const st = a as Stack;
    expect(a.mtu).toBe(2800);
    a.setMtu(10);
    expect(a.mtu).toBe(68);
    a.setMtu(1500);
    expect(st.ipv4.maxPayloadFor(B)).toBe(1480);
    expect(st.ipv4.maxPayloadFor(ip(127, 0, 0, 1))).toBe(65515);
  });
});

describe('stack: bad calls from the API side', () => {
  it('are refused with an errno or ignored, never thrown', () => {
    const { seg, a } = pair();
    const bad = [NaN, -1, 2 ** 32, 1.5, Infinity] as number[];
    for (const v of bad) {
      expect(() => a.addAddress(v, 24)).not.toThrow();
      expect(() => a.addAddress(ip(10, 1, 1, 1), v)).not.toThrow();
      expect(() => a.addRoute({ dest: v, prefixLen: 8, gateway: null, metric: 0 })).not.toThrow();
      expect(() => a.setMtu(v)).not.toThrow();
    }
    expect(a.addresses()).toEqual([{ addr: A, prefixLen: 24 }]);
    expect(a.routes()).toHaveLength(1);
    const u = a.udpSocket();
    for (const v of bad) {
      expect(u.bind(v, 1)).toBe(-Errno.EINVAL);
      expect(u.sendTo(Buffer.alloc(1), { addr: B, port: v })).toBe(-Errno.EINVAL);
      expect(u.connect(v, 1)).toBe(-Errno.EINVAL);
    }
    expect(u.sendTo('nope' as unknown as Uint8Array, { addr: B, port: 1 })).toBe(-Errno.EINVAL);
    const results: PingResult[] = [];
    a.ping(B, { size: -5 }, (r) => results.push(r));
    a.ping(B, { size: 1e9 }, (r) => results.push(r));
    a.ping(B, { timeoutMs: NaN }, (r) => results.push(r));
    seg.sched.advance(10);
    expect(results).toEqual([0, 1, 2].map(() => ({ ok: false, errno: Errno.EINVAL })));
    u.close();
    expect(u.sendTo(Buffer.alloc(1), { addr: B, port: 1 })).toBe(-Errno.EBADF);
  });
});

describe('stack: a link that delivers synchronously', () => {
  it('ARP, ping, UDP echo and a TCP transfer work when frames are handed over inside the send call', () => {
    const sched = new VirtualScheduler();
    const a = createNetStack({ scheduler: sched, random: new SeededRandom(1), mac: Buffer.from([2, 0, 0, 0, 0, 1]), mtu: 1500 });
    const b = createNetStack({ scheduler: sched, random: new SeededRandom(2), mac: Buffer.from([2, 0, 0, 0, 0, 2]), mtu: 1500 });
    a.setLinkOutput((f) => b.input(f));
    b.setLinkOutput((f) => a.input(f));
    a.addAddress(A, 24);
    b.addAddress(B, 24);
    let r: PingResult | null = null;
    a.ping(B, {}, (x) => (r = x));
    sched.runUntil(() => r !== null, 5000);
    expect(r).toEqual({ ok: true, rttMs: 0, ttl: 64 });
    const us = b.udpSocket();
    us.bind(0, 7);
    us.handlers.onReadable = () => {
      for (let d = us.recv(); d; d = us.recv()) us.sendTo(d.data, d.from);
    };
    const uc = a.udpSocket();
    const got: string[] = [];
    uc.handlers.onReadable = () => {
      for (let d = uc.recv(); d; d = uc.recv()) got.push(d.data.toString());
    };
    for (let i = 0; i < 3; i++) uc.sendTo(Buffer.from(`u${i}`), { addr: B, port: 7 });
    expect(got).toEqual(['u0', 'u1', 'u2']);
    const seg = { sched } as unknown as ReturnType<typeof makeSegment>;
    const { c, s } = tcpConnect(seg, a, b, B, 80);
    const data = Buffer.alloc(500_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 17) & 0xff;
    expect(echoBytes(seg, c, s, data).equals(data)).toBe(true);
    expect(a.counters().link!.rx_internal_error ?? 0).toBe(0);
    expect(b.counters().tcp!.rx_internal_error ?? 0).toBe(0);
  });
});

function checksumOf(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
