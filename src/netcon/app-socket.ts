/**
 * One app socket: the stack's TcpSocket joined to the daemon's end of the app's socketpair.
 *
 * Data moves between the two with backpressure both ways: bytes from the app go into the TCP send
 * buffer and reading from the app stops while it is full (so the app's writes block in the
 * kernel); bytes from TCP are only read out of the stack while the app end has room (so a slow app
 * shrinks the advertised window instead of growing our memory).
 *
 * End of stream from the app means shutdown(SHUT_WR) when the app said so (SHUTDOWN RPC), and
 * otherwise that every copy of the app's fd is closed: queued data is flushed and the TCP
 * connection closed (RST if the app left data unread, as the kernel does).
 *
 * A non-blocking connect that fails (refused, timed out, unreachable) closes the daemon's end at
 * once: the kernel raises POLLERR|POLLHUP on such a socket, and a socketpair whose peer is gone
 * raises POLLHUP (with POLLIN; reads give end of stream), so event loops waiting for readability
 * or hang-up learn of the failure instead of waiting out their own timeout. The socket lives on
 * as an EndedSocket that answers SO_ERROR and the next connect as the kernel does.
 *
 * A non-blocking connect comes with a filler: bytes the library writes into the app's end so that
 * it is not writable while the attempt runs (a connecting TCP socket is not; event loops take
 * writability for "connected"). They stay unread until the outcome: on success they are read and
 * discarded (by count: they are the stream's head), on failure the end is closed with them unread,
 * which gives the app's end POLLERR besides POLLHUP, as the kernel reports a failed connect.
 * The library reports how much it wrote before its connect() returns (fillerWritten); until then
 * the end is neither read nor closed, so an attempt that fails at once still finds the filler
 * there, and nothing the app writes can be taken for filler.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Errno, type IpAddr, SHUT_RD, SHUT_RDWR, SHUT_WR, type SocketAddress, type TcpInfo, type TcpSocket } from '../netstack/index.js';
import { carryOptions, EndedSocket, KEPT_OPTIONS } from './ended-socket.js';
import type { NetconCounters } from './netcon-counters.js';
import type { Family } from './protocol.js';
import { KeptOptions } from './sockopt.js';

export { EndedSocket } from './ended-socket.js';

export type AppSocketState = 'idle' | 'connecting' | 'connected' | 'failed' | 'listening' | 'closed';

/** What observers (metrics) read of an app socket. */
export interface AppSocketView {
  readonly state: AppSocketState;
  tcpInfo(): TcpInfo;
}

/**
 * How long the daemon waits for the library's filler report before it goes on without it (the app
 * was stopped or died between its connect request and the report): a bound, rarely reached.
 */
const FILLER_REPORT_WAIT_MS = 2000;

/** Largest read from the stack per step: bounds what sits in Node's write queue. */
const READ_CHUNK = 256 * 1024;

/**
 * Bytes from apps are read into this one buffer (Node's `onread`): each read is copied into the
 * TCP send buffer before the next read happens, so no buffer is allocated per read.
 */
const APP_READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

export interface AppSocketHooks {
  /** The app end is gone (all copies closed) or the socket was torn down: forget it. */
  onGone(sock: AppSocket): void;
  /** A listener has connections ready; the owner moves them to the app. */
  onAcceptable(sock: AppSocket): void;
}

/** What a socket whose connect attempt failed hands to the fresh one it tries again with. */
const CARRIED_OPTIONS = KEPT_OPTIONS.filter((n) => n !== 'MAXSEG');

