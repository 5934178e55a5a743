/**
 * "Two stacks on a wire" for tests: the netstack's simulated links (src/netstack/sim-link.ts, also
 * used by the benchmark) with the conveniences tests want — a TCP-layer wire driven by its own
 * clock, a connected pair in one call, a checked bulk transfer, and raw segments to inject.
 */
import { createHash } from 'node:crypto';
import { type Timer, VirtualScheduler } from '../../src/netstack/clock.js';
import {
  connectTcp,
  SIM_ADDR_A,
  SIM_ADDR_B,
  SimSegment,
  simStackPair,
  SimTcpWire,
  simAddrs,
  type SimSegmentOptions,
  type SimTcpWireOptions,
} from '../../src/netstack/sim-link.js';
import { IPV6_ANY, type IpAddr } from '../../src/netstack/addr.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import { TcpLayer } from '../../src/netstack/tcp/tcp-layer.js';
import { emitEthernetHeader, ETHERTYPE_IPV4 } from '../../src/netstack/wire/ethernet.js';
import { emitIcmpError } from '../../src/netstack/wire/icmp.js';
import { emitIpv4Header } from '../../src/netstack/wire/ipv4.js';
import { emitTcpHeader, parseTcp, setTcpChecksum, TcpOptionsOut, tcpOptionsLength, TcpSegment } from '../../src/netstack/wire/tcp.js';

export const ADDR_A = SIM_ADDR_A;
export const ADDR_B = SIM_ADDR_B;

export const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export type WireOptions = SimTcpWireOptions;

/** Two TCP layers on an impaired IP path, run in virtual time. */
export class Wire extends SimTcpWire {
  run(ms: number): void {
    this.sched.advance(ms);
  }

  until(done: () => boolean, limitMs = 60_000): boolean {
    return this.sched.runUntil(done, limitMs);
  }
}

/**
 * Makes `w` hold back some segments instead of dropping them: `hold(dir, seg, now)` returns how
 * many ms to delay a segment (0: it goes as usual), so a test can stall one side's ACKs or make
 * one data segment arrive late (reordering), deterministically.
 */
export function holdSegments(w: SimTcpWire, hold: (dir: 'ab' | 'ba', seg: Buffer, now: number) => number): void {
  w.opts.filter = (dir, seg) => {
    const ms = hold(dir, seg, w.sched.now());
    if (ms <= 0) return false;
    const copy = Buffer.from(seg);
    w.sched.setTimer(ms, () => w.inject(dir === 'ab' ? 'b' : 'a', copy));
    return true;
  };
}

/**
 * A virtual scheduler whose timers fire late, on a coarse tick (every `tickMs`), as a busy host's
 * do: what is due between two ticks runs at the next one. Timers of delay 0 still run at once.
 */
export class CoarseTimerScheduler extends VirtualScheduler {
  constructor(private readonly tickMs: number) {
    super();
  }

  override setTimer(delayMs: number, fn: () => void): Timer {
    if (delayMs <= 0) return super.setTimer(0, fn);
    const now = this.now();
    return super.setTimer(Math.ceil((now + delayMs) / this.tickMs) * this.tickMs - now, fn);
  }
}

/** The families the TCP suites run over. */
export const FAMILIES = [4, 6] as const;

/**
 * The rig of one family, for suites parameterised over both: a Wire carrying that family (its
 * layers' sockets default to it), the ends' addresses (10.0.0.1/2 or fd00::1/2), the IP header
 * length, and ICMP's numbers for the errors the suites raise (ICMPv4's or ICMPv6's).
 */
