/**
 * The node's underlay: datagrams out to an endpoint, datagrams in with their source. Injected, so
 * the daemon uses real UDP sockets and simulations use an in-memory switchboard.
 */
import type { Logger } from 'pino';
import { isSystemError, udpSocket, type NativeUdpSocket, type UdpSocketStats } from '../../native/binding.js';
import { endpoint, endpointKey, type Endpoint } from '../peer/endpoint.js';

export type ReceiveHandler = (data: Buffer, from: Endpoint) => void;

export interface UdpTransport {
  /** Sends one datagram; returns false when it could not be handed to the underlay. Never throws. */
  send(to: Endpoint, data: Buffer): boolean;
  /** Sets the one receiver of incoming datagrams. */
  onReceive(handler: ReceiveHandler): void;
  /** Local endpoints the transport is bound to (after `start`). */
  localEndpoints(): Endpoint[];
  close(): void;
}

export interface NativeTransportOptions {
  /** Primary UDP port (0 = any free port). */
  port: number;
  /** Addresses to bind; default both wildcards (0.0.0.0 and ::). */
  bind?: string[];
  /**
   * A last guard on every send: datagrams to endpoints it rejects are dropped and counted. Tests pass
   * a loopback-only policy so that nothing leaves the machine.
   */
  allowDestination?: (to: Endpoint) => boolean;
  logger?: Logger;
}

/** Datagrams queued while the kernel's send buffer is full, at most; more are dropped and counted. */
const MAX_QUEUED = 8192;
/** A queue this long is sent at once instead of at the end of the event-loop turn. */
const FLUSH_AT = 256;

interface BoundSocket {
  family: 4 | 6;
  socket: NativeUdpSocket;
  local: Endpoint;
  /** Flat [ip, port, data, …] waiting for the end of this turn (or for the socket to drain). */
  queue: Array<string | number | Buffer>;
  /** The kernel's buffer was full: wait for onWritable before sending more. */
  blocked: boolean;
}

/**
 * UDP over the native socket in the binding, IPv4 and IPv6 on one port. Sends made while one event
 * is handled (a batch of received datagrams, one read from an app, a timer) go out together as
 * soon as its handler returns (a microtask: one sendmmsg, runs to one peer as GSO) — not at the end
 * of the event-loop turn, which would hold a lone request behind every other event of the turn.
 * Sends made while a received batch is handled go out right after it, without the microtask.
 * Every datagram ready on a socket arrives in one batch.
 */
export class NativeUdpTransport implements UdpTransport {
  private readonly sockets: BoundSocket[] = [];
  private handler: ReceiveHandler = () => {};
  private flushScheduled = false;
  /** A received batch is being handled: its sends go out when it is done, without a microtask. */
  private delivering = false;
  private readonly sources = new Map<string, Endpoint>();
  /** The last sender, looked up without building its key: batch after batch comes from one peer. */
  private lastSource: Endpoint | null = null;
  /** The binding's list of senders of the last batch, and their endpoints. */
  private lastSourceList: ReadonlyArray<readonly [string, number]> | null = null;
  private lastSourceEndpoints: Array<Endpoint | null> = [];
  readonly stats = { sent: 0, received: 0, sendErrors: 0, refusedDestination: 0, queueDrops: 0 };

  private constructor(private readonly opts: NativeTransportOptions) {}

  /** Binds every requested address; throws when none could be bound. */
  static async open(opts: NativeTransportOptions): Promise<NativeUdpTransport> {
    const t = new NativeUdpTransport(opts);
    const binds = opts.bind ?? ['0.0.0.0', '::'];
    let port = opts.port;
    const errors: string[] = [];
    for (const addr of binds) {
      try {
        const bound = t.bindOne(addr, port);
        // every socket shares the primary port, as stock nodes do
        if (port === 0) port = bound.local.port;
      } catch (e) {
        errors.push(`${addr}: ${isSystemError(e) ? e.code : (e as Error).message}`);
      }
    }
    if (t.sockets.length === 0) throw new Error(`cannot bind UDP port ${opts.port}: ${errors.join('; ')}`);
    return t;
  }

