/**
 * Fuzz: 100k+ random and mutated frames (mutations of real ARP, IPv4, ICMP, UDP, TCP and fragment
 * frames captured from a live exchange, multicast among them) fed to a stack with open sockets
 * (TCP, UDP, a group member, ping and raw ICMP sockets). Nothing may throw or be
 * caught as an internal error, and every queue and table stays within its bound.
 */
import { describe, expect, it } from 'vitest';
import type { Stack } from '../../src/netstack/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import { checksum, finish, pseudoHeaderSum, sum16 } from '../../src/netstack/wire/checksum.js';
import { ip, makeSegment } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);

/** Makes a mutated frame's checksums right again (some of the time) so it reaches deeper layers. */
function fixChecksums(f: Buffer): void {
  if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return;
  const hl = (f[14]! & 0xf) * 4;
  if (hl < 20 || 14 + hl > f.length) return;
  f.writeUInt16BE(0, 24);
  f.writeUInt16BE(checksum(f, 14, 14 + hl), 24);
  const total = Math.min(f.readUInt16BE(16), f.length - 14);
  const ff = f.readUInt16BE(20);
  if ((ff & 0x3fff) !== 0 || total <= hl) return; // fragments: transport checksum spans the datagram
  const p = 14 + hl;
  const end = 14 + total;
  const proto = f[23]!;
  const src = f.readUInt32BE(26);
  const dst = f.readUInt32BE(30);
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 ? 2 : -1;
  if (at < 0 || p + at + 2 > end) return;
  f.writeUInt16BE(0, p + at);
  const s = sum16(f, p, end, proto === 1 ? 0 : pseudoHeaderSum(src, dst, proto, end - p));
  f.writeUInt16BE(finish(s), p + at);
}

function mutate(rng: SeededRandom, base: Buffer): Buffer {
  let f = Buffer.from(base);
  const kind = rng.u32() % 8;
  switch (kind) {
    case 0: // a few random bytes anywhere
    case 1: {
      const n = 1 + (rng.u32() % 4);
      for (let i = 0; i < n && f.length > 0; i++) f[rng.u32() % f.length] = rng.u32() & 0xff;
      break;
    }
    case 2: // bytes in the IP header
      for (let i = 0; i < 2 && f.length > 34; i++) f[14 + (rng.u32() % 20)] = rng.u32() & 0xff;
      break;
    case 3: // bytes in the transport header
      for (let i = 0; i < 3 && f.length > 54; i++) f[34 + (rng.u32() % 20)] = rng.u32() & 0xff;
      break;
    case 4: // truncate
      f = f.subarray(0, rng.u32() % (f.length + 1));
      break;
    case 5: // extend with junk
      f = Buffer.concat([f, rng.bytes(rng.u32() % 200)]);
      break;
    case 6: // lengths and offsets: total length, IHL, fragment fields, TCP data offset
      if (f.length > 34) {
        const which = rng.u32() % 4;
        if (which === 0) f.writeUInt16BE(rng.u32() & 0xffff, 16);
        else if (which === 1) f[14] = 0x40 | (rng.u32() & 0xf);
        else if (which === 2) f.writeUInt16BE(rng.u32() & 0xffff, 20);
        else if (f.length > 47) f[46] = rng.u32() & 0xff;
      }
      break;
    default: // flip one bit
      if (f.length > 0) {
        const i = rng.u32() % f.length;
        f[i] = f[i]! ^ (1 << (rng.u32() % 8));
      }
  }
  if (rng.u32() % 4 !== 0) fixChecksums(f);
  return f;
}

