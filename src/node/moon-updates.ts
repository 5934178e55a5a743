/**
 * Moons passed between nodes as stock does: a HELLO names the moons its sender orbits (with their
 * timestamps) and the moons it waits for from a seed (timestamp 0, Peer::sendHELLO's
 * moonsWanted); the answering OK(HELLO) carries each named moon the answerer holds in a newer copy
 * (IncomingPacket::_doHELLO). What arrives is taken as Topology::addWorld takes it: an update of
 * a moon we orbit replaces it when signed with the key the moon we hold names (Node.orbit checks);
 * a moon we wait for goes to whoever asked for it (the service checks it came from its seed).
 */
import type { Peer } from './peer/peer.js';
import { encodeWorld, parseWorld, WorldType, type World } from './peer/world.js';
import { takePlanetUpdate, type PlanetHolder } from './planet-updates.js';
import type { MoonRef } from './wire/hello.js';

/** What taking moon updates needs of the node. */
export interface MoonHolder {
  readonly counters: { inc(name: string): void };
  /** Moons asked for by id, until one arrives. */
  readonly moonsWanted: ReadonlySet<bigint>;
  /** Told of each moon that arrived: an update of one we orbit (already applied), or one we wanted. */
  readonly onMoonArrived: ((moon: World, from: Peer, orbiting: boolean) => void) | null;
  moonWorlds(): World[];
  orbit(moon: World): void;
}

/** The HELLO's moon list: those we orbit, then those we want (timestamp 0). */
export function helloMoonRefs(orbiting: MoonRef[], wanted: Iterable<bigint>): MoonRef[] {
  const out = [...orbiting];
  for (const worldId of wanted) if (!out.some((m) => m.worldId === worldId)) out.push({ type: WorldType.MOON, worldId, timestamp: 0n });
  return out;
}

/** OK(HELLO)'s world updates for a HELLO naming `named`: each held moon it names with an older timestamp. */
export function moonUpdatesFor(held: World[], named: MoonRef[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of held) if (named.some((n) => n.worldId === m.id && n.timestamp < m.timestamp)) parts.push(encodeWorld(m));
  return Buffer.concat(parts);
}

/** Takes the worlds of an OK(HELLO) from `from` (planets go to planet-updates.ts); garbage is counted and the rest dropped. */
export function takeWorldUpdates(node: MoonHolder & PlanetHolder, from: Peer, updates: Buffer): void {
  let off = 0;
  while (off < updates.length) {
    const w = parseWorld(updates.subarray(off));
    if (!w.ok || w.value.length === 0) return void node.counters.inc('rx_drop_bad_world_update');
    off += w.value.length;
    const moon = w.value.world;
    if (moon.type === WorldType.PLANET) {
      takePlanetUpdate(node, from, moon);
      continue;
    }
    if (moon.type !== WorldType.MOON) continue;
    const orbiting = node.moonWorlds().some((m) => m.id === moon.id);
    if (!orbiting && !node.moonsWanted.has(moon.id)) continue;
    if (orbiting) {
      const before = node.moonWorlds().find((m) => m.id === moon.id)!.timestamp;
      try {
        node.orbit(moon);
      } catch {
        node.counters.inc('rx_drop_bad_world_update');
        continue;
      }
      if (node.moonWorlds().find((m) => m.id === moon.id)?.timestamp === before) continue;
      node.counters.inc('moons_updated');
    }
    node.onMoonArrived?.(moon, from, orbiting);
  }
}
