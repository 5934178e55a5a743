/**
 * The IPv6 side of the interface: the stack's addresses (with their prefix lengths), the prefixes
 * it owns whole (a ZeroTier 6plane member owns its /80: every address in it is ours), the route
 * table (on-link prefixes from the addresses, routes with gateways from the network), and source
 * address selection — a simple RFC 6724: the destination itself when ours, then an address of
 * appropriate scope (§5 rule 2), then not a duplicate one (rule 3, as deprecated), then the
 * longest matching prefix (rule 8).
 */
import { inPrefix6, isLinkLocal6, isMulticast6, IPV6_ANY, IPV6_LOOPBACK, type Ipv6Addr } from './addr.js';

export interface Ipv6InterfaceAddress {
  addr: Ipv6Addr;
  prefixLen: number;
}

export interface Ipv6Route {
  dest: Ipv6Addr;
  prefixLen: number;
  /** null = on-link. */
  gateway: Ipv6Addr | null;
  metric: number;
}

/** RFC 4291 §2.7 / RFC 6724 §3.1 scope of an address: 1 interface-local, 2 link-local, 5 site, 14 global. */
export function ipv6Scope(addr: Ipv6Addr): number {
  if (isMulticast6(addr)) return parseInt(addr[3]!, 16);
  if (isLinkLocal6(addr) || addr === IPV6_LOOPBACK) return 2;
  return 14;
}

/** How many leading bits `a` and `b` share. */
export function commonPrefixLen(a: Ipv6Addr, b: Ipv6Addr): number {
  let i = 0;
  while (i < 32 && a[i] === b[i]) i++;
  if (i === 32) return 128;
  const x = parseInt(a[i]!, 16) ^ parseInt(b[i]!, 16);
  return i * 4 + (Math.clz32(x) - 28);
}

/** Canonical form of a prefix: the bits past `len` cleared. */
export function prefixOf(addr: Ipv6Addr, len: number): Ipv6Addr {
  if (len >= 128) return addr;
  const whole = len >> 2;
  const bits = len & 3;
  let s = addr.slice(0, whole);
  if (bits > 0) s += (parseInt(addr[whole]!, 16) & ((0xf << (4 - bits)) & 0xf)).toString(16);
  return s.padEnd(32, '0');
}

export class Ipv6Addresses {
  /** Bumped on every change so callers can cache answers. */
  generation = 0;
  private addrs: Ipv6InterfaceAddress[] = [];
  private readonly owned: Ipv6InterfaceAddress[] = [];
  /** Addresses another node turned out to use (DAD): kept, but chosen as a source only when nothing else fits. */
  private readonly duplicates = new Set<Ipv6Addr>();

  list(): Ipv6InterfaceAddress[] {
    return this.addrs.map((a) => ({ ...a }));
  }

  get size(): number {
    return this.addrs.length;
  }

  /** Adds or updates an address; false when it was already there unchanged. */
  add(addr: Ipv6Addr, prefixLen: number): boolean {
    const old = this.addrs.find((a) => a.addr === addr);
    if (old && old.prefixLen === prefixLen) return false;
    if (old) old.prefixLen = prefixLen;
    else this.addrs.push({ addr, prefixLen });
    this.generation++;
    return true;
  }

  remove(addr: Ipv6Addr): Ipv6InterfaceAddress | null {
    const i = this.addrs.findIndex((a) => a.addr === addr);
    if (i < 0) return null;
    const [gone] = this.addrs.splice(i, 1);
    this.duplicates.delete(addr);
    this.generation++;
    return gone ?? null;
  }

  /** One of the addresses given with `add` (not merely inside an owned prefix). */
  isAssigned(addr: Ipv6Addr): boolean {
    const a = this.addrs;
    for (let i = 0; i < a.length; i++) if (a[i]!.addr === addr) return true;
    return false;
  }

