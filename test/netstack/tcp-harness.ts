/**
 * Test harness: two TcpLayers joined by a tiny in-memory IP "wire" driven by a VirtualScheduler,
 * with optional delay, loss, duplication, reordering and corruption (deterministic via SeededRandom).
 */
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { SeededRandom } from '../../src/netstack/random.js';
import type { IpReceiveInfo, IpSender } from '../../src/netstack/transport.js';
import { TcpLayer } from '../../src/netstack/tcp/tcp-layer.js';
import type { TcpSocket } from '../../src/netstack/socket-api.js';

export const ADDR_A = 0x0a000001;
export const ADDR_B = 0x0a000002;

export interface WireOptions {
  delayMs?: number;
  loss?: number;
  dup?: number;
  reorder?: number;
  reorderDelayMs?: number;
  corrupt?: number;
  mtu?: number;
  seed?: number;
  /** Drop packets when this returns true (called with direction 'ab' | 'ba' and the TCP segment). */
  filter?: (dir: 'ab' | 'ba', seg: Buffer) => boolean;
  timeWaitMs?: number;
  /** Bottleneck rate (both directions), Mbit/s; with a drop-tail queue of `queuePackets`. */
  rateMbps?: number;
  queuePackets?: number;
}

class FakeIp implements IpSender {
  constructor(
    readonly addr: number,
    private readonly wire: Wire,
    private readonly dir: 'ab' | 'ba',
  ) {}
  send(_protocol: number, src: number, dst: number, packet: Buffer, offset: number): number {
    this.wire.carry(this.dir, src, dst, packet.subarray(offset));
    return 0;
  }
  sourceFor(): number | null {
    return this.addr;
  }
  maxPayloadFor(): number {
    return this.wire.mtu - 20;
  }
  isLocalAddress(a: number): boolean {
    return a === this.addr || a === 0 || a >>> 24 === 127;
  }
}

export class Wire {
  readonly sched = new VirtualScheduler();
  readonly rng: SeededRandom;
  readonly a: TcpLayer;
  readonly b: TcpLayer;
  mtu: number;
  delivered = 0;
  dropped = 0;
  /** Set false to cut the wire (everything is dropped). */
  up = true;
  readonly captured: { dir: 'ab' | 'ba'; seg: Buffer }[] = [];
  private busyUntil = { ab: 0, ba: 0 };
  queueDrops = 0;
  capture = false;

  constructor(readonly opts: WireOptions = {}) {
    this.rng = new SeededRandom(opts.seed ?? 1);
    this.mtu = opts.mtu ?? 1500;
    this.a = new TcpLayer({
      ip: new FakeIp(ADDR_A, this, 'ab'),
      scheduler: this.sched,
      random: new SeededRandom((opts.seed ?? 1) + 100),
      counters: new Counters(),
      timeWaitMs: opts.timeWaitMs,
    });
    this.b = new TcpLayer({
      ip: new FakeIp(ADDR_B, this, 'ba'),
      scheduler: this.sched,
      random: new SeededRandom((opts.seed ?? 1) + 200),
      counters: new Counters(),
      timeWaitMs: opts.timeWaitMs,
    });
  }

  carry(dir: 'ab' | 'ba', src: number, dst: number, seg: Buffer): void {
    if (this.capture) this.captured.push({ dir, seg: Buffer.from(seg) });
    if (!this.up || (this.opts.filter && this.opts.filter(dir, seg))) {
      this.dropped++;
      return;
    }
    const o = this.opts;
    if (o.loss && this.rng.float() < o.loss) {
      this.dropped++;
      return;
    }
    let data = seg;
    if (o.corrupt && this.rng.float() < o.corrupt) {
      data = Buffer.from(seg);
      const i = this.rng.u32() % data.length;
      data[i] = data[i]! ^ (1 + (this.rng.u32() % 255));
    }
    let delay = o.delayMs ?? 0;
    if (o.rateMbps) {
      const now = this.sched.now();
      const tx = ((seg.length + 40) * 8) / (o.rateMbps * 1000); // ms on the wire (with L2/L3)
      const backlog = Math.max(0, this.busyUntil[dir] - now);
      if (backlog / tx > (o.queuePackets ?? 100)) {
        this.queueDrops++;
        this.dropped++;
        return;
      }
      const depart = Math.max(now, this.busyUntil[dir]) + tx;
      this.busyUntil[dir] = depart;
      delay += depart - now;
    }
    if (o.reorder && this.rng.float() < o.reorder) delay += o.reorderDelayMs ?? 1;
    const target = dir === 'ab' ? this.b : this.a;
    const info: IpReceiveInfo = { src, dst, ttl: 64, tos: 0, broadcast: false };
    const copies = o.dup && this.rng.float() < o.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.sched.setTimer(delay, () => {
        this.delivered++;
        target.receive(info, data);
      });
    }
  }

  /** Injects a raw TCP segment as if it came from the other side. */
  inject(to: 'a' | 'b', seg: Buffer): void {
    const target = to === 'a' ? this.a : this.b;
    const src = to === 'a' ? ADDR_B : ADDR_A;
    const dst = to === 'a' ? ADDR_A : ADDR_B;
    target.receive({ src, dst, ttl: 64, tos: 0, broadcast: false }, seg);
  }

  run(ms: number): void {
    this.sched.advance(ms);
  }

  until(done: () => boolean, limitMs = 60_000): boolean {
    return this.sched.runUntil(done, limitMs);
  }
}

/** Sets up a listener on B:port and a client on A connected to it; returns both ends. */
export function connectPair(w: Wire, port = 80): { client: TcpSocket; server: TcpSocket; listener: TcpSocket } {
  const listener = w.b.socket();
  if (listener.bind(0, port) !== 0) throw new Error('bind');
  if (listener.listen(16) !== 0) throw new Error('listen');
  const client = w.a.socket();
  const r = client.connect(ADDR_B, port);
  if (r !== -115) throw new Error(`connect ${r}`);
  let server: TcpSocket | null = null;
  w.until(() => {
    server ??= listener.accept();
    return server !== null && client.state === 'ESTABLISHED';
  }, 10_000);
  if (!server) throw new Error('no accept');
  return { client, server, listener };
}

import { createHash } from 'node:crypto';

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

import { emitTcpHeader, parseTcp, setTcpChecksum, TcpOptionsOut, tcpOptionsLength, TcpSegment } from '../../src/netstack/wire/tcp.js';

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
export function rawSegment(src: number, dst: number, s: RawSeg): Buffer {
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
