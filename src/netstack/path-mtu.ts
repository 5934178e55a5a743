/**
 * Path MTUs learned from ICMP fragmentation-needed (RFC 1191) and ICMPv6 packet too big (RFC 8201):
 * per destination, lower than the link MTU, forgotten after `ageMs` (10 min, as both RFCs suggest)
 * so a raised path is found again. Bounded in size; the oldest entry goes first. One cache serves
 * one family; its floor is 68 for IPv4 and 1280 for IPv6 (RFC 8201 §4: never below the minimum).
 */
import type { IpAddr } from './addr.js';
import type { Clock } from './clock.js';

export const PMTU_MIN = 68;
/** IPv6's minimum link MTU (RFC 8200 §5). */
export const PMTU_MIN6 = 1280;

export class PathMtuCache {
  private readonly entries = new Map<IpAddr, { mtu: number; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ageMs = 600_000,
    private readonly maxEntries = 1024,
    /** The smallest MTU accepted (a smaller report is refused by `lower`). */
    readonly floor = PMTU_MIN,
  ) {}

  /** The path MTU to `dst`, at most `linkMtu`. */
  get(dst: IpAddr, linkMtu: number): number {
    if (this.entries.size === 0) return linkMtu;
    const e = this.entries.get(dst);
    if (!e) return linkMtu;
    if (this.clock.now() >= e.until) {
      this.entries.delete(dst);
      return linkMtu;
    }
    return Math.min(e.mtu, linkMtu);
  }

  /** Records a smaller MTU for `dst`; returns false when it is not smaller or not plausible. */
  lower(dst: IpAddr, mtu: number, linkMtu: number): boolean {
    if (!(mtu >= this.floor) || mtu >= this.get(dst, linkMtu)) return false;
    if (this.entries.size >= this.maxEntries && !this.entries.has(dst)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(dst);
    this.entries.set(dst, { mtu, until: this.clock.now() + this.ageMs });
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
