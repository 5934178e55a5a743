/**
 * TCP for one stack: the table of connections and listeners, demultiplexing of incoming segments,
 * RST for closed ports, and the socket factory.
 */
import type { Scheduler } from '../clock.js';
import { Counters } from '../counters.js';
import type { RandomSource } from '../random.js';
import type { TcpSocket } from '../socket-api.js';
import type { IpReceiveInfo, IpSender, TransportProtocol } from '../transport.js';
import { IPPROTO_TCP } from '../transport.js';

export interface TcpLayerDeps {
  ip: IpSender;
  scheduler: Scheduler;
  random: RandomSource;
  counters?: Counters;
}

export class TcpLayer implements TransportProtocol {
  readonly protocol = IPPROTO_TCP;
  readonly counters: Counters;

  constructor(private readonly deps: TcpLayerDeps) {
    this.counters = deps.counters ?? new Counters();
  }

  socket(): TcpSocket {
    throw new Error('TcpLayer.socket: not implemented yet');
  }

  receive(_info: IpReceiveInfo, _payload: Buffer): boolean {
    this.counters.inc('rx_unimplemented');
    void this.deps;
    return true;
  }

  receiveIcmpError(): void {}

  /** Aborts every connection and cancels timers. */
  close(): void {}
}
