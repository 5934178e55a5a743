/**
 * Full-stack harness: two NetStacks (Ethernet/ARP/IPv4/TCP) joined by an impaired Ethernet link in
 * virtual time.
 */
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { createNetStack } from '../../src/netstack/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import type { NetStack, NetStackOptions } from '../../src/netstack/stack-api.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';
import { ADDR_A, ADDR_B, connectPair, Wire, type WireOptions } from './tcp-harness.js';

export type StackFactory = (o: NetStackOptions) => NetStack;

/** The stack factory (kept as a function so callers can still ask for it). */
export async function loadStackFactory(): Promise<StackFactory | null> {
  return createNetStack;
}

/** What the bulk tests need from either harness. */
export interface TestPair {
  kind: 'stack' | 'tcp-only';
  client: TcpSocket;
  server: TcpSocket;
  until: (done: () => boolean, limitMs: number) => boolean;
  now: () => number;
  /** TCP counters of the sending (a) and receiving (b) side. */
  tcpCounters(side: 'a' | 'b'): Record<string, number>;
  /** Frames/segments dropped by the link (loss or queue). */
  dropped(): number;
  queueDrops(): number;
}

class StackLink {
  readonly sched = new VirtualScheduler();
  readonly rng: SeededRandom;
  readonly a: NetStack;
  readonly b: NetStack;
  dropped = 0;
  queueDrops = 0;
  private busyUntil = new Map<NetStack, number>();

  constructor(
    factory: StackFactory,
    readonly o: WireOptions,
  ) {
    this.rng = new SeededRandom(o.seed ?? 1);
    const mtu = o.mtu ?? 1500;
    this.a = factory({ scheduler: this.sched, random: new SeededRandom((o.seed ?? 1) + 100), mac: Buffer.from([2, 0, 0, 0, 0, 1]), mtu, name: 'a' });
    this.b = factory({ scheduler: this.sched, random: new SeededRandom((o.seed ?? 1) + 200), mac: Buffer.from([2, 0, 0, 0, 0, 2]), mtu, name: 'b' });
    this.a.setLinkOutput((f) => this.carry(f, this.b));
    this.b.setLinkOutput((f) => this.carry(f, this.a));
    this.a.addAddress(ADDR_A, 24);
    this.b.addAddress(ADDR_B, 24);
  }

  private carry(frame: Buffer, to: NetStack): void {
    const o = this.o;
    if (o.loss && this.rng.float() < o.loss) {
      this.dropped++;
      return;
    }
    let data = frame;
    if (o.corrupt && this.rng.float() < o.corrupt) {
      data = Buffer.from(frame);
      const i = 14 + 20 + (this.rng.u32() % Math.max(1, data.length - 34)); // in the IP payload, as a bad link would most often
      if (i < data.length) data[i] = data[i]! ^ (1 + (this.rng.u32() % 255));
    }
    let delay = o.delayMs ?? 0;
    if (o.rateMbps) {
      const now = this.sched.now();
      const tx = (frame.length * 8) / (o.rateMbps * 1000);
      const busy = this.busyUntil.get(to) ?? 0;
      if (Math.max(0, busy - now) / tx > (o.queuePackets ?? 100)) {
        this.queueDrops++;
        this.dropped++;
        return;
      }
      const depart = Math.max(now, busy) + tx;
      this.busyUntil.set(to, depart);
      delay += depart - now;
    }
    if (o.reorder && this.rng.float() < o.reorder) delay += o.reorderDelayMs ?? 1;
    const copies = o.dup && this.rng.float() < o.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const d = i === 0 ? data : Buffer.from(data);
      this.sched.setTimer(delay, () => to.input(d));
    }
  }
}

/** Two endpoints connected through full stacks when available, else through the TCP-only wire. */
export async function makePair(o: WireOptions, port = 80): Promise<TestPair> {
  const factory = await loadStackFactory();
  if (!factory) {
    const w = new Wire(o);
    const { client, server } = connectPair(w, port);
    return {
      kind: 'tcp-only',
      client,
      server,
      until: (d, l) => w.until(d, l),
      now: () => w.sched.now(),
      tcpCounters: (s) => (s === 'a' ? w.a : w.b).counters.snapshot(),
      dropped: () => w.dropped,
      queueDrops: () => w.queueDrops,
    };
  }
  const link = new StackLink(factory, o);
  const listener = link.b.tcpSocket();
  if (listener.bind(0, port) !== 0 || listener.listen(16) !== 0) throw new Error('listen failed');
  const client = link.a.tcpSocket();
  const r = client.connect(ADDR_B, port);
  if (r !== -115) throw new Error(`connect: ${r}`);
  let server: TcpSocket | null = null;
  link.sched.runUntil(() => (server ??= listener.accept()) !== null && client.state === 'ESTABLISHED', 30_000);
  if (!server) throw new Error('full-stack handshake failed');
  return {
    kind: 'stack',
    client,
    server,
    until: (d, l) => link.sched.runUntil(d, l),
    now: () => link.sched.now(),
    tcpCounters: (s) => (s === 'a' ? link.a : link.b).counters().tcp ?? {},
    dropped: () => link.dropped,
    queueDrops: () => link.queueDrops,
  };
}
