/**
 * Counters for one network's netcon server: sockets open, RPCs by kind, errors by errno, bytes
 * and datagrams each way, and every connection, message or datagram dropped (malformed,
 * unauthorised, no room at the app: `dgramDrop.<reason>`).
 */
import { Counters, errnoName } from '../netstack/index.js';
import { opName } from './protocol.js';

export class NetconCounters {
  private readonly named = new Counters();
  socketsOpen = 0;
  bytesFromApps = 0;
  bytesToApps = 0;
  /** Datagram records taken from apps (well-formed DATA records) and delivered to them. */
  datagramsFromApps = 0;
  datagramsToApps = 0;
  socketsOpenDatagram = 0;
  /** Same-daemon fast-path connections the daemon keeps records of (fast-path.ts). */
  fastPathOpen = 0;

  inc(name: string, n = 1): void {
    this.named.inc(name, n);
  }

  get(name: string): number {
    return this.named.get(name);
  }

  rpc(op: number): void {
    this.named.inc(`rpc.${opName(op) ?? op}`);
  }

  /** Datagrams dropped for `reason` (malformed, appFull, send.EACCES…), as `dgramDrop.<reason>`. */
  dgramDrop(reason: string, n = 1): void {
    this.named.inc(`dgramDrop.${reason}`, n);
  }

  /** An errno given to an app (positive or negative value). */
  error(errno: number): void {
    this.named.inc(`errno.${errnoName(errno)}`);
  }

  snapshot(): Record<string, number> {
    return {
      socketsOpen: this.socketsOpen,
      bytesFromApps: this.bytesFromApps,
      bytesToApps: this.bytesToApps,
      datagramsFromApps: this.datagramsFromApps,
      datagramsToApps: this.datagramsToApps,
      socketsOpenDatagram: this.socketsOpenDatagram,
      fastPathOpen: this.fastPathOpen,
      ...this.named.snapshot(),
    };
  }
}
