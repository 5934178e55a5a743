/**
 * Packets that arrived from (or wait to go to) an address whose identity we do not know yet. They
 * wait while WHOIS goes to a root; when the identity arrives they are processed, and after the
 * retries run out they are dropped and counted. Bounded per address and in total.
 */
import type { Endpoint } from './endpoint.js';
import { Timing } from '../timing.js';

export interface QueuedInbound {
  kind: 'in';
  packet: Buffer;
  from: Endpoint;
}

export interface QueuedOutbound {
  kind: 'out';
  /** Called with the identity known; the caller rebuilds and sends the packet. */
  send: () => void;
}

export type QueuedItem = QueuedInbound | QueuedOutbound;

interface Waiting {
  items: QueuedItem[];
  retries: number;
  lastSent: number;
}

export class WhoisQueue {
  private readonly waiting = new Map<bigint, Waiting>();
  dropped = 0;

  constructor(
    private readonly maxPerAddress = 32,
    private readonly maxAddresses = 1024,
  ) {}

  /** Queues an item; returns true when a WHOIS should be sent now (first item for this address). */
  add(address: bigint, item: QueuedItem, now: number): boolean {
    let w = this.waiting.get(address);
    if (!w) {
      if (this.waiting.size >= this.maxAddresses) {
        this.dropped++;
        return false;
      }
      w = { items: [], retries: 0, lastSent: now };
      this.waiting.set(address, w);
      w.items.push(item);
      return true;
    }
    if (w.items.length >= this.maxPerAddress) {
      w.items.shift();
      this.dropped++;
    }
    w.items.push(item);
    return false;
  }

  has(address: bigint): boolean {
    return this.waiting.has(address);
  }

  /** Removes and returns what waited for `address` (its identity arrived). */
  take(address: bigint): QueuedItem[] {
    const w = this.waiting.get(address);
    this.waiting.delete(address);
    return w ? w.items : [];
  }

  /** Addresses whose WHOIS should be sent again now; gives up (dropping their items) after the retries. */
  due(now: number): bigint[] {
    const out: bigint[] = [];
    for (const [addr, w] of this.waiting) {
      if (now - w.lastSent < Timing.whoisRetry) continue;
      if (w.retries >= Timing.whoisMaxRetries) {
        this.dropped += w.items.length;
        this.waiting.delete(addr);
        continue;
      }
      w.retries++;
      w.lastSent = now;
      out.push(addr);
    }
    return out;
  }

  get size(): number {
    return this.waiting.size;
  }
}
