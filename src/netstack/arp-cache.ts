/**
 * The ARP neighbour cache (RFC 826, with RFC 1122 §2.3.2 queueing and retries).
 *
 * Resolution: the first packet to an unknown address creates an INCOMPLETE entry, is queued
 * (bounded per entry and in total) and a request is broadcast; up to `retries` requests go out
 * `retryMs` apart, then the entry fails and its queued frames are handed to `onFailure` (the IP
 * layer turns them into EHOSTUNREACH for their senders). A resolved entry is trusted for
 * `reachableMs`; after that it is still used while up to `retries` refresh requests go out, and
 * dropped when none is answered. Entries are bounded in number; the oldest resolved one is evicted.
 * Expiry is checked when an entry is used, so the fast path arms no timers.
 */
import { formatMac, type Ipv4Addr } from './addr.js';
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';

export interface ArpCacheOptions {
  retries?: number;
  retryMs?: number;
  reachableMs?: number;
  /** Frames queued per unresolved address. */
  queuePerEntry?: number;
  /** Bytes queued over all unresolved addresses. */
  queueBytes?: number;
  maxEntries?: number;
  maxIncomplete?: number;
}

export interface ArpCacheDeps {
  scheduler: Scheduler;
  counters: Counters;
  /** Broadcasts a request for `ip`. */
  sendRequest(ip: Ipv4Addr): void;
  /** Sends a queued frame once its destination MAC is known (already written at frame[0..6]). */
  transmit(frame: Buffer): void;
  /** Resolution failed: the frames that waited for `ip`. */
  onFailure(ip: Ipv4Addr, frames: Buffer[]): void;
}

interface Entry {
  mac: Buffer | null;
  /** Resolved: trusted until then. */
  expiresAt: number;
  /** Requests sent in the current resolution or refresh. */
  tries: number;
  nextProbeAt: number;
  queue: Buffer[];
  queuedBytes: number;
  timer: Timer | null;
}

export class ArpCache {
  readonly retries: number;
  readonly retryMs: number;
  readonly reachableMs: number;
  private readonly queuePerEntry: number;
  private readonly queueBytesLimit: number;
  private readonly maxEntries: number;
  private readonly maxIncomplete: number;
  private readonly entries = new Map<Ipv4Addr, Entry>();
  private incomplete = 0;
  private queuedBytes = 0;

  constructor(
    private readonly deps: ArpCacheDeps,
    o: ArpCacheOptions = {},
  ) {
    this.retries = o.retries ?? 3;
    this.retryMs = o.retryMs ?? 1000;
    this.reachableMs = o.reachableMs ?? 30_000;
    this.queuePerEntry = o.queuePerEntry ?? 64;
    this.queueBytesLimit = o.queueBytes ?? 1 << 20;
    this.maxEntries = o.maxEntries ?? 1024;
    this.maxIncomplete = o.maxIncomplete ?? 128;
  }

  /** The MAC for `ip` when resolved (stale entries are still returned while being refreshed), else null. */
  lookup(ip: Ipv4Addr): Buffer | null {
    const e = this.entries.get(ip);
    if (!e || !e.mac) return null;
    const now = this.deps.scheduler.now();
    if (now < e.expiresAt) return e.mac;
    // stale: keep using it while asking again
    if (now >= e.nextProbeAt) {
      if (e.tries >= this.retries) {
        this.deps.counters.inc('stale_expired');
        this.entries.delete(ip);
        return null;
      }
      e.tries++;
      e.nextProbeAt = now + this.retryMs;
      this.deps.counters.inc('tx_refresh_request');
      this.deps.sendRequest(ip);
    }
    return e.mac;
  }