  private bindOne(addr: string, port: number): BoundSocket {
    const family: 4 | 6 = addr.includes(':') ? 6 : 4;
    let entry: BoundSocket | null = null;
    const socket = udpSocket(
      family,
      addr,
      port,
      (datagrams, sourceOf, sources) => this.deliver(datagrams, sourceOf, sources),
      () => {
        if (!entry) return;
        entry.blocked = false;
        this.flushSocket(entry);
      },
    );
    const [ip, boundPort] = socket.address();
    const local = endpoint(ip, boundPort);
    if (!local) {
      socket.close();
      throw new Error(`bound to an unusable address ${ip}/${boundPort}`);
    }
    entry = { family, socket, local, queue: [], blocked: false };
    this.sockets.push(entry);
    return entry;
  }

  private deliver(datagrams: Buffer[], sourceOf: Uint32Array | null, sources: ReadonlyArray<readonly [string, number]>): void {
    // the binding hands the same list again while the senders stay the same: resolved once
    if (sources !== this.lastSourceList) {
      this.lastSourceList = sources;
      this.lastSourceEndpoints = sources.map(([ip, port]) => this.source(ip, port));
    }
    const from = this.lastSourceEndpoints;
    this.delivering = true;
    try {
      for (let i = 0; i < datagrams.length; i++) {
        const ep = from[sourceOf === null ? 0 : sourceOf[i]!];
        if (!ep) continue;
        this.stats.received++;
        this.handler(datagrams[i]!, ep);
      }
    } finally {
      this.delivering = false;
    }
    this.flush();
  }

  /** One Endpoint object per sender, so a batch does not build a new one per datagram. */
  private source(ip: string, port: number): Endpoint | null {
    const last = this.lastSource;
    if (last !== null && last.port === port && last.ip === ip) return last;
    const ep = this.lookUpSource(ip, port);
    if (ep) this.lastSource = ep;
    return ep;
  }

  private lookUpSource(ip: string, port: number): Endpoint | null {
    const key = `${ip}/${port}`;
    let ep = this.sources.get(key);
    if (ep) return ep;
    ep = endpoint(ip, port) ?? undefined;
    if (!ep) return null;
    if (this.sources.size >= 4096) this.sources.clear();
    this.sources.set(key, ep);
    return ep;
  }

  send(to: Endpoint, data: Buffer): boolean {
    if (this.opts.allowDestination && !this.opts.allowDestination(to)) {
      this.stats.refusedDestination++;
      return false;
    }
    let s: BoundSocket | null = null;
    for (const b of this.sockets) {
      if (b.family === to.family) {
        s = b;
        break;
      }
    }
    if (!s) {
      this.stats.sendErrors++;
      return false;
    }
    if (s.queue.length >= MAX_QUEUED * 3) {
      this.stats.queueDrops++;
      return false;
    }
    s.queue.push(to.ip, to.port, data);
    this.stats.sent++;
    if (s.queue.length >= FLUSH_AT * 3) this.flushSocket(s);
    else if (!this.flushScheduled && !this.delivering) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
    return true;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const s of this.sockets) this.flushSocket(s);
  };

  private flushSocket(s: BoundSocket): void {
    if (s.blocked || s.queue.length === 0) return;
    const list = s.queue;
    // a new array rather than `length = 0`, which is a runtime call on every flush
    s.queue = [];
    let consumed: number;
    try {
      consumed = s.socket.send(list);
    } catch (e) {
      // closed under us: nothing more can go
      this.stats.sendErrors += list.length / 3;
      this.opts.logger?.warn({ err: (e as Error).message }, 'udp send failed');
      return;
    }
    if (consumed * 3 < list.length) {
      // the kernel's buffer is full: keep the rest, in order, until the socket drains
      s.blocked = true;
      s.queue = list.slice(consumed * 3);
    }
  }

  /** The sockets' own counters (datagrams, GSO use, drops on send and receive). */
  socketStats(): Array<UdpSocketStats & { local: string }> {
    return this.sockets.map((s) => ({ local: endpointKey(s.local), ...s.socket.stats() }));
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  localEndpoints(): Endpoint[] {
    return this.sockets.map((s) => s.local);
  }

  close(): void {
    for (const s of this.sockets.splice(0)) {
      s.queue = [];
      try {
        s.socket.close();
      } catch {
        // already closed
      }
    }
  }
}

/** A send policy that only lets datagrams go to loopback addresses (for tests and benchmarks). */
export function loopbackOnly(to: Endpoint): boolean {
  return to.family === 4 ? to.ip.startsWith('127.') : to.ip === '::1';
}
