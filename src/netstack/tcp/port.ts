/**
 * What a connection may ask of its TCP layer: a narrow port instead of the layer itself, so the
 * connection's files never import the layer (smoltcp's sockets likewise see only what the
 * interface hands them). `C` is the connection type the layer keeps in its tables.
 */
import type { IpAddr } from '../addr.js';
import type { Scheduler } from '../clock.js';
import type { Counters } from '../counters.js';
import type { IpSender, IpSendOptions } from '../transport.js';
import type { IsnGenerator } from './isn.js';

export interface TcpPort<C> {
  readonly counters: Counters;
  /** The clock (`now()`) and timers. */
  readonly scheduler: Scheduler;
  /** Routing questions (source address, path payload, is an address ours) and uncounted sends. */
  readonly ip: IpSender<IpAddr>;
  readonly isn: IsnGenerator;

  /** Sends one segment built with HEADROOM free bytes, counted in tx_segments; 0 or -errno. */
  sendSegment(src: IpAddr, dst: IpAddr, buf: Buffer, opts: IpSendOptions): number;
  /** A bare RST (no connection state needed), e.g. for an unacceptable ACK in SYN_SENT. */
  sendRstFor(src: IpAddr, dst: IpAddr, sport: number, dport: number, seq: number, ack: number, withAck: boolean): void;
  /** RFC 5961 §7: takes one challenge ACK from the layer-wide budget; false when spent. */
  allowChallengeAck(): boolean;

  /** Opens a unit of work; pair with exit() in a `finally` (or use run()). */
  enter(): void;
  exit(): void;
  /** Runs `fn` as one unit of work, ended even when it throws. */
  run<T>(fn: () => T): T;
  /** Queues a connection whose handlers have events to flush at the end of the unit of work. */
  queueEvents(c: C): void;
  /** Defers a connection's every-second-segment ACK to the receive burst's end; false outside a burst. */
  deferAck(c: C): boolean;

  bindSocket(c: C, addr: IpAddr, port: number): number;
  /** Assigns the local side of an active open and registers the 4-tuple; 0 or -errno. */
  connectTuple(c: C, src: IpAddr, dst: IpAddr, dport: number): number;
  addListener(c: C): number;
  removeListener(c: C): void;
  /** Removes a connection from every table (it reached CLOSED). */
  unregister(c: C): void;
  enterTimeWait(c: C): void;
  restartTimeWait(c: C): void;
}