export class AppSocket {
  state: AppSocketState = 'idle';
  /** Set by the SHUTDOWN RPC before the app's own shutdown(SHUT_WR) reaches us as end of stream. */
  private appShutWr = false;
  private appShutRd = false;
  private soError = 0;
  /** The app has been told its connect succeeded (kernel: SS_CONNECTED); until then a repeat connect returns 0 once. */
  private connectReported = false;
  /**
   * The attempt under way was made by a blocking connect(), which returns its outcome: a failure
   * then leaves the socket usable for another attempt, as the kernel's does. A non-blocking
   * attempt that fails ends the socket's data path (see the file comment).
   */
  private blockingConnect = false;
  /** Set once a failed non-blocking connect ended the socket; the EndedSocket keeps that. */
  private connectFailed = false;
  private connectWaiters: Array<() => void> = [];
  /** Filler bytes at the head of the app's stream still to discard (see the file comment). */
  private fillerLeft = 0;
  /** Filler announced by the attempt under way; its report (fillerWritten) has not come yet. */
  private fillerAnnounced = 0;
  private fillerReportTimer: NodeJS.Timeout | null = null;
  /** The attempt failed before the filler report: the end is closed once it comes. */
  private failedBeforeFillerReport = false;
  /** Bytes from the app that did not fit in the TCP send buffer yet. */
  private pendingOut: Buffer | null = null;
  private appEnded = false;
  /** Something was read from the app's end (the fast path takes only ends nothing was read from). */
  private readFromApp = false;
  private toAppScheduled = false;
  private tcpEof = false;
  private gone = false;
  private appGoneFlag = false;
  /** The local address while connected: a finished connection no longer has one in the stack. */
  private lastLocal: SocketAddress | null = null;
  readonly stream: net.Socket;
  readonly kept = new KeptOptions();

