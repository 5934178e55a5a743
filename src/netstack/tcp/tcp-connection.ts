/**
 * One TCP endpoint: the RFC 9293 state machine with RFC 7323 (window scaling, timestamps, PAWS),
 * RFC 2018/6675 (SACK and SACK-based recovery), RFC 6582 (NewReno), RFC 9438 (CUBIC),
 * RFC 6298 (RTO), RFC 5961 (challenge ACKs), delayed ACK, Nagle/CORK, persist, keepalive.
 *
 * It is also the application's socket (TcpSocket). Listening sockets are instances too (state
 * LISTEN) holding their SYN and accept queues.
 *
 * Timers: deadlines live in fields; at most one scheduler timer per connection is armed, for the
 * earliest deadline, and re-armed lazily when it fires before anything is due.
 */
import type { Ipv4Addr, SocketAddress } from '../addr.js';
import { Errno } from '../errno.js';
import type { TcpOptionName, TcpSocket, TcpSocketHandlers, TcpStateName } from '../socket-api.js';
import { SHUT_RD, SHUT_RDWR, SHUT_WR } from '../socket-api.js';
import type { Timer } from '../clock.js';
import { DEFAULT_TTL } from '../ipv4.js';
import { HEADROOM, IPPROTO_TCP, IPV4_HEADER_LEN, type IpSendOptions } from '../transport.js';
import {
  emitTcpHeader,
  setTcpChecksum,
  TCP_ACK,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TcpOptionsOut,
  tcpOptionsLength,
  type TcpSegment,
} from '../wire/tcp.js';
import type { CongestionControl } from './congestion/congestion.js';
import { Cubic } from './congestion/cubic.js';
import { HyStart } from './congestion/hystart.js';
import { NewReno } from './congestion/newreno.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { Reassembly } from './reassembly.js';
import { RttEstimator } from './rtt-estimator.js';
import { DUP_THRESH, SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt, seqMax } from './seq.js';
import type { TcpLayer } from './tcp-layer.js';

export const DEFAULT_RCVBUF = 4 * 1024 * 1024;
export const DEFAULT_SNDBUF = 4 * 1024 * 1024;
export const MIN_BUF = 2048;
export const MAX_BUF = 64 * 1024 * 1024;
export const DELACK_MS = 40;
export const CORK_MS = 200;
export const SYN_RETRIES = 6;
export const SYNACK_RETRIES = 5;
export const DATA_RETRIES = 15;
export const FIN_WAIT2_TIMEOUT_MS = 60_000;
export const DEFAULT_MSS = 536;
export const OOW_ACK_INTERVAL_MS = 500;
const MAX_WSCALE = 14;
const SMALL_SEGMENT_COPY = 512;

// pending event bits
const EV_READABLE = 1;
const EV_WRITABLE = 2;
const EV_CONNECT = 4;
const EV_ACCEPTABLE = 8;
const EV_ERROR = 16;
const EV_CLOSE = 32;

// loss modes
const LOSS_NONE = 0;
const LOSS_FAST = 1;
const LOSS_RTO = 2;

/** Window scale shift for a receive buffer: the smallest with buf >> shift <= 65535. */
export function wscaleFor(bufBytes: number): number {
  let s = 0;
  while (s < MAX_WSCALE && bufBytes / 2 ** s > 65535) s++;
  return s;
}

const SEND_OPTS: IpSendOptions = { dontFragment: true };

// Outgoing segments are carved from 64 KiB slabs (never reused: each segment gets fresh bytes),
// which is cheaper than a pool allocation per segment.
const SLAB = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabOff = 0;

export function allocSegment(n: number): Buffer {
  if (n > SLAB >>> 2) return Buffer.allocUnsafeSlow(n);
  if (slabOff + n > SLAB) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabOff = 0;
  }
  const b = slab.subarray(slabOff, slabOff + n);
  slabOff = (slabOff + n + 7) & ~7;
  return b;
}

export class TcpConnection implements TcpSocket {
  handlers: TcpSocketHandlers = {};
  private _state: TcpStateName = 'CLOSED';

  // identity
  localAddr: Ipv4Addr = 0;
  localPort = 0;
  remoteAddr: Ipv4Addr = 0;
  remotePort = 0;
  /** Key in the layer's connection table, '' when not registered. */
  key = '';
  /** Holds a port in the layer's bind table. */
  bound = false;

  // listener side
  parent: TcpConnection | null = null;
  backlog = 0;
  readonly synQueue = new Set<TcpConnection>();
  acceptQueue: TcpConnection[] = [];
  /** Child handed to accept() (or still queued when false). */
  accepted = false;

  // options
  rcvBufSize = DEFAULT_RCVBUF;
  sndBufSize = DEFAULT_SNDBUF;
  nodelay = false;
  cork = false;
  keepalive = false;
  keepIdleMs = 7200_000;
  keepIntvlMs = 75_000;
  keepCnt = 9;
  lingerSec = -1;
  userTimeoutMs = 0;
  reuseAddr = false;
  reusePort = false;
  userMaxSeg = 0;
  ccAlgo = 0;
  /** IP_TOS for outgoing packets (ECN bits always clear: the stack does not do ECN). */
  tos = 0;
  /** IP_TTL for outgoing packets, 0 = the IP layer's default. */
  ttl = 0;
  /** What every segment of this connection is sent with; replaced when TOS or TTL change. */
  private sendOpts: IpSendOptions = SEND_OPTS;

  // send sequence space
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  private sndShift = 0;
  private readonly sndBuf = new SendBuffer();
  /** Sequence number of sndBuf.start. */
  private sndBufSeq = 0;
  private finQueued = false;
  private finSent = false;
  private finSeq = 0;
  private synAcked = false;

  // receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window last advertised (never moves left). */
  private rcvAdvRight = 0;
  private rcvShift = 0;
  private readonly rcvQueue = new ReceiveBuffer();
  private readonly ooo = new Reassembly();
  private finReceived = false;
  private rdShut = false;
  private wrShut = false;
  private lastAckSent = 0;

  // negotiated
  private peerMss = DEFAULT_MSS;
  /** Payload bytes per full segment (MSS minus options always sent). */
  mss = DEFAULT_MSS;
  private tsEnabled = false;
  private tsRecent = 0;
  private tsRecentAge = 0;
  private tsOffset = 0;
  private sackEnabled = false;
  private wsOffered = false;

  // congestion / recovery
  cc: CongestionControl;
  readonly rtt = new RttEstimator();
  private readonly sb = new SackScoreboard();
  private readonly hystart = new HyStart();
  private hsRoundEnd = 0;
  private lossMode = LOSS_NONE;
  private recoverPoint = 0;
  private highRxt = 0;
  private forcedLossEdge = 0;
  private dupAcks = 0;
  /** Sequence of the last retransmission of the head, and SND.NXT when it was sent. */
  private headRtxSeq = -1;
  private headRtxMark = 0;
  private renoSacked = 0;
  private rttSeq = 0;
  private rttTime = -1;
  private dsackLeft = 0;
  private dsackRight = 0;
  private hasDsack = false;

  // timers (absolute ms; Infinity = off)
  private rtxAt = Infinity;
  private persist = false;
  /** rtxAt is a tail loss probe, not the RTO. */
  private tlp = false;
  private tlpSent = false;
  private forceRunt = false;
  private delackAt = Infinity;
  private corkAt = Infinity;
  private finWait2At = Infinity;
  private keepaliveProbes = 0;
  private lastKeepaliveProbe = 0;
  private lastRcvTime = 0;
  private timer: Timer | null = null;
  private timerAt = Infinity;
  private readonly onTimerBound = (): void => this.onTimer();
  private retries = 0;
  /** When the current run of retransmissions started (for USER_TIMEOUT), -1 = none. */
  private rtxStart = -1;

  // receiver ACK policy
  private unackedBytes = 0;
  private ackNow = false;
  /** Two full segments arrived unacknowledged: ACK now, or at the end of the receive burst. */
  private ackSoon = false;
  private lastOowAck = -Infinity;

  // user-visible state
  private pendingError = 0;
  private readError = 0;
  private userClosed = false;
  private wantWritable = false;
  private everConnected = false;
  /** Pending handler events (bits), flushed by the layer. */
  pendingEvents = 0;
  queuedForEvents = false;
  private errorToReport = 0;

  // statistics
  private statRetransmits = 0;
  private statFastRetransmits = 0;
  private statRtoTimeouts = 0;
  private statBytesSent = 0;
  private statBytesAcked = 0;
  private statBytesReceived = 0;
  private statSegsOut = 0;
  private statSegsIn = 0;
  private statProbes = 0;

  private readonly opt = new TcpOptionsOut();
  private readonly pushOrdered = (b: Buffer): void => {
    this.rcvQueue.push(b);
  };

  constructor(readonly layer: TcpLayer) {
    this.cc = new Cubic(DEFAULT_MSS);
  }

  get state(): TcpStateName {
    return this._state;
  }

  // ───────────────────────────── socket API ─────────────────────────────

