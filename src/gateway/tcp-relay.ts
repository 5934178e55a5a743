/**
 * Relays one TCP connection between a host socket (node:net) and a stack socket, both ways, with
 * backpressure and half-close: bytes are read from the stack only while the host socket takes
 * them (the stack's receive window closes otherwise), and the host socket is paused while the
 * stack's send buffer is full. A FIN either way becomes a shutdown the other way once everything
 * before it was passed on; a reset or error either way aborts the other side.
 */
import type { Socket } from 'node:net';
import { Errno, SHUT_WR, type TcpSocket } from '../netstack/index.js';

/** How much is read from the stack per call. */
const READ_CHUNK = 256 * 1024;

export interface RelayCounters {
  bytesIn: number;
  bytesOut: number;
}

/**
 * Starts relaying between `host` and `inner` (connecting or connected); `done` is called once,
 * when both sides are finished.
 */
export function relayTcp(host: Socket, inner: TcpSocket, counters: RelayCounters, done: () => void): void {
  let pending: Buffer | null = null; // host bytes the stack had no room for yet
  let hostEnded = false; // the host client sent FIN
  let innerEof = false; // the member sent FIN (host.end() called)
  let waitingDrain = false; // host socket's buffer full: stop reading the stack
  let finished = false;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    done();
  };
  const abortBoth = (): void => {
    inner.handlers = {};
    inner.abort();
    host.destroy();
    finish();
  };

  /** Writes what the host sent into the stack; true when all of it went (the host may go on sending). */
  const writeToInner = (): boolean => {
    while (pending) {
      const n = inner.write(pending);
      if (n === -Errno.EAGAIN || n === 0) return false; // onWritable resumes
      if (n < 0) {
        abortBoth();
        return false;
      }
      counters.bytesIn += n;
      pending = n < pending.length ? pending.subarray(n) : null;
    }
    if (hostEnded) inner.shutdown(SHUT_WR);
    return true;
  };
  const pushToInner = (): void => {
    if (writeToInner() && !hostEnded) host.resume();
  };

  const pullFromInner = (): void => {
    while (!waitingDrain && !innerEof) {
      const r = inner.read(READ_CHUNK);
      if (r === -Errno.EAGAIN) return;
      if (r === 0) {
        innerEof = true;
        host.end();
        return;
      }
      if (typeof r === 'number') return abortBoth();
      counters.bytesOut += r.length;
      if (!host.write(r)) waitingDrain = true;
    }
  };

  // the endpoints' own Nagle already shaped what arrives: a relay that held small segments back
  // again would only add delayed-ACK stalls to request/response traffic (as passt does, no Nagle)
  host.setNoDelay(true);
  inner.setOption('NODELAY', 1);
  inner.handlers = {
    onConnect: () => pushToInner(),
    onReadable: () => pullFromInner(),
    onWritable: () => pushToInner(),
    onError: () => abortBoth(),
    onClose: () => {
      if (!host.destroyed && !innerEof) host.destroy();
      finish();
    },
  };
  host.on('data', (chunk: Buffer) => {
    pending = pending ? Buffer.concat([pending, chunk]) : chunk;
    // the host socket keeps flowing while the stack takes everything (no stop/start of its reads
    // per chunk); it is paused only while bytes wait for room or for the connection
    if (!(inner.state === 'ESTABLISHED' || inner.state === 'CLOSE_WAIT') || !writeToInner()) host.pause();
  });
  host.on('end', () => {
    hostEnded = true;
    if (!pending && (inner.state === 'ESTABLISHED' || inner.state === 'CLOSE_WAIT')) inner.shutdown(SHUT_WR);
  });
  host.on('drain', () => {
    waitingDrain = false;
    pullFromInner();
  });
  host.on('error', () => abortBoth());
  host.on('close', () => {
    // the host side is gone: a graceful close of the inner side once it is done, else a reset
    if (finished) return;
    if (hostEnded && innerEof) inner.close();
    else if (!hostEnded) abortBoth();
  });
}
