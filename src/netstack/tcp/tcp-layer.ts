/**
 * TCP for one stack: the table of connections and listeners, demultiplexing of incoming segments,
 * RST for closed ports (RFC 9293 §3.10.7.1), the bind table with randomised ephemeral ports
 * (RFC 6056), the TIME_WAIT table (time-wait.ts), RFC 5961 challenge-ACK rate limiting and the
 * socket factory. Connections see the layer only as their `TcpPort`.
 *
 * Re-entrancy: everything that can send runs as a unit of work — run(fn), or enter() with exit()
 * in a `finally`. A segment arriving while the layer is busy (a link that delivers synchronously)
 * is queued and processed when the outermost unit ends; socket handlers are called only after
 * processing, so they may call back freely.
 */
import { bindOverlap, type IpAddr } from '../addr.js';
import type { Scheduler } from '../clock.js';
import { type CounterCell, Counters } from '../counters.js';
import { Errno } from '../errno.js';
import type { RandomSource } from '../random.js';
import type { TcpSocket } from '../socket-api.js';
import type { IpReceiveInfo, IpSender, IpSendOptions, TransportProtocol } from '../transport.js';
import { HEADROOM, IPPROTO_TCP } from '../transport.js';
import {
  emitTcpHeader,
  parseTcp,
  setTcpChecksum,
  TCP_ACK,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_RST,
  TCP_SYN,
  TcpSegment,
  tcpParseErrorName,
} from '../wire/tcp.js';
import { CongestionAlgo } from './congestion/select.js';
import { IsnGenerator } from './isn.js';
import { TcpOptions } from './options.js';
import type { TcpPort } from './port.js';
import { seqAdd } from './seq.js';
import { TcpConnection } from './tcp-connection.js';
import { TimeWaitTable } from './time-wait.js';
import { connKey, listenerRank, peerHash } from './table-keys.js';

export interface TcpLayerDeps {
  ip: IpSender<IpAddr>;
  scheduler: Scheduler;
  random: RandomSource;
  counters?: Counters;
  /** TIME_WAIT duration (2*MSL), ms; default 60 s. */
  timeWaitMs?: number;
  /** Challenge ACKs allowed per second for the whole layer (RFC 5961 §7); default 100. */
  challengeAckLimit?: number;
  /** Congestion control of new sockets (Linux's net.ipv4.tcp_congestion_control); default CUBIC. */
  congestion?: CongestionAlgo;
  /**
   * Loss detection of new sockets with SACK (Linux's net.ipv4.tcp_recovery): 1 = RACK-TLP (the
   * default, as Linux's), 0 = RFC 6675.
   */
  recovery?: 0 | 1;
  /** Whether new sockets negotiate ECN (Linux's net.ipv4.tcp_ecn); default 0. */
  ecn?: 0 | 1;
}

export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
export const DEFAULT_TIME_WAIT_MS = 60_000;

interface PendingRx {
  info: IpReceiveInfo;
  payload: Buffer;
}

export class TcpLayer implements TransportProtocol, TcpPort<TcpConnection> {
  readonly protocol = IPPROTO_TCP;
  readonly counters: Counters;
  private readonly rxSegments: CounterCell;
  private readonly txSegments: CounterCell;
  readonly ip: IpSender<IpAddr>;
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  readonly isn: IsnGenerator;
  readonly timeWaitMs: number;
  /** Congestion control new sockets start with (TCP_CONGESTION changes it per socket). */
  defaultCongestion: CongestionAlgo;
  /** What new sockets' RECOVERY option starts at. */
  defaultRecovery: 0 | 1;
  defaultEcn: 0 | 1;

  private readonly conns = new Map<string, TcpConnection>();
  private lastHit: TcpConnection | null = null;
  private readonly listeners = new Map<number, TcpConnection[]>();
  /** Sockets holding each local port (listeners, bound and connected sockets, TIME_WAIT). */
  private readonly ports = new Map<number, Set<TcpConnection>>();
  private readonly timeWait: TimeWaitTable<TcpConnection>;
  /** A gateway's sockets on foreign addresses (bindForeign): they share ports with everyone. */
  private readonly foreign = new WeakSet<TcpConnection>();

