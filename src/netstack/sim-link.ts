/**
 * Simulated links for running stacks against each other in one process, in virtual time: an
 * Ethernet segment joining full stacks (a hub), and an IP path joining two bare TCP layers. Both
 * carry packets through the same impairment model (delay, loss, duplication, reordering,
 * corruption, a rate-limited drop-tail queue), drawn from a seeded random source so every run is
 * the same. Like the node's in-memory switchboard, this is the stack's own simulation harness:
 * it does no I/O and takes its scheduler from the caller, so tests and benchmarks assemble
 * "two stacks on a wire" the same way.
 */
import { IPV6_ANY, IPV6_LOOPBACK, type IpAddr } from './addr.js';
import { VirtualScheduler, type Scheduler } from './clock.js';
import { Counters } from './counters.js';
import { SeededRandom } from './random.js';
import type { TcpSocket } from './socket-api.js';
import type { NetStack } from './stack-api.js';
import { Stack } from './stack.js';
import { TcpLayer } from './tcp/tcp-layer.js';
import type { IpReceiveInfo, IpSender } from './transport.js';

/** The addresses the two ends of a pair get (10.0.0.1 and 10.0.0.2). */
export const SIM_ADDR_A = 0x0a000001;
export const SIM_ADDR_B = 0x0a000002;
/** The IPv6 twins of SIM_ADDR_A/B (fd00::1, fd00::2), for wires and segments of family 6. */
export const SIM_ADDR6_A = `fd${'0'.repeat(29)}1`;
export const SIM_ADDR6_B = `fd${'0'.repeat(29)}2`;

/** The simulated hosts' addresses in `family`. */
export function simAddrs(family: 4 | 6 = 4): { a: IpAddr; b: IpAddr } {
  return family === 4 ? { a: SIM_ADDR_A, b: SIM_ADDR_B } : { a: SIM_ADDR6_A, b: SIM_ADDR6_B };
}

/** What a simulated link does to packets; every field is off when absent. */
export interface LinkImpairments {
  delayMs?: number;
  /** Probabilities (0..1) per packet. */
  loss?: number;
  dup?: number;
  reorder?: number;
  /** Extra delay of a reordered packet (default 1 ms). */
  reorderDelayMs?: number;
  corrupt?: number;
  /** Bottleneck rate per receiver, Mbit/s, with a drop-tail queue of `queuePackets` (default 100). */
  rateMbps?: number;
  queuePackets?: number;
  /** The bottleneck queue's size in bytes instead of packets (a shallow buffer: 50 KB). */
  queueBytes?: number;
  /** Seed of the impairments' random draws (default 1); the ends' own seeds derive from it. */
  seed?: number;
}

/** How a link's packets are measured and where corruption may land. */
interface PacketShape {
  /** Bytes on the wire besides the packet itself (for the rate). */
  overheadBytes: number;
  /** First byte corruption may hit (past headers a bad link would most often spare). */
  corruptFrom: number;
}

/** Applies `LinkImpairments` to packets and schedules their delivery. */
export class ImpairedLink {
  readonly rng: SeededRandom;
  /** Packets lost to impairments or the queue (the owner adds its own drops). */
  dropped = 0;
  queueDrops = 0;
  private readonly busyUntil = new Map<unknown, number>();

  constructor(
    private readonly sched: Scheduler,
    readonly impairments: LinkImpairments,
    private readonly shape: PacketShape,
  ) {
    this.rng = new SeededRandom(impairments.seed ?? 1);
  }

  /** True while no impairment needs a random draw or a queue: `carry` would only delay. */
  isClean(): boolean {
    const o = this.impairments;
    return !o.loss && !o.corrupt && !o.rateMbps && !o.reorder && !o.dup;
  }

  /**
   * Carries `packet` towards `receiver` (also the key of its queue): `deliver` runs from a timer
   * with the packet (or a damaged copy), once or twice, unless it is dropped.
   */
  carry(packet: Buffer, receiver: unknown, deliver: (p: Buffer) => void): void {
    const o = this.impairments;
    if (o.loss && this.rng.float() < o.loss) {
      this.dropped++;
      return;
    }
    let data = packet;
    if (o.corrupt && this.rng.float() < o.corrupt) {
      data = Buffer.from(packet);
      const from = this.shape.corruptFrom;
      const i = from + (this.rng.u32() % Math.max(1, data.length - from));
      if (i < data.length) data[i] = data[i]! ^ (1 + (this.rng.u32() % 255));
    }
    let delay = o.delayMs ?? 0;
    if (o.rateMbps) {
      const now = this.sched.now();
      const tx = ((packet.length + this.shape.overheadBytes) * 8) / (o.rateMbps * 1000); // ms on the wire
      const busy = this.busyUntil.get(receiver) ?? 0;
      const backlogMs = Math.max(0, busy - now);
      const full =
        o.queueBytes !== undefined
          ? backlogMs * o.rateMbps * 125 + packet.length + this.shape.overheadBytes > o.queueBytes
          : backlogMs / tx > (o.queuePackets ?? 100);
      if (full) {
        this.queueDrops++;
        this.dropped++;
        return;
      }
      const depart = Math.max(now, busy) + tx;
      this.busyUntil.set(receiver, depart);
      delay += depart - now;
    }
    if (o.reorder && this.rng.float() < o.reorder) delay += o.reorderDelayMs ?? 1;
    const copies = o.dup && this.rng.float() < o.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      // the receiver may reuse a frame's bytes, so a duplicate is its own copy
      const d = i === 0 ? data : Buffer.from(data);
      this.sched.setTimer(delay, () => deliver(d));
    }
  }
}

