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
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Errno } from '../netstack/errno.js';
import { SHUT_RD, SHUT_RDWR, SHUT_WR, type TcpSocket } from '../netstack/socket-api.js';
import type { NetconCounters } from './netcon-counters.js';

export type AppSocketState = 'idle' | 'connecting' | 'connected' | 'failed' | 'listening' | 'closed';

/** Largest read from the stack per step: bounds what sits in Node's write queue. */
const READ_CHUNK = 256 * 1024;

export interface AppSocketHooks {
  /** The app end is gone (all copies closed) or the socket was torn down: forget it. */
  onGone(sock: AppSocket): void;
  /** A listener has connections ready; the owner moves them to the app. */
  onAcceptable(sock: AppSocket): void;
}

export class AppSocket {
  state: AppSocketState = 'idle';
  /** Set by the SHUTDOWN RPC before the app's own shutdown(SHUT_WR) reaches us as end of stream. */
  private appShutWr = false;
  private appShutRd = false;
  private soError = 0;
  /** The app has been told its connect succeeded (kernel: SS_CONNECTED); until then a repeat connect returns 0 once. */
  private connectReported = false;
  private connectWaiters: Array<() => void> = [];
  /** Bytes from the app that did not fit in the TCP send buffer yet. */
  private pendingOut: Buffer | null = null;
  private appEnded = false;
  private tcpEof = false;
  private gone = false;
  readonly stream: net.Socket;

  constructor(
    readonly ino: number,
    public tcp: TcpSocket,
    /** The daemon's end of the socketpair (owned by `stream`). */
    readonly fd: number,
    private readonly hooks: AppSocketHooks,
    private readonly counters: NetconCounters,
    private readonly log: Logger,
    connected = false,
  ) {
    this.stream = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    this.stream.on('data', (chunk: Buffer) => this.fromApp(chunk));
    this.stream.on('end', () => this.appEnd());
    this.stream.on('error', (err: NodeJS.ErrnoException) => this.appError(err));
    this.stream.on('drain', () => this.toApp());
    this.stream.on('close', () => this.appClosed());
    this.attachTcp(tcp);
    if (connected) {
      this.state = 'connected';
      this.connectReported = true;
      this.toApp();
    }
  }

  private attachTcp(tcp: TcpSocket): void {
    tcp.handlers = {
      onReadable: () => this.toApp(),
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

  /** Starts an active open; returns 0, -EINPROGRESS or a negative errno. */
  connect(addr: number, port: number, freshSocket: () => TcpSocket): number {
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
        // The kernel lets a socket whose attempt failed try again; the stack's socket is spent.
        this.tcp = freshSocket();
        this.attachTcp(this.tcp);
        this.soError = 0;
        break;
      case 'idle':
        break;
    }
    const r = this.tcp.connect(addr, port);
    if (r === -Errno.EINPROGRESS) {
      if (this.state === 'idle' || this.state === 'failed') this.state = 'connecting';
      return r;
    }
    if (r === 0) {
      this.connected();
      this.connectReported = true;
      return 0;
    }
    return r;
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
    this.resolveWaiters();
    // Bytes the app wrote before the handshake completed waited in the socketpair.
    this.flushOut();
    this.stream.resume();
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
      return;
    }
    if (this.state === 'connected') {
      // Reset or timed out: hand over what was received, then end the app's stream.
      this.toApp();
      this.tcpEof = true;
      this.pendingOut = null;
      this.teardown(false);
    }
  }

  private fromApp(chunk: Buffer): void {
    this.counters.bytesFromApps += chunk.length;
    if (this.state === 'connecting') {
      this.holdOut(chunk);
      return;
    }
    if (this.state !== 'connected') {
      // The kernel would have refused the write (ENOTCONN/EPIPE); the bytes go nowhere.
      this.counters.inc('discardedAppBytes', chunk.length);
      return;
    }
    if (this.pendingOut !== null) {
      this.holdOut(chunk);
      return;
    }
    const n = this.tcp.write(chunk);
    if (n === chunk.length) return;
    if (n < 0 && n !== -Errno.EAGAIN) {
      this.counters.inc('discardedAppBytes', chunk.length);
      return;
    }
    this.holdOut(n > 0 ? chunk.subarray(n) : chunk);
  }

  private holdOut(chunk: Buffer): void {
    this.pendingOut = this.pendingOut === null ? chunk : Buffer.concat([this.pendingOut, chunk]);
    this.stream.pause();
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
    else if (!this.gone) this.stream.resume();
  }

  /** Moves received data to the app while its end has room. */
  toApp(): void {
    if (this.gone || this.state !== 'connected' || this.tcpEof) return;
    while (!this.stream.writableNeedDrain) {
      const r = this.tcp.read(READ_CHUNK);
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
      if (this.appShutRd) {
        this.counters.inc('discardedPeerBytes', r.length);
        continue;
      }
      this.counters.bytesToApps += r.length;
      this.stream.write(r);
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
    this.teardown(true);
  }

  /** Both directions finished after a half-close: nothing more can happen on this socket. */
  private maybeDone(): void {
    if (this.appEnded && this.tcpEof) this.teardown(true);
  }

  private appError(err: NodeJS.ErrnoException): void {
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
   * Ends this app socket. `closeTcp`: close the TCP side gracefully (the app is gone); otherwise
   * the TCP side is already finished or was aborted.
   */
  teardown(closeTcp: boolean): void {
    if (this.gone) return;
    this.gone = true;
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