  private depth = 0;
  private rxQueue: PendingRx[] = [];
  private eventQueue: TcpConnection[] = [];
  private flushing = false;
  private readonly segs: TcpSegment[] = [new TcpSegment()];
  private readonly challengeLimit: number;
  private challengeWindowStart = -Infinity;
  private challengeCount = 0;
  private closed = false;

  constructor(deps: TcpLayerDeps) {
    this.counters = deps.counters ?? new Counters();
    this.rxSegments = this.counters.cell('rx_segments');
    this.txSegments = this.counters.cell('tx_segments');
    this.ip = deps.ip;
    this.scheduler = deps.scheduler;
    this.random = deps.random;
    this.isn = new IsnGenerator(deps.scheduler, deps.random);
    this.timeWaitMs = deps.timeWaitMs ?? DEFAULT_TIME_WAIT_MS;
    this.timeWait = new TimeWaitTable(deps.scheduler, this.timeWaitMs, (fn) => this.run(fn));
    this.challengeLimit = deps.challengeAckLimit ?? 100;
    this.defaultCongestion = deps.congestion ?? CongestionAlgo.Cubic;
    this.defaultRecovery = deps.recovery ?? 1;
    this.defaultEcn = deps.ecn ?? 0;
  }

  /** A new socket of `family` (6: IPv6, and IPv4 through v4-mapped addresses unless V6ONLY). */
  socket(family: 4 | 6 = 4): TcpSocket {
    const opts = new TcpOptions();
    opts.congestion = this.defaultCongestion;
    opts.recovery = this.defaultRecovery;
    opts.ecn = this.defaultEcn;
    const c = new TcpConnection(this, opts);
    c.family = family;
    return c;
  }

  sendSegment(src: IpAddr, dst: IpAddr, buf: Buffer, opts: IpSendOptions): number {
    const r = this.ip.send(IPPROTO_TCP, src, dst, buf, HEADROOM, opts);
    this.txSegments.n++;
    return r;
  }

  /** Connections owing a stretch ACK at the end of the current receive burst. */
  private batchAcks: Set<TcpConnection> | null = null;

  beginReceiveBatch(): void {
    this.batchAcks ??= new Set();
  }

  /** Defers a connection's every-second-segment ACK to the burst's end; false outside a burst. */
  deferAck(conn: TcpConnection): boolean {
    if (!this.batchAcks) return false;
    this.batchAcks.add(conn);
    return true;
  }

  endReceiveBatch(): void {
    const owed = this.batchAcks;
    this.batchAcks = null;
    if (!owed) return;
    for (const conn of owed) conn.flushStretchAck();
  }

  // ───────────────────────── re-entrancy and events ─────────────────────────

