/**
 * The IPv6 neighbor cache (RFC 4861 §7.3): link-layer addresses of on-link neighbors with their
 * reachability state, INCOMPLETE → REACHABLE / STALE → DELAY → PROBE, and the frames waiting for
 * a resolution.
 *
 * Resolution: the first frame to an unknown neighbor creates an INCOMPLETE entry, is queued
 * (bounded per entry and in total, as the ARP cache) and a solicitation goes to the neighbor's
 * solicited-node group; up to MAX_MULTICAST_SOLICIT (3) go out RETRANS_TIMER (1 s) apart, then
 * the entry fails and its frames go to `onFailure` (their senders hear ICMPv6 address
 * unreachable). A confirmed entry is REACHABLE for ReachableTime (30 s, randomised 0.5–1.5×,
 * §6.3.2); then STALE. Sending to a STALE neighbor uses it and moves it to DELAY; 5 s later
 * (DELAY_FIRST_PROBE_TIME) it is PROBEd with up to MAX_UNICAST_SOLICIT (3) unicast solicitations
 * 1 s apart, and dropped when none is answered. As in the ARP cache, these transitions are taken
 * when the entry is used, so the send path arms no timers; only resolution does.
 *
 * Advertisements and solicitations update entries by the rules of §7.2.3 and §7.2.5 (the
 * override flag, solicited → REACHABLE, a new link-layer address → STALE).
 */
import { formatIpv6, formatMac, type Ipv6Addr } from './addr.js';
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import type { RandomSource } from './random.js';

export const enum NeighborState {
  Incomplete = 'INCOMPLETE',
  Reachable = 'REACHABLE',
  Stale = 'STALE',
  Delay = 'DELAY',
  Probe = 'PROBE',
}

export interface NeighborCacheOptions {
  /** MAX_MULTICAST_SOLICIT */
  maxMulticastSolicit?: number;
  /** MAX_UNICAST_SOLICIT */
  maxUnicastSolicit?: number;
  /** RetransTimer */
  retransMs?: number;
  /** BaseReachableTime */
  reachableMs?: number;
  /** DELAY_FIRST_PROBE_TIME */
  delayFirstProbeMs?: number;
  queuePerEntry?: number;
  queueBytes?: number;
  maxEntries?: number;
  maxIncomplete?: number;
}

export interface NeighborCacheDeps {
  scheduler: Scheduler;
  counters: Counters;
  random: RandomSource;
  /** Sends a solicitation for `target`: to its solicited-node group when `mac` is null, else unicast to `mac`. */
  solicit(target: Ipv6Addr, mac: Buffer | null): void;
  /** Sends a queued frame once its destination MAC is known (already written at frame[0..6]). */
  transmit(frame: Buffer): void;
  /** Resolution failed: the frames that waited for `target`. */
  onFailure(target: Ipv6Addr, frames: Buffer[]): void;
}

interface Entry {
  state: NeighborState;
  mac: Buffer | null;
  router: boolean;
  /** REACHABLE until then; DELAY until then. */
  until: number;
  /** Solicitations sent in the current resolution or probe. */
  probes: number;
  nextProbeAt: number;
  queue: Buffer[];
  queuedBytes: number;
  timer: Timer | null;
}

export class NeighborCache {
  readonly maxMulticastSolicit: number;
  readonly maxUnicastSolicit: number;
  readonly retransMs: number;
  readonly reachableMs: number;
  readonly delayFirstProbeMs: number;
  private readonly queuePerEntry: number;
  private readonly queueBytesLimit: number;
  private readonly maxEntries: number;
  private readonly maxIncomplete: number;
  private readonly entries = new Map<Ipv6Addr, Entry>();
  private incomplete = 0;
  private queuedBytes = 0;

  constructor(
    private readonly deps: NeighborCacheDeps,
    o: NeighborCacheOptions = {},
  ) {
    this.maxMulticastSolicit = o.maxMulticastSolicit ?? 3;
    this.maxUnicastSolicit = o.maxUnicastSolicit ?? 3;
    this.retransMs = o.retransMs ?? 1000;
    this.reachableMs = o.reachableMs ?? 30_000;
    this.delayFirstProbeMs = o.delayFirstProbeMs ?? 5000;
    this.queuePerEntry = o.queuePerEntry ?? 64;
    this.queueBytesLimit = o.queueBytes ?? 1 << 20;
    this.maxEntries = o.maxEntries ?? 1024;
    this.maxIncomplete = o.maxIncomplete ?? 128;
  }