  /** Ours: assigned, or inside a prefix we own. */
  isOwn(addr: Ipv6Addr): boolean {
    if (this.isAssigned(addr)) return true;
    for (const p of this.owned) if (inPrefix6(addr, p.addr, p.prefixLen)) return true;
    return false;
  }

  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): boolean {
    const p = prefixOf(prefix, prefixLen);
    if (this.owned.some((o) => o.addr === p && o.prefixLen === prefixLen)) return false;
    this.owned.push({ addr: p, prefixLen });
    this.generation++;
    return true;
  }

  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): boolean {
    const p = prefixOf(prefix, prefixLen);
    const i = this.owned.findIndex((o) => o.addr === p && o.prefixLen === prefixLen);
    if (i < 0) return false;
    this.owned.splice(i, 1);
    this.generation++;
    return true;
  }

  ownedPrefixes(): Ipv6InterfaceAddress[] {
    return this.owned.map((a) => ({ ...a }));
  }

  markDuplicate(addr: Ipv6Addr): void {
    if (this.isAssigned(addr)) this.duplicates.add(addr);
  }

  isDuplicate(addr: Ipv6Addr): boolean {
    return this.duplicates.has(addr);
  }

  /** The first link-local address, or null. */
  linkLocal(): Ipv6Addr | null {
    for (const a of this.addrs) if (isLinkLocal6(a.addr)) return a.addr;
    return null;
  }

  /** True when `addr` lies in the on-link prefix of one of our addresses. */
  onLink(addr: Ipv6Addr): boolean {
    if (isLinkLocal6(addr)) return true;
    for (const a of this.addrs) if (inPrefix6(addr, a.addr, a.prefixLen)) return true;
    return false;
  }

  /** RFC 6724 (simplified) source for `dst`, or null when we have no address. */
  selectSource(dst: Ipv6Addr): Ipv6Addr | null {
    let best: Ipv6InterfaceAddress | null = null;
    const ds = ipv6Scope(dst);
    for (const a of this.addrs) {
      if (a.addr === dst) return dst;
      if (best === null || this.better(a.addr, best.addr, dst, ds)) best = a;
    }
    return best?.addr ?? null;
  }

  /** True when `a` is a better source than `b` for `dst`. */
  private better(a: Ipv6Addr, b: Ipv6Addr, dst: Ipv6Addr, ds: number): boolean {
    const sa = ipv6Scope(a);
    const sb = ipv6Scope(b);
    if (sa !== sb) {
      // rule 2: the smallest scope that still reaches the destination, else the largest
      if (sa < sb) return sa >= ds;
      return sb < ds;
    }
    const da = this.duplicates.has(a);
    if (da !== this.duplicates.has(b)) return !da;
    return commonPrefixLen(a, dst) > commonPrefixLen(b, dst);
  }
}

/** Routes over IPv6: longest prefix first, then lowest metric. Link-local destinations are always on-link. */
export class Ipv6RouteTable {
  generation = 0;
  private readonly table: Ipv6Route[] = [];

  add(r: Ipv6Route): void {
    const dest = prefixOf(r.dest, r.prefixLen);
    const i = this.table.findIndex((x) => x.dest === dest && x.prefixLen === r.prefixLen && x.gateway === r.gateway);
    const route = { dest, prefixLen: r.prefixLen, gateway: r.gateway, metric: r.metric };
    if (i >= 0) this.table[i] = route;
    else this.table.push(route);
    this.table.sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
    this.generation++;
  }

  /** Removes every route to dest/prefixLen. */
  remove(dest: Ipv6Addr, prefixLen: number): void {
    const d = prefixOf(dest, prefixLen);
    this.removeWhere((r) => r.dest === d && r.prefixLen === prefixLen);
  }

  /** Removes the on-link route to dest/prefixLen (an address went away). */
  removeOnLink(dest: Ipv6Addr, prefixLen: number): void {
    const d = prefixOf(dest, prefixLen);
    this.removeWhere((r) => r.dest === d && r.prefixLen === prefixLen && r.gateway === null);
  }

  private removeWhere(f: (r: Ipv6Route) => boolean): void {
    let changed = false;
    for (let i = this.table.length - 1; i >= 0; i--) {
      if (f(this.table[i]!)) {
        this.table.splice(i, 1);
        changed = true;
      }
    }
    if (changed) this.generation++;
  }

  lookup(dst: Ipv6Addr): Ipv6Route | null {
    for (const r of this.table) if (inPrefix6(dst, r.dest, r.prefixLen)) return r;
    return isLinkLocal6(dst) ? LINK_LOCAL_ROUTE : null;
  }

  list(): Ipv6Route[] {
    return this.table.map((r) => ({ ...r }));
  }
}

const LINK_LOCAL_ROUTE: Ipv6Route = { dest: `fe80${'0'.repeat(28)}`, prefixLen: 10, gateway: null, metric: 0 };

/** fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A). */
export function linkLocalFromMac(mac: Uint8Array): Ipv6Addr {
  const b = Buffer.alloc(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[8] = mac[0]! ^ 0x02;
  b[9] = mac[1]!;
  b[10] = mac[2]!;
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = mac[3]!;
  b[14] = mac[4]!;
  b[15] = mac[5]!;
  return b.toString('hex');
}

export function validAddr(a: unknown): a is Ipv6Addr {
  return typeof a === 'string' && a.length === 32 && /^[0-9a-f]{32}$/.test(a);
}

/** A unicast address a host may hold (not ::, ::1 or multicast). */
export function validUnicast(a: unknown): a is Ipv6Addr {
  return validAddr(a) && a !== IPV6_ANY && a !== IPV6_LOOPBACK && !isMulticast6(a);
}
