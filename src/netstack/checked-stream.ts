/**
 * One TCP stream of known bytes from one netstack to a listener on another, what arrives hashed
 * by SHA-256 as it comes: the overlay benchmark and the node simulation tests move data this way
 * and compare digests. It does no timing and drives no clock: the caller runs time (virtual or
 * real) until `finished()`.
 */
import { createHash } from 'node:crypto';
import type { TcpSocket } from './socket-api.js';
import type { NetStack } from './stack-api.js';

export interface CheckedStreamOptions {
  /** Bytes the client sends before it half-closes. */
  total: number;
  /** The next bytes to write from stream offset `off` (non-empty while off < total). */
  bytesAt: (off: number) => Uint8Array;
  /** Most bytes taken per read on the receiving side. */
  readBytes: number;
}

export class CheckedStream {
  /** Bytes the listener's connection has read so far. */
  received = 0;
  /** The receiving side read end of stream. */
  eof = false;
  /** The errno the sending socket failed with, or null. */
  failed: number | null = null;
  private readonly rx = createHash('sha256');
  private readonly listener: TcpSocket;
  private readonly sock: TcpSocket;

  constructor(
    client: NetStack,
    server: NetStack,
    private readonly serverIp: number,
    private readonly port: number,
    opts: CheckedStreamOptions,
  ) {
    const listener = server.tcpSocket();
    if (listener.bind(0, port) < 0 || listener.listen(4) < 0) throw new Error(`checked stream: listen on port ${port} failed`);
    listener.handlers.onAcceptable = () => {
      const conn = listener.accept();
      if (!conn) return;
      const drain = (): void => {
        for (;;) {
          const r = conn.read(opts.readBytes);
          if (typeof r === 'number') {
            if (r === 0) {
              this.eof = true;
              conn.close();
            }
            return;
          }
          this.received += r.length;
          this.rx.update(r);
        }
      };
      conn.handlers.onReadable = drain;
      drain();
    };
    const sock = client.tcpSocket();
    let off = 0;
    const pump = (): void => {
      while (off < opts.total) {
        const n = sock.write(opts.bytesAt(off));
        if (n <= 0) return;
        off += n;
      }
      sock.shutdown(1);
    };
    sock.handlers.onConnect = pump;
    sock.handlers.onWritable = pump;
    sock.handlers.onError = (e) => {
      this.failed = e;
    };
    this.listener = listener;
    this.sock = sock;
  }

  /** Starts the connection; the bytes flow as the caller runs time. */
  connect(): void {
    this.sock.connect(this.serverIp, this.port);
  }

  /** The stream has ended: all read, or the sender failed. */
  finished(): boolean {
    return this.eof || this.failed !== null;
  }

  /** SHA-256 (hex) of everything received; call once, after the stream has finished. */
  receivedSha256(): string {
    return this.rx.digest('hex');
  }

  close(): void {
    this.sock.close();
    this.listener.close();
  }
}