export interface SimSegmentOptions extends LinkImpairments {
  mtu?: number;
  /** Keep every frame put on the wire in `frames` (copies, so receivers cannot change them). */
  record?: boolean;
  /** Stack i's random seed and name (default: seed * 100 + i, `s${i}`). */
  seedOf?: (i: number) => number;
  nameOf?: (i: number) => string;
}

/** Full stacks (MAC 02:00:00:00:00:0i+1) on one simulated Ethernet segment: every frame reaches every other stack. */
export class SimSegment {
  readonly stacks: NetStack[] = [];
  /** Every frame put on the wire with its sender's index, when `record` is set. */
  readonly frames: { from: number; frame: Buffer }[] = [];
  /** When set, frames for which it returns false are dropped (after being recorded). */
  filter: ((from: number, frame: Buffer) => boolean) | null = null;
  readonly link: ImpairedLink;

  constructor(
    count: number,
    readonly sched: VirtualScheduler = new VirtualScheduler(),
    readonly opts: SimSegmentOptions = {},
  ) {
    this.link = new ImpairedLink(sched, opts, { overheadBytes: 0, corruptFrom: 14 + 20 });
    const seed = opts.seed ?? 1;
    for (let i = 0; i < count; i++) {
      const s: NetStack = new Stack({
        scheduler: sched,
        random: new SeededRandom(opts.seedOf ? opts.seedOf(i) : seed * 100 + i),
        mac: Buffer.from([2, 0, 0, 0, 0, i + 1]),
        ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
        name: opts.nameOf ? opts.nameOf(i) : `s${i}`,
      });
      s.setLinkOutput((f) => this.send(i, f));
      this.stacks.push(s);
    }
  }

  /** Injects a frame as if another host sent it (delivered to every stack but `except`, unimpaired). */
  inject(frame: Buffer, except = -1): void {
    for (let j = 0; j < this.stacks.length; j++) {
      if (j === except) continue;
      const s = this.stacks[j]!;
      this.sched.setTimer(this.opts.delayMs ?? 0, () => s.input(Buffer.from(frame)));
    }
  }

  private send(from: number, frame: Buffer): void {
    if (this.opts.record) this.frames.push({ from, frame });
    if (this.filter && !this.filter(from, frame)) return;
    // Each receiver gets its own bytes when another one, or the record, also holds the frame.
    const shared = this.opts.record || this.stacks.length > 2;
    // A clean link (no draws, no queue) delivers straight from one timer: the benchmark's case,
    // where the rig's own per-frame work would be counted against the stack.
    const clean = this.link.isClean();
    for (let j = 0; j < this.stacks.length; j++) {
      if (j === from) continue;
      const s = this.stacks[j]!;
      const f = shared ? Buffer.from(frame) : frame;
      if (clean) this.sched.setTimer(this.link.impairments.delayMs ?? 0, () => s.input(f));
      else this.link.carry(f, s, (d) => s.input(d));
    }
  }
}

/** Two full stacks, a (10.0.0.1/24) and b (10.0.0.2/24), on an impaired Ethernet link. */
export function simStackPair(opts: SimSegmentOptions = {}, sched: VirtualScheduler = new VirtualScheduler()): SimSegment {
  const seed = opts.seed ?? 1;
  const seg = new SimSegment(2, sched, { seedOf: (i) => seed + 100 * (i + 1), nameOf: (i) => (i === 0 ? 'a' : 'b'), ...opts });
  seg.stacks[0]!.addAddress(SIM_ADDR_A, 24);
  seg.stacks[1]!.addAddress(SIM_ADDR_B, 24);
  return seg;
}

export interface SimTcpWireOptions extends LinkImpairments {
  mtu?: number;
  /** The IP family the wire carries (default 4): 6 puts the layers at fd00::1 and fd00::2. */
  family?: 4 | 6;
  /** Drop segments when this returns true (with the direction and the TCP segment). */
  filter?: (dir: 'ab' | 'ba', seg: Buffer) => boolean;
  timeWaitMs?: number;
}

