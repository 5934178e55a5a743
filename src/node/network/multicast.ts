/**
 * Multicast membership: who has announced (MULTICAST_LIKE) interest in which group of which
 * network. Roots keep it for everyone and answer MULTICAST_GATHER from it; members keep what they
 * learned from gathers and LIKEs to send MULTICAST_FRAMEs. Entries expire; the table is bounded.
 */
import type { IpAddr, Ipv6Addr } from '../../netstack/index.js';
import { Timing } from '../timing.js';

/** A multicast group: a MAC (48 bits) and an additional distinguishing information word (ADI). */
export interface MulticastGroup {
  mac: bigint;
  adi: number;
}

export function groupKey(nwid: bigint, g: MulticastGroup): string {
  return `${nwid.toString(16)}/${g.mac.toString(16)}/${(g.adi >>> 0).toString(16)}`;
}

/** The broadcast group for ARP who-has `ipv4` (host-order number), as ZeroTier scopes ARP. */
export function arpGroup(ipv4: number): MulticastGroup {
  return { mac: 0xffffffffffffn, adi: ipv4 >>> 0 };
}

/**
 * The group of IPv4 multicast address `group` (host-order number): its Ethernet address
 * 01:00:5e + the low 23 bits, ADI 0 — what a stock node subscribes when its TAP joins the group.
 */
export function ipv4MulticastGroup(group: number): MulticastGroup {
  return { mac: 0x01005e000000n | BigInt(group & 0x7fffff), adi: 0 };
}

/**
 * The group of IPv6 multicast address `group`: its Ethernet address 33:33 + the last 4 bytes
 * (RFC 2464 §7), ADI 0 — what a stock node subscribes for its TAP's IPv6 groups; a solicited-node
 * group so gives 33:33:ff:xx:xx:xx, stock's deriveMulticastGroupForAddressResolution.
 */
export function ipv6MulticastGroup(group: Ipv6Addr): MulticastGroup {
  return { mac: 0x333300000000n | BigInt(`0x${group.slice(24)}`), adi: 0 };
}

/** The group of an IP multicast address of either family (numbers are IPv4, strings IPv6). */
export function ipMulticastGroup(group: IpAddr): MulticastGroup {
  return typeof group === 'string' ? ipv6MulticastGroup(group) : ipv4MulticastGroup(group);
}

export const BROADCAST_GROUP: MulticastGroup = { mac: 0xffffffffffffn, adi: 0 };

export class MulticastTable {
  /** group key → member address → last time seen */
  private readonly groups = new Map<string, Map<bigint, number>>();
  private entries = 0;
  dropped = 0;

  constructor(private readonly maxEntries = 65536) {}

  add(nwid: bigint, g: MulticastGroup, member: bigint, now: number): void {
    const k = groupKey(nwid, g);
    let m = this.groups.get(k);
    if (!m) {
      m = new Map();
      this.groups.set(k, m);
    }
    if (!m.has(member)) {
      if (this.entries >= this.maxEntries) {
        this.dropped++;
        return;
      }
      this.entries++;
    }
    m.set(member, now);
  }

  remove(nwid: bigint, g: MulticastGroup, member: bigint): void {
    const k = groupKey(nwid, g);
    const m = this.groups.get(k);
    if (m?.delete(member)) this.entries--;
    if (m && m.size === 0) this.groups.delete(k);
  }

  /** Members of a group, most recently seen first, at most `limit`, never `exclude`. */
  members(nwid: bigint, g: MulticastGroup, limit: number, exclude?: bigint): bigint[] {
    const m = this.groups.get(groupKey(nwid, g));
    if (!m) return [];
    return [...m.entries()]
      .filter(([a]) => a !== exclude)
      .sort((x, y) => y[1] - x[1])
      .slice(0, limit)
      .map(([a]) => a);
  }

  count(nwid: bigint, g: MulticastGroup): number {
    return this.groups.get(groupKey(nwid, g))?.size ?? 0;
  }

  /** Forgets every member of network `nwid`. */
  forgetNetwork(nwid: bigint): void {
    const prefix = `${nwid.toString(16)}/`;
    for (const [k, m] of this.groups) {
      if (k.startsWith(prefix)) {
        this.entries -= m.size;
        this.groups.delete(k);
      }
    }
  }

  expire(now: number): void {
    for (const [k, m] of this.groups) {
      for (const [a, t] of m) {
        if (now - t > Timing.multicastLikeExpire) {
          m.delete(a);
          this.entries--;
        }
      }
      if (m.size === 0) this.groups.delete(k);
    }
  }

  get size(): number {
    return this.entries;
  }
}