  constructor(
    readonly ino: number,
    public tcp: TcpSocket,
    /** The daemon's end of the socketpair (owned by `stream`). */
    readonly fd: number,
    private readonly hooks: AppSocketHooks,
    private readonly counters: NetconCounters,
    private readonly log: Logger,
    /** The app socket's family (AF_INET 4, AF_INET6 6): the family of its stack socket and of the names it reports. */
    readonly family: Family = 4,
    connected = false,
  ) {
    // Node takes `onread` here as in connect() (the typings only list it there). The callback
    // returning false stops reading from the app until flushOut resumes it.
    const opts: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
      fd,
      readable: true,
      writable: true,
      allowHalfOpen: true,
      onread: { buffer: APP_READ_BUFFER, callback: (n: number, buf: Uint8Array) => this.fromApp(buf as Buffer, n) },
    };
    this.stream = new net.Socket(opts);
    this.stream.on('end', () => this.appEnd());
    this.stream.on('error', (err: NodeJS.ErrnoException) => this.appError(err));
    this.stream.on('drain', () => this.toApp());
    this.stream.on('close', () => this.appClosed());
    this.attachTcp(tcp);
    if (connected) {
      this.state = 'connected';
      this.connectReported = true;
      this.lastLocal = tcp.localAddress();
      this.toApp();
    }
  }

  private attachTcp(tcp: TcpSocket): void {
    tcp.handlers = {
      onReadable: () => this.toAppSoon(),
      onWritable: () => this.flushOut(),
      onConnect: () => this.connected(),
      onAcceptable: () => this.hooks.onAcceptable(this),
      onError: (errno) => this.tcpError(errno),
    };
  }

  /** A blocking connect returned success to the app. */
  markConnectReported(): void {
    this.connectReported = true;
  }

  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Every copy of the app's end is known to be closed (not merely shut down for writing). */
  get appGone(): boolean {
    return this.appGoneFlag;
  }

  /** getsockname: the stack's answer, or the address the connection had once it is finished. */
  localName(): SocketAddress {
    return this.tcp.localAddress() ?? this.lastLocal ?? { addr: 0, port: 0 };
  }

  /** The record kept once this socket is torn down while the app may still hold it. */
  ended(): EndedSocket {
    return new EndedSocket(
      this.localName(),
      this.takeError(),
      this.tcp,
      this.kept,
      this.family,
      this.connectFailed ? 'failed' : 'was-connected',
    );
  }

  /** TCP_INFO's source: the stack connection's figures. */
  tcpInfo(): TcpInfo {
    return this.tcp.info();
  }

  /** SO_ERROR: the pending error, cleared by reading. */
  takeError(): number {
    const e = this.soError || this.tcp.takeError();
    this.soError = 0;
    return e;
  }

  /** Resolves once a connect attempt in progress succeeds or fails (at once when none is). */
  whenConnectResolved(): Promise<void> {
    if (this.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /**
   * Starts an active open; returns 0, -EINPROGRESS or a negative errno. `blocking`: the app's
   * connect() waits for the outcome (it gets the error itself if the attempt fails). `filler`:
   * bytes the library writes into the app's end if this returns EINPROGRESS.
   */
  connect(addr: IpAddr, port: number, freshSocket: () => TcpSocket, blocking: boolean, filler = 0): number {
    switch (this.state) {
      case 'connecting':
        return -Errno.EALREADY;
      case 'connected':
        if (this.connectReported) return -Errno.EISCONN;
        this.connectReported = true;
        return 0;
      case 'listening':
      case 'closed':
        return -Errno.EINVAL;
      case 'failed':
        // The kernel lets a socket whose attempt failed try again; the stack's socket is spent,
        // but the options set on it are the app's and stay.
        this.tcp = carryOptions(this.tcp, freshSocket(), CARRIED_OPTIONS);
        this.attachTcp(this.tcp);
        this.soError = 0;
        break;
      case 'idle':
        break;
    }
    const r = this.tcp.connect(addr, port);
    if (r === -Errno.EINPROGRESS) {
      if (this.state === 'idle' || this.state === 'failed') this.state = 'connecting';
      this.blockingConnect = blocking;
      if (filler > 0) {
        // Left unread until the outcome, so the app's end stays unwritable (connected() resumes).
        this.fillerLeft += filler;
        this.fillerAnnounced = filler;
        this.stream.pause();
        this.fillerReportTimer = setTimeout(() => this.fillerWritten(filler), FILLER_REPORT_WAIT_MS);
        this.fillerReportTimer.unref();
      }
      // The kernel's getsockname still names the address an attempt used after it failed.
      this.lastLocal = this.tcp.localAddress();
      return r;
    }
    if (r === 0) {
      this.connected();
      this.connectReported = true;
      return 0;
    }
    return r;
  }

  /** The library's report: `written` of the announced filler bytes are in the app's end. */
  fillerWritten(written: number): void {
    if (this.fillerAnnounced === 0) return;
    this.fillerLeft = Math.max(0, this.fillerLeft - Math.max(0, this.fillerAnnounced - written));
    this.fillerAnnounced = 0;
    if (this.fillerReportTimer !== null) clearTimeout(this.fillerReportTimer);
    this.fillerReportTimer = null;
    if (this.failedBeforeFillerReport) {
      this.failedBeforeFillerReport = false;
      this.endFailedConnect();
    } else if (this.state === 'connected') this.resumeFromApp();
  }

  /** Reads from the app again, unless its filler report is still awaited. */
  private resumeFromApp(): void {
    if (!this.gone && this.fillerAnnounced === 0) this.stream.resume();
  }

  listen(backlog: number): number {
    if (this.state !== 'idle' && this.state !== 'listening') return -Errno.EINVAL;
    const r = this.tcp.listen(backlog);
    if (r === 0) this.state = 'listening';
    return r;
  }

  /** The SHUTDOWN RPC: validates and records it; the app's own shutdown follows. */
  shutdown(how: number): number {
    if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return -Errno.EINVAL;
    if (this.state !== 'connected') return -Errno.ENOTCONN;
    if (how === SHUT_RD || how === SHUT_RDWR) {
      this.appShutRd = true;
      this.tcp.shutdown(SHUT_RD);
    }
    if (how === SHUT_WR || how === SHUT_RDWR) this.appShutWr = true;
    return 0;
  }

  private connected(): void {
    if (this.state === 'connecting' || this.state === 'idle' || this.state === 'failed') this.state = 'connected';
    this.lastLocal = this.tcp.localAddress();
    this.resolveWaiters();
    // Bytes the app wrote before the handshake completed waited in the socketpair.
    this.flushOut();
    this.resumeFromApp();
    this.toApp();
  }

  private resolveWaiters(): void {
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const f of w) f();
  }

  private tcpError(errno: number): void {
    this.counters.error(errno);
    if (this.state === 'connecting') {
      this.state = 'failed';
      this.soError = errno;
      this.resolveWaiters();
      if (this.blockingConnect) return;
      // The filler must be in the app's end when it is closed (that is what raises POLLERR).
      if (this.fillerAnnounced > 0) this.failedBeforeFillerReport = true;
      else this.endFailedConnect();
      return;
    }
    if (this.state === 'connected') {
      // Reset or timed out: hand over what was received, then end the app's stream. The app's
      // read sees only the end, so SO_ERROR keeps the reason (the kernel's read would return it).
      this.soError = errno;
      this.toApp();
      this.tcpEof = true;
      this.pendingOut = null;
      this.teardown(false);
    }
  }

  /**
   * A non-blocking connect failed: close the daemon's end so the app's end reports POLLHUP, and
   * leave an EndedSocket (made by the owner's onGone) to answer SO_ERROR and connect. Bytes the
   * app wrote before the outcome go nowhere, as they would on the kernel's socket.
   */
  private endFailedConnect(): void {
    if (this.gone) return;
    if (this.pendingOut !== null) {
      this.counters.inc('discardedAppBytes', this.pendingOut.length);
      this.pendingOut = null;
    }
    this.connectFailed = true;
    this.counters.inc('failedConnectsEnded');
    this.teardown(false);
  }

  /** `len` bytes from the app in the shared read buffer; false stops reading for now. */
  private fromApp(shared: Buffer, len: number): boolean {
    this.readFromApp = true;
    if (this.fillerLeft > 0) {
      const skip = Math.min(len, this.fillerLeft);
      this.fillerLeft -= skip;
      if (skip === len) return true;
      shared = shared.subarray(skip);
      len -= skip;
    }
    const chunk = shared.subarray(0, len);
    this.counters.bytesFromApps += len;
    if (this.state === 'connecting') return this.holdOut(chunk);
    if (this.state !== 'connected') {
      // The kernel would have refused the write (ENOTCONN/EPIPE); the bytes go nowhere.
      this.counters.inc('discardedAppBytes', len);
      return true;
    }
    if (this.pendingOut !== null) return this.holdOut(chunk);
    const n = this.tcp.write(chunk);
    if (n === len) return true;
    if (n < 0 && n !== -Errno.EAGAIN) {
      this.counters.inc('discardedAppBytes', len);
      return true;
    }
    return this.holdOut(n > 0 ? chunk.subarray(n) : chunk);
  }

  /** Keeps a copy of bytes that do not fit yet (the read buffer is reused) and stops reading. */
  private holdOut(chunk: Buffer): false {
    this.pendingOut = this.pendingOut === null ? Buffer.from(chunk) : Buffer.concat([this.pendingOut, chunk]);
    this.stream.pause();
    return false;
  }

  private flushOut(): void {
    if (this.state !== 'connected') return;
    if (this.pendingOut !== null) {
      const n = this.tcp.write(this.pendingOut);
      if (n < 0 && n !== -Errno.EAGAIN) {
        this.counters.inc('discardedAppBytes', this.pendingOut.length);
        this.pendingOut = null;
      } else if (n >= this.pendingOut.length) {
        this.pendingOut = null;
      } else if (n > 0) {
        this.pendingOut = this.pendingOut.subarray(n);
      }
      if (this.pendingOut !== null) return;
    }
    if (this.appEnded) this.finishAppEnd();
    else this.resumeFromApp();
  }

  /**
   * Segments that arrive in one event (a burst of datagrams read together) reach the app in one
   * write instead of one write per segment — as soon as that event's handler returns (a
   * microtask), not at the end of the event-loop turn.
   */
  private toAppSoon(): void {
    if (this.toAppScheduled) return;
    this.toAppScheduled = true;
    queueMicrotask(this.toAppNow);
  }
  private readonly toAppNow = (): void => {
    this.toAppScheduled = false;
    this.toApp();
  };

  /** Moves received data to the app while its end has room. */
  toApp(): void {
    if (this.gone || this.state !== 'connected' || this.tcpEof) return;
    while (!this.stream.writableNeedDrain) {
      // the received segments go out as one gathered write, without joining them first
      const r = this.tcp.readv(READ_CHUNK);
      if (typeof r === 'number') {
        if (r === 0) {
          this.tcpEof = true;
          if (!this.appShutRd) this.stream.end();
          this.maybeDone();
        } else if (r !== -Errno.EAGAIN) {
          this.tcpEof = true;
          this.teardown(false);
        }
        return;
      }
      let bytes = 0;
      for (const b of r) bytes += b.length;
      if (this.appShutRd) {
        this.counters.inc('discardedPeerBytes', bytes);
        continue;
      }
      this.counters.bytesToApps += bytes;
      if (r.length === 1) this.stream.write(r[0]!);
      else {
        this.stream.cork();
        for (const b of r) this.stream.write(b);
        this.stream.uncork();
      }
    }
  }

  private appEnd(): void {
    this.appEnded = true;
    if (this.pendingOut === null) this.finishAppEnd();
  }

  private finishAppEnd(): void {
    if (this.state === 'connected' && this.appShutWr) {
      this.tcp.shutdown(SHUT_WR);
      this.maybeDone();
      return;
    }
    // Every copy of the app's fd is closed.
    this.appGoneFlag = true;
    this.teardown(true);
  }

  /** Both directions finished after a half-close: nothing more can happen on this socket. */
  private maybeDone(): void {
    if (this.appEnded && this.tcpEof) this.teardown(true);
  }

  private appError(err: NodeJS.ErrnoException): void {
    this.appGoneFlag = true;
    // ECONNRESET here: the app closed with our data unread; the kernel answers that with RST.
    if (err.code === 'ECONNRESET' && this.state === 'connected') {
      this.tcp.abort();
      this.teardown(false);
      return;
    }
    if (err.code !== 'EPIPE') this.log.debug({ ino: this.ino, err: err.message }, 'app end error');
    this.teardown(true);
  }

  private appClosed(): void {
    if (!this.gone) this.teardown(true);
  }

  /**
   * A fresh socket the fast path may take (fast-path.ts): never connected, and nothing read from
   * the app's end or waiting to be, so the kernel socket alone carries the stream from its start.
   */
  get untouched(): boolean {
    return (
      this.state === 'idle' && !this.gone && !this.readFromApp && !this.appEnded && this.pendingOut === null && this.fillerAnnounced === 0
    );
  }

  /**
   * The fast path took this socket's daemon end (a copy travels to the listening app): stop using
   * it without a word to the stack or the owner. Destroying the stream closes the daemon's fd
   * here and now, so nothing more is read from it; the stack socket is the caller's (it holds
   * the connection's port).
   */
  handOff(): void {
    this.gone = true;
    this.state = 'closed';
    if (this.fillerReportTimer !== null) clearTimeout(this.fillerReportTimer);
    this.fillerReportTimer = null;
    this.tcp.handlers = {};
    this.stream.removeAllListeners();
    this.stream.on('error', () => {});
    this.stream.destroy();
  }

  /**
   * Ends this app socket. `closeTcp`: close the TCP side gracefully (the app is gone); otherwise
   * the TCP side is already finished or was aborted.
   */
  teardown(closeTcp: boolean): void {
    if (this.gone) return;
    this.gone = true;
    if (this.fillerReportTimer !== null) clearTimeout(this.fillerReportTimer);
    this.fillerReportTimer = null;
    const wasState = this.state;
    this.state = 'closed';
    this.resolveWaiters();
    if (closeTcp) {
      if (wasState === 'connected' || wasState === 'listening' || wasState === 'connecting') this.tcp.close();
      else this.tcp.abort();
    }
    if (!this.stream.destroyed) {
      if (this.stream.writableLength > 0 && !this.stream.writableEnded) {
        // Let the app read what already arrived before it sees the end.
        this.stream.end();
        this.stream.once('finish', () => this.stream.destroy());
      } else if (this.stream.writableLength > 0) {
        this.stream.once('finish', () => this.stream.destroy());
      } else {
        this.stream.destroy();
      }
    }
    this.hooks.onGone(this);
  }
}
