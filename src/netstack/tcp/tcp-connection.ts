/**
 * One TCP endpoint as the application sees it (as gVisor's endpoint.go): the TcpSocket calls
 * (bind, listen, connect, accept, read/write, shutdown, close, options, info), teardown (RST,
 * CLOSED, TIME_WAIT), the handler events and ICMP errors. The protocol itself is in the files
 * this class extends: control-block.ts → sender.ts → timers.ts → ack.ts → receiver.ts →
 * handshake.ts → here (RFC 9293 with RFC 7323, 2018/6675, 6582, 9438, 6298, 5961).
 *
 * A listening socket keeps its queues in a `TcpListener`; its children are made from its options.
 */
import { IPV6_ANY, IPV6_LOOPBACK, isMulticast6, isUnspecified, unmapV4, v4Mapped, type IpAddr, type SocketAddress } from '../addr.js';
import { Errno } from '../errno.js';
import type { TcpInfo, TcpOptionName, TcpSocket } from '../socket-api.js';
import { SHUT_RD, SHUT_RDWR, SHUT_WR } from '../socket-api.js';
import { ipHeaderLen, IPV6_HEADER_LEN } from '../transport.js';
import { ICMPV6_PACKET_TOO_BIG, icmpv6Errno } from '../wire/icmpv6.js';
import type { TcpSegment } from '../wire/tcp.js';
import { reportedPacingRate } from './congestion/congestion.js';
import { createCongestionControl } from './congestion/select.js';
import { EV_ACCEPTABLE, EV_CLOSE, EV_CONNECT, EV_ERROR, EV_READABLE, EV_WRITABLE } from './control-block.js';
import { TcpHandshake } from './handshake.js';
import { TcpListener } from './listener.js';
import { TcpOptions } from './options.js';
import type { TcpPort } from './port.js';
import { seqDiff, seqGeq, seqGt, seqLt } from './seq.js';
import { acceptsWrites, isHandshaking, isUnconnected, peerKnowsConnection } from './state.js';

export class TcpConnection extends TcpHandshake implements TcpSocket {
  /** The queues of a listening socket (set by listen()). */
  listener: TcpListener<TcpConnection> | null = null;
  private readonly onAcceptable = (): void => this.queueEvent(EV_ACCEPTABLE);

  constructor(port: TcpPort<TcpConnection>, opts: TcpOptions = new TcpOptions()) {
    super(port, opts);
  }

  bind(addr: IpAddr, port: number): number {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return -Errno.EINVAL;
    const a = this.wireAddress(addr);
    if (typeof a !== 'number' && typeof a !== 'string') return a.errno === Errno.ENETUNREACH ? -Errno.EINVAL : -a.errno;
    if (this._state !== 'CLOSED' || this.bound || this.userClosed) return -Errno.EINVAL;
    if (!isUnspecified(a) && !this.port.ip.isLocalAddress(a)) return -Errno.EADDRNOTAVAIL;
    return this.port.bindSocket(this, a, port);
  }

