/**
 * Return paths for flows that arrive from outside the network (a one-armed router's reply path):
 * a TCP or UDP flow whose first packet came from an address none of the stack's routes covers
 * (a client a gateway member forwarded in with its source preserved) has its replies sent back
 * to the Ethernet address that packet came from, instead of failing with ENETUNREACH.
 *
 * Safety: learned only for sources without any route (never for the network's own subnets, and
 * never in place of a managed route: a route, once present, wins at send time); keyed by the
 * whole flow (protocol, both addresses, both ports), so another member cannot take over the
 * replies of a flow it does not know; the first sender of a flow keeps it while the flow is in
 * use; entries idle for IDLE_MS go, and the table is bounded (the oldest goes first).
 */
import type { Counters } from './counters.js';
import type { Ipv4Addr } from './addr.js';

/** A flow unused (no packet either way) for this long loses its return path. */
export const RETURN_PATH_IDLE_MS = 600_000;
/** At most this many flows have a return path; a new one evicts the least recently learned. */
export const RETURN_PATH_MAX = 16_384;

interface ReturnPath {
  /** Ethernet address of the member the flow's first packet came from. */
  mac: Buffer;
  /** Our address the flow arrived on: the source of its replies. */
  local: Ipv4Addr;
  /** Last packet either way (scheduler ms). */
  usedAt: number;
}

function flowKey(protocol: number, local: Ipv4Addr, localPort: number, remote: Ipv4Addr, remotePort: number): string {
  return `${protocol}/${local}.${localPort}/${remote}.${remotePort}`;
}

/** Ports of a TCP or UDP header at `off` (source first), or null when too short. */
function ports(packet: Buffer, off: number): [number, number] | null {
  if (packet.length < off + 4) return null;
  return [packet.readUInt16BE(off), packet.readUInt16BE(off + 2)];
}

export class ReturnPaths {
  private readonly flows = new Map<string, ReturnPath>();
  /** The latest return path to each remote address (what sourceFor answers with). */
  private readonly byAddr = new Map<Ipv4Addr, ReturnPath>();

  constructor(
    private readonly now: () => number,
    private readonly counters: Counters,
  ) {}

  get size(): number {
    return this.flows.size;
  }

  /**
   * A TCP/UDP packet from `remote` (no route covers it) to our `local`, its transport header at
   * `l4` in `packet`, arrived in an Ethernet frame from `mac` (6 bytes, copied when kept).
   */
  learn(protocol: number, local: Ipv4Addr, remote: Ipv4Addr, packet: Buffer, l4: number, mac: Buffer): void {
    const p = ports(packet, l4);
    if (!p) return;
    const key = flowKey(protocol, local, p[1], remote, p[0]);
    const now = this.now();
    const e = this.flows.get(key);
    if (e && now - e.usedAt < RETURN_PATH_IDLE_MS) {
      if (e.mac.equals(mac)) e.usedAt = now;
      else this.counters.inc('return_path_conflict');
      return;
    }
    if (e) this.flows.delete(key);
    if (this.flows.size >= RETURN_PATH_MAX) this.evictOldest();
    const path: ReturnPath = { mac: Buffer.from(mac), local, usedAt: now };
    this.flows.set(key, path);
    this.byAddr.set(remote, path);
    this.counters.inc('return_path_learned');
  }

  /** The Ethernet address replies of this flow go to (our packet to `remote`, transport header at `l4`). */
  lookup(protocol: number, local: Ipv4Addr, remote: Ipv4Addr, packet: Buffer, l4: number): Buffer | null {
    const p = ports(packet, l4);
    if (!p) return null;
    const key = flowKey(protocol, local, p[0], remote, p[1]);
    const e = this.flows.get(key);
    if (!e) return null;
    const now = this.now();
    if (now - e.usedAt >= RETURN_PATH_IDLE_MS) {
      this.forget(key, e, remote);
      return null;
    }
    e.usedAt = now;
    return e.mac;
  }

  /** Our address for replies to `remote` when some live flow from it has a return path. */
  localFor(remote: Ipv4Addr): Ipv4Addr | null {
    const e = this.byAddr.get(remote);
    if (!e) return null;
    if (this.now() - e.usedAt >= RETURN_PATH_IDLE_MS) {
      this.byAddr.delete(remote);
      return null;
    }
    return e.local;
  }

  clear(): void {
    this.flows.clear();
    this.byAddr.clear();
  }

  private forget(key: string, e: ReturnPath, remote: Ipv4Addr): void {
    this.flows.delete(key);
    if (this.byAddr.get(remote) === e) this.byAddr.delete(remote);
  }

  private evictOldest(): void {
    const first = this.flows.entries().next();
    if (first.done) return;
    const [key, e] = first.value;
    for (const [addr, p] of this.byAddr) if (p === e) this.byAddr.delete(addr);
    this.flows.delete(key);
    this.counters.inc('return_path_evicted');
  }
}