/** The IP layer under one end of a `SimTcpWire`: hands segments to the wire. */
class WireIp implements IpSender<IpAddr> {
  constructor(
    readonly addr: IpAddr,
    private readonly wire: SimTcpWire,
    private readonly dir: 'ab' | 'ba',
  ) {}
  send(_protocol: number, src: IpAddr, dst: IpAddr, packet: Buffer, offset: number): number {
    this.wire.carry(this.dir, src, dst, packet.subarray(offset));
    return 0;
  }
  sourceFor(): IpAddr | null {
    return this.addr;
  }
  maxPayloadFor(): number {
    return this.wire.mtu - this.wire.ipHeaderLen;
  }
  isLocalAddress(a: IpAddr): boolean {
    if (typeof a === 'string') return a === this.addr || a === IPV6_ANY || a === IPV6_LOOPBACK;
    return a === this.addr || a === 0 || a >>> 24 === 127;
  }
}

/** Two bare TCP layers, a (10.0.0.1 or fd00::1) and b (10.0.0.2 or fd00::2), joined by an impaired IP path. */
export class SimTcpWire {
  readonly a: TcpLayer;
  readonly b: TcpLayer;
  readonly link: ImpairedLink;
  mtu: number;
  readonly family: 4 | 6;
  /** The addresses of a and b. */
  readonly addrA: IpAddr;
  readonly addrB: IpAddr;
  /** The IP header each segment pays within the MTU (20 or 40). */
  readonly ipHeaderLen: number;
  delivered = 0;
  /** Set false to cut the wire (everything is dropped). */
  up = true;
  /** Set true to keep a copy of every segment put on the wire in `captured`. */
  capture = false;
  readonly captured: { dir: 'ab' | 'ba'; seg: Buffer }[] = [];

  constructor(
    readonly opts: SimTcpWireOptions = {},
    readonly sched: VirtualScheduler = new VirtualScheduler(),
  ) {
    // a segment pays for its IP and Ethernet headers on a rate-limited path
    this.family = opts.family ?? 4;
    this.ipHeaderLen = this.family === 4 ? 20 : 40;
    const addrs = simAddrs(this.family);
    this.addrA = addrs.a;
    this.addrB = addrs.b;
    this.link = new ImpairedLink(sched, opts, { overheadBytes: this.ipHeaderLen + 20, corruptFrom: 0 });
    this.mtu = opts.mtu ?? 1500;
    const seed = opts.seed ?? 1;
    const layer = (addr: IpAddr, dir: 'ab' | 'ba', seedOffset: number): TcpLayer =>
      new TcpLayer({
        ip: new WireIp(addr, this, dir),
        scheduler: sched,
        random: new SeededRandom(seed + seedOffset),
        counters: new Counters(),
        timeWaitMs: opts.timeWaitMs,
      });
    this.a = layer(this.addrA, 'ab', 100);
    this.b = layer(this.addrB, 'ba', 200);
  }

  /** Segments lost on the wire: cut, filtered, or impaired. */
  get dropped(): number {
    return this.link.dropped;
  }

  get queueDrops(): number {
    return this.link.queueDrops;
  }

  carry(dir: 'ab' | 'ba', src: IpAddr, dst: IpAddr, seg: Buffer): void {
    if (this.capture) this.captured.push({ dir, seg: Buffer.from(seg) });
    if (!this.up || (this.opts.filter && this.opts.filter(dir, seg))) {
      this.link.dropped++;
      return;
    }
    const target = dir === 'ab' ? this.b : this.a;
    const info: IpReceiveInfo = { src, dst, ttl: 64, tos: 0, broadcast: false };
    this.link.carry(seg, target, (d) => {
      this.delivered++;
      target.receive(info, d);
    });
  }

  /** Injects a raw TCP segment as if it came from the other side. */
  inject(to: 'a' | 'b', seg: Buffer): void {
    const target = to === 'a' ? this.a : this.b;
    const src = to === 'a' ? this.addrB : this.addrA;
    const dst = to === 'a' ? this.addrA : this.addrB;
    target.receive({ src, dst, ttl: 64, tos: 0, broadcast: false }, seg);
  }
}

/**
 * Listens on `server`:port and connects from `client` to `serverAddr`:port, running `runUntil`
 * until the connection is accepted and established; throws when it is not within `limitMs`.
 */
export function connectTcp(
  client: () => TcpSocket,
  server: () => TcpSocket,
  serverAddr: IpAddr,
  port: number,
  runUntil: (done: () => boolean, limitMs: number) => boolean,
  limitMs: number,
  backlog = 16,
): { client: TcpSocket; server: TcpSocket; listener: TcpSocket } {
  const listener = server();
  if (listener.bind(typeof serverAddr === 'string' ? IPV6_ANY : 0, port) !== 0)
    throw new Error(`simulated TCP: bind to port ${port} failed`);
  if (listener.listen(backlog) !== 0) throw new Error('simulated TCP: listen failed');
  const c = client();
  const r = c.connect(serverAddr, port);
  if (r !== -115) throw new Error(`simulated TCP: connect returned ${r}`);
  let accepted: TcpSocket | null = null;
  runUntil(() => (accepted ??= listener.accept()) !== null && c.state === 'ESTABLISHED', limitMs);
  if (!accepted) throw new Error('simulated TCP: handshake did not complete');
  return { client: c, server: accepted, listener };
}
