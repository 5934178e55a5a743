/**
 * The stack's IPv4 routing table: longest prefix wins, then the lowest metric. Addresses' subnet
 * routes and a default gateway live here alike.
 */
import { inSubnet, prefixMask, type Ipv4Addr } from './addr.js';
import type { Ipv4Route as Route } from './stack-api.js';

export class RouteTable {
  private entries: Route[] = [];
  /** Bumped on every change so callers can cache lookups. */
  generation = 0;

  /** Adds a route, replacing one with the same destination, prefix and gateway. Returns false when invalid. */
  add(route: Route): boolean {
    if (!Number.isInteger(route.prefixLen) || route.prefixLen < 0 || route.prefixLen > 32) return false;
    const dest = (route.dest & prefixMask(route.prefixLen)) >>> 0;
    const r: Route = { dest, prefixLen: route.prefixLen, gateway: route.gateway, metric: route.metric };
    this.entries = this.entries.filter((e) => !(e.dest === dest && e.prefixLen === r.prefixLen && e.gateway === r.gateway));
    this.entries.push(r);
    // most specific first, then by metric, so lookup takes the first match
    this.entries.sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
    this.generation++;
    return true;
  }

  /** Removes every route to dest/prefixLen; returns how many. */
  remove(dest: Ipv4Addr, prefixLen: number): number {
    const d = (dest & prefixMask(prefixLen)) >>> 0;
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !(e.dest === d && e.prefixLen === prefixLen));
    if (this.entries.length !== before) this.generation++;
    return before - this.entries.length;
  }

  /** Removes only the on-link (gateway-less) route to dest/prefixLen. */
  removeOnLink(dest: Ipv4Addr, prefixLen: number): void {
    const d = (dest & prefixMask(prefixLen)) >>> 0;
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !(e.dest === d && e.prefixLen === prefixLen && e.gateway === null));
    if (this.entries.length !== before) this.generation++;
  }

  lookup(dst: Ipv4Addr): Route | null {
    for (const e of this.entries) if (inSubnet(dst, e.dest, e.prefixLen)) return e;
    return null;
  }

  list(): Route[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