  /** §6.3.2: a random ReachableTime between 0.5 and 1.5 times the base. */
  private reachableTime(): number {
    return this.reachableMs * (0.5 + this.deps.random.u32() / 4294967296);
  }

  /**
   * The MAC to send a frame to `ip` with, or null when unresolved (then `enqueue` it). Using an
   * entry takes it through its state machine (REACHABLE expiring to STALE, STALE → DELAY → PROBE).
   */
  lookup(ip: Ipv6Addr): Buffer | null {
    const e = this.entries.get(ip);
    if (!e || !e.mac) return null;
    const now = this.deps.scheduler.now();
    if (e.state === NeighborState.Reachable) {
      if (now < e.until) return e.mac;
      e.state = NeighborState.Stale;
    }
    if (e.state === NeighborState.Stale) {
      // a packet sent to a STALE neighbor starts the delay before probing
      e.state = NeighborState.Delay;
      e.until = now + this.delayFirstProbeMs;
      return e.mac;
    }
    if (e.state === NeighborState.Delay) {
      if (now < e.until) return e.mac;
      e.state = NeighborState.Probe;
      e.probes = 0;
      e.nextProbeAt = now;
    }
    if (now < e.nextProbeAt) return e.mac;
    if (e.probes >= this.maxUnicastSolicit) {
      this.deps.counters.inc('nd_probe_failed');
      this.entries.delete(ip);
      return null;
    }
    e.probes++;
    e.nextProbeAt = now + this.retransMs;
    this.deps.counters.inc('tx_nd_probe');
    this.deps.solicit(ip, e.mac);
    return e.mac;
  }

  /** Queues `frame` until `ip` resolves, starting resolution if needed. Returns false when dropped. */
  enqueue(ip: Ipv6Addr, frame: Buffer): boolean {
    let e = this.entries.get(ip);
    if (e && e.mac) {
      const mac = e.mac;
      for (let i = 0; i < 6; i++) frame[i] = mac[i]!;
      this.deps.transmit(frame);
      return true;
    }
    let fresh = false;
    if (!e) {
      if (this.incomplete >= this.maxIncomplete) {
        this.deps.counters.inc('nd_incomplete_overflow');
        return false;
      }
      this.makeRoom();
      e = this.newEntry(NeighborState.Incomplete, null);
      this.entries.set(ip, e);
      this.incomplete++;
      fresh = true;
    }
    if (e.queue.length >= this.queuePerEntry || this.queuedBytes + frame.length > this.queueBytesLimit) {
      this.deps.counters.inc('nd_queue_overflow');
      return false;
    }
    e.queue.push(frame);
    e.queuedBytes += frame.length;
    this.queuedBytes += frame.length;
    // queue first, then ask: a link that answers synchronously resolves the entry inside
    if (fresh) this.resolve(ip, e);
    return true;
  }

  private newEntry(state: NeighborState, mac: Buffer | null): Entry {
    return { state, mac, router: false, until: 0, probes: 0, nextProbeAt: 0, queue: [], queuedBytes: 0, timer: null };
  }

  private resolve(ip: Ipv6Addr, e: Entry): void {
    e.probes++;
    this.deps.counters.inc('tx_nd_solicit');
    this.deps.solicit(ip, null);
    e.timer = this.deps.scheduler.setTimer(this.retransMs, () => {
      e.timer = null;
      if (this.entries.get(ip) !== e || e.mac) return;
      if (e.probes < this.maxMulticastSolicit) {
        this.resolve(ip, e);
        return;
      }
      this.entries.delete(ip);
      this.incomplete--;
      this.queuedBytes -= e.queuedBytes;
      this.deps.counters.inc('nd_resolve_failed');
      const frames = e.queue;
      e.queue = [];
      this.deps.onFailure(ip, frames);
    });
  }