export function familyRig(family: 4 | 6): {
  Wire: typeof Wire;
  ADDR_A: IpAddr;
  ADDR_B: IpAddr;
  /** The family's wildcard address (0 or ::). */
  ANY: IpAddr;
  ipHeaderLen: number;
  icmp: { unreach: number; port: number; host: number; tooBig: [number, number] };
} {
  const addrs = simAddrs(family);
  class FamilyWire extends Wire {
    constructor(opts: WireOptions = {}, sched?: VirtualScheduler) {
      super({ ...opts, family }, sched);
      for (const layer of [this.a, this.b]) layer.socket = (f: 4 | 6 = family) => TcpLayer.prototype.socket.call(layer, f);
    }
  }
  return {
    Wire: FamilyWire,
    ADDR_A: addrs.a,
    ADDR_B: addrs.b,
    ANY: family === 4 ? 0 : IPV6_ANY,
    ipHeaderLen: family === 4 ? 20 : 40,
    icmp: family === 4 ? { unreach: 3, port: 3, host: 1, tooBig: [3, 4] } : { unreach: 1, port: 4, host: 3, tooBig: [2, 0] },
  };
}

/** Sets up a listener on B:port and a client on A connected to it; returns both ends. */
export function connectPair(w: Wire, port = 80): { client: TcpSocket; server: TcpSocket; listener: TcpSocket } {
  return connectTcp(
    () => w.a.socket(),
    () => w.b.socket(),
    w.addrB,
    port,
    (d, l) => w.until(d, l),
    10_000,
  );
}

/** `n` full stacks on one Ethernet segment, every frame recorded in `frames`. */
export function makeSegment(n: number, opts: { mtu?: number; delayMs?: number; seed?: number } = {}): SimSegment {
  return new SimSegment(n, new VirtualScheduler(), { ...opts, record: true });
}

/** What the bulk tests need from a connected pair of full stacks. */
export interface TestPair {
  client: TcpSocket;
  server: TcpSocket;
  until: (done: () => boolean, limitMs: number) => boolean;
  now: () => number;
  /** TCP counters of the sending (a) and receiving (b) side. */
  tcpCounters(side: 'a' | 'b'): Record<string, number>;
  /** Frames dropped by the link (loss or queue). */
  dropped(): number;
  queueDrops(): number;
}

/**
 * Two full stacks (Ethernet/ARP/IPv4/TCP) on an impaired link, with a connection from a to b:port;
 * with `family: 6` the stacks also get fd00::1/64 and fd00::2/64 and the connection is over IPv6.
 */
export function makePair(o: SimSegmentOptions & { family?: 4 | 6 }, port = 80): TestPair {
  const family = o.family ?? 4;
  const seg = simStackPair(o);
  const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
  const addrs = simAddrs(family);
  if (family === 6) {
    a.addAddress(addrs.a, 64);
    b.addAddress(addrs.b, 64);
  }
  const until = (d: () => boolean, l: number): boolean => seg.sched.runUntil(d, l);
  const { client, server } = connectTcp(
    () => a.tcpSocket(family),
    () => b.tcpSocket(family),
    addrs.b,
    port,
    until,
    30_000,
  );
  return {
    client,
    server,
    until,
    now: () => seg.sched.now(),
    tcpCounters: (s) => (s === 'a' ? a : b).counters().tcp ?? {},
    dropped: () => seg.link.dropped,
    queueDrops: () => seg.link.queueDrops,
  };
}

export interface BulkResult {
  ok: boolean;
  sent: number;
  received: number;
  sha: boolean;
  timeMs: number;
}

/**
 * Sends `total` bytes of pseudo-random data from `tx` to `rx`, then closes tx; checks the SHA-256
 * of what arrived. Drives the scheduler with `run` until done or `limitMs` virtual ms passed.
 */
export function bulk(
  tx: TcpSocket,
  rx: TcpSocket,
  total: number,
  until: (done: () => boolean, limitMs: number) => boolean,
  now: () => number,
  limitMs = 600_000,
  seed = 7,
): BulkResult {
  const block = Buffer.alloc(1 << 16);
  let x = seed >>> 0;
  for (let i = 0; i < block.length; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    block.writeUInt32LE(x, i);
  }
  const hTx = createHash('sha256');
  const hRx = createHash('sha256');
  let sent = 0;
  let received = 0;
  let eof = false;
  const start = now();
  let off = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(total - sent, block.length - off);
      const w = tx.write(block.subarray(off, off + n));
      if (w <= 0) return;
      hTx.update(block.subarray(off, off + w));
      sent += w;
      off = (off + w) % block.length;
    }
    tx.shutdown(1);
  };
  const drain = (): void => {
    for (;;) {
      const r = rx.read();
      if (typeof r === 'number') {
        if (r === 0) eof = true;
        return;
      }
      hRx.update(r);
      received += r.length;
    }
  };
  tx.handlers.onWritable = pump;
  rx.handlers.onReadable = drain;
  pump();
  const ok = until(() => eof, limitMs);
  const timeMs = now() - start;
  const sha = hTx.digest('hex') === hRx.digest('hex');
  return { ok, sent, received, sha, timeMs };
}

