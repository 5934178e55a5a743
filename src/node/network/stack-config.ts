/**
 * Applies a network config's addresses and routes to the network's stack, and keeps them in step
 * with later configs, as stock's OneService syncManagedStuff does for a TAP: the assigned static
 * IPs of both families (IPv4 with its prefix; rfc4193 /88 and 6plane /40 IPv6 as the config
 * carries them, so other members' 6plane /80s are on-link and resolved by NDP emulation), the
 * managed routes of both families, and for a 6plane address the member's whole /80 as the stack's
 * own (every address in it is a member's, so a program may bind any of them). What this applied
 * and a later config no longer has is taken away again; what the stack holds on its own (its
 * link-local address, the on-link routes of its addresses) is left alone.
 */
import { parseIp, type IpAddr, type Ipv6Addr } from '../../netstack/index.js';
import type { InetAddress } from '../wire/inet-address.js';
import type { NetworkConfig } from './network-config.js';

/** The 6plane prefix a member owns: its address's first 80 bits. */
export const SIXPLANE_OWNED_PREFIX = 80;
/** The 6plane prefix length as configs carry it (the network's members' /80s are inside it). */
const SIXPLANE_CONFIG_BITS = 40;

/** What of the stack this uses. */
export interface ConfigurableStack {
  addresses(): readonly { addr: IpAddr; prefixLen: number }[];
  addAddress(addr: IpAddr, prefixLen: number): void;
  removeAddress(addr: IpAddr): void;
  routes(): readonly { dest: IpAddr; prefixLen: number }[];
  addRoute(route: { dest: IpAddr; prefixLen: number; gateway: IpAddr | null; metric: number }): void;
  removeRoute(dest: IpAddr, prefixLen: number): void;
  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void;
  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void;
}

interface WantedAddress {
  addr: IpAddr;
  prefixLen: number;
}

interface WantedRoute {
  dest: IpAddr;
  prefixLen: number;
  gateway: IpAddr | null;
  metric: number;
}

const routeKey = (dest: IpAddr, prefixLen: number): string => `${dest}/${prefixLen}`;

/** An address of a config (an InetAddress whose port is the prefix length), or null when unusable. */
function configAddress(a: InetAddress): WantedAddress | null {
  const addr = parseIp(a.ip);
  if (addr === null) return null;
  return { addr, prefixLen: Math.min(typeof addr === 'number' ? 32 : 128, a.port) };
}

/** The network's own 6plane scheme: fc + the folded network id, carried as /40. */
export function isSixPlaneOf(nwid: bigint, addr: Ipv6Addr, prefixLen: number): boolean {
  const folded = (nwid ^ (nwid >> 32n)) & 0xffffffffn;
  return prefixLen === SIXPLANE_CONFIG_BITS && addr.startsWith(`fc${folded.toString(16).padStart(8, '0')}`);
}

/** `addr` with all but its first `bits` bits cleared. */
export function prefixOf(addr: Ipv6Addr, bits: number): Ipv6Addr {
  const full = Math.floor(bits / 4);
  let out = addr.slice(0, full);
  if (bits % 4 !== 0) out += (parseInt(addr[full]!, 16) & ((0xf << (4 - (bits % 4))) & 0xf)).toString(16);
  return out.padEnd(32, '0');
}

/** What one config asks of the stack. */
export function wantedOf(cfg: NetworkConfig): { addresses: WantedAddress[]; routes: WantedRoute[]; owned: Ipv6Addr[] } {
  const addresses: WantedAddress[] = [];
  const owned: Ipv6Addr[] = [];
  for (const ip of cfg.staticIps) {
    const w = configAddress(ip);
    if (w === null || addresses.some((x) => x.addr === w.addr)) continue;
    addresses.push(w);
    if (typeof w.addr === 'string' && isSixPlaneOf(cfg.networkId, w.addr, w.prefixLen)) owned.push(prefixOf(w.addr, SIXPLANE_OWNED_PREFIX));
  }
  const routes: WantedRoute[] = [];
  for (const r of cfg.routes) {
    const target = configAddress(r.target);
    if (target === null) continue;
    const gateway = r.via ? parseIp(r.via.ip) : null;
    // a gateway of the other family is no route the stack can use
    if (gateway !== null && typeof gateway !== typeof target.addr) continue;
    const dest = typeof target.addr === 'string' ? prefixOf(target.addr, target.prefixLen) : target.addr;
    routes.push({ dest, prefixLen: target.prefixLen, gateway, metric: r.metric });
  }
  return { addresses, routes, owned };
}

/** One stack's config state: what was applied to it, so a later config can take it back. */
export class StackConfigurator {
  private readonly addresses = new Map<IpAddr, number>();
  private readonly routes = new Map<string, WantedRoute>();
  private readonly owned = new Set<Ipv6Addr>();

  constructor(private readonly stack: ConfigurableStack) {}

  apply(cfg: NetworkConfig): void {
    const want = wantedOf(cfg);
    const stack = this.stack;
    // addresses: gone or with another prefix length first, then the new ones
    for (const [addr, prefixLen] of this.addresses) {
      if (want.addresses.some((w) => w.addr === addr && w.prefixLen === prefixLen)) continue;
      stack.removeAddress(addr);
      this.addresses.delete(addr);
    }
    for (const w of want.addresses) {
      if (this.addresses.get(w.addr) === w.prefixLen) continue;
      const held = stack.addresses().find((h) => h.addr === w.addr);
      if (held && held.prefixLen !== w.prefixLen) stack.removeAddress(w.addr);
      if (!held || held.prefixLen !== w.prefixLen) stack.addAddress(w.addr, w.prefixLen);
      this.addresses.set(w.addr, w.prefixLen);
    }
    for (const prefix of this.owned) {
      if (want.owned.includes(prefix)) continue;
      stack.removeOwnedPrefix(prefix, SIXPLANE_OWNED_PREFIX);
      this.owned.delete(prefix);
    }
    for (const prefix of want.owned) {
      if (this.owned.has(prefix)) continue;
      stack.addOwnedPrefix(prefix, SIXPLANE_OWNED_PREFIX);
      this.owned.add(prefix);
    }
    // routes: ours that the config dropped go; a wanted one the stack lacks (not even as an
    // address's on-link route) is added and becomes ours
    const wanted = new Map(want.routes.map((r) => [routeKey(r.dest, r.prefixLen), r]));
    for (const [key, r] of this.routes) {
      const w = wanted.get(key);
      if (w && w.gateway === r.gateway && w.metric === r.metric) continue;
      stack.removeRoute(r.dest, r.prefixLen);
      this.routes.delete(key);
    }
    for (const [key, r] of wanted) {
      if (this.routes.has(key) || stack.routes().some((h) => routeKey(h.dest, h.prefixLen) === key)) continue;
      stack.addRoute(r);
      this.routes.set(key, r);
    }
  }
}