  /**
   * Runs `fn` as one unit of work: segments arriving meanwhile are queued, and they and the socket
   * events it caused are handled when the outermost unit ends — even if `fn` throws.
   */
  run<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.exit();
    }
  }

  /** Opens a unit of work; always paired with exit() in a `finally` (run() does both). */
  enter(): void {
    this.depth++;
  }

  exit(): void {
    if (--this.depth > 0) return;
    while (this.rxQueue.length > 0) {
      const q = this.rxQueue;
      this.rxQueue = [];
      for (const p of q) {
        this.depth++;
        try {
          this.process(p.info, p.payload);
        } catch {
          // as in receive(): nothing from the network escapes, and the rest of the queue is still processed
          this.counters.inc('rx_internal_error');
        } finally {
          this.depth--;
        }
      }
    }
    if (this.flushing || this.eventQueue.length === 0) return;
    this.flushing = true;
    try {
      for (let i = 0; i < this.eventQueue.length; i++) {
        const c = this.eventQueue[i]!;
        try {
          c.flushEvents();
        } catch (e) {
          this.counters.inc('handler_exception');
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    } finally {
      this.eventQueue = [];
      this.flushing = false;
    }
  }

  queueEvents(c: TcpConnection): void {
    this.eventQueue.push(c);
  }

  // ───────────────────────── receive ─────────────────────────

  receive(info: IpReceiveInfo, payload: Buffer): boolean {
    if (this.closed) return true;
    if (this.depth > 0) {
      this.rxQueue.push({ info: { ...info }, payload });
      return true;
    }
    this.depth++;
    try {
      this.process(info, payload);
    } catch (e) {
      // never let anything from the network escape
      this.counters.inc('rx_internal_error');
      void e;
    } finally {
      this.exit();
    }
    return true;
  }

  private process(info: IpReceiveInfo, payload: Buffer): void {
    const c = this.counters;
    this.rxSegments.n++;
    const dst = info.dst;
    if (info.broadcast || (typeof dst === 'number' ? dst >>> 28 === 0xe : dst.startsWith('ff'))) {
      c.inc('rx_not_unicast');
      return;
    }
    const seg = this.segs[0]!;
    const err = info.loopback ? parseTcp(payload, seg) : parseTcp(payload, seg, info.src, info.dst);
    if (err !== 0) {
      c.inc(tcpParseErrorName(err));
      return;
    }
    let conn = this.lastHit;
    if (
      conn === null ||
      conn.remotePort !== seg.srcPort ||
      conn.localPort !== seg.dstPort ||
      conn.remoteAddr !== info.src ||
      conn.localAddr !== info.dst ||
      conn.key === ''
    ) {
      conn = this.conns.get(connKey(info.dst, seg.dstPort, info.src, seg.srcPort)) ?? null;
      if (conn) this.lastHit = conn;
    }
    if (conn) {
      if (conn.state === 'TIME_WAIT' && seg.flags & TCP_SYN && !(seg.flags & (TCP_ACK | TCP_RST))) {
        const l = this.findListener(info.dst, seg.dstPort, info.src, seg.srcPort);
        if (l && conn.timeWaitAcceptsSyn(seg)) {
          c.inc('time_wait_recycled');
          this.timeWait.drop(conn);
          this.listenArrived(l, info, seg);
          return;
        }
      }
      conn.rxEcn = info.tos & 3;
      conn.segmentArrived(seg);
      return;
    }
    const l = this.findListener(info.dst, seg.dstPort, info.src, seg.srcPort);
    if (l) {
      this.listenArrived(l, info, seg);
      return;
    }
    c.inc('rx_no_socket');
    this.rstForClosed(info, seg);
  }

  /**
   * The listener for a SYN to addr:port: a specific address beats the wildcard; several
   * SO_REUSEPORT listeners on the same address share connections by a hash of the peer.
   */
  private findListener(addr: IpAddr, port: number, peerAddr: IpAddr = 0, peerPort = 0): TcpConnection | null {
    const ls = this.listeners.get(port);
    if (!ls) return null;
    if (ls.length === 1) return listenerRank(ls[0]!, addr) > 0 ? ls[0]! : null;
    let best = 0;
    let n = 0;
    for (const l of ls) {
      const r = listenerRank(l, addr);
      if (r > best) {
        best = r;
        n = 1;
      } else if (r === best) n++;
    }
    if (best === 0) return null;
    let pick = n === 1 ? 0 : peerHash(peerAddr, peerPort) % n;
    for (const l of ls) {
      if (listenerRank(l, addr) !== best) continue;
      if (pick-- === 0) return l;
    }
    return null;
  }

  /** RFC 9293 §3.10.7.1: a segment for no connection gets a RST unless it is one. */
  private rstForClosed(info: IpReceiveInfo, seg: TcpSegment): void {
    if (seg.flags & TCP_RST) return;
    if (seg.flags & TCP_ACK) this.sendRstFor(info.dst, info.src, seg.dstPort, seg.srcPort, seg.ack, 0, false);
    else {
      const len = seg.dataLen + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
      this.sendRstFor(info.dst, info.src, seg.dstPort, seg.srcPort, 0, seqAdd(seg.seq, len), true);
    }
  }

  sendRstFor(src: IpAddr, dst: IpAddr, sport: number, dport: number, seq: number, ack: number, withAck: boolean): void {
    const buf = Buffer.allocUnsafe(HEADROOM + TCP_HEADER_LEN);
    emitTcpHeader(buf, HEADROOM, sport, dport, seq, withAck ? ack : 0, withAck ? TCP_RST | TCP_ACK : TCP_RST, 0, null);
    setTcpChecksum(buf, HEADROOM, buf.length, src, dst);
    this.counters.inc('tx_rst');
    this.ip.send(IPPROTO_TCP, src, dst, buf, HEADROOM, { dontFragment: true });
  }

  private listenArrived(l: TcpConnection, info: IpReceiveInfo, seg: TcpSegment): void {
    const c = this.counters;
    const f = seg.flags;
    if (f & TCP_RST) {
      c.inc('rx_listen_rst');
      return;
    }
    if (f & TCP_ACK) {
      c.inc('rx_listen_ack');
      this.sendRstFor(info.dst, info.src, seg.dstPort, seg.srcPort, seg.ack, 0, false);
      return;
    }
    if (!(f & TCP_SYN)) {
      c.inc('rx_listen_no_syn');
      return;
    }
    const queues = l.listener!;
    if (queues.full()) {
      c.inc('listen_overflow');
      return;
    }
    const child = new TcpConnection(this, queues.options.forChild());
    child.family = l.family;
    child.localAddr = info.dst;
    child.localPort = l.localPort;
    child.remoteAddr = info.src;
    child.remotePort = seg.srcPort;
    this.register(child);
    this.holdPort(child, l.localPort);
    queues.addEmbryonic(child);
    c.inc('passive_opens');
    child.passiveOpen(queues, seg, info.dst, l.localPort, info.src);
  }

  // ───────────────────────── tables ─────────────────────────

  private register(c: TcpConnection): void {
    c.key = connKey(c.localAddr, c.localPort, c.remoteAddr, c.remotePort);
    this.conns.set(c.key, c);
  }

  private holdPort(c: TcpConnection, port: number): void {
    let s = this.ports.get(port);
    if (!s) {
      s = new Set();
      this.ports.set(port, s);
    }
    s.add(c);
    c.bound = true;
  }

  /** Removes a connection from every table (it reached CLOSED). */
  unregister(c: TcpConnection): void {
    if (c.key !== '') {
      if (this.conns.get(c.key) === c) this.conns.delete(c.key);
      c.key = '';
    }
    if (this.lastHit === c) this.lastHit = null;
    if (c.bound) {
      const s = this.ports.get(c.localPort);
      if (s) {
        s.delete(c);
        if (s.size === 0) this.ports.delete(c.localPort);
      }
      c.bound = false;
    }
    this.removeListener(c);
    this.timeWait.forget(c);
  }

  private conflicts(c: TcpConnection, addr: IpAddr, port: number, listening: boolean): boolean {
    const s = this.ports.get(port);
    if (!s) return false;
    if (this.foreign.has(c)) return false;
    for (const o of s) {
      if (o === c || this.foreign.has(o)) continue;
      if (!bindOverlap(addr, c.opts.v6only, o.localAddr, o.opts.v6only)) continue;
      if (c.opts.reusePort && o.opts.reusePort) continue;
      // SO_REUSEADDR: share the port with anything that is not listening (as Linux)
      if (c.opts.reuseAddr && o.state !== 'LISTEN' && !(listening && o.state === 'CLOSED' && !o.opts.reuseAddr)) continue;
      return true;
    }
    return false;
  }

  bindSocket(c: TcpConnection, addr: IpAddr, port: number): number {
    if (port === 0) {
      const p = this.pickEphemeral((cand) => !this.conflicts(c, addr, cand, false));
      if (p < 0) return -Errno.EADDRINUSE;
      port = p;
    } else if (this.conflicts(c, addr, port, false)) return -Errno.EADDRINUSE;
    c.localAddr = addr;
    c.localPort = port;
    this.holdPort(c, port);
    return 0;
  }

  /**
   * Binds a gateway's socket to a foreign address (not ours: a client's, or an outbound
   * destination). It conflicts with nothing, and a listener so bound outranks wildcard ones for
   * its exact address only (findListener), so the programs' sockets and it never meet.
   */
  bindForeign(c: TcpConnection, addr: IpAddr, port: number): number {
    this.foreign.add(c);
    return this.bindSocket(c, addr, port);
  }

  /** Randomised ephemeral port (RFC 6056 algorithm 1: random start, linear probe). */
  private pickEphemeral(ok: (port: number) => boolean): number {
    const n = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = this.random.u32() % n;
    for (let i = 0; i < n; i++) {
      const p = EPHEMERAL_LOW + ((start + i) % n);
      if (!this.ports.has(p) && ok(p)) return p;
    }
    for (let i = 0; i < n; i++) {
      const p = EPHEMERAL_LOW + ((start + i) % n);
      if (ok(p)) return p;
    }
    return -1;
  }

  /** Assigns the local side of an active open and registers the 4-tuple. */
  connectTuple(c: TcpConnection, src: IpAddr, dst: IpAddr, dport: number): number {
    if (c.bound) {
      const existing = this.conns.get(connKey(src, c.localPort, dst, dport));
      if (existing) {
        if (existing.state === 'TIME_WAIT' && existing.timestampsOn) {
          this.counters.inc('time_wait_reused');
          this.timeWait.drop(existing);
        } else return -Errno.EADDRNOTAVAIL;
      }
      c.localAddr = src;
    } else {
      const p = this.pickEphemeral((cand) => {
        if (this.conflicts(c, src, cand, false)) return false;
        return !this.conns.has(connKey(src, cand, dst, dport));
      });
      if (p < 0) return -Errno.EADDRNOTAVAIL;
      c.localAddr = src;
      c.localPort = p;
      this.holdPort(c, p);
    }
    c.remoteAddr = dst;
    c.remotePort = dport;
    this.register(c);
    this.counters.inc('active_opens');
    return 0;
  }

  addListener(c: TcpConnection): number {
    if (this.conflicts(c, c.localAddr, c.localPort, true)) return -Errno.EADDRINUSE;
    let ls = this.listeners.get(c.localPort);
    if (!ls) {
      ls = [];
      this.listeners.set(c.localPort, ls);
    }
    for (const o of ls) if (o.localAddr === c.localAddr && !(o.opts.reusePort && c.opts.reusePort)) return -Errno.EADDRINUSE;
    ls.push(c);
    return 0;
  }

  removeListener(c: TcpConnection): void {
    const ls = this.listeners.get(c.localPort);
    if (!ls) return;
    const i = ls.indexOf(c);
    if (i >= 0) ls.splice(i, 1);
    if (ls.length === 0) this.listeners.delete(c.localPort);
  }

  // ───────────────────────── TIME_WAIT ─────────────────────────

  enterTimeWait(c: TcpConnection): void {
    this.counters.inc('time_wait_entered');
    this.timeWait.add(c);
  }

  restartTimeWait(c: TcpConnection): void {
    this.timeWait.restart(c);
  }

  /** Connections currently in TIME_WAIT. */
  timeWaitCount(): number {
    return this.timeWait.size;
  }

  // ───────────────────────── misc ─────────────────────────

  /** RFC 5961 §7: a layer-wide budget of challenge ACKs per second. */
  allowChallengeAck(): boolean {
    const now = this.scheduler.now();
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.challengeLimit) return false;
    this.challengeCount++;
    return true;
  }

  receiveIcmpError(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, nextHopMtu?: number): void {
    if (quoted.length < 8) {
      this.counters.inc('icmp_short_quote');
      return;
    }
    const sport = quoted.readUInt16BE(0);
    const dport = quoted.readUInt16BE(2);
    const seq = quoted.readUInt32BE(4);
    // src/dst are the quoted datagram's addresses: we sent it from src to dst
    const conn = this.conns.get(connKey(src, sport, dst, dport)) ?? this.conns.get(connKey(dst, sport, src, dport));
    if (!conn) {
      this.counters.inc('icmp_no_socket');
      return;
    }
    this.enter();
    try {
      conn.icmpError(type, code, seq, nextHopMtu);
      conn.armTimer();
    } finally {
      this.exit();
    }
  }

  /** Connections in the table (all states but LISTEN). */
  connectionCount(): number {
    return this.conns.size;
  }

  /** Aborts every connection and cancels timers. */
  /** Fails every connection with `errno` (RST where synchronized); listeners stay. The interface went away under them. */
  failConnections(errno: number): void {
    this.enter();
    try {
      for (const c of [...this.conns.values()]) c.resetAndClose(errno);
    } finally {
      this.exit();
    }
  }

  close(): void {
    this.enter();
    try {
      for (const c of [...this.conns.values()]) c.resetAndClose(0);
      for (const ls of [...this.listeners.values()]) for (const l of [...ls]) l.close();
      this.timeWait.clear();
    } finally {
      this.exit();
    }
    this.closed = true;
  }
}
