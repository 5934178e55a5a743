/**
 * A TCP connection from the gateway's stack into the network as a Node Duplex stream, so Node's
 * own HTTP client (and its keep-alive Agent) can speak to a member through the userspace stack.
 * Backpressure both ways as tcp-relay.ts does it: the stack is read only while the stream's
 * consumer wants data (the receive window closes otherwise), and a write completes only once the
 * stack's send buffer took it. `end()` is a FIN after the queued bytes; `destroy()` a reset. As a
 * net.Socket of Node's HTTP client, the stream ends its side when the member ends its own, so a
 * pooled connection the member closed while idle leaves the pool instead of failing a request.
 * Connecting has a deadline: a member that never answers (gone, or no longer routed) is an
 * ETIMEDOUT error rather than a request hanging for TCP's own SYN retries.
 */
import { Duplex } from 'node:stream';
import { Errno, errnoName, SHUT_WR, type Ipv4Addr, type NetStack, type TcpSocket } from '../netstack/index.js';

const READ_CHUNK = 256 * 1024;

/** An error with a POSIX code name, as node:net reports them. */
function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const name = errnoName(errno);
  const e: NodeJS.ErrnoException = new Error(`${what}: ${name}`);
  e.code = name;
  e.errno = errno;
  return e;
}

export class StackStream extends Duplex {
  private connected = false;
  /** A write waiting for the connection or for room in the send buffer. */
  private pendingWrite: { data: Buffer; cb: (e?: Error | null) => void } | null = null;
  private pendingFinal: ((e?: Error | null) => void) | null = null;
  private wantRead = false;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly inner: TcpSocket,
    connectTimeoutMs: number,
  ) {
    super({ allowHalfOpen: false });
    // an error nobody listens for (a pooled connection the member resets while idle) must not
    // throw out of the daemon; whoever uses the stream adds its own listener and still hears it
    this.on('error', () => {});
    inner.handlers = {
      onConnect: () => {
        this.connected = true;
        if (this.connectTimer) clearTimeout(this.connectTimer);
        this.emit('connect');
        this.flush();
        if (this.wantRead) this.pull();
      },
      onReadable: () => this.pull(),
      onWritable: () => this.flush(),
      onError: (errno) => this.destroy(errnoError(errno, this.connected ? 'connection to the member' : 'connect to the member')),
      onClose: () => {
        if (!this.destroyed && this.readableEnded && this.writableFinished) this.destroy();
      },
    };
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        if (!this.connected) this.destroy(errnoError(Errno.ETIMEDOUT, 'connect to the member'));
      }, connectTimeoutMs);
      this.connectTimer.unref();
    }
  }

  /** A connection the stack already established (accepted from a listener) as a stream. */
  static established(inner: TcpSocket): StackStream {
    const stream = new StackStream(inner, 0);
    inner.handlers.onConnect!();
    return stream;
  }

  /** Opens a connection from `stack` to `addr:port`; the stream errors when it cannot be made. */
  static connect(stack: NetStack, addr: Ipv4Addr, port: number, connectTimeoutMs: number): StackStream {
    const s = stack.tcpSocket();
    const stream = new StackStream(s, connectTimeoutMs);
    const r = s.connect(addr, port);
    if (r !== -Errno.EINPROGRESS && r !== 0) process.nextTick(() => stream.destroy(errnoError(-r, 'connect to the member')));
    return stream;
  }

  private flush(): void {
    const w = this.pendingWrite;
    if (w && this.connected) {
      while (w.data.length > 0) {
        const n = this.inner.write(w.data);
        if (n === -Errno.EAGAIN || n === 0) return; // onWritable comes back
        if (n < 0) {
          this.pendingWrite = null;
          return w.cb(errnoError(-n, 'write to the member'));
        }
        w.data = w.data.subarray(n);
      }
      this.pendingWrite = null;
      w.cb();
    }
    if (!this.pendingWrite && this.pendingFinal && this.connected) {
      const cb = this.pendingFinal;
      this.pendingFinal = null;
      this.inner.shutdown(SHUT_WR);
      cb();
    }
  }

  private pull(): void {
    if (!this.connected) return;
    while (this.wantRead) {
      const r = this.inner.read(READ_CHUNK);
      if (r === -Errno.EAGAIN) return;
      if (r === 0) {
        this.wantRead = false;
        this.push(null);
        return;
      }
      if (typeof r === 'number') {
        this.destroy(errnoError(-r, 'read from the member'));
        return;
      }
      this.wantRead = this.push(r);
    }
  }

  override _read(): void {
    this.wantRead = true;
    this.pull();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, cb };
    this.flush();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.pendingFinal = cb;
    this.flush();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.inner.handlers = {};
    // a clean end both ways closes gracefully; anything else resets the member's side
    if (!err && this.readableEnded && this.writableFinished) this.inner.close();
    else this.inner.abort();
    cb(err);
  }

  // what Node's HTTP client and Agent call on a net.Socket; the stack keeps its own timers
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(ms: number, fn?: () => void): this {
    if (fn) this.once('timeout', fn);
    void ms;
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
