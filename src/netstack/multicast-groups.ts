/**
 * The multicast groups this stack listens to, both families: IPv4 groups its sockets joined (RFC
 * 1112 host membership) and IPv6 groups (its sockets' joins plus the stack's own: ff02::1 and the
 * solicited-node group of each address, RFC 4291 §2.8). A count of joins per group, the Ethernet
 * addresses those groups map to for the link's receive filter (IPv4: 01:00:5e + the group's low
 * 23 bits, RFC 1112 §6.4; IPv6: 33:33 + its last 4 bytes, RFC 2464 §7), and listeners told when the
 * set of groups changes (the overlay subscribes the network to each group, MLD reports them).
 */
import type { Counters } from './counters.js';
import type { IpAddr, Ipv4Addr, Ipv6Addr } from './addr.js';

/** Writes the Ethernet address of multicast `group` (either family) at buf[off, off+6). */
export function writeMulticastMacAt(buf: Uint8Array, off: number, group: IpAddr): void {
  if (typeof group === 'string') {
    buf[off] = 0x33;
    buf[off + 1] = 0x33;
    const k = v6Key(group);
    buf[off + 2] = k >>> 24;
    buf[off + 3] = (k >>> 16) & 0xff;
    buf[off + 4] = (k >>> 8) & 0xff;
    buf[off + 5] = k & 0xff;
    return;
  }
  buf[off] = 0x01;
  buf[off + 1] = 0x00;
  buf[off + 2] = 0x5e;
  buf[off + 3] = (group >>> 16) & 0x7f;
  buf[off + 4] = (group >>> 8) & 0xff;
  buf[off + 5] = group & 0xff;
}

/** The Ethernet address of multicast `group` (either family). */
export function multicastMac(group: IpAddr): Buffer {
  const m = Buffer.allocUnsafe(6);
  writeMulticastMacAt(m, 0, group);
  return m;
}

/** The last 4 bytes of an IPv6 group, the part its MAC carries. */
function v6Key(group: Ipv6Addr): number {
  return parseInt(group.slice(24, 32), 16) >>> 0;
}

/** The 23-bit key an IPv4 multicast MAC at buf[off...] carries, or -1 when it is not one. */
function macKeyAt(buf: Uint8Array, off: number): number {
  if (buf[off] !== 0x01 || buf[off + 1] !== 0x00 || buf[off + 2] !== 0x5e || (buf[off + 3]! & 0x80) !== 0) return -1;
  return (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!;
}

export class MulticastGroups {
  private readonly members = new Map<IpAddr, number>();
  /** Joined IPv4 groups per 23-bit MAC key (several groups share one MAC). */
  private readonly macKeys = new Map<number, number>();
  /** Joined IPv6 groups per 32-bit MAC key. */
  private readonly macKeys6 = new Map<number, number>();
  private readonly listeners: Array<(groups: IpAddr[]) => void> = [];
  /**
   * Receive every solicited-node group (33:33:ff:xx:xx:xx): set while the stack owns a whole prefix
   * (6plane's /80), whose addresses' groups are too many to join one by one.
   */
  allSolicitedNodes = false;

  constructor(private readonly counters: Counters) {}

  /** One more socket (or the stack itself) joined `group`. */
  join(group: IpAddr): void {
    const n = this.members.get(group) ?? 0;
    this.members.set(group, n + 1);
    if (n > 0) return;
    const [keys, k] = this.keyOf(group);
    keys.set(k, (keys.get(k) ?? 0) + 1);
    this.changed();
  }

  /** One member left `group`. */
  leave(group: IpAddr): void {
    const n = this.members.get(group);
    if (n === undefined) return;
    if (n > 1) {
      this.members.set(group, n - 1);
      return;
    }
    this.members.delete(group);
    const [keys, k] = this.keyOf(group);
    const m = (keys.get(k) ?? 1) - 1;
    if (m > 0) keys.set(k, m);
    else keys.delete(k);
    this.changed();
  }

  private keyOf(group: IpAddr): [Map<number, number>, number] {
    return typeof group === 'string' ? [this.macKeys6, v6Key(group)] : [this.macKeys, group & 0x7fffff];
  }

  has(group: IpAddr): boolean {
    return this.members.has(group);
  }

  /** True when the Ethernet destination at frame[off...] is the MAC of a joined group. */
  acceptsMacAt(frame: Uint8Array, off: number): boolean {
    if (frame[off] === 0x33 && frame[off + 1] === 0x33) {
      if (this.allSolicitedNodes && frame[off + 2] === 0xff) return true;
      if (this.macKeys6.size === 0) return false;
      const k = ((frame[off + 2]! << 24) | (frame[off + 3]! << 16) | (frame[off + 4]! << 8) | frame[off + 5]!) >>> 0;
      return this.macKeys6.has(k);
    }
    if (this.macKeys.size === 0) return false;
    const k = macKeyAt(frame, off);
    return k >= 0 && this.macKeys.has(k);
  }

  /** Every group: IPv4 ones lowest first, then IPv6 ones in address order. */
  list(): IpAddr[] {
    const v4: Ipv4Addr[] = [];
    const v6: Ipv6Addr[] = [];
    for (const g of this.members.keys()) {
      if (typeof g === 'number') v4.push(g);
      else v6.push(g);
    }
    v4.sort((a, b) => a - b);
    v6.sort();
    return [...v4, ...v6];
  }

  /** The IPv6 groups, in address order. */
  list6(): Ipv6Addr[] {
    return this.list().filter((g): g is Ipv6Addr => typeof g === 'string');
  }

  /** Adds a listener; returns what removes it. */
  onChanged(listener: (groups: IpAddr[]) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private changed(): void {
    const groups = this.list();
    for (const l of [...this.listeners]) {
      try {
        l(groups);
      } catch {
        this.counters.inc('group_listener_exception');
      }
    }
  }
}