  /**
   * An application's address as this socket's family takes it, turned into the wire address: a
   * family-4 socket takes numbers; a family-6 socket strings, where ::ffff:a.b.c.d means IPv4
   * (refused, ENETUNREACH, under V6ONLY). `{ errno }` when the address is not acceptable.
   */
  private wireAddress(addr: IpAddr): IpAddr | { errno: number } {
    if (this.family === 4) {
      if (typeof addr !== 'number') return { errno: Errno.EAFNOSUPPORT };
      if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) return { errno: Errno.EINVAL };
      return addr >>> 0;
    }
    if (typeof addr !== 'string') return { errno: Errno.EAFNOSUPPORT };
    if (!/^[0-9a-f]{32}$/.test(addr)) return { errno: Errno.EINVAL };
    const v4 = unmapV4(addr);
    if (v4 === null) return addr;
    return this.opts.v6only ? { errno: Errno.ENETUNREACH } : v4;
  }

  /** A wire address as the application sees it: a family-6 socket reports IPv4 ones v4-mapped. */
  private presented(addr: IpAddr): IpAddr {
    if (this.family === 4 || typeof addr === 'string') return addr;
    return addr === 0 ? IPV6_ANY : v4Mapped(addr);
  }

  listen(backlog: number): number {
    if (this.userClosed) return -Errno.EBADF;
    const b = Number.isFinite(backlog) ? Math.max(1, Math.min(4096, Math.floor(backlog))) : 128;
    if (this._state === 'LISTEN') {
      this.listener!.backlog = b;
      return 0;
    }
    if (this._state !== 'CLOSED' || this.everConnected) return -Errno.EINVAL;
    if (!this.bound) {
      const r = this.port.bindSocket(this, 0, 0);
      if (r < 0) return r;
    }
    const r = this.port.addListener(this);
    if (r < 0) return r;
    this.listener = new TcpListener(b, this.opts, this.onAcceptable);
    this._state = 'LISTEN';
    return 0;
  }

  connect(addr: IpAddr, port: number): number {
    if (this.userClosed) return -Errno.EBADF;
    switch (this._state) {
      case 'CLOSED':
        break;
      case 'SYN_SENT':
      case 'SYN_RECEIVED':
        return -Errno.EALREADY;
      case 'LISTEN':
        return -Errno.EINVAL;
      default:
        return -Errno.EISCONN;
    }
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return -Errno.EINVAL;
    const w = this.wireAddress(addr);
    if (typeof w !== 'number' && typeof w !== 'string') return -w.errno;
    // as Linux's tcp_v6_connect: :: means the loopback
    const dst = w === IPV6_ANY ? IPV6_LOOPBACK : w;
    if (dst === 0 || dst === 0xffffffff || (typeof dst === 'string' && isMulticast6(dst))) return -Errno.ENETUNREACH;
    // a socket bound to an address of the other family cannot reach this one
    if (this.bound && !isUnspecified(this.localAddr) && typeof this.localAddr !== typeof dst) return -Errno.ENETUNREACH;
    return this.port.run(() => {
      const src = !isUnspecified(this.localAddr) ? this.localAddr : this.port.ip.sourceFor(dst);
      if (src === null) return -Errno.ENETUNREACH;
      const r = this.port.connectTuple(this, src, dst, port);
      if (r < 0) return r;
      this.pendingError = 0;
      this.readError = 0;
      this.finReceived = false;
      this.everConnected = true;
      this.setupOutgoing();
      this.wsOffered = true;
      this._state = 'SYN_SENT';
      this.sendSyn(false);
      this.startRtx(this.rtt.current());
      this.armTimer();
      return -Errno.EINPROGRESS;
    });
  }

  accept(): TcpSocket | null {
    if (this._state !== 'LISTEN') return null;
    return this.listener!.accept();
  }

  write(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) return -Errno.EINVAL;
    switch (this._state) {
      case 'ESTABLISHED':
      case 'CLOSE_WAIT':
      case 'SYN_SENT':
      case 'SYN_RECEIVED':
        break;
      case 'LISTEN':
        return -Errno.ENOTCONN;
      case 'CLOSED':
        if (this.pendingError) return -this.takeError();
        return this.everConnected ? -Errno.EPIPE : -Errno.ENOTCONN;
      default:
        return -Errno.EPIPE;
    }
    if (this.wrShut || this.userClosed) return -Errno.EPIPE;
    if (data.length === 0) return 0;
    const room = this.opts.sndBufSize - this.sndBuf.length;
    if (room <= 0) {
      this.wantWritable = true;
      return -Errno.EAGAIN;
    }
    const n = this.sndBuf.append(data, room);
    if (n < data.length) this.wantWritable = true;
    if (acceptsWrites(this._state)) {
      // a unit of work as port.run() makes one, written out: no closure per write on the hot path
      this.port.enter();
      try {
        this.output();
        this.armTimer();
      } finally {
        this.port.exit();
      }
    }
    return n;
  }

  writableBytes(): number {
    if (this.wrShut || this.userClosed) return 0;
    const s = this._state;
    if (!acceptsWrites(s) && !isHandshaking(s)) return 0;
    return Math.max(0, this.opts.sndBufSize - this.sndBuf.length);
  }

  read(maxBytes?: number): Buffer | number {
    const max = maxBytes === undefined ? Infinity : maxBytes;
    if (!(max >= 0)) return -Errno.EINVAL;
    if (this.rcvQueue.length > 0 && !this.rdShut) {
      if (max === 0) return Buffer.alloc(0);
      const b = this.rcvQueue.read(max === Infinity ? this.rcvQueue.length : max);
      this.afterRead();
      return b;
    }
    return this.readStatus();
  }

  readv(maxBytes: number): Buffer[] | number {
    if (!(maxBytes > 0)) return -Errno.EINVAL;
    if (this.rcvQueue.length > 0 && !this.rdShut) {
      const out = this.rcvQueue.readv(maxBytes);
      this.afterRead();
      return out;
    }
    return this.readStatus();
  }

  /** What read() returns when there is no data to hand out: a pending error, 0 at EOF, or -EAGAIN. */
  protected readStatus(): number {
    if (this.readError) {
      const e = this.readError;
      this.readError = 0;
      this.pendingError = 0;
      return -e;
    }
    if (this.finReceived || this.rdShut) return 0;
    const s = this._state;
    if (s === 'LISTEN') return -Errno.ENOTCONN;
    if (s === 'CLOSED') return this.everConnected ? 0 : -Errno.ENOTCONN;
    return -Errno.EAGAIN;
  }

  readableBytes(): number {
    return this.rdShut ? 0 : this.rcvQueue.length;
  }

  shutdown(how: number): number {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return -Errno.EINVAL;
    const s = this._state;
    if (s === 'LISTEN' || s === 'CLOSED' || s === 'SYN_SENT') {
      if (s === 'LISTEN' && how !== SHUT_WR) {
        this.close();
        return 0;
      }
      return -Errno.ENOTCONN;
    }
    this.port.enter();
    try {
      if (how === SHUT_RD || how === SHUT_RDWR) {
        this.rdShut = true;
        this.rcvQueue.clear();
        this.queueEvent(EV_READABLE);
      }
      if (how === SHUT_WR || how === SHUT_RDWR) this.queueFin();
      this.armTimer();
    } finally {
      this.port.exit();
    }
    return 0;
  }

  close(): void {
    if (this.userClosed) return;
    this.userClosed = true;
    this.port.run(() => {
      switch (this._state) {
        case 'LISTEN':
          this.port.removeListener(this);
          this.listener!.close();
          this.toClosed();
          return;
        case 'CLOSED':
          this.toClosed();
          return;
        case 'SYN_SENT':
          this.toClosed();
          return;
        case 'TIME_WAIT':
          return;
        default:
          break;
      }
      if (this.opts.lingerSec === 0 || this.rcvQueue.length > 0) {
        this.port.counters.inc(this.opts.lingerSec === 0 ? 'close_linger0_rst' : 'close_unread_rst');
        this.resetAndClose(0);
        return;
      }
      this.rdShut = true;
      this.queueFin();
      this.armTimer();
    });
  }

  abort(): void {
    this.port.run(() => {
      this.userClosed = true;
      if (this._state === 'LISTEN') {
        this.userClosed = false;
        this.close();
        return;
      }
      this.resetAndClose(0);
    });
  }

  localAddress(): SocketAddress | null {
    if (!this.bound && this.key === '') return null;
    return { addr: this.presented(this.localAddr), port: this.localPort };
  }

  remoteAddress(): SocketAddress | null {
    if (this.remotePort === 0 || this._state === 'LISTEN') return null;
    if (this._state === 'CLOSED' && this.key === '' && !this.everConnected) return null;
    return { addr: this.presented(this.remoteAddr), port: this.remotePort };
  }

  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  setOption(name: TcpOptionName, value: number): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) return -Errno.EINVAL;
    if (name === 'V6ONLY') {
      if (this.family !== 6) return -Errno.ENOPROTOOPT;
      // as Linux: only while the socket is unbound and unconnected
      if (this.bound || this._state !== 'CLOSED' || this.everConnected) return -Errno.EINVAL;
    }
    const congestionBefore = this.opts.congestion;
    const r = this.opts.set(name, Math.floor(value));
    if (r !== 0) return r;
    // what a changed option sets in motion
    switch (name) {
      case 'NODELAY':
        if (this.opts.nodelay) this.kick();
        break;
      case 'CORK':
        if (!this.opts.cork) {
          this.corkAt = Infinity;
          this.kick();
        }
        break;
      case 'KEEPALIVE':
        this.keepaliveProbes = 0;
        this.armTimer();
        break;
      case 'KEEPIDLE':
        this.armTimer();
        break;
      case 'SNDBUF':
        if (this.wantWritable) this.kick();
        break;
      case 'CONGESTION':
        if (this.opts.congestion !== congestionBefore) {
          const old = this.cc;
          this.cc = createCongestionControl(this.opts.congestion, this.mss, this.iss);
          this.cc.cwnd = old.cwnd;
          this.cc.ssthresh = old.ssthresh;
        }
        break;
      default:
        break;
    }
    return 0;
  }

  getOption(name: TcpOptionName): number {
    if (name === 'V6ONLY' && this.family !== 6) return -Errno.ENOPROTOOPT;
    return this.opts.get(name, this.mss);
  }

  info(): TcpInfo {
    return {
      state: this._state,
      congestion: this.cc.name,
      mss: this.mss,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.current(),
      minRtt: this.rtt.minRtt === Infinity ? 0 : this.rtt.minRtt,
      rttSamples: this.rtt.samples,
      retransmits: this.statRetransmits,
      fastRetransmits: this.statFastRetransmits,
      rtoTimeouts: this.statRtoTimeouts,
      zeroWindowProbes: this.statProbes,
      sndWnd: this.sndWnd,
      sndWscale: this.sndShift,
      rcvWscale: this.rcvShift,
      rcvWnd: Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt)),
      rcvBuf: this.opts.rcvBufSize,
      sndBuf: this.opts.sndBufSize,
      unacked: seqDiff(this.sndNxt, this.sndUna),
      sendQueued: this.sndBuf.length,
      recvQueued: this.rcvQueue.length,
      outOfOrderBytes: this.ooo.bytes,
      outOfOrderSegments: this.ooo.count,
      sacked: this.rec.sackedBytes(),
      timestamps: this.tsEnabled ? 1 : 0,
      sack: this.sackEnabled ? 1 : 0,
      bytesSent: this.statBytesSent,
      bytesAcked: this.statBytesAcked,
      bytesReceived: this.statBytesReceived,
      segsOut: this.statSegsOut,
      segsIn: this.statSegsIn,
      inRecovery: this.rec.state,
      hystartCss: this.hystart.cssEntries,
      pacingRate: reportedPacingRate(this.cc, this.mss, seqDiff(this.sndNxt, this.sndUna), this.rtt.samples > 0 ? this.rtt.srtt : 0),
      deliveryRate: Math.round(this.rate.lastRate * 1000),
      deliveryRateAppLimited: this.rate.lastAppLimited ? 1 : 0,
      ...(this.cc.bbrInfo ? { bbr: this.cc.bbrInfo() } : {}),
      wscale: this.wsOffered && this._state !== 'SYN_SENT' ? 1 : 0,
      advMss: isUnconnected(this._state) ? 0 : this.ourMss(),
      rcvMss: isUnconnected(this._state) ? 0 : this.ourMss() - (this.tsEnabled ? 12 : 0),
      pmtu: this.remoteAddr === 0 ? 0 : this.port.ip.maxPayloadFor(this.remoteAddr) + ipHeaderLen(this.remoteAddr),
      backoff: this.rtt.backoff,
      retries: this.retries,
      sinceLastReceiveMs: this.remoteAddr === 0 ? 0 : Math.max(0, this.port.scheduler.now() - this.lastRcvTime),
      acceptQueued: this.listener?.acceptQueue.length ?? 0,
      backlog: this.listener?.backlog ?? 0,
    };
  }

  protected kick(): void {
    this.port.enter();
    try {
      this.output();
      if (this.wantWritable && this.sndBuf.length < this.opts.sndBufSize) {
        this.wantWritable = false;
        this.queueEvent(EV_WRITABLE);
      }
      this.armTimer();
    } finally {
      this.port.exit();
    }
  }

  protected enterTimeWait(): void {
    this._state = 'TIME_WAIT';
    this.rtxAt = Infinity;
    this.delackAt = Infinity;
    this.corkAt = Infinity;
    this.paceAt = Infinity;
    this.finWait2At = Infinity;
    this.persist = false;
    this.cancelTimer();
    this.sndBuf.clear();
    this.ooo.clear();
    this.rec.dropScoreboard();
    this.port.enterTimeWait(this);
    this.queueEvent(EV_CLOSE);
  }

  /** Called by the layer when 2*MSL passed in TIME_WAIT (or the entry was recycled). */
  timeWaitDone(): void {
    this._state = 'CLOSED';
    this.rcvQueue.clear();
    this.port.unregister(this);
  }

  /** Can a new SYN take over this TIME_WAIT tuple (RFC 6191 / RFC 9293 §3.10.7.4)? */
  timeWaitAcceptsSyn(seg: TcpSegment): boolean {
    if (this.tsEnabled && seg.hasTimestamp) return seqGt(seg.tsVal, this.tsRecent);
    return seqGt(seg.seq, this.rcvNxt);
  }

  get timestampsOn(): boolean {
    return this.tsEnabled;
  }

  /** Hard failure: report errno, go to CLOSED. */
  fail(errno: number): void {
    this.pendingError = errno;
    this.readError = errno;
    this.errorToReport = errno;
    this.queueEvent(EV_ERROR | EV_READABLE | EV_WRITABLE);
    this.toClosed();
  }

  /** Sends RST when synchronized and closes, reporting `errno` if non-zero. */
  resetAndClose(errno: number): void {
    const s = this._state;
    if (peerKnowsConnection(s)) this.sendRst();
    if (errno) this.fail(errno);
    else this.toClosed();
  }

  toClosed(): void {
    const wasTimeWait = this._state === 'TIME_WAIT';
    this._state = 'CLOSED';
    this.rtxAt = Infinity;
    this.delackAt = Infinity;
    this.corkAt = Infinity;
    this.paceAt = Infinity;
    this.finWait2At = Infinity;
    this.cancelTimer();
    this.sndBuf.clear();
    this.ooo.clear();
    this.rec.dropScoreboard();
    if (this.userClosed) this.rcvQueue.clear();
    if (this.parent) {
      const queued = this.parent.forget(this, this.userClosed);
      if (!this.accepted && !queued) this.parent = null;
    }
    this.port.unregister(this);
    if (!wasTimeWait) this.queueEvent(EV_CLOSE | EV_READABLE);
  }

  /** Calls the handlers for pending events (from the layer, outside of segment processing). */
  flushEvents(): void {
    this.queuedForEvents = false;
    const ev = this.pendingEvents;
    this.pendingEvents = 0;
    const h = this.handlers;
    if (ev & EV_CONNECT && this._state !== 'CLOSED') h.onConnect?.();
    if (ev & EV_ERROR && this.errorToReport) {
      const e = this.errorToReport;
      this.errorToReport = 0;
      h.onError?.(e);
    }
    if (ev & EV_ACCEPTABLE) h.onAcceptable?.();
    if (ev & EV_READABLE) h.onReadable?.();
    if (ev & EV_WRITABLE) h.onWritable?.();
    if (ev & EV_CLOSE) h.onClose?.();
  }

  /** Handles an ICMP error quoting one of our segments (seq = quoted sequence number). */
  icmpError(type: number, code: number, quotedSeq: number, nextHopMtu: number | undefined): void {
    const c = this.port.counters;
    if (this._state !== 'SYN_SENT' && !(seqGeq(quotedSeq, this.sndUna) && seqLt(quotedSeq, this.sndNxt))) {
      c.inc('icmp_out_of_window');
      return;
    }
    if (typeof this.remoteAddr === 'string') {
      this.icmpv6Error(type, code, nextHopMtu);
      return;
    }
    if (type === 3 && code === 4) {
      // fragmentation needed: lower the MSS and resend what is outstanding (RFC 1191)
      if (!nextHopMtu || nextHopMtu < 68) return;
      this.lowerMss(nextHopMtu - 20);
      return;
    }
    let errno: number;
    if (type === 3) {
      switch (code) {
        case 0:
          errno = Errno.ENETUNREACH;
          break;
        case 2:
        case 3:
          errno = Errno.ECONNREFUSED;
          break;
        case 9:
        case 10:
        case 13:
          errno = Errno.EHOSTUNREACH;
          break;
        default:
          errno = Errno.EHOSTUNREACH;
      }
    } else if (type === 11) errno = Errno.EHOSTUNREACH;
    else return;
    this.icmpErrorErrno(errno);
  }

  /** An ICMPv6 error about our segments (in window): packet too big lowers the MSS, the rest as Linux's tcp_v6_err. */
  private icmpv6Error(type: number, code: number, nextHopMtu: number | undefined): void {
    if (type === ICMPV6_PACKET_TOO_BIG) {
      // RFC 8201: never below the IPv6 minimum MTU
      if (!nextHopMtu) return;
      this.lowerMss(Math.max(1280, nextHopMtu) - IPV6_HEADER_LEN);
      return;
    }
    const errno = icmpv6Errno(type, code);
    if (errno === 0) return;
    this.icmpErrorErrno(errno);
  }

  /** A hard ICMP error ends a connect attempt; on a synchronized connection it is only reported (SO_ERROR), as Linux. */
  private icmpErrorErrno(errno: number): void {
    const c = this.port.counters;
    if (this._state === 'SYN_SENT') {
      c.inc('icmp_connect_failed');
      this.fail(errno);
    } else {
      c.inc('icmp_soft_error');
      this.pendingError = errno;
    }
  }
}
