/**
 * Who is out there: the roots of our planet (and their stable endpoints) and every peer we have a
 * session with. Roots come from the planet and are never forgotten; other peers expire when idle.
 */
import type { Endpoint } from './endpoint.js';
import type { Peer } from './peer.js';
import { Timing } from '../timing.js';

export interface RootEntry {
  address: bigint;
  endpoints: Endpoint[];
}

export class Topology {
  private readonly peers = new Map<bigint, Peer>();
  private roots: RootEntry[] = [];
  /**
   * Changes whenever a peer is added, replaced or removed: a cache of a lookup (the switch keeps
   * the last sender's peer) is good while this stays the same.
   */
  generation = 0;

  constructor(private readonly maxPeers = 100_000) {}

  setRoots(roots: RootEntry[]): void {
    this.roots = roots;
  }

  rootEntries(): readonly RootEntry[] {
    return this.roots;
  }

  isRoot(address: bigint): boolean {
    return this.roots.some((r) => r.address === address);
  }

  get(address: bigint): Peer | undefined {
    return this.peers.get(address);
  }

  /** Adds a peer; false when the table is full (the caller drops and counts). */
  add(peer: Peer): boolean {
    if (!this.peers.has(peer.address) && this.peers.size >= this.maxPeers) return false;
    this.peers.set(peer.address, peer);
    this.generation++;
    return true;
  }

  remove(address: bigint): void {
    if (this.peers.delete(address)) this.generation++;
  }

  all(): IterableIterator<Peer> {
    return this.peers.values();
  }

  rootPeers(): Peer[] {
    return this.roots.flatMap((r) => {
      const p = this.peers.get(r.address);
      return p ? [p] : [];
    });
  }

  /** The root to relay through: one with a live path, preferring the lowest latency. */
  bestRoot(now: number): Peer | undefined {
    let best: Peer | undefined;
    let bestLatency = Infinity;
    for (const p of this.rootPeers()) {
      const path = p.paths.best(now);
      if (!path) continue;
      const l = path.latencyMs < 0 ? 1e6 : path.latencyMs;
      if (l < bestLatency) {
        best = p;
        bestLatency = l;
      }
    }
    return best;
  }

  /** Forgets idle non-root peers and dead paths. */
  expire(now: number): void {
    for (const [addr, p] of this.peers) {
      p.paths.expire(now);
      if (!this.isRoot(addr) && now - p.lastReceive > Timing.peerExpiration) this.remove(addr);
    }
  }

  get size(): number {
    return this.peers.size;
  }
}