  /**
   * A solicitation (NS, RS, RA) from `ip` carrying its source link-layer address (§7.2.3, §6.2.6,
   * §6.3.4): a new entry is STALE; a different address replaces the old one and makes it STALE.
   */
  learnFromSolicitation(ip: Ipv6Addr, mac: Uint8Array, router = false): void {
    const e = this.entries.get(ip);
    if (!e) {
      this.makeRoom();
      const n = this.newEntry(NeighborState.Stale, Buffer.from(mac.subarray(0, 6)));
      n.router = router;
      this.entries.set(ip, n);
      return;
    }
    if (router) e.router = true;
    if (e.mac && macEquals(e.mac, mac)) return;
    this.setMac(e, mac);
    e.state = NeighborState.Stale;
    this.flush(e);
  }

  /** A neighbor advertisement for `ip` (§7.2.5). Returns false when it changed nothing (no entry). */
  advertisement(ip: Ipv6Addr, mac: Uint8Array | null, solicited: boolean, override: boolean, router: boolean): boolean {
    const e = this.entries.get(ip);
    if (!e) {
      this.deps.counters.inc('rx_na_no_entry');
      return false;
    }
    const now = this.deps.scheduler.now();
    if (e.state === NeighborState.Incomplete) {
      if (!mac) {
        this.deps.counters.inc('rx_na_without_lladdr');
        return false;
      }
      this.setMac(e, mac);
      e.router = router;
      e.state = solicited ? NeighborState.Reachable : NeighborState.Stale;
      e.until = now + this.reachableTime();
      this.flush(e);
      return true;
    }
    const differs = mac !== null && !macEquals(e.mac!, mac);
    if (!override && differs) {
      // someone else claims the address without override: distrust the cached one, change nothing else
      if (e.state === NeighborState.Reachable) e.state = NeighborState.Stale;
      return true;
    }
    if (differs) this.setMac(e, mac);
    if (solicited) {
      e.state = NeighborState.Reachable;
      e.until = now + this.reachableTime();
      e.probes = 0;
    } else if (differs) e.state = NeighborState.Stale;
    e.router = router;
    return true;
  }

  private setMac(e: Entry, mac: Uint8Array): void {
    if (!e.mac) {
      e.mac = Buffer.from(mac.subarray(0, 6));
      this.incomplete--;
      e.timer?.cancel();
      e.timer = null;
      e.probes = 0;
    } else for (let i = 0; i < 6; i++) e.mac[i] = mac[i]!;
  }

  private flush(e: Entry): void {
    if (e.queue.length === 0) return;
    const frames = e.queue;
    e.queue = [];
    this.queuedBytes -= e.queuedBytes;
    e.queuedBytes = 0;
    const m = e.mac!;
    for (const f of frames) {
      for (let i = 0; i < 6; i++) f[i] = m[i]!;
      this.deps.transmit(f);
    }
  }

  /** Drops a resolved entry when the table is full (oldest first; incomplete ones are kept). */
  private makeRoom(): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [ip, e] of this.entries) {
      if (e.mac) {
        this.entries.delete(ip);
        this.deps.counters.inc('nd_evicted');
        return;
      }
    }
  }

  /** The state of `ip`'s entry (as of its last use), or null when there is none. */
  state(ip: Ipv6Addr): NeighborState | null {
    return this.entries.get(ip)?.state ?? null;
  }

  isRouter(ip: Ipv6Addr): boolean {
    return this.entries.get(ip)?.router ?? false;
  }

  /** Forgets everything and cancels timers. */
  clear(): void {
    for (const e of this.entries.values()) e.timer?.cancel();
    this.entries.clear();
    this.incomplete = 0;
    this.queuedBytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get pendingFrames(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.queue.length;
    return n;
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Entries for diagnostics and tests. */
  dump(): { ip: string; mac: string | null; state: NeighborState; router: boolean }[] {
    return [...this.entries].map(([ip, e]) => ({
      ip: formatIpv6(ip),
      mac: e.mac ? formatMac(e.mac) : null,
      state: e.state,
      router: e.router,
    }));
  }
}

function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
