/**
 * The IPv4 multicast groups this stack's sockets have joined (RFC 1112 host membership): a count
 * of joined sockets per group, the Ethernet addresses those groups map to (01:00:5e + the group's
 * low 23 bits, RFC 1112 §6.4) for the link's receive filter, and listeners told when the set of
 * groups changes (the overlay subscribes the network to each group).
 */
import type { Counters } from './counters.js';
import type { Ipv4Addr } from './addr.js';

/** Writes the Ethernet address of IPv4 multicast `group` at buf[off, off+6). */
export function writeMulticastMacAt(buf: Uint8Array, off: number, group: Ipv4Addr): void {
  buf[off] = 0x01;
  buf[off + 1] = 0x00;
  buf[off + 2] = 0x5e;
  buf[off + 3] = (group >>> 16) & 0x7f;
  buf[off + 4] = (group >>> 8) & 0xff;
  buf[off + 5] = group & 0xff;
}

/** The Ethernet address of IPv4 multicast `group`. */
export function multicastMac(group: Ipv4Addr): Buffer {
  const m = Buffer.allocUnsafe(6);
  writeMulticastMacAt(m, 0, group);
  return m;
}

/** The 23-bit key an IPv4 multicast MAC at buf[off...] carries, or -1 when it is not one. */
function macKeyAt(buf: Uint8Array, off: number): number {
  if (buf[off] !== 0x01 || buf[off + 1] !== 0x00 || buf[off + 2] !== 0x5e || (buf[off + 3]! & 0x80) !== 0) return -1;
  return (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!;
}

export class MulticastGroups {
  private readonly members = new Map<Ipv4Addr, number>();
  /** Joined groups per 23-bit MAC key (several groups share one MAC). */
  private readonly macKeys = new Map<number, number>();
  private readonly listeners: Array<(groups: Ipv4Addr[]) => void> = [];

  constructor(private readonly counters: Counters) {}

  /** One more socket joined `group`. */
  join(group: Ipv4Addr): void {
    const n = this.members.get(group) ?? 0;
    this.members.set(group, n + 1);
    if (n > 0) return;
    const k = group & 0x7fffff;
    this.macKeys.set(k, (this.macKeys.get(k) ?? 0) + 1);
    this.changed();
  }

  /** One socket left `group`. */
  leave(group: Ipv4Addr): void {
    const n = this.members.get(group);
    if (n === undefined) return;
    if (n > 1) {
      this.members.set(group, n - 1);
      return;
    }
    this.members.delete(group);
    const k = group & 0x7fffff;
    const m = (this.macKeys.get(k) ?? 1) - 1;
    if (m > 0) this.macKeys.set(k, m);
    else this.macKeys.delete(k);
    this.changed();
  }

  has(group: Ipv4Addr): boolean {
    return this.members.has(group);
  }

  /** True when the Ethernet destination at frame[off...] is the MAC of a joined group. */
  acceptsMacAt(frame: Uint8Array, off: number): boolean {
    if (this.macKeys.size === 0) return false;
    const k = macKeyAt(frame, off);
    return k >= 0 && this.macKeys.has(k);
  }

  list(): Ipv4Addr[] {
    return [...this.members.keys()].sort((a, b) => a - b);
  }

  /** Adds a listener; returns what removes it. */
  onChanged(listener: (groups: Ipv4Addr[]) => void): () => void {
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