export interface RawSeg {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  data?: Buffer;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
}

/** Builds a checksummed TCP segment from `src` to `dst`. */
export function rawSegment(src: IpAddr, dst: IpAddr, s: RawSeg): Buffer {
  const o = new TcpOptionsOut();
  if (s.mss !== undefined) o.mss = s.mss;
  if (s.wscale !== undefined) o.wscale = s.wscale;
  if (s.sackPermitted) o.sackPermitted = true;
  if (s.ts) {
    o.hasTimestamp = true;
    o.tsVal = s.ts[0];
    o.tsEcr = s.ts[1];
  }
  const hl = 20 + tcpOptionsLength(o);
  const data = s.data ?? Buffer.alloc(0);
  const buf = Buffer.alloc(hl + data.length);
  emitTcpHeader(buf, 0, s.sport, s.dport, s.seq >>> 0, (s.ack ?? 0) >>> 0, s.flags, s.window ?? 65535, o);
  data.copy(buf, hl);
  setTcpChecksum(buf, 0, buf.length, src, dst);
  return buf;
}

/** Parses a captured segment into a fresh object. */
export function parsed(b: Buffer): TcpSegment {
  const s = new TcpSegment();
  if (parseTcp(b, s) !== 0) throw new Error('bad captured segment');
  return s;
}

/**
 * `n` full stacks on one Ethernet segment, stack i at 10.0.0.(i+1)/24 (MAC 02:00:00:00:00:0(i+1)),
 * with the gratuitous ARPs delivered and the frame record emptied.
 */
export function addressedSegment(n: number, opts: { mtu?: number; delayMs?: number; seed?: number } = {}): SimSegment {
  const seg = makeSegment(n, opts);
  seg.stacks.forEach((s, i) => s.addAddress(ip(10, 0, 0, i + 1), 24));
  seg.sched.advance(1 + (opts.delayMs ?? 0));
  seg.frames.length = 0;
  return seg;
}

/**
 * An Ethernet frame carrying one IPv4 packet with `payload`, from MAC 02:00:00:00:00:99 to `dstMac`
 * (a third host on the segment, for injecting what a router or another stack would send).
 */
export function ipv4Frame(
  dstMac: Uint8Array,
  p: { src: number; dst: number; protocol: number; payload: Uint8Array; ttl?: number; tos?: number; id?: number; flagsFrag?: number },
): Buffer {
  const f = Buffer.alloc(14 + 20 + p.payload.length);
  emitEthernetHeader(f, 0, dstMac, Buffer.from([2, 0, 0, 0, 0, 0x99]), ETHERTYPE_IPV4);
  Buffer.from(p.payload).copy(f, 34);
  emitIpv4Header(f, 14, p.tos ?? 0, 20 + p.payload.length, p.id ?? 1, p.flagsFrag ?? 0, p.ttl ?? 64, p.protocol, p.src, p.dst);
  return f;
}

/** An ICMP error message (type, code, next-hop MTU) quoting `quoted` (an IP packet's start), checksummed. */
export function icmpErrorMessage(type: number, code: number, quoted: Uint8Array, nextHopMtu = 0): Buffer {
  const m = Buffer.alloc(8 + quoted.length);
  Buffer.from(quoted).copy(m, 8);
  emitIcmpError(m, 0, m.length, type, code, nextHopMtu);
  return m;
}