  bind(addr: Ipv4Addr, port: number): number {
    if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(addr)) return -Errno.EINVAL;
    if (this._state !== 'CLOSED' || this.bound || this.userClosed) return -Errno.EINVAL;
    const a = addr >>> 0;
    if (a !== 0 && !this.layer.ip.isLocalAddress(a)) return -Errno.EADDRNOTAVAIL;
    return this.layer.bindSocket(this, a, port);
  }

  listen(backlog: number): number {
    if (this.userClosed) return -Errno.EBADF;
    const b = Number.isFinite(backlog) ? Math.max(1, Math.min(4096, Math.floor(backlog))) : 128;
    if (this._state === 'LISTEN') {
      this.backlog = b;
      return 0;
    }
    if (this._state !== 'CLOSED' || this.everConnected) return -Errno.EINVAL;
    if (!this.bound) {
      const r = this.layer.bindSocket(this, 0, 0);
      if (r < 0) return r;
    }
    const r = this.layer.addListener(this);
    if (r < 0) return r;
    this.backlog = b;
    this._state = 'LISTEN';
    return 0;
  }

  connect(addr: Ipv4Addr, port: number): number {
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
    if (!Number.isInteger(port) || port <= 0 || port > 65535 || !Number.isInteger(addr)) return -Errno.EINVAL;
    const dst = addr >>> 0;
    if (dst === 0 || dst === 0xffffffff) return -Errno.ENETUNREACH;
    this.layer.enter();
    try {
      const src = this.localAddr !== 0 ? this.localAddr : this.layer.ip.sourceFor(dst);
      if (src === null) return -Errno.ENETUNREACH;
      const r = this.layer.connectTuple(this, src, dst, port);
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
    } finally {
      this.layer.exit();
    }
  }

  accept(): TcpSocket | null {
    if (this._state !== 'LISTEN') return null;
    while (this.acceptQueue.length > 0) {
      const c = this.acceptQueue.shift()!;
      c.accepted = true;
      c.parent = null;
      // a child reset while queued is still handed out (as Linux does) so the app sees the error
      return c;
    }
    return null;
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
    const room = this.sndBufSize - this.sndBuf.length;
    if (room <= 0) {
      this.wantWritable = true;
      return -Errno.EAGAIN;
    }
    const n = this.sndBuf.append(data, room);
    if (n < data.length) this.wantWritable = true;
    if (this._state === 'ESTABLISHED' || this._state === 'CLOSE_WAIT') {
      this.layer.enter();
      try {
        this.output();
        this.armTimer();
      } finally {
        this.layer.exit();
      }
    }
    return n;
  }

  writableBytes(): number {
    if (this.wrShut || this.userClosed) return 0;
    const s = this._state;
    if (s !== 'ESTABLISHED' && s !== 'CLOSE_WAIT' && s !== 'SYN_SENT' && s !== 'SYN_RECEIVED') return 0;
    return Math.max(0, this.sndBufSize - this.sndBuf.length);
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
  private readStatus(): number {
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
    this.layer.enter();
    try {
      if (how === SHUT_RD || how === SHUT_RDWR) {
        this.rdShut = true;
        this.rcvQueue.clear();
        this.queueEvent(EV_READABLE);
      }
      if (how === SHUT_WR || how === SHUT_RDWR) this.queueFin();
      this.armTimer();
    } finally {
      this.layer.exit();
    }
    return 0;
  }

  close(): void {
    if (this.userClosed) return;
    this.userClosed = true;
    this.layer.enter();
    try {
      switch (this._state) {
        case 'LISTEN':
          this.layer.removeListener(this);
          for (const c of this.synQueue) c.resetAndClose(0);
          for (const c of this.acceptQueue) c.resetAndClose(0);
          this.synQueue.clear();
          this.acceptQueue = [];
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
      if (this.lingerSec === 0 || this.rcvQueue.length > 0) {
        this.layer.counters.inc(this.lingerSec === 0 ? 'close_linger0_rst' : 'close_unread_rst');
        this.resetAndClose(0);
        return;
      }
      this.rdShut = true;
      this.queueFin();
      this.armTimer();
    } finally {
      this.layer.exit();
    }
  }

  abort(): void {
    this.layer.enter();
    try {
      this.userClosed = true;
      if (this._state === 'LISTEN') {
        this.userClosed = false;
        this.close();
        return;
      }
      this.resetAndClose(0);
    } finally {
      this.layer.exit();
    }
  }

  localAddress(): SocketAddress | null {
    if (!this.bound && this.key === '') return null;
    return { addr: this.localAddr, port: this.localPort };
  }

  remoteAddress(): SocketAddress | null {
    if (this.remotePort === 0 || this._state === 'LISTEN') return null;
    if (this._state === 'CLOSED' && this.key === '' && !this.everConnected) return null;
    return { addr: this.remoteAddr, port: this.remotePort };
  }

  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  setOption(name: TcpOptionName, value: number): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) return -Errno.EINVAL;
    const v = Math.floor(value);
    switch (name) {
      case 'NODELAY':
        this.nodelay = v !== 0;
        if (this.nodelay) this.kick();
        return 0;
      case 'CORK':
        this.cork = v !== 0;
        if (!this.cork) {
          this.corkAt = Infinity;
          this.kick();
        }
        return 0;
      case 'KEEPALIVE':
        this.keepalive = v !== 0;
        this.keepaliveProbes = 0;
        this.armTimer();
        return 0;
      case 'KEEPIDLE':
        if (v < 1 || v > 32767) return -Errno.EINVAL;
        this.keepIdleMs = v * 1000;
        this.armTimer();
        return 0;
      case 'KEEPINTVL':
        if (v < 1 || v > 32767) return -Errno.EINVAL;
        this.keepIntvlMs = v * 1000;
        return 0;
      case 'KEEPCNT':
        if (v < 1 || v > 127) return -Errno.EINVAL;
        this.keepCnt = v;
        return 0;
      case 'LINGER':
        this.lingerSec = v < 0 ? -1 : v;
        return 0;
      case 'RCVBUF': {
        if (v < 0) return -Errno.EINVAL;
        this.rcvBufSize = Math.max(MIN_BUF, Math.min(MAX_BUF, v));
        return 0;
      }
      case 'SNDBUF':
        if (v < 0) return -Errno.EINVAL;
        this.sndBufSize = Math.max(MIN_BUF, Math.min(MAX_BUF, v));
        if (this.wantWritable) this.kick();
        return 0;
      case 'USER_TIMEOUT':
        if (v < 0) return -Errno.EINVAL;
        this.userTimeoutMs = v;
        return 0;
      case 'REUSEADDR':
        this.reuseAddr = v !== 0;
        return 0;
      case 'REUSEPORT':
        this.reusePort = v !== 0;
        return 0;
      case 'MAXSEG':
        if (v !== 0 && (v < 88 || v > 65535)) return -Errno.EINVAL;
        this.userMaxSeg = v;
        return 0;
      case 'TOS':
        // As Linux does for TCP: the ECN bits are not the application's to set.
        this.tos = v & 0xfc;
        this.updateSendOpts();
        return 0;
      case 'TTL':
        if (v === -1) this.ttl = 0;
        else if (v < 1 || v > 255) return -Errno.EINVAL;
        else this.ttl = v;
        this.updateSendOpts();
        return 0;
      case 'CONGESTION':
        if (v !== 0 && v !== 1) return -Errno.EINVAL;
        if (v !== this.ccAlgo) {
          this.ccAlgo = v;
          const old = this.cc;
          this.cc = v === 1 ? new NewReno(this.mss) : new Cubic(this.mss);
          this.cc.cwnd = old.cwnd;
          this.cc.ssthresh = old.ssthresh;
        }
        return 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  getOption(name: TcpOptionName): number {
    switch (name) {
      case 'NODELAY':
        return this.nodelay ? 1 : 0;
      case 'CORK':
        return this.cork ? 1 : 0;
      case 'KEEPALIVE':
        return this.keepalive ? 1 : 0;
      case 'KEEPIDLE':
        return Math.floor(this.keepIdleMs / 1000);
      case 'KEEPINTVL':
        return Math.floor(this.keepIntvlMs / 1000);
      case 'KEEPCNT':
        return this.keepCnt;
      case 'LINGER':
        return this.lingerSec;
      case 'RCVBUF':
        return this.rcvBufSize;
      case 'SNDBUF':
        return this.sndBufSize;
      case 'USER_TIMEOUT':
        return this.userTimeoutMs;
      case 'REUSEADDR':
        return this.reuseAddr ? 1 : 0;
      case 'REUSEPORT':
        return this.reusePort ? 1 : 0;
      case 'MAXSEG':
        return this.userMaxSeg || this.mss;
      case 'CONGESTION':
        return this.ccAlgo;
      case 'TOS':
        return this.tos;
      case 'TTL':
        return this.ttl || DEFAULT_TTL;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  private updateSendOpts(): void {
    this.sendOpts =
      this.tos === 0 && this.ttl === 0
        ? SEND_OPTS
        : { dontFragment: true, tos: this.tos, ...(this.ttl !== 0 ? { ttl: this.ttl } : {}) };
  }

  info(): Record<string, number | string> {
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
      rcvBuf: this.rcvBufSize,
      sndBuf: this.sndBufSize,
      unacked: seqDiff(this.sndNxt, this.sndUna),
      sendQueued: this.sndBuf.length,
      recvQueued: this.rcvQueue.length,
      outOfOrderBytes: this.ooo.bytes,
      outOfOrderSegments: this.ooo.count,
      sacked: this.sb.sacked,
      timestamps: this.tsEnabled ? 1 : 0,
      sack: this.sackEnabled ? 1 : 0,
      bytesSent: this.statBytesSent,
      bytesAcked: this.statBytesAcked,
      bytesReceived: this.statBytesReceived,
      segsOut: this.statSegsOut,
      segsIn: this.statSegsIn,
      inRecovery: this.lossMode,
      hystartCss: this.hystart.cssEntries,
      wscale: this.wsOffered && this._state !== 'SYN_SENT' ? 1 : 0,
      advMss: this._state === 'CLOSED' || this._state === 'LISTEN' ? 0 : this.ourMss(),
      rcvMss: this._state === 'CLOSED' || this._state === 'LISTEN' ? 0 : this.ourMss() - (this.tsEnabled ? 12 : 0),
      pmtu: this.remoteAddr === 0 ? 0 : this.layer.ip.maxPayloadFor(this.remoteAddr) + IPV4_HEADER_LEN,
      backoff: this.rtt.backoff,
      retries: this.retries,
      sinceLastReceiveMs: this.remoteAddr === 0 ? 0 : Math.max(0, this.layer.scheduler.now() - this.lastRcvTime),
      acceptQueued: this.acceptQueue.length,
      backlog: this.backlog,
    };
  }

  // ───────────────────────────── setup ─────────────────────────────

  private setupOutgoing(): void {
    const l = this.layer;
    // a socket may connect again after a failed attempt: start from a clean slate
    this.finQueued = false;
    this.finSent = false;
    this.synAcked = false;
    this.wrShut = false;
    this.rdShut = false;
    this.lossMode = LOSS_NONE;
    this.dupAcks = 0;
    this.renoSacked = 0;
    this.retries = 0;
    this.rtxStart = -1;
    this.rttTime = -1;
    this.tlp = false;
    this.tlpSent = false;
    this.persist = false;
    this.sb.clear();
    this.ooo.clear();
    this.rcvQueue.clear();
    this.rtt.resetBackoff();
    this.sndWnd = 0;
    this.maxSndWnd = 0;
    this.iss = l.isn.next(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.tsOffset = l.isn.tsOffset(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.highRxt = this.iss;
    this.rcvShift = wscaleFor(this.rcvBufSize);
    const mss = this.ourMss();
    this.mss = Math.min(mss, DEFAULT_MSS);
    this.cc = this.ccAlgo === 1 ? new NewReno(this.mss) : new Cubic(this.mss);
    this.lastRcvTime = l.scheduler.now();
  }

  /** MSS we advertise: path payload minus the TCP header, clamped by TCP_MAXSEG. */
  private ourMss(): number {
    let m = this.layer.ip.maxPayloadFor(this.remoteAddr) - TCP_HEADER_LEN;
    if (!(m > 0)) m = DEFAULT_MSS;
    if (this.userMaxSeg > 0 && this.userMaxSeg < m) m = this.userMaxSeg;
    return Math.max(88, Math.min(65495, m));
  }

  /** Options from the peer's SYN (or SYN-ACK). */
  private negotiate(seg: TcpSegment, active: boolean): void {
    this.peerMss = seg.mss > 0 ? seg.mss : DEFAULT_MSS;
    if (seg.wscale >= 0 && (active ? this.wsOffered : true)) {
      this.sndShift = Math.min(seg.wscale, MAX_WSCALE);
      this.wsOffered = true;
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
      this.wsOffered = false;
    }
    this.sackEnabled = seg.sackPermitted;
    this.tsEnabled = seg.hasTimestamp;
    if (this.tsEnabled) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAge = this.layer.scheduler.now();
    }
    this.updateMss();
  }

  private updateMss(pathPayload?: number): void {
    let m = this.peerMss;
    const ours = pathPayload !== undefined ? pathPayload - TCP_HEADER_LEN : this.ourMss();
    if (ours < m) m = ours;
    if (this.userMaxSeg > 0 && this.userMaxSeg < m) m = this.userMaxSeg;
    if (this.tsEnabled) m -= 12;
    if (m < 64) m = 64;
    this.mss = m;
    this.cc.setMss(m);
  }

  /** Called by the layer for a SYN arriving at listener `parent`. */
  passiveOpen(parent: TcpConnection, seg: TcpSegment, localAddr: number, remoteAddr: number): void {
    this.parent = parent;
    this.rcvBufSize = parent.rcvBufSize;
    this.sndBufSize = parent.sndBufSize;
    this.nodelay = parent.nodelay;
    this.cork = parent.cork;
    this.keepalive = parent.keepalive;
    this.keepIdleMs = parent.keepIdleMs;
    this.keepIntvlMs = parent.keepIntvlMs;
    this.keepCnt = parent.keepCnt;
    this.lingerSec = parent.lingerSec;
    this.userTimeoutMs = parent.userTimeoutMs;
    this.userMaxSeg = parent.userMaxSeg;
    this.ccAlgo = parent.ccAlgo;
    this.reuseAddr = parent.reuseAddr;
    this.tos = parent.tos;
    this.ttl = parent.ttl;
    this.sendOpts = parent.sendOpts;
    this.localAddr = localAddr;
    this.localPort = parent.localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = seg.srcPort;
    this.everConnected = true;
    this.setupOutgoing();
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.lastAckSent = this.rcvNxt;
    this.wsOffered = seg.wscale >= 0;
    this.negotiate(seg, false);
    this.sndWnd = seg.window; // SYN windows are never scaled
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this._state = 'SYN_RECEIVED';
    this.sendSyn(true);
    this.startRtx(this.rtt.current());
    this.armTimer();
  }

  // ───────────────────────────── segment arrival ─────────────────────────────

  /** A segment for this connection (already checksummed and demultiplexed). */
  segmentArrived(seg: TcpSegment): void {
    this.statSegsIn++;
    switch (this._state) {
      case 'SYN_SENT':
        this.synSentArrived(seg);
        break;
      case 'CLOSED':
      case 'LISTEN':
        break;
      default:
        this.synchronizedArrived(seg);
        break;
    }
    if (this.ackNow) {
      if (this._state !== 'CLOSED') this.sendAck();
      else this.ackNow = false;
    } else if (this.ackSoon && !this.layer.deferAck(this)) {
      if (this._state !== 'CLOSED') this.sendAck();
    }
    this.armTimer();
  }

  /** The end of a receive burst: the stretch ACK, unless a segment sent since carried it. */
  flushStretchAck(): void {
    if (!this.ackSoon) return;
    if (this._state === 'CLOSED') {
      this.ackSoon = false;
      return;
    }
    this.sendAck();
    this.armTimer();
  }

  private synSentArrived(seg: TcpSegment): void {
    const f = seg.flags;
    const c = this.layer.counters;
    if (f & TCP_ACK) {
      // RFC 9293: SEG.ACK =< ISS or SEG.ACK > SND.NXT → unacceptable
      if (seqLeq(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        c.inc('rx_synack_bad_ack');
        if (!(f & TCP_RST)) this.layer.sendRstFor(this.localAddr, this.remoteAddr, this.localPort, this.remotePort, seg.ack, 0, false);
        return;
      }
    }
    if (f & TCP_RST) {
      if (f & TCP_ACK) {
        c.inc('rx_rst');
        this.fail(Errno.ECONNREFUSED);
      } else c.inc('rx_rst_ignored');
      return;
    }
    if (!(f & TCP_SYN)) {
      c.inc('rx_syn_sent_no_syn');
      return;
    }
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.negotiate(seg, true);
    this.lastRcvTime = this.layer.scheduler.now();
    if (f & TCP_ACK) {
      this.synAcked = true;
      this.sndUna = seg.ack;
      this.highRxt = seg.ack;
      this.sndWnd = seg.window; // SYN-ACK window is not scaled
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.rtxAt = Infinity;
      this.retries = 0;
      this.rtxStart = -1;
      if (this.rttTime >= 0 && !this.tsEnabled) this.rtt.sample(this.layer.scheduler.now() - this.rttTime);
      else if (this.tsEnabled && seg.tsEcr !== 0) this.rtt.sample(this.tsNow() - seg.tsEcr);
      this.rttTime = -1;
      this.rtt.resetBackoff();
      this.cc = this.ccAlgo === 1 ? new NewReno(this.mss) : new Cubic(this.mss);
      this.rcvAdvRight = this.rcvNxt;
      this.establish();
      // data on the SYN-ACK is unusual; process it like any segment after the SYN
      if (seg.dataLen > 0 || seg.flags & TCP_FIN) {
        seg.seq = seqAdd(seg.seq, 1);
        seg.flags &= ~TCP_SYN;
        this.processData(seg);
      }
      this.ackNow = true;
    } else {
      // simultaneous open
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = this.iss;
      this.rcvAdvRight = this.rcvNxt;
      this._state = 'SYN_RECEIVED';
      this.layer.counters.inc('simultaneous_open');
      this.sendSyn(true);
      this.startRtx(this.rtt.current());
    }
  }

  private establish(): void {
    this._state = 'ESTABLISHED';
    this.lastRcvTime = this.layer.scheduler.now();
    this.keepaliveProbes = 0;
    const p = this.parent;
    if (p) {
      p.synQueue.delete(this);
      if (p._state === 'LISTEN') {
        p.acceptQueue.push(this);
        p.queueEvent(EV_ACCEPTABLE);
      }
    } else {
      this.queueEvent(EV_CONNECT | EV_WRITABLE);
    }
    if (this.wrShut && !this.finQueued) this.queueFin();
    this.output();
  }

  private synchronizedArrived(seg: TcpSegment): void {
    const c = this.layer.counters;
    const now = this.layer.scheduler.now();
    let f = seg.flags;
    let seq = seg.seq;
    let dataLen = seg.dataEnd - seg.dataStart;

    // SYN_RECEIVED: a retransmitted SYN from the peer gets our SYN-ACK again
    if (this._state === 'SYN_RECEIVED' && f & TCP_SYN && !(f & TCP_ACK) && seq === this.irs) {
      c.inc('rx_syn_retransmit');
      this.sendSyn(true);
      return;
    }

    // PAWS (RFC 7323 §5.3)
    if (this.tsEnabled && seg.hasTimestamp && !(f & TCP_RST) && seqLt(seg.tsVal, this.tsRecent)) {
      if (now - this.tsRecentAge > 24 * 24 * 3600 * 1000) {
        this.tsRecent = seg.tsVal;
      } else {
        c.inc('rx_paws_drop');
        this.oowAck(dataLen > 0 || (f & (TCP_SYN | TCP_FIN)) !== 0);
        return;
      }
    }

    // acceptability (RFC 9293 §3.10.7.4)
    const segLen = dataLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
    const wnd = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    let ok: boolean;
    let zeroWindowAck = false;
    const d = seqDiff(seq, this.rcvNxt);
    if (segLen === 0) ok = wnd === 0 ? d === 0 : d >= 0 && d < wnd;
    else if (wnd === 0) {
      ok = false;
      if (d === 0 && (f & TCP_ACK)) zeroWindowAck = true;
    } else {
      const de = d + segLen - 1;
      ok = (d >= 0 && d < wnd) || (de >= 0 && de < wnd) || (d < 0 && de >= wnd);
    }
    if (!ok && !zeroWindowAck) {
      if (f & TCP_RST) {
        c.inc('rx_rst_out_of_window');
        return;
      }
      if (d < 0 && d + segLen <= 0 && dataLen > 0) {
        // a complete duplicate: report it as D-SACK (RFC 2883)
        c.inc('rx_duplicate');
        if (this.sackEnabled) {
          this.dsackLeft = seq;
          this.dsackRight = seqAdd(seq, dataLen);
          this.hasDsack = true;
        }
        this.ackNow = true;
      } else {
        c.inc('rx_out_of_window');
        this.oowAck(dataLen > 0 || (f & (TCP_SYN | TCP_FIN)) !== 0);
        if (this._state === 'TIME_WAIT' && f & TCP_FIN) this.layer.restartTimeWait(this);
      }
      // RFC 9293: unacceptable → ACK and drop (but keep window/ACK info of in-window old segments out)
      return;
    }
    if (zeroWindowAck) {
      // process the ACK of a data segment arriving when our window is zero; drop its data
      c.inc('rx_zero_window_drop');
      dataLen = 0;
      f &= ~(TCP_FIN | TCP_SYN);
      this.ackNow = true;
    }

    this.lastRcvTime = now;
    this.keepaliveProbes = 0;

    // RST (RFC 5961 §3); in TIME_WAIT RSTs are ignored (RFC 1337, no TIME-WAIT assassination)
    if (f & TCP_RST) {
      if (this._state === 'TIME_WAIT') {
        c.inc('rx_rst_time_wait_ignored');
        return;
      }
      if (seq === this.rcvNxt) {
        c.inc('rx_rst');
        this.onReset();
      } else {
        this.challengeAck();
      }
      return;
    }
    // SYN in a synchronized state (RFC 5961 §4)
    if (f & TCP_SYN) {
      this.challengeAck();
      return;
    }
    if (!(f & TCP_ACK)) {
      c.inc('rx_no_ack');
      return;
    }

    // timestamps: remember the peer's (RFC 7323 §4.3)
    if (this.tsEnabled && seg.hasTimestamp && seqGeq(seg.tsVal, this.tsRecent) && seqLeq(seq, this.lastAckSent)) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAge = now;
    }

    // ACK
    if (this._state === 'SYN_RECEIVED') {
      if (seqGt(seg.ack, this.sndUna) && seqLeq(seg.ack, this.sndNxt)) {
        const p = this.parent;
        if (p && p.acceptQueue.length >= p.backlog) {
          // accept queue full: drop the ACK and stay in SYN_RECEIVED; our SYN-ACK retransmission
          // makes the peer ACK again later (as Linux does)
          c.inc('listen_overflow');
          return;
        }
        this.synAcked = true;
        this.sndUna = seqAdd(this.sndUna, 1);
        this.highRxt = this.sndUna;
        this.sndWnd = seg.window << this.sndShift;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = seq;
        this.sndWl2 = seg.ack;
        this.rtxAt = Infinity;
        this.retries = 0;
        this.rtxStart = -1;
        if (this.tsEnabled && seg.hasTimestamp && seg.tsEcr !== 0) this.rtt.sample(this.tsNow() - seg.tsEcr);
        else if (this.rttTime >= 0) this.rtt.sample(now - this.rttTime);
        this.rttTime = -1;
        this.rtt.resetBackoff();
        this.cc = this.ccAlgo === 1 ? new NewReno(this.mss) : new Cubic(this.mss);
        this.establish();
        if ((this._state as TcpStateName) === 'CLOSED') return;
      } else {
        c.inc('rx_bad_ack_syn_received');
        this.layer.sendRstFor(this.localAddr, this.remoteAddr, this.localPort, this.remotePort, seg.ack, 0, false);
        return;
      }
    }
    if (!this.processAck(seg, seq, dataLen, f)) return;
    if (this._state === 'CLOSED' || this._state === 'TIME_WAIT' && !(f & TCP_FIN)) return;

    // data and FIN
    if (dataLen > 0 || f & TCP_FIN) {
      if (zeroWindowAck) return;
      seg.flags = f;
      this.processData(seg);
    }
  }

  /** ACK field processing; returns false when the segment must be dropped. */
  private processAck(seg: TcpSegment, seq: number, dataLen: number, flags: number): boolean {
    const c = this.layer.counters;
    const ack = seg.ack;
    if (seqGt(ack, this.sndNxt)) {
      c.inc('rx_ack_too_new');
      this.oowAck(dataLen > 0);
      return false;
    }
    if (seqLt(ack, (this.sndUna - Math.max(this.maxSndWnd, 65535)) >>> 0)) {
      // RFC 5961 §5.2: ACK far too old
      c.inc('rx_ack_too_old');
      this.challengeAck();
      return false;
    }
    const now = this.layer.scheduler.now();
    const win = seg.window << this.sndShift;
    const outstandingBefore = seqDiff(this.sndNxt, this.sndUna);
    if (seqGt(ack, this.sndUna)) {
      const acked = seqDiff(ack, this.sndUna);
      // RTT
      let sample = -1;
      if (this.tsEnabled && seg.hasTimestamp && seg.tsEcr !== 0) {
        const r = seqDiff(this.tsNow(), seg.tsEcr);
        if (r >= 0 && r < 600_000) sample = r;
      } else if (this.rttTime >= 0 && seqGt(ack, this.rttSeq)) {
        sample = now - this.rttTime;
        this.rttTime = -1;
      }
      if (sample >= 0) this.rtt.sample(sample);
      // data acknowledged
      const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
      const dataAckedTo = seqLt(ack, dataEnd) ? ack : dataEnd;
      const nData = seqDiff(dataAckedTo, this.sndBufSeq);
      if (nData > 0) {
        this.sndBuf.consumeTo(this.sndBuf.start + nData);
        this.sndBufSeq = dataAckedTo;
        this.statBytesAcked += nData;
      }
      this.sndUna = ack;
      if (seqLt(this.highRxt, ack)) this.highRxt = ack;
      if (this.sackEnabled) this.sb.advance(ack);
      this.retries = 0;
      this.rtxStart = -1;
      this.rtt.resetBackoff();
      // recovery bookkeeping
      if (this.lossMode !== LOSS_NONE) {
        if (seqGeq(ack, this.recoverPoint)) {
          if (this.lossMode === LOSS_FAST) this.cc.onRecoveryExit(now);
          this.lossMode = LOSS_NONE;
          this.renoSacked = 0;
          this.dupAcks = 0;
        } else {
          if (!this.sackEnabled) {
            // NewReno partial ACK: the next segment is lost too (RFC 6582)
            this.renoSacked = Math.max(0, this.renoSacked - acked);
            if (this.lossMode === LOSS_FAST) {
              this.forcedLossEdge = seqAdd(ack, Math.min(this.mss, seqDiff(this.sndNxt, ack)));
            }
          }
          if (this.lossMode === LOSS_RTO) this.cc.onAck(acked, now, this.rtt.srtt, this.rtt.minRtt, false);
        }
      } else {
        this.dupAcks = 0;
        this.renoSacked = 0;
        const appLimited = outstandingBefore < this.cc.cwnd / 2 && this.sndBuf.length <= outstandingBefore;
        const cc = this.cc;
        if (cc.cwnd < cc.ssthresh) {
          // HyStart++ (RFC 9406) watches slow start for a rising RTT
          const hs = this.hystart;
          if (seqGeq(ack, this.hsRoundEnd)) {
            hs.onRoundStart();
            this.hsRoundEnd = this.sndNxt;
          }
          if (sample >= 0) hs.onRttSample(sample);
          cc.onAck(hs.divisor === 1 ? acked : Math.floor(acked / hs.divisor), now, this.rtt.srtt, this.rtt.minRtt, appLimited);
          if (hs.done && cc.cwnd < cc.ssthresh) {
            cc.ssthresh = cc.cwnd;
            this.layer.counters.inc('hystart_exit');
          }
        } else {
          cc.onAck(acked, now, this.rtt.srtt, this.rtt.minRtt, appLimited);
        }
      }
      // FIN acknowledged?
      if (this.finSent && seqGt(ack, this.finSeq)) this.onFinAcked();
      // retransmission timer (RFC 6298 §5.2/5.3)
      if (this.sndUna === this.sndNxt) {
        this.rtxAt = Infinity;
      } else {
        this.persist = false;
        this.tlpSent = false;
        this.armRtx(now);
      }
      if (this.wantWritable && this.sndBuf.length < this.sndBufSize) {
        this.wantWritable = false;
        this.queueEvent(EV_WRITABLE);
      }
    } else if (
      ack === this.sndUna &&
      dataLen === 0 &&
      !(flags & (TCP_SYN | TCP_FIN)) &&
      win === this.sndWnd &&
      this.sndUna !== this.sndNxt
    ) {
      this.dupAcks++;
      c.inc('rx_dup_ack');
      if (!this.sackEnabled) {
        const cap = Math.max(0, outstandingBefore - this.mss);
        this.renoSacked = Math.min(cap, this.renoSacked + this.mss);
      }
    }
    // SACK blocks
    if (this.sackEnabled && seg.sackCount > 0) this.processSack(seg, ack);
    // window update (RFC 9293 §3.10.7.4)
    if (seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLeq(this.sndWl2, ack))) {
      const grew = win > this.sndWnd;
      this.sndWnd = win;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (win > this.maxSndWnd) this.maxSndWnd = win;
      if (grew && this.persist) {
        this.persist = false;
        this.rtxAt = this.sndUna === this.sndNxt ? Infinity : now + this.rtt.current();
        this.rtt.resetBackoff();
      }
    }
    // a lost retransmission of the head: data sent after it has been SACKed well beyond
    if (this.lossMode !== LOSS_NONE && this.sackEnabled && this.headRtxSeq === this.sndUna && this.sndUna !== this.sndNxt) {
      if (seqDiff(this.sb.highest(this.sndUna), this.headRtxMark) >= DUP_THRESH * this.mss) this.resendHead();
    }
    // enter loss recovery?
    if (this.lossMode === LOSS_NONE && this.sndUna !== this.sndNxt && this.synAcked) {
      const thresh = this.dupThresh();
      let lost = this.dupAcks >= thresh;
      if (!lost && this.sackEnabled && !this.sb.empty) lost = seqGt(this.sb.lossEdge(this.sndUna, this.mss, thresh), this.sndUna);
      if (lost) this.enterRecovery(now);
    }
    if (this._state !== 'ESTABLISHED' && this._state !== 'CLOSE_WAIT' && this._state !== 'FIN_WAIT_1' && this._state !== 'CLOSING' && this._state !== 'LAST_ACK') {
      return this._state !== 'CLOSED';
    }
    this.output();
    return true;
  }

  private processSack(seg: TcpSegment, ack: number): void {
    const c = this.layer.counters;
    for (let i = 0; i < seg.sackCount; i++) {
      const l = seg.sack[2 * i]!;
      const r = seg.sack[2 * i + 1]!;
      if (seqLeq(r, ack) || (i === 0 && seqLt(l, ack))) {
        c.inc('rx_dsack');
        continue;
      }
      if (!seqLt(l, r) || seqLt(l, this.sndUna) || seqGt(r, this.sndNxt)) {
        c.inc('rx_sack_invalid');
        continue;
      }
      this.sb.add(l, r, this.sndUna);
    }
  }

  private enterRecovery(now: number): void {
    const inflight = seqDiff(this.sndNxt, this.sndUna);
    this.lossMode = LOSS_FAST;
    this.recoverPoint = this.sndNxt;
    this.highRxt = this.sndUna;
    this.forcedLossEdge = this.sackEnabled ? this.sndUna : seqAdd(this.sndUna, Math.min(this.mss, inflight));
    if (this.sackEnabled && this.dupAcks >= this.dupThresh()) {
      // RFC 6675 (4): the first unacknowledged segment is lost after DupThresh dupacks
      this.forcedLossEdge = seqAdd(this.sndUna, Math.min(this.mss, inflight));
    }
    this.cc.onCongestion(now, inflight);
    this.hystart.reset();
    this.rttTime = -1;
    if (this.tlp) this.startRtx(this.rtt.current());
    this.layer.counters.inc('fast_recovery');
    // retransmit the first lost segment at once, whatever pipe says
    const s = this.nextLost();
    if (s !== -1) {
      this.statFastRetransmits++;
      this.retransmitAt(s);
    }
  }

  /**
   * DupThresh, lowered for small flights (early retransmit, RFC 5827): with fewer than four
   * segments outstanding three duplicate ACKs can never arrive, and waiting for the RTO stalls.
   */
  private dupThresh(): number {
    const segs = Math.ceil(seqDiff(this.sndNxt, this.sndUna) / this.mss);
    if (segs >= 4) return 3;
    return segs >= 2 ? segs - 1 : 1;
  }

  /** The lowest lost, not yet retransmitted sequence (RFC 6675 NextSeg rule 1), or -1. */
  private nextLost(): number {
    const edge = this.lossEdge();
    let s = seqMax(this.highRxt, this.sndUna);
    if (!seqLt(s, edge)) return -1;
    if (this.sackEnabled) s = this.sb.skipSacked(s);
    if (!seqLt(s, edge)) return -1;
    return s;
  }

  private lossEdge(): number {
    let edge = this.sndUna;
    if (this.lossMode !== LOSS_NONE && seqGt(this.forcedLossEdge, edge)) edge = this.forcedLossEdge;
    if (this.sackEnabled && !this.sb.empty) {
      const e = this.sb.lossEdge(this.sndUna, this.mss, this.dupThresh());
      if (seqGt(e, edge)) edge = e;
    }
    return edge;
  }

  /** RFC 6675 pipe: bytes believed in flight. */
  private pipe(): number {
    const outstanding = seqDiff(this.sndNxt, this.sndUna);
    if (outstanding <= 0) return 0;
    let p = outstanding - (this.sackEnabled ? this.sb.sacked : this.renoSacked);
    const edge = this.lossEdge();
    const from = seqMax(this.highRxt, this.sndUna);
    if (seqGt(edge, from)) p -= this.sackEnabled ? this.sb.holeBytes(from, edge) : seqDiff(edge, from);
    return p > 0 ? p : 0;
  }

  private processData(seg: TcpSegment): void {
    const s = this._state;
    const c = this.layer.counters;
    let seq = seg.seq;
    let start = seg.dataStart;
    let end = seg.dataEnd;
    let fin = (seg.flags & TCP_FIN) !== 0;
    if (s !== 'ESTABLISHED' && s !== 'FIN_WAIT_1' && s !== 'FIN_WAIT_2') {
      // CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: data is ignored; a FIN retransmission is re-ACKed
      if (end > start) c.inc('rx_data_after_fin');
      if (fin || end > start) this.ackNow = true;
      if (s === 'TIME_WAIT' && fin) this.layer.restartTimeWait(this);
      return;
    }
    if (this.userClosed && this.rdShut && end > start && seqGeq(seqAdd(seq, end - start), this.rcvNxt) && s !== 'ESTABLISHED') {
      // data for a socket the application closed: RST (as Linux)
      c.inc('rx_data_after_close');
      this.resetAndClose(0);
      return;
    }
    // trim what we already have
    const d = seqDiff(this.rcvNxt, seq);
    if (d > 0) {
      const origLen = end - start;
      if (d >= origLen) {
        if (origLen > 0 && this.sackEnabled) {
          this.dsackLeft = seq;
          this.dsackRight = seqAdd(seq, origLen);
          this.hasDsack = true;
        }
        if (d > origLen) fin = false; // the FIN is old as well
        start = end;
        seq = this.rcvNxt;
        if (!fin) {
          this.ackNow = true;
          return;
        }
      } else {
        start += d;
        seq = this.rcvNxt;
      }
    }
    // trim what lies beyond the window we advertised
    const room = seqDiff(this.rcvAdvRight, seq);
    if (end - start > room) {
      c.inc('rx_trimmed_beyond_window');
      end = start + Math.max(0, room);
      fin = false;
    }
    const len = end - start;
    if (seq === this.rcvNxt) {
      if (len > 0) {
        const view = seg.buf.subarray(start, end);
        if (this.rdShut) {
          // SHUT_RD: acknowledged and discarded
        } else if (len < SMALL_SEGMENT_COPY) this.rcvQueue.pushCopy(view);
        else this.rcvQueue.push(view);
        this.rcvNxt = seqAdd(this.rcvNxt, len);
        this.statBytesReceived += len;
        if (!this.ooo.empty) {
          const before = this.rcvNxt;
          this.rcvNxt = this.ooo.drain(this.rcvNxt, this.pushOrdered);
          this.statBytesReceived += seqDiff(this.rcvNxt, before);
          this.ackNow = true; // filled a hole
          if (this.ooo.finSeq !== -1 && this.ooo.empty && this.rcvNxt === this.ooo.finSeq) {
            fin = true;
            this.ooo.finSeq = -1;
          }
        }
        this.unackedBytes += len;
        if (this.unackedBytes >= 2 * this.mss) this.ackSoon = true;
        else if (this.delackAt === Infinity) this.delackAt = this.layer.scheduler.now() + DELACK_MS;
        this.queueEvent(EV_READABLE);
      }
      if (fin) {
        this.ooo.clear();
        this.receiveFin();
      }
    } else {
      // out of order: keep it, ACK at once with SACK (RFC 5681 §4.2)
      if (len > 0 && this.ooo.count >= Math.max(256, Math.ceil(this.rcvBufSize / 512))) {
        // too many out-of-order pieces (tiny segments): drop, the sender will resend
        c.inc('rx_ooo_overflow');
        this.ackNow = true;
        return;
      }
      if (len > 0) {
        c.inc('rx_out_of_order');
        let view = seg.buf.subarray(start, end);
        if (len < SMALL_SEGMENT_COPY) view = Buffer.from(view);
        const stored = this.ooo.insert(seq, view, this.rcvNxt);
        if (stored === 0 && this.sackEnabled) {
          this.dsackLeft = seq;
          this.dsackRight = seqAdd(seq, len);
          this.hasDsack = true;
        }
      }
      if (fin) this.ooo.finSeq = seqAdd(seq, len);
      this.ackNow = true;
    }
  }

  private receiveFin(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    this.queueEvent(EV_READABLE);
    switch (this._state) {
      case 'ESTABLISHED':
        this._state = 'CLOSE_WAIT';
        break;
      case 'FIN_WAIT_1':
        // our FIN not acknowledged yet (else we'd be in FIN_WAIT_2)
        this._state = 'CLOSING';
        break;
      case 'FIN_WAIT_2':
        this.sendAck();
        this.enterTimeWait();
        break;
      default:
        break;
    }
  }

  private onFinAcked(): void {
    switch (this._state) {
      case 'FIN_WAIT_1':
        this._state = 'FIN_WAIT_2';
        if (this.userClosed) this.finWait2At = this.layer.scheduler.now() + FIN_WAIT2_TIMEOUT_MS;
        break;
      case 'CLOSING':
        this.enterTimeWait();
        break;
      case 'LAST_ACK':
        this.toClosed();
        break;
      default:
        break;
    }
  }

  private enterTimeWait(): void {
    this._state = 'TIME_WAIT';
    this.rtxAt = Infinity;
    this.delackAt = Infinity;
    this.corkAt = Infinity;
    this.finWait2At = Infinity;
    this.persist = false;
    if (this.timer) {
      this.timer.cancel();
      this.timer = null;
      this.timerAt = Infinity;
    }
    this.sndBuf.clear();
    this.ooo.clear();
    this.sb.clear();
    this.layer.enterTimeWait(this);
    this.queueEvent(EV_CLOSE);
  }

  /** Called by the layer when 2*MSL passed in TIME_WAIT (or the entry was recycled). */
  timeWaitDone(): void {
    this._state = 'CLOSED';
    this.rcvQueue.clear();
    this.layer.unregister(this);
  }

  /** Can a new SYN take over this TIME_WAIT tuple (RFC 6191 / RFC 9293 §3.10.7.4)? */
  timeWaitAcceptsSyn(seg: TcpSegment): boolean {
    if (this.tsEnabled && seg.hasTimestamp) return seqGt(seg.tsVal, this.tsRecent);
    return seqGt(seg.seq, this.rcvNxt);
  }

  get timestampsOn(): boolean {
    return this.tsEnabled;
  }

  private onReset(): void {
    const s = this._state;
    if (s === 'SYN_RECEIVED' && this.parent) {
      // passive open reset: drop the embryonic connection quietly
      this.toClosed();
      return;
    }
    if (s === 'CLOSING' || s === 'LAST_ACK' || s === 'TIME_WAIT') {
      this.toClosed();
      return;
    }
    this.fail(s === 'SYN_RECEIVED' ? Errno.ECONNREFUSED : Errno.ECONNRESET);
  }

  private challengeAck(): void {
    const c = this.layer.counters;
    if (!this.layer.allowChallengeAck()) {
      c.inc('challenge_ack_limited');
      return;
    }
    c.inc('challenge_ack');
    this.sendAck();
  }

  /** ACK in reply to an unacceptable segment; pure ACKs are rate-limited to break ACK loops. */
  private oowAck(hasPayload: boolean): void {
    const now = this.layer.scheduler.now();
    if (!hasPayload) {
      if (now - this.lastOowAck < OOW_ACK_INTERVAL_MS) {
        this.layer.counters.inc('oow_ack_limited');
        return;
      }
      this.lastOowAck = now;
    }
    this.ackNow = true;
  }

  // ───────────────────────────── output ─────────────────────────────

  private queueFin(): void {
    this.wrShut = true;
    const s = this._state;
    if (s === 'SYN_SENT' || s === 'SYN_RECEIVED') return; // sent once established
    if (this.finQueued) return;
    if (s !== 'ESTABLISHED' && s !== 'CLOSE_WAIT') return;
    this.finQueued = true;
    this.finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    this._state = s === 'ESTABLISHED' ? 'FIN_WAIT_1' : 'LAST_ACK';
    this.output();
  }

  /** Sends what the windows, Nagle and recovery allow. */
  output(): void {
    const s = this._state;
    if (s !== 'ESTABLISHED' && s !== 'CLOSE_WAIT' && s !== 'FIN_WAIT_1' && s !== 'CLOSING' && s !== 'LAST_ACK') return;
    const now = this.layer.scheduler.now();
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    for (let guard = 0; guard < 100000; guard++) {
      const cwnd = this.cc.cwnd;
      const pipe = this.pipe();
      // 1. retransmissions of lost segments
      if (this.lossMode !== LOSS_NONE || !this.sb.empty) {
        if (pipe < cwnd) {
          const l = this.nextLost();
          if (l !== -1) {
            this.retransmitAt(l);
            continue;
          }
        }
      }
      // 2. new data
      let unsent = seqDiff(dataEndSeq, this.sndNxt);
      if (unsent < 0) unsent = 0;
      const finPending = this.finQueued && !this.finSent;
      if (unsent === 0 && !finPending) break;
      const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const cwndRoom = cwnd - pipe;
      const smss = this.sendMss();
      let len = unsent;
      if (len > smss) len = smss;
      if (len > wndRoom) len = wndRoom;
      if (len > cwndRoom) len = cwndRoom;
      if (len < 0) len = 0;
      if (unsent > 0 && len === 0) {
        if (wndRoom <= 0 && this.sndUna === this.sndNxt) this.startPersist();
        break;
      }
      if (unsent === 0 && cwndRoom <= 0 && this.sndUna !== this.sndNxt && wndRoom < 0) break;
      if (len < unsent && len < smss) {
        // window- or cwnd-limited runt: sender SWS avoidance (RFC 9293 §3.8.6.2.1)
        if (!this.forceRunt && (len < this.maxSndWnd / 2 || len < wndRoom)) {
          // held back with nothing in flight: the persist timer overrides SWS avoidance later
          if (this.sndUna === this.sndNxt) this.startPersist();
          break;
        }
      }
      if (len === unsent && len < smss && len > 0) {
        // a FIN waiting behind the runt flushes it, corked or not, as Linux's tcp_send_fin does
        if (this.cork && !finPending) {
          if (this.corkAt === Infinity) this.corkAt = now + CORK_MS;
          if (now < this.corkAt) break;
        } else if (!this.nodelay && this.sndUna !== this.sndNxt && !finPending) {
          break; // Nagle
        }
      }
      const fin = finPending && len === unsent;
      if (!fin && len === 0) break;
      if (len === 0 && fin && wndRoom < 0 && this.sndUna !== this.sndNxt) break;
      this.sendDataSegment(this.sndNxt, len, fin, false);
      if (this.rttTime < 0 && !this.tsEnabled && len > 0) {
        this.rttTime = now;
        this.rttSeq = this.sndNxt;
      }
      this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
      this.statBytesSent += len;
      if (fin) this.finSent = true;
      if (this.rtxAt === Infinity || this.persist) {
        this.persist = false;
        this.armRtx(now);
      }
      if (len === unsent && this.corkAt !== Infinity) this.corkAt = Infinity;
    }
  }

  /**
   * Resends the head segment whose retransmission was lost (Linux's lost-retransmit detection):
   * segments sent after that retransmission have been SACKed, so it should have arrived.
   */
  private resendHead(): void {
    const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
    let len = seqDiff(dataEnd, this.sndUna);
    const smss = this.sendMss();
    if (len > smss) len = smss;
    if (len < 0) len = 0;
    const fin = this.finSent && seqAdd(this.sndUna, len) === this.finSeq;
    if (len === 0 && !fin) return;
    this.sendDataSegment(this.sndUna, len, fin, true);
    this.headRtxMark = this.sndNxt;
    this.statRetransmits++;
    this.layer.counters.inc('tx_lost_retransmit');
    this.startRtx(this.rtt.current());
  }

  /**
   * Arms the retransmission timer, or a tail loss probe (RFC 8985 §7) when that comes first: with
   * SACK, outside recovery, PTO = 2·SRTT (+ the peer's delayed-ACK time for a one-segment flight).
   */
  private armRtx(now: number): void {
    let at = now + this.rtt.current();
    this.tlp = false;
    if (this.sackEnabled && this.lossMode === LOSS_NONE && !this.tlpSent && this.rtt.samples > 0 && this.synAcked) {
      let pto = Math.max(2 * this.rtt.srtt, 10);
      if (seqDiff(this.sndNxt, this.sndUna) <= this.mss) pto += DELACK_MS + 10;
      if (now + pto < at) {
        at = now + pto;
        this.tlp = true;
      }
    }
    this.rtxAt = at;
  }

  /** The PTO fired: resend the last segment so its ACK (with SACK) exposes any tail loss. */
  private tlpFire(): void {
    this.tlp = false;
    if (this.sndUna === this.sndNxt || this.lossMode !== LOSS_NONE) {
      if (this.sndUna !== this.sndNxt) this.startRtx(this.rtt.current());
      return;
    }
    this.tlpSent = true;
    const dataEnd = this.finSent ? this.finSeq : this.sndNxt;
    const smss = this.sendMss();
    let start = seqDiff(dataEnd, this.sndUna) > smss ? seqAdd(dataEnd, -smss) : this.sndUna;
    if (seqLt(start, this.sndUna)) start = this.sndUna;
    const len = seqDiff(dataEnd, start);
    if (len > 0 || this.finSent) {
      this.sendDataSegment(start, len, this.finSent, true);
      this.statRetransmits++;
      this.layer.counters.inc('tx_tlp');
      this.rttTime = -1;
    }
    this.startRtx(this.rtt.current());
  }

  private startPersist(): void {
    if (this.persist) return;
    this.persist = true;
    this.rtxAt = this.layer.scheduler.now() + this.rtt.current();
  }

  /** Retransmits one segment starting at `s` (a lost hole), advancing HighRxt. */
  private retransmitAt(s: number): void {
    let holeEnd = this.sackEnabled ? this.sb.nextSackedStart(s, this.sndNxt) : this.sndNxt;
    if (seqGt(holeEnd, this.sndNxt)) holeEnd = this.sndNxt;
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    let dataStop = seqLt(holeEnd, dataEndSeq) ? holeEnd : dataEndSeq;
    let len = seqDiff(dataStop, s);
    const smss = this.sendMss();
    if (len > smss) {
      len = smss;
      dataStop = seqAdd(s, len);
    }
    if (len < 0) len = 0;
    const fin = this.finSent && seqAdd(s, len) === this.finSeq && seqGt(holeEnd, this.finSeq);
    if (len === 0 && !fin) {
      // nothing to resend here (e.g. the hole is the FIN and it is not ours to send)
      this.highRxt = seqAdd(s, 1);
      return;
    }
    this.sendDataSegment(s, len, fin, true);
    if (s === this.sndUna) {
      this.headRtxSeq = s;
      this.headRtxMark = this.sndNxt;
    }
    this.highRxt = seqAdd(s, len + (fin ? 1 : 0));
    this.statRetransmits++;
    this.layer.counters.inc('tx_retransmit');
    if (this.rtxStart < 0) this.rtxStart = this.layer.scheduler.now();
    this.rttTime = -1;
    // retransmitting the head restarts the timer (as Linux): the RTO covers the new copy, so a
    // loss found by SACK just before the timer would fire does not also cost an RTO
    if (this.rtxAt === Infinity || s === this.sndUna) this.startRtx(this.rtt.current());
  }

  private tsNow(): number {
    return (Math.floor(this.layer.scheduler.now()) + this.tsOffset) >>> 0;
  }

  /**
   * Largest payload of the next data segment: the MSS less the room SACK blocks will take when
   * there is out-of-order data to report, so header + data still fit the path MTU (as Linux's
   * tcp_current_mss).
   */
  private sendMss(): number {
    if (!this.sackEnabled || (this.ooo.empty && !this.hasDsack)) return this.mss;
    const blocks = Math.min(this.tsEnabled ? 3 : 4, this.ooo.count + (this.hasDsack ? 1 : 0));
    return Math.max(64, this.mss - (4 + 8 * blocks));
  }

  /** Fills this.opt for a non-SYN segment; returns the options length. */
  private prepareOptions(): number {
    const o = this.opt.reset();
    if (this.tsEnabled) {
      o.hasTimestamp = true;
      o.tsVal = this.tsNow();
      o.tsEcr = this.tsRecent;
    }
    if (this.sackEnabled) {
      const max = this.tsEnabled ? 3 : 4;
      let n = 0;
      if (this.hasDsack) {
        o.sack[0] = this.dsackLeft;
        o.sack[1] = this.dsackRight;
        n = 1;
        this.hasDsack = false;
      }
      if (!this.ooo.empty) n += this.ooo.sackBlocks(o.sack, n, max - n);
      o.sackCount = n;
    }
    return tcpOptionsLength(o);
  }

  /** Builds and sends one segment carrying data [seq, seq+len) from the send buffer. */
  private sendDataSegment(seq: number, len: number, fin: boolean, _rtx: boolean): void {
    const optLen = this.prepareOptions();
    const hl = TCP_HEADER_LEN + optLen;
    const buf = allocSegment(HEADROOM + hl + len);
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    if (len > 0 && seqAdd(seq, len) === dataEndSeq) flags |= TCP_PSH;
    const wnd = this.windowToAdvertise();
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, seq, this.rcvNxt, flags, wnd, this.opt);
    if (len > 0) this.sndBuf.copyOut(this.sndBuf.start + seqDiff(seq, this.sndBufSeq), len, buf, HEADROOM + hl);
    this.transmit(buf);
  }

  private transmit(buf: Buffer): void {
    // A segment for one of our own addresses goes round the loopback, where checksums are not checked.
    if (!this.layer.ip.isLocalAddress(this.remoteAddr)) setTcpChecksum(buf, HEADROOM, buf.length, this.localAddr, this.remoteAddr);
    this.lastAckSent = this.rcvNxt;
    this.delackAt = Infinity;
    this.unackedBytes = 0;
    this.ackNow = false;
    this.ackSoon = false;
    this.statSegsOut++;
    const r = this.layer.ip.send(IPPROTO_TCP, this.localAddr, this.remoteAddr, buf, HEADROOM, this.sendOpts);
    this.layer.txSegments.n++;
    if (r < 0) {
      // the segment is lost locally; retransmission recovers it. A smaller path MTU than we
      // thought (-EMSGSIZE with DF) lowers the MSS at once.
      this.layer.counters.inc(r === -Errno.EMSGSIZE ? 'tx_emsgsize' : 'tx_ip_error');
      if (r === -Errno.EMSGSIZE && !this.mtuCheckPending) {
        this.mtuCheckPending = true;
        this.layer.scheduler.setTimer(0, this.mtuCheckBound);
      }
    }
  }

  private mtuCheckPending = false;
  private readonly mtuCheckBound = (): void => {
    this.mtuCheckPending = false;
    const s = this._state;
    if (s === 'CLOSED' || s === 'TIME_WAIT' || s === 'LISTEN') return;
    this.layer.enter();
    try {
      this.lowerMss(this.layer.ip.maxPayloadFor(this.remoteAddr));
      this.armTimer();
    } finally {
      this.layer.exit();
    }
  };

  /** A smaller path MTU: lower the MSS and resend the flight in smaller segments (RFC 1191). */
  private lowerMss(pathPayload: number): void {
    const before = this.mss;
    this.updateMss(pathPayload);
    if (this.mss >= before) {
      this.mss = before; // never raise the MSS on an ICMP's word
      this.cc.setMss(before);
      return;
    }
    this.layer.counters.inc('pmtu_reduced');
    const s = this._state;
    if (s === 'SYN_SENT' || s === 'SYN_RECEIVED') return;
    if (this.sndUna !== this.sndNxt) {
      if (this.lossMode === LOSS_NONE) {
        this.lossMode = LOSS_RTO;
        this.recoverPoint = this.sndNxt;
      }
      this.highRxt = this.sndUna;
      this.forcedLossEdge = this.sndNxt;
      this.output();
    }
  }

  /** Window field for a non-SYN segment; moves the advertised right edge (never left). */
  private windowToAdvertise(): number {
    const shift = this.rcvShift;
    let free = this.rcvBufSize - this.rcvQueue.length;
    if (free < 0) free = 0;
    let cur = seqDiff(this.rcvAdvRight, this.rcvNxt);
    if (cur < 0) cur = 0;
    // receiver SWS avoidance: only open the window by a useful amount
    let want = cur;
    if (free > cur && (free - cur >= Math.min(this.rcvBufSize / 2, this.mss) || cur === 0 && free >= this.mss)) want = free;
    else if (free > cur && free === this.rcvBufSize) want = free;
    // shift is at most 14, so the unit is an exact small integer (and no Math.pow per segment)
    const unit = 1 << shift;
    let field = Math.ceil(want / unit);
    if (field > 65535) field = 65535;
    const right = seqAdd(this.rcvNxt, field * unit);
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    return field;
  }

  private sendSyn(withAck: boolean): void {
    const o = this.opt.reset();
    o.mss = this.ourMss();
    o.sackPermitted = withAck ? this.sackEnabled : true;
    if (this.wsOffered) o.wscale = this.rcvShift;
    if (!withAck || this.tsEnabled) {
      o.hasTimestamp = true;
      o.tsVal = this.tsNow();
      o.tsEcr = withAck ? this.tsRecent : 0;
    }
    const hl = TCP_HEADER_LEN + tcpOptionsLength(o);
    const buf = allocSegment(HEADROOM + hl);
    const wnd = Math.min(65535, this.rcvBufSize);
    if (withAck) this.rcvAdvRight = seqAdd(this.rcvNxt, wnd);
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, this.iss, withAck ? this.rcvNxt : 0, withAck ? TCP_SYN | TCP_ACK : TCP_SYN, wnd, o);
    if (this.sndNxt === this.iss) this.sndNxt = seqAdd(this.iss, 1);
    if (this.rttTime < 0 && this.retries === 0) this.rttTime = this.layer.scheduler.now();
    this.layer.counters.inc(withAck ? 'tx_synack' : 'tx_syn');
    this.transmit(buf);
  }

  /** A pure ACK (also window updates, challenge ACKs, keepalive/zero-window probes with seq-1). */
  sendAck(probe = false): void {
    const optLen = this.prepareOptions();
    const hl = TCP_HEADER_LEN + optLen;
    const buf = allocSegment(HEADROOM + hl);
    const wnd = this.windowToAdvertise();
    const seq = probe ? (this.sndUna - 1) >>> 0 : this.sndNxt;
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, seq, this.rcvNxt, TCP_ACK, wnd, this.opt);
    this.transmit(buf);
  }

  private sendRst(): void {
    const optLen = this.tsEnabled ? this.prepareTsOnly() : 0;
    const buf = allocSegment(HEADROOM + TCP_HEADER_LEN + optLen);
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, this.sndNxt, this.rcvNxt, TCP_RST | TCP_ACK, 0, optLen ? this.opt : null);
    setTcpChecksum(buf, HEADROOM, buf.length, this.localAddr, this.remoteAddr);
    this.layer.counters.inc('tx_rst');
    this.layer.ip.send(IPPROTO_TCP, this.localAddr, this.remoteAddr, buf, HEADROOM, this.sendOpts);
  }

  private prepareTsOnly(): number {
    const o = this.opt.reset();
    o.hasTimestamp = true;
    o.tsVal = this.tsNow();
    o.tsEcr = this.tsRecent;
    return tcpOptionsLength(o);
  }

  /** After the application read: reopen the window if it grew enough (Linux's rule). */
  private afterRead(): void {
    const s = this._state;
    if (s !== 'ESTABLISHED' && s !== 'FIN_WAIT_1' && s !== 'FIN_WAIT_2') return;
    const cur = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    const free = this.rcvBufSize - this.rcvQueue.length;
    if (cur * 2 <= this.rcvBufSize && free >= 2 * cur && free - cur >= this.mss) {
      this.layer.enter();
      try {
        this.sendAck();
        this.armTimer();
      } finally {
        this.layer.exit();
      }
    }
  }

  private kick(): void {
    this.layer.enter();
    try {
      this.output();
      if (this.wantWritable && this.sndBuf.length < this.sndBufSize) {
        this.wantWritable = false;
        this.queueEvent(EV_WRITABLE);
      }
      this.armTimer();
    } finally {
      this.layer.exit();
    }
  }

  // ───────────────────────────── timers ─────────────────────────────

  private keepaliveAt(): number {
    if (!this.keepalive) return Infinity;
    const s = this._state;
    if (s !== 'ESTABLISHED' && s !== 'CLOSE_WAIT' && s !== 'FIN_WAIT_2') return Infinity;
    if (this.keepaliveProbes === 0) return this.lastRcvTime + this.keepIdleMs;
    return this.lastKeepaliveProbe + this.keepIntvlMs;
  }

  armTimer(): void {
    const s = this._state;
    if (s === 'CLOSED' || s === 'TIME_WAIT' || s === 'LISTEN') return;
    let at = this.rtxAt;
    if (this.delackAt < at) at = this.delackAt;
    if (this.corkAt < at) at = this.corkAt;
    if (this.finWait2At < at) at = this.finWait2At;
    const k = this.keepaliveAt();
    if (k < at) at = k;
    if (at === Infinity) return;
    if (this.timer !== null && this.timerAt <= at) return; // fires early; re-armed then
    if (this.timer !== null) this.timer.cancel();
    const now = this.layer.scheduler.now();
    this.timerAt = at;
    this.timer = this.layer.scheduler.setTimer(Math.max(0, at - now), this.onTimerBound);
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const s = this._state;
    if (s === 'CLOSED' || s === 'TIME_WAIT' || s === 'LISTEN') return;
    this.layer.enter();
    try {
      const now = this.layer.scheduler.now();
      if (this.rtxAt <= now) {
        this.rtxAt = Infinity;
        if (this.persist) this.persistFire(now);
        else if (this.tlp) this.tlpFire();
        else this.rtoFire(now);
      }
      if (this._state === 'CLOSED' || this._state === 'TIME_WAIT') return;
      if (this.delackAt <= now) {
        this.delackAt = Infinity;
        this.sendAck();
      }
      if (this.corkAt <= now) {
        this.output();
        this.corkAt = Infinity;
      }
      if (this.finWait2At <= now) {
        this.finWait2At = Infinity;
        if (this._state === 'FIN_WAIT_2') {
          this.layer.counters.inc('fin_wait2_timeout');
          this.toClosed();
          return;
        }
      }
      if (this.keepaliveAt() <= now) this.keepaliveFire(now);
      this.armTimer();
    } finally {
      this.layer.exit();
    }
  }

  private userTimedOut(now: number): boolean {
    return this.userTimeoutMs > 0 && this.rtxStart >= 0 && now - this.rtxStart >= this.userTimeoutMs;
  }

  private rtoFire(now: number): void {
    const s = this._state;
    const c = this.layer.counters;
    if (s === 'SYN_SENT' || s === 'SYN_RECEIVED') {
      this.retries++;
      if (this.rtxStart < 0) this.rtxStart = now;
      const max = s === 'SYN_SENT' ? SYN_RETRIES : SYNACK_RETRIES;
      if (this.retries > max || this.userTimedOut(now)) {
        c.inc(s === 'SYN_SENT' ? 'syn_timeout' : 'synack_timeout');
        if (this.parent) this.toClosed();
        else this.fail(Errno.ETIMEDOUT);
        return;
      }
      this.rtt.onTimeout();
      this.rttTime = -1;
      this.statRetransmits++;
      c.inc('tx_retransmit');
      this.sendSyn(s === 'SYN_RECEIVED');
      this.startRtx(this.rtt.current());
      return;
    }
    if (this.sndUna === this.sndNxt) return;
    if (this.rtxStart < 0) this.rtxStart = now;
    this.retries++;
    if (this.retries > DATA_RETRIES || this.userTimedOut(now)) {
      c.inc('rto_give_up');
      this.fail(Errno.ETIMEDOUT);
      return;
    }
    this.statRtoTimeouts++;
    c.inc('rto_timeout');
    const inflight = seqDiff(this.sndNxt, this.sndUna);
    if (this.rtt.backoff === 0) this.cc.onRto(now, inflight);
    else this.cc.cwnd = this.mss;
    this.hystart.reset();
    this.rtt.onTimeout();
    this.lossMode = LOSS_RTO;
    this.recoverPoint = this.sndNxt;
    this.highRxt = this.sndUna;
    this.forcedLossEdge = this.sndNxt;
    this.dupAcks = 0;
    this.renoSacked = 0;
    this.rttTime = -1;
    const l = this.nextLost();
    if (l !== -1) this.retransmitAt(l);
    this.startRtx(this.rtt.current());
    this.output();
  }

  private startRtx(ms: number): void {
    this.tlp = false;
    let at = this.layer.scheduler.now() + ms;
    if (this.userTimeoutMs > 0 && this.rtxStart >= 0) {
      const limit = this.rtxStart + this.userTimeoutMs;
      if (limit < at) at = Math.max(limit, this.layer.scheduler.now());
    }
    this.rtxAt = at;
  }

  private persistFire(now: number): void {
    const unsent = seqDiff(seqAdd(this.sndBufSeq, this.sndBuf.length), this.sndNxt);
    const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (unsent <= 0 || this.sndUna !== this.sndNxt) {
      this.persist = false;
      this.output();
      return;
    }
    if (wndRoom > 0) {
      // a window too small for SWS avoidance: send what fits (RFC 9293 §3.8.6.2.1 override)
      this.persist = false;
      this.forceRunt = true;
      this.output();
      this.forceRunt = false;
      if (this.sndUna === this.sndNxt) this.startPersist();
      return;
    }
    if (this.userTimeoutMs > 0) {
      if (this.rtxStart < 0) this.rtxStart = now;
      if (this.userTimedOut(now)) {
        this.fail(Errno.ETIMEDOUT);
        return;
      }
    }
    this.statProbes++;
    this.layer.counters.inc('tx_zero_window_probe');
    this.sendAck(true);
    this.rtt.onTimeout();
    this.rtxAt = now + this.rtt.current();
  }

  private keepaliveFire(now: number): void {
    if (this.sndUna !== this.sndNxt || this.sndBuf.length > seqDiff(this.sndNxt, this.sndBufSeq)) {
      // data outstanding: the retransmission timer covers liveness
      this.lastRcvTime = now;
      return;
    }
    const limitByUser = this.userTimeoutMs > 0 && this.keepaliveProbes > 0 && now - this.lastRcvTime >= this.userTimeoutMs;
    if (this.keepaliveProbes >= this.keepCnt || limitByUser) {
      this.layer.counters.inc('keepalive_timeout');
      this.fail(Errno.ETIMEDOUT);
      return;
    }
    this.keepaliveProbes++;
    this.lastKeepaliveProbe = now;
    this.layer.counters.inc('tx_keepalive');
    this.sendAck(true);
  }

  // ───────────────────────────── teardown / events ─────────────────────────────

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
    if (s === 'ESTABLISHED' || s === 'CLOSE_WAIT' || s === 'FIN_WAIT_1' || s === 'FIN_WAIT_2' || s === 'SYN_RECEIVED' || s === 'CLOSING' || s === 'LAST_ACK') {
      this.sendRst();
    }
    if (errno) this.fail(errno);
    else this.toClosed();
  }

  toClosed(): void {
    const wasTimeWait = this._state === 'TIME_WAIT';
    this._state = 'CLOSED';
    this.rtxAt = Infinity;
    this.delackAt = Infinity;
    this.corkAt = Infinity;
    this.finWait2At = Infinity;
    if (this.timer) {
      this.timer.cancel();
      this.timer = null;
      this.timerAt = Infinity;
    }
    this.sndBuf.clear();
    this.ooo.clear();
    this.sb.clear();
    if (this.userClosed) this.rcvQueue.clear();
    if (this.parent) {
      this.parent.synQueue.delete(this);
      const i = this.parent.acceptQueue.indexOf(this);
      if (i >= 0 && this.userClosed) this.parent.acceptQueue.splice(i, 1);
      if (!this.accepted && i < 0) this.parent = null;
    }
    this.layer.unregister(this);
    if (!wasTimeWait) this.queueEvent(EV_CLOSE | EV_READABLE);
  }

  queueEvent(bits: number): void {
    this.pendingEvents |= bits;
    if (!this.queuedForEvents) {
      this.queuedForEvents = true;
      this.layer.queueEvents(this);
    }
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
    const c = this.layer.counters;
    if (this._state !== 'SYN_SENT' && !(seqGeq(quotedSeq, this.sndUna) && seqLt(quotedSeq, this.sndNxt))) {
      c.inc('icmp_out_of_window');
      return;
    }
    if (type === 3 && code === 4) {
      // fragmentation needed: lower the MSS and resend what is outstanding (RFC 1191)
      if (!nextHopMtu || nextHopMtu < 68) return;
      this.lowerMss(nextHopMtu - 20);
      return;
    }
    let errno = 0;
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
    if (this._state === 'SYN_SENT') {
      c.inc('icmp_connect_failed');
      this.fail(errno);
    } else {
      c.inc('icmp_soft_error');
      this.pendingError = errno;
    }
  }
}
