/**
 * Planet updates passed between nodes as stock 1.14 passes them. A HELLO names its sender's planet
 * (world id and timestamp); the answering OK(HELLO) carries the answerer's planet when it is the
 * same planet in a newer copy (IncomingPacket::_doHELLO). The receiver takes worlds only from an
 * upstream, a root of its planet or of a moon it orbits (Topology::shouldAcceptWorldUpdateFrom),
 * and replaces its planet when the update has the same id, a newer timestamp and a signature by
 * the update key of the planet it holds (Topology::addWorld, World::shouldBeReplacedBy); the node
 * then uses the new roots and the service keeps the new planet. Every refusal is counted under a
 * fixed name and logged, since a refused update usually means a misconfigured or forged root.
 */
import type { Logger } from 'pino';
import type { Peer } from './peer/peer.js';
import { encodeWorld, verifyWorld, WorldType, type World } from './peer/world.js';
import type { PlanetSpec } from './planet-spec.js';
import { formatAddress } from './wire/address.js';

/** What taking planet updates needs of the node. */
export interface PlanetHolder {
  readonly counters: { inc(name: string): void };
  readonly log: Logger;
  readonly planet: PlanetSpec;
  readonly topology: { isRoot(address: bigint): boolean };
  /** Replaces the planet with an update already judged acceptable. */
  adoptPlanet(planet: World): void;
}

/** Why an update was refused, each with its counter. */
export const PlanetUpdateRefusal = {
  /** The sender is not a root of our planet or of a moon we orbit. */
  untrusted: 'rx_drop_planet_update_untrusted',
  /** Another planet (world id), or not a planet at all. */
  otherId: 'rx_drop_planet_update_other_id',
  /** Not newer than the planet we hold (older, or the same timestamp). */
  notNewer: 'rx_drop_planet_update_not_newer',
  /** Not signed by the update key of the planet we hold. */
  badSignature: 'rx_drop_planet_update_bad_signature',
  /** We hold no signed planet to check an update against. */
  noKey: 'rx_drop_planet_update_no_key',
  /** A signed update that lists no roots: taking it would leave the node with none. */
  noRoots: 'rx_drop_planet_update_no_roots',
} as const;
export type PlanetUpdateRefusal = keyof typeof PlanetUpdateRefusal;

/** Counted for each planet update taken. */
export const PLANET_UPDATED_COUNTER = 'planet_updated';

/** OK(HELLO)'s planet: ours when the HELLO names the same planet with an older timestamp; empty otherwise. */
export function planetUpdateFor(planet: PlanetSpec, helloPlanetId: bigint | null, helloPlanetTimestamp: bigint | null): Buffer {
  if (!planet.world || helloPlanetId === null || helloPlanetId === 0n || helloPlanetTimestamp === null) return EMPTY;
  if (helloPlanetId !== planet.id || helloPlanetTimestamp >= planet.timestamp) return EMPTY;
  return encodeWorld(planet.world);
}
const EMPTY = Buffer.alloc(0);

/** Stock's replacement rule for a planet update from an upstream: null when it should replace `current`. */
export function judgePlanetUpdate(current: World | undefined, update: World): PlanetUpdateRefusal | null {
  if (!current) return 'noKey';
  if (update.type !== WorldType.PLANET || update.id !== current.id) return 'otherId';
  if (update.timestamp <= current.timestamp) return 'notNewer';
  if (!verifyWorld(update, current.updatesMustBeSignedBy)) return 'badSignature';
  if (update.roots.length === 0) return 'noRoots';
  return null;
}

/** Takes a planet that came in an OK(HELLO) from `from`: adopted, or refused, counted and logged. */
export function takePlanetUpdate(node: PlanetHolder, from: Peer, update: World): void {
  const refusal = node.topology.isRoot(from.address) ? judgePlanetUpdate(node.planet.world, update) : 'untrusted';
  const fields = {
    from: from.hex,
    planet: update.id.toString(16),
    timestamp: update.timestamp.toString(),
    held: node.planet.timestamp.toString(),
  };
  if (refusal !== null) {
    node.counters.inc(PlanetUpdateRefusal[refusal]);
    node.log.warn({ ...fields, reason: refusal }, 'planet update refused');
    return;
  }
  node.adoptPlanet(update);
  node.counters.inc(PLANET_UPDATED_COUNTER);
  node.log.info({ ...fields, roots: update.roots.map((r) => formatAddress(r.address)) }, 'planet updated');
}
