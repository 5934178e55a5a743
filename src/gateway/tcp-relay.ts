/**
 * Relays one TCP connection between a host socket (node:net) and a stack socket, both ways, with
 * backpressure and half-close: bytes are read from the stack only while the host socket takes
 * them (the stack's receive window closes otherwise), and the host socket is paused while the
 * stack's send buffer is full. A FIN either way becomes a shutdown the other way once everything
 * before it was passed on; a reset or error either way aborts the other side.
 *
 * What the host sends is written to the stack once per turn of the event loop (setImmediate), all
 * the chunks libuv read in that turn together and corked: the segments they make leave in one
 * batch (one sendmmsg, GSO runs: the UDP transport flushes once the callback returns) with no
 * partial segment at each 64 KiB chunk's end. Per chunk, the batches were a tenth of that size.
 */
import type { Socket } from 'node:net';
import { Errno, SHUT_WR, type TcpSocket } from '../netstack/index.js';

/** How much is read from the stack per call. */
const READ_CHUNK = 256 * 1024;
/** Host bytes held for the next write to the stack before the host socket is paused. */
const MAX_QUEUED = 1024 * 1024;

export interface RelayCounters {
  bytesIn: number;
  bytesOut: number;
}

/**
 * Starts relaying between `host` and `inner` (connecting or connected); `done` is called once,
 * when both sides are finished.
 */
export function relayTcp(host: Socket, inner: TcpSocket, counters: RelayCounters, done: () => void): void {
  const queue: Buffer[] = []; // host bytes not yet written to the stack, in order
  let queued = 0;
  let scheduled = false; // a write to the stack is due this turn
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

  const established = (): boolean => inner.state === 'ESTABLISHED' || inner.state === 'CLOSE_WAIT';
  /** Writes what the host sent into the stack; true when all of it went (the host may go on sending). */
  const writeToInner = (): boolean => {
    if (queue.length > 1) inner.setOption('CORK', 1);
    try {
      while (queue.length > 0) {
        const head = queue[0]!;
        const n = inner.write(head);
        if (n === -Errno.EAGAIN || n === 0) return false; // onWritable resumes
        if (n < 0) {
          abortBoth();
          return false;
        }
        counters.bytesIn += n;
        queued -= n;
        if (n < head.length) {
          queue[0] = head.subarray(n);
          return false;
        }
        queue.shift();
      }
    } finally {
      if (!finished) inner.setOption('CORK', 0);
    }
    if (hostEnded) inner.shutdown(SHUT_WR);
    return true;
  };
  const pushToInner = (): void => {
    if (writeToInner() && !hostEnded) host.resume();
  };
  const writeQueued = (): void => {
    scheduled = false;
    if (finished || !established()) return; // onConnect pushes
    if (!writeToInner()) host.pause();
    else if (!hostEnded) host.resume();
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
    queue.push(chunk);
    queued += chunk.length;
    // the host socket keeps flowing while the stack takes everything (no stop/start of its reads
    // per chunk); it is paused while bytes wait for the connection, for room, or pile up
    if (!established() || queued >= MAX_QUEUED) host.pause();
    if (!scheduled) {
      scheduled = true;
      setImmediate(writeQueued);
    }
  });
  host.on('end', () => {
    hostEnded = true;
    if (queue.length === 0 && established()) inner.shutdown(SHUT_WR);
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
