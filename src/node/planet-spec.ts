/**
 * The planet and moons as a node uses them: the roots it contacts, the built-in planet guard, the
 * checks a moon passes before the node orbits it.
 */
import type { Endpoint } from './peer/endpoint.js';
import { Identity } from './identity/identity.js';
import { EARTH_WORLD_ID, verifyWorld, WorldType, type World } from './peer/world.js';

/** Environment variable that makes every node refuse the built-in planet (tests set it). */
export const REFUSE_BUILTIN_PLANET_ENV = 'ZTNC_REFUSE_BUILTIN_PLANET';
/** A root of our planet: its identity and stable endpoints. */
export interface RootSpec {
  identity: Identity;
  endpoints: Endpoint[];
}

/** The planet as the node uses it: id and timestamp (sent in HELLO) and the roots. */
export interface PlanetSpec {
  id: bigint;
  timestamp: bigint;
  roots: RootSpec[];
  /** True for the built-in (public) planet, which the guard can refuse. */
  builtin: boolean;
}

/** Most moons one node orbits (stock's HELLO carries at most a handful). */
export const MAX_MOONS = 16;

/** Checks a moon before orbiting it; returns why it is unusable, or null. */
export function moonProblem(moon: World): string | null {
  if (moon.type !== WorldType.MOON) return `world ${moon.id.toString(16)} is not a moon (type ${moon.type})`;
  if (moon.roots.length === 0) return `moon ${moon.id.toString(16)} lists no roots`;
  if (!verifyWorld(moon)) return `moon ${moon.id.toString(16)} has a bad signature`;
  return null;
}

/** The node's view of a parsed planet. Stock's Earth (the built-in planet) is marked builtin. */
export function planetFromWorld(world: World): PlanetSpec {
  return {
    id: world.id,
    timestamp: world.timestamp,
    builtin: world.id === EARTH_WORLD_ID,
    roots: world.roots.map((r) => ({ identity: Identity.fromParts(r.address, r.publicKey), endpoints: r.stableEndpoints })),
  };
}

/** Refuses to build a node on the built-in planet when the guard is on. */
export function checkPlanetAllowed(planet: PlanetSpec, refuse?: boolean): void {
  const guard = refuse ?? process.env[REFUSE_BUILTIN_PLANET_ENV] === '1';
  if (guard && planet.builtin) {
    throw new Error(`the built-in planet is refused (${REFUSE_BUILTIN_PLANET_ENV}=1 or refuseBuiltinPlanet): use a private planet`);
  }
}
