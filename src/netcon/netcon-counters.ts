/**
 * Counters for one network's netcon server: sockets open, RPCs by kind, errors by errno, bytes
 * each way, and every connection or message dropped for being malformed or unauthorised.
 */
import { Counters, errnoName } from '../netstack/index.js';
import { opName } from './protocol.js';

export class NetconCounters {
  private readonly named = new Counters();
  socketsOpen = 0;
  bytesFromApps = 0;
  bytesToApps = 0;

  inc(name: string, n = 1): void {
    this.named.inc(name, n);
  }

  get(name: string): number {
    return this.named.get(name);
  }

  rpc(op: number): void {
    this.named.inc(`rpc.${opName(op) ?? op}`);
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
      ...this.named.snapshot(),
    };
  }
}
