/**
 * One physical path to a peer: an underlay endpoint with its send/receive times. A path is
 * confirmed once an authenticated packet arrived over it; only confirmed paths carry traffic
 * (besides HELLO, which is how a path gets confirmed).
 */
import { endpointKey, isLinkLocalEndpoint, isLoopbackEndpoint, isUnusableEndpoint, type Endpoint } from './endpoint.js';
import { Timing } from '../timing.js';

export class Path {
  readonly key: string;
  /** A loopback endpoint (127/8, ::1): the switch sends whole packets over these, unfragmented. */
  readonly loopback: boolean;
  lastReceive = -Infinity;
  lastSend = -Infinity;
  /** Time an authenticated packet last arrived over this path. */
  lastConfirmed = -Infinity;
  /** Round-trip estimate from HELLO/ECHO replies, ms. */
  latencyMs = -1;

  constructor(readonly endpoint: Endpoint) {
    this.key = endpointKey(endpoint);
    this.loopback = isLoopbackEndpoint(endpoint);
  }

  received(now: number): void {
    this.lastReceive = now;
    this.lastConfirmed = now;
  }

  sent(now: number): void {
    this.lastSend = now;
  }

  alive(now: number): boolean {
    return now - this.lastConfirmed < Timing.pathActivityTimeout;
  }

  expired(now: number): boolean {
    return now - Math.max(this.lastReceive, this.lastConfirmed) > Timing.pathExpiration;
  }

  needsHeartbeat(now: number): boolean {
    return now - this.lastSend >= Timing.pathHeartbeat;
  }

  updateLatency(rttMs: number): void {
    this.latencyMs = this.latencyMs < 0 ? rttMs : Math.round(this.latencyMs * 0.75 + rttMs * 0.25);
  }
}

export interface PathPolicy {
  /** Stock nodes refuse loopback paths; single-machine setups allow them. */
  allowLoopbackPaths: boolean;
}

/** Whether a packet source may become a path to a peer. */
export function acceptablePath(ep: Endpoint, policy: PathPolicy): boolean {
  if (isUnusableEndpoint(ep)) return false;
  if (isLoopbackEndpoint(ep) || isLinkLocalEndpoint(ep)) return policy.allowLoopbackPaths;
  return true;
}

/** A peer's paths, bounded; the best is the alive one heard from most recently (then lowest latency). */
export class PathSet {
  private readonly paths: Path[] = [];

  constructor(private readonly max = 8) {}

  get(ep: Endpoint): Path | undefined {
    // called for every packet: compare fields rather than build a key string
    for (const p of this.paths) {
      const e = p.endpoint;
      if (e.port === ep.port && e.ip === ep.ip && e.family === ep.family) return p;
    }
    return undefined;
  }

  /** Adds (or returns) the path to `ep`; the least recently heard path gives way when full. */
  add(ep: Endpoint): Path {
    const existing = this.get(ep);
    if (existing) return existing;
    if (this.paths.length >= this.max) {
      this.paths.sort((a, b) => b.lastConfirmed - a.lastConfirmed);
      this.paths.pop();
    }
    const p = new Path(ep);
    this.paths.push(p);
    return p;
  }

  best(now: number): Path | undefined {
    let best: Path | undefined;
    for (const p of this.paths) {
      if (!p.alive(now)) continue;
      if (
        !best ||
        p.lastConfirmed > best.lastConfirmed + 1000 ||
        (Math.abs(p.lastConfirmed - best.lastConfirmed) <= 1000 && p.latencyMs >= 0 && (best.latencyMs < 0 || p.latencyMs < best.latencyMs))
      )
        best = p;
    }
    return best;
  }

  all(): readonly Path[] {
    return this.paths;
  }

  expire(now: number): void {
    for (let i = this.paths.length - 1; i >= 0; i--) if (this.paths[i]!.expired(now)) this.paths.splice(i, 1);
  }

  clear(): void {
    this.paths.length = 0;
  }
}