  /** Queues `frame` until `ip` resolves, starting resolution if needed. Returns false when dropped. */
  enqueue(ip: Ipv4Addr, frame: Buffer): boolean {
    let e = this.entries.get(ip);
    if (e && e.mac) {
      // resolved meanwhile (or stale-expired above and re-created): send at once
      const mac = e.mac;
      for (let i = 0; i < 6; i++) frame[i] = mac[i]!;
      this.deps.transmit(frame);
      return true;
    }
    let fresh = false;
    if (!e) {
      if (this.incomplete >= this.maxIncomplete) {
        this.deps.counters.inc('incomplete_overflow');
        return false;
      }
      this.makeRoom();
      e = { mac: null, expiresAt: 0, tries: 0, nextProbeAt: 0, queue: [], queuedBytes: 0, timer: null };
      this.entries.set(ip, e);
      this.incomplete++;
      fresh = true;
    }
    if (e.queue.length >= this.queuePerEntry || this.queuedBytes + frame.length > this.queueBytesLimit) {
      this.deps.counters.inc('queue_overflow');
      return false;
    }
    e.queue.push(frame);
    e.queuedBytes += frame.length;
    this.queuedBytes += frame.length;
    // queue first, then ask: a link that answers synchronously resolves the entry inside probe()
    if (fresh) this.probe(ip, e);
    return true;
  }

  private probe(ip: Ipv4Addr, e: Entry): void {
    e.tries++;
    this.deps.counters.inc('tx_request');
    this.deps.sendRequest(ip);
    e.timer = this.deps.scheduler.setTimer(this.retryMs, () => {
      e.timer = null;
      if (this.entries.get(ip) !== e || e.mac) return;
      if (e.tries < this.retries) {
        this.probe(ip, e);
        return;
      }
      this.entries.delete(ip);
      this.incomplete--;
      this.queuedBytes -= e.queuedBytes;
      this.deps.counters.inc('resolve_failed');
      const frames = e.queue;
      e.queue = [];
      this.deps.onFailure(ip, frames);
    });
  }

  /**
   * Learns ip → mac from an ARP packet. `create` adds a new entry (the packet was meant for us);
   * otherwise only an existing entry is updated (RFC 826's merge rule).
   */
  learn(ip: Ipv4Addr, mac: Uint8Array, create: boolean): void {
    const e = this.entries.get(ip);
    const now = this.deps.scheduler.now();
    if (!e) {
      if (!create) return;
      this.makeRoom();
      this.entries.set(ip, {
        mac: Buffer.from(mac.subarray(0, 6)),
        expiresAt: now + this.reachableMs,
        tries: 0,
        nextProbeAt: 0,
        queue: [],
        queuedBytes: 0,
        timer: null,
      });
      return;
    }
    if (e.mac) {
      for (let i = 0; i < 6; i++) e.mac[i] = mac[i]!;
    } else {
      e.mac = Buffer.from(mac.subarray(0, 6));
      this.incomplete--;
    }
    e.expiresAt = now + this.reachableMs;
    e.tries = 0;
    e.nextProbeAt = 0;
    e.timer?.cancel();
    e.timer = null;
    if (e.queue.length > 0) {
      const frames = e.queue;
      e.queue = [];
      this.queuedBytes -= e.queuedBytes;
      e.queuedBytes = 0;
      const m = e.mac;
      for (const f of frames) {
        for (let i = 0; i < 6; i++) f[i] = m[i]!;
        this.deps.transmit(f);
      }
    }
  }

  /** Drops a resolved entry when the table is full (oldest first; incomplete ones are kept). */
  private makeRoom(): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [ip, e] of this.entries) {
      if (e.mac) {
        this.entries.delete(ip);
        this.deps.counters.inc('evicted');
        return;
      }
    }
  }

  /** Forgets everything (e.g. on address change of the peer's network) and cancels timers. */
  clear(): void {
    for (const e of this.entries.values()) e.timer?.cancel();
    this.entries.clear();
    this.incomplete = 0;
    this.queuedBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Frames waiting for resolution, over all entries. */
  get pendingFrames(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.queue.length;
    return n;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Entries as (ip, mac or null when incomplete), for diagnostics and tests. */
  dump(): { ip: Ipv4Addr; mac: string | null }[] {
    return [...this.entries].map(([ip, e]) => ({ ip, mac: e.mac ? formatMac(e.mac) : null }));
  }
}
