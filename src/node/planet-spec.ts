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
  /**
   * The signed planet, when the node has it: its update key checks the updates roots send
   * (planet-updates.ts), and it is what the node sends to peers holding an older copy.
   */
  world?: World;
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

/** The moons a node starts with, by id; throws when one is unusable or there are too many. */
export function startingMoons(moons: World[]): Map<bigint, World> {
  const out = new Map<bigint, World>();
  for (const moon of moons) {
    const problem = moonProblem(moon);
    if (problem) throw new Error(problem);
    if (out.size >= MAX_MOONS) throw new Error(`cannot orbit more than ${MAX_MOONS} moons`);
    out.set(moon.id, moon);
  }
  return out;
}

/** The node's view of a parsed planet. Stock's Earth (the built-in planet) is marked builtin. */
export function planetFromWorld(world: World): PlanetSpec {
  return {
    id: world.id,
    timestamp: world.timestamp,
    builtin: world.id === EARTH_WORLD_ID,
    world,
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