describe('stack fuzz', () => {
  it('survives 120k random and mutated frames with bounded memory', () => {
    const seg = makeSegment(2, { mtu: 1500, seed: 5 });
    const a = seg.stacks[0]!;
    const b = seg.stacks[1]! as Stack;
    a.addAddress(A, 24);
    b.addAddress(B, 24);
    b.addRoute({ dest: 0, prefixLen: 0, gateway: ip(10, 0, 0, 254), metric: 0 });

    // open sockets on the victim: a listener with an established connection, UDP bound and connected
    const listener = b.tcpSocket();
    listener.bind(0, 80);
    listener.listen(16);
    const client = a.tcpSocket();
    client.connect(B, 80);
    let server: TcpSocket | null = null;
    seg.sched.runUntil(() => (server ??= listener.accept()) !== null && client.state === 'ESTABLISHED', 10_000);
    expect(server).not.toBeNull();
    const srv = server!;
    srv.handlers.onReadable = () => {
      for (;;) {
        const r = srv.read();
        if (typeof r === 'number') return;
        srv.write(r);
      }
    };
    listener.handlers.onAcceptable = () => {
      for (let s = listener.accept(); s; s = listener.accept()) s.close();
    };
    const u1 = b.udpSocket();
    u1.bind(0, 53);
    u1.setOption('RCVBUF', 64 * 1024);
    const u2 = b.udpSocket();
    u2.connect(A, 9999);
    u2.handlers.onError = () => {};
    // a group member with IP_RECVERR, a ping socket and a raw ICMP socket, all hearing errors
    const u3 = b.udpSocket();
    u3.setOption('REUSEADDR', 1);
    u3.bind(0, 53);
    u3.setOption('RCVBUF', 64 * 1024);
    u3.setOption('RECVERR', 1);
    expect(u3.joinGroup(ip(239, 1, 2, 3), 0)).toBe(0);
    u3.handlers.onError = () => {};
    const pingSock = b.icmpSocket('ping');
    pingSock.setOption('RECVERR', 1);
    pingSock.setOption('RCVBUF', 64 * 1024);
    pingSock.bind(0, 0);
    const raw = b.icmpSocket('raw');
    raw.setOption('RECVERR', 1);
    raw.setOption('RCVBUF', 64 * 1024);
    // traffic to capture: TCP data, UDP (small, fragmented, multicast), pings, ARP
    client.write(Buffer.alloc(20_000, 1));
    const ua = a.udpSocket();
    ua.bind(0, 9999);
    ua.sendTo(Buffer.alloc(100, 2), { addr: B, port: 53 });
    ua.sendTo(Buffer.alloc(4000, 3), { addr: B, port: 53 });
    ua.sendTo(Buffer.alloc(10, 4), { addr: B, port: 54 });
    ua.sendTo(Buffer.alloc(30, 5), { addr: ip(239, 1, 2, 3), port: 53 });
    ua.sendTo(Buffer.alloc(3000, 6), { addr: ip(239, 1, 2, 3), port: 53 });
    for (const size of [56, 3000]) {
      let pinged: PingResult | null = null;
      a.ping(B, { size }, (r) => (pinged = r));
      seg.sched.runUntil(() => pinged !== null, 5000);
      expect(pinged).toMatchObject({ ok: true });
    }
    seg.sched.advance(100);
    // what A sent to B (B's own frames would only test the MAC filter)
    const corpus = seg.frames.filter((f) => f.from === 0).map((f) => Buffer.from(f.frame));
    const kinds = new Set(
      corpus.map((f) => (f.readUInt16BE(12) === 0x0806 ? 'arp' : `ip${f[23]}${(f.readUInt16BE(20) & 0x3fff) !== 0 ? 'frag' : ''}`)),
    );
    expect([...kinds].sort()).toEqual(['arp', 'ip1', 'ip17', 'ip17frag', 'ip1frag', 'ip6'].sort());
    seg.frames.length = 0;
    seg.filter = () => false; // B's answers go nowhere during the fuzz (and are not recorded forever)

    const rng = new SeededRandom(2024);
    const N = 120_000;
    let pings = 0;
    for (let i = 0; i < N; i++) {
      let f: Buffer;
      const r = rng.u32() % 10;
      if (r === 0) f = rng.bytes(rng.u32() % 1600);
      else if (r === 1) {
        // random payload behind a valid-looking Ethernet/IPv4 header for B
        f = rng.bytes(34 + (rng.u32() % 1500));
        Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45]).copy(f);
        f.writeUInt16BE(f.length - 14, 16);
        f.writeUInt32BE(B, 30);
        fixChecksums(f);
      } else f = mutate(rng, corpus[rng.u32() % corpus.length]!);
      b.input(f);
      if (i % 1000 === 0) {
        seg.sched.advance(200 + (rng.u32() % 3000)); // let timers run: ARP retries, reassembly timeouts, TCP
        b.ping(ip(10, 0, 0, 100 + (i % 50)), { timeoutMs: 500 }, () => pings++);
      }
      if (i % 5000 === 0) {
        const c = b.counters();
        for (const layer of Object.values(c)) expect(Object.keys(layer).length).toBeLessThan(120);
        expect(b.reassembler.datagrams).toBeLessThanOrEqual(64);
        expect(b.reassembler.heldBytes).toBeLessThanOrEqual(4 << 20);
        expect(b.arp.size).toBeLessThanOrEqual(1024);
        expect(b.arp.pendingBytes).toBeLessThanOrEqual(1 << 20);
        expect(b.loopback.length).toBeLessThanOrEqual(4096);
        expect(u1.pendingDatagrams).toBeLessThanOrEqual((64 * 1024) / 256);
        for (const q of [u3, pingSock, raw]) expect(q.pendingDatagrams).toBeLessThanOrEqual((64 * 1024) / 256);
        expect(b.tcp.connectionCount()).toBeLessThan(200);
      }
    }
    seg.sched.advance(120_000);
    const c = b.counters();
    if (process.env.FUZZ_VERBOSE) process.stderr.write(JSON.stringify(c, null, 1) + '\n');
    // nothing escaped into a catch-all
    expect(c.link!.rx_internal_error ?? 0).toBe(0);
    expect(c.ipv4!.rx_transport_exception ?? 0).toBe(0);
    expect(c.tcp!.rx_internal_error ?? 0).toBe(0);
    // the fuzz reached every layer
    expect(c.link!.rx_frames).toBeGreaterThan(N * 0.9);
    expect(c.arp!.rx_request ?? 0).toBeGreaterThan(100);
    expect(c.ipv4!.rx_bad_checksum).toBeGreaterThan(100);
    expect(c.ipv4!.reasm_fragments).toBeGreaterThan(100);
    expect(c.icmp!.rx_messages).toBeGreaterThan(100);
    expect(c.udp!.rx_datagrams ?? 0).toBeGreaterThan(100);
    expect(c.udp!.rx_multicast_datagrams ?? 0).toBeGreaterThan(100);
    expect(c.icmp!.raw_delivered ?? 0).toBeGreaterThan(100);
    expect(c.tcp!.rx_segments).toBeGreaterThan(1000);
    expect(pings).toBe(120); // every ping got an answer (timeout or unreachable)
    // after the storm, timers drained the tables
    expect(b.reassembler.datagrams).toBe(0);
    expect(b.arp.pendingBytes).toBe(0);

    // and the stack still works
    seg.filter = null;
    let again: PingResult | null = null;
    a.ping(B, {}, (r) => (again = r));
    seg.sched.runUntil(() => again !== null, 10_000);
    expect(again).toMatchObject({ ok: true });
    const c2 = a.tcpSocket();
    let err = 0;
    c2.handlers.onError = (e) => (err = e);
    c2.connect(B, 80);
    seg.sched.runUntil(() => c2.state === 'ESTABLISHED' || err !== 0, 10_000);
    expect(c2.state).toBe('ESTABLISHED');
  });
});
