/**
 * The stack's one Ethernet interface: its MAC, MTU and IPv4 addresses, and the questions the
 * layers ask about them (is this address ours, is it a broadcast, which source to use).
 */
import { inSubnet, isLoopback, prefixMask, type Ipv4Addr } from './addr.js';
import type { Ipv4InterfaceAddress as InterfaceAddress } from './stack-api.js';

export const MIN_MTU = 68;
export const MAX_MTU = 65535;

export class NetInterface {
  mtu: number;
  private addrs: InterfaceAddress[] = [];
  /** Bumped on every address change so callers can cache answers. */
  generation = 0;

  constructor(
    readonly mac: Buffer,
    mtu: number,
  ) {
    this.mtu = mtu;
  }

  addresses(): InterfaceAddress[] {
    return this.addrs.map((a) => ({ ...a }));
  }

  /** Adds or updates an address; returns false when it was already there unchanged. */
  add(addr: Ipv4Addr, prefixLen: number): boolean {
    const old = this.addrs.find((a) => a.addr === addr);
    if (old && old.prefixLen === prefixLen) return false;
    if (old) old.prefixLen = prefixLen;
    else this.addrs.push({ addr, prefixLen });
    this.generation++;
    return true;
  }

  remove(addr: Ipv4Addr): InterfaceAddress | null {
    const i = this.addrs.findIndex((a) => a.addr === addr);
    if (i < 0) return null;
    const [gone] = this.addrs.splice(i, 1);
    this.generation++;
    return gone ?? null;
  }

  /** One of the interface's own addresses (not loopback). */
  isOwn(addr: Ipv4Addr): boolean {
    const a = this.addrs;
    for (let i = 0; i < a.length; i++) if (a[i]!.addr === addr) return true;
    return false;
  }

  /** Ours, loopback (127/8) or the unspecified address. */
  isLocal(addr: Ipv4Addr): boolean {
    return addr === 0 || isLoopback(addr) || this.isOwn(addr);
  }

  /** The limited broadcast or the directed broadcast of one of our subnets (prefix < 31). */
  isBroadcast(addr: Ipv4Addr): boolean {
    if (addr === 0xffffffff) return true;
    for (const a of this.addrs) {
      if (a.prefixLen >= 31) continue;
      const host = ~prefixMask(a.prefixLen) >>> 0;
      if ((addr & host) >>> 0 === host && inSubnet(addr, a.addr, a.prefixLen)) return true;
    }
    return false;
  }

  /** The first address, or null when there is none. */
  primary(): Ipv4Addr | null {
    return this.addrs.length > 0 ? this.addrs[0]!.addr : null;
  }

  /** Source address for packets to `dst` via next hop `nextHop`: one on the next hop's subnet, else the first. */
  sourceFor(nextHop: Ipv4Addr): Ipv4Addr | null {
    if (this.addrs.length === 0) return null;
    for (const a of this.addrs) if (inSubnet(nextHop, a.addr, a.prefixLen)) return a.addr;
    return this.addrs[0]!.addr;
  }
}
