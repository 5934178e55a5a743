/**
 * A nonblocking AF_UNIX socket (stream or seqpacket) that sends and receives data together with
 * file descriptors, driven by readiness on Node's event loop. This is the fd-passing path Node's
 * net.Socket lacks: the daemon hands an app's socketpair end (or an accepted connection) over it.
 *
 * Sends never block: what the kernel cannot take now is queued in order (fds travel with the
 * first byte of their message) and flushed when the socket becomes writable; `send` returns false
 * once the queue passes its high-water mark in bytes or in fds (queued fds are open fds), and
 * `onDrain` says when it has emptied.
 * On a seqpacket socket each `onMessage` is one message; on a stream socket it is whatever bytes
 * arrived (the caller frames them), with any fds that came alongside.
 * End of stream and errors arrive once through `onClose(errno)` (0 = orderly end); the channel is
 * then closed. A zero-length read is end of stream, so zero-length seqpacket messages are not used.
 */
import { closeFd, fdWatcher, isSystemError, recvFds, sendFds, setNonBlocking, type FdWatcher } from './binding.js';

export interface UnixChannelHandlers {
  /** Received bytes and the fds that came with them (owned by the handler: close what you keep not). */
  onMessage?: (data: Buffer, fds: number[], info: { ctrunc: boolean; trunc: boolean }) => void;
  /** The send queue has emptied after `send` returned false. */
  onDrain?: () => void;
  /** The channel ended: 0 for the peer's orderly close, else a positive errno. Called once. */
  onClose?: (errno: number) => void;
}

export interface UnixChannelOptions {
  /** Largest message read at once (default 64 KiB). */
  maxMessage?: number;
  /** Most fds accepted per message (default 16); extra ones are closed and reported as ctrunc. */
  maxFds?: number;
  /** Queued bytes above which `send` returns false (default 1 MiB). */
  highWaterMark?: number;
  /** Queued (not yet sent) fds above which `send` returns false (default 64): each one is open. */
  fdHighWaterMark?: number;
  /** Messages read per readiness event before yielding to the event loop (default 64). */
  readBatch?: number;
}

export interface SendOptions {
  /** Close the passed fds once they have been sent (or the channel closes first). */
  closeFds?: boolean;
}

interface Pending {
  data: Buffer;
  fds: number[];
  closeFds: boolean;
}

export class UnixChannel {
  handlers: UnixChannelHandlers = {};
  private readonly watcher: FdWatcher;
  private readonly queue: Pending[] = [];
  private queued = 0;
  private queuedFds = 0;
  private readonly maxMessage: number;
  private readonly maxFds: number;
  private readonly highWaterMark: number;
  private readonly fdHighWaterMark: number;
  private readonly readBatch: number;
  private reading = true;
  private closed = false;
  private needDrain = false;

  /** Takes ownership of `fd` (a connected AF_UNIX socket) and makes it nonblocking. */
  constructor(
    readonly fd: number,
    opts: UnixChannelOptions = {},
  ) {
    this.maxMessage = opts.maxMessage ?? 65536;
    this.maxFds = opts.maxFds ?? 16;
    this.highWaterMark = opts.highWaterMark ?? 1 << 20;
    this.fdHighWaterMark = opts.fdHighWaterMark ?? 64;
    this.readBatch = opts.readBatch ?? 64;
    setNonBlocking(fd, true);
    this.watcher = fdWatcher(fd, (readable, writable, errno) => this.onEvent(readable, writable, errno));
    this.arm();
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /** Fds waiting in the send queue (still open in this process). */
  get queuedFdCount(): number {
    return this.queuedFds;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends `data` with `fds` (SCM_RIGHTS). `data` must not be empty when fds are passed (the kernel
   * needs a byte to carry them). Returns false when the queue is above the high-water mark (the
   * data is still queued) or the channel is closed (nothing sent; fds closed if `closeFds`).
   */
  send(data: Buffer, fds: readonly number[] = [], opts: SendOptions = {}): boolean {
    const closeFds = opts.closeFds ?? false;
    if (this.closed) {
      if (closeFds) closeAll(fds);
      return false;
    }
    if (fds.length > 0 && data.length === 0) throw new RangeError('fds need at least one data byte to travel with');
    this.queue.push({ data, fds: [...fds], closeFds });
    this.queued += data.length;
    this.queuedFds += fds.length;
    if (this.queue.length === 1) this.flush();
    if (this.closed) return false;
    if (this.queued > this.highWaterMark || this.queuedFds > this.fdHighWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Stops reading (backpressure toward the peer); `resume` restarts it. */
  pause(): void {
    this.reading = false;
    this.arm();
  }

  resume(): void {
    this.reading = true;
    this.arm();
  }

  /** Closes the socket at once; queued data is discarded. onClose is not called. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    for (const p of this.queue.splice(0)) if (p.closeFds) closeAll(p.fds);
    this.queued = 0;
    this.queuedFds = 0;
    try {
      closeFd(this.fd);
    } catch {
      // already gone
    }
  }

  private arm(): void {
    if (this.closed) return;
    this.watcher.start(this.reading, this.queue.length > 0);
  }

  private onEvent(readable: boolean, writable: boolean, errno: number): void {
    if (errno !== 0) return this.fail(errno);
    if (writable) this.flush();
    if (readable && this.reading && !this.closed) this.readSome();
  }

  private readSome(): void {
    for (let i = 0; i < this.readBatch && !this.closed && this.reading; i++) {
      let got;
      try {
        got = recvFds(this.fd, this.maxMessage, this.maxFds);
      } catch (e) {
        return this.fail(isSystemError(e) ? e.errno : 5 /* EIO */);
      }
      if (got === null) return;
      if (got.data.length === 0 && got.fds.length === 0) return this.fail(0);
      this.handlers.onMessage?.(got.data, got.fds, { ctrunc: got.ctrunc, trunc: got.trunc });
      if (!this.handlers.onMessage) closeAll(got.fds);
    }
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0]!;
      let n: number | null;
      try {
        n = sendFds(this.fd, head.data, head.fds);
      } catch (e) {
        return this.fail(isSystemError(e) ? e.errno : 5 /* EIO */);
      }
      if (n === null) break;
      // The fds went with the first byte: never send them again, close them if asked.
      if (head.closeFds) closeAll(head.fds);
      this.queuedFds -= head.fds.length;
      head.fds = [];
      this.queued -= n;
      if (n < head.data.length) {
        head.data = head.data.subarray(n);
        continue;
      }
      this.queue.shift();
    }
    if (this.closed) return;
    this.arm();
    if (this.queue.length === 0 && this.needDrain) {
      this.needDrain = false;
      this.handlers.onDrain?.();
    }
  }

  private fail(errno: number): void {
    if (this.closed) return;
    this.close();
    // Reported from a fresh task so a send() that hit the error returns before onClose runs.
    queueMicrotask(() => this.handlers.onClose?.(errno));
  }
}

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeFd(fd);
    } catch {
      // the owner may have closed it already
    }
  }
}
