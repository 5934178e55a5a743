/**
 * Planet updates in simulation, as stock 1.14 passes them: a node on planet v1 greets its root,
 * which holds v2 (the same planet, newer, signed with v1's update key, naming a second root N); the
 * root's OK(HELLO) carries v2, the node takes it, greets N, and the service's hook writes it to
 * the home. Forged, older, same-age and other-planet updates, and updates from a peer that is not
 * a root, are refused and counted. v1 is the stock vectors' planet (made with mkworld), with its key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, type C25519KeyPair } from '../../src/node/crypto/c25519.js';
import { takeWorldUpdates } from '../../src/node/moon-updates.js';
import { Node } from '../../src/node/node.js';
import { encodeWorld, parseWorld, signWorld, WorldType, type World } from '../../src/node/peer/world.js';
import { planetFromWorld } from '../../src/node/planet-spec.js';
import { PLANET_UPDATED_COUNTER, PlanetUpdateRefusal, planetUpdateFor } from '../../src/node/planet-updates.js';
import { homeHoldsNewerPlanet, keepPlanetUpdates, readPlanetFile } from '../../src/service/planet-setup.js';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';
import { ep, Sim, VECTORS, type SimNode } from './sim-harness.js';

const N_INDEX = 5;
const N_IP = '10.99.0.6';
const silent = pino({ level: 'silent' });

let sim: Sim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});
afterAll(() => removeTempDirs());

/** The vectors' planet (v1) and the key pair mkworld signed it with (also its update key). */
function planetV1(): { v1: World; v1Key: C25519KeyPair } {
  const bytes = readFileSync(join(VECTORS, 'planet.bin'));
  const parsed = parseWorld(bytes);
  if (!parsed.ok) throw new Error(parsed.error);
  const j = JSON.parse(readFileSync(join(VECTORS, 'planet.json'), 'utf8')) as { signingKeyPair: { publicHex: string; privateHex: string } };
  const v1Key = { publicKey: Buffer.from(j.signingKeyPair.publicHex, 'hex'), privateKey: Buffer.from(j.signingKeyPair.privateHex, 'hex') };
  // the key reproduces the stock signature: it is the one v1's updates must be signed with
  expect(encodeWorld(signWorld(parsed.value.world, v1Key))).toEqual(bytes);
  return { v1: parsed.value.world, v1Key };
}

/** v2: v1 one second later, with N as a second root and a new update key, signed with v1's key. */
function planetV2(s: Sim, v1: World, v1Key: C25519KeyPair): { v2: World; v2Key: C25519KeyPair } {
  const v2Key = generateKeyPair();
  const n = s.identity(N_INDEX);
  const v2 = signWorld(
    {
      ...v1,
      timestamp: v1.timestamp + 1000n,
      updatesMustBeSignedBy: v2Key.publicKey,
      roots: [...v1.roots, { address: n.address, publicKey: n.publicKey, stableEndpoints: [ep(N_IP)] }],
    },
    v1Key,
  );
  return { v2, v2Key };
}

/** Builds a sim node on `planet`. */
function on(planet: World, hook?: (node: Node) => void): (o: ConstructorParameters<typeof Node>[0]) => Node {
  return (o) => {
    const node = new Node({ ...o, planet: planetFromWorld(planet) });
    hook?.(node);
    return node;
  };
}

function refusals(n: SimNode): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.values(PlanetUpdateRefusal)) if (n.node.counters.get(name) > 0) out[name] = n.node.counters.get(name);
  return out;
}

describe('planet updates carried in OK(HELLO)', () => {
  it('a root holding v2 brings a node on v1 to v2: roots switched, the update kept in the home', async () => {
    sim = new Sim();
    const { v1, v1Key } = planetV1();
    const { v2 } = planetV2(sim, v1, v1Key);
    const home = tempDir('ztnc-planet-update-');
    const planetFile = join(home, 'planet');
    const r = sim.add('R', 0, '10.99.0.1', on(v2));
    const n = sim.add('N', N_INDEX, N_IP, on(v2));
    const a = sim.add(
      'A',
      2,
      '10.99.0.3',
      on(v1, (node) => keepPlanetUpdates(node, planetFile, silent)),
    );
    expect(a.node.topology.isRoot(n.node.address)).toBe(false);

    expect(await sim.until(() => a.node.planet.timestamp === v2.timestamp, 10_000)).toBe(true);
    expect(a.node.counters.get(PLANET_UPDATED_COUNTER)).toBe(1);
    expect(a.node.planet.world).toEqual(v2);
    // the new root is a root now, and greeted
    expect(a.node.topology.isRoot(n.node.address)).toBe(true);
    expect(a.node.topology.isRoot(r.node.address)).toBe(true);
    const now = (): number => sim!.sched.now();
    expect(await sim.until(() => !!a.node.peer(n.node.address)?.paths.best(now()), 10_000)).toBe(true);
    // written to the home: the file is v2, byte for byte, and a later --planet v1 does not undo it
    expect(readFileSync(planetFile)).toEqual(encodeWorld(v2));
    expect(readPlanetFile(planetFile)).toEqual(v2);
    expect(homeHoldsNewerPlanet(planetFile, v1)).toBe(true);
    expect(homeHoldsNewerPlanet(planetFile, v2)).toBe(false);

    // further HELLOs name v2: nobody sends it again, nothing is refused
    await sim.run(130_000, 1_000);
    expect(a.node.counters.get(PLANET_UPDATED_COUNTER)).toBe(1);
    for (const x of [r, n, a]) expect(refusals(x)).toEqual({});
    for (const x of [r, n, a]) expect(x.node.counters.get('rx_drop_bad_world_update')).toBe(0);
  });

  it('a root answers a HELLO naming an older copy of its planet with the planet, and only then', () => {
    sim = new Sim();
    const { v1, v1Key } = planetV1();
    const { v2 } = planetV2(sim, v1, v1Key);
    const spec = planetFromWorld(v2);
    expect(planetUpdateFor(spec, v1.id, v1.timestamp)).toEqual(encodeWorld(v2));
    expect(planetUpdateFor(spec, v1.id, v2.timestamp)).toHaveLength(0);
    expect(planetUpdateFor(spec, v1.id, v2.timestamp + 1n)).toHaveLength(0);
    expect(planetUpdateFor(spec, v1.id + 1n, 0n)).toHaveLength(0);
    expect(planetUpdateFor(spec, null, null)).toHaveLength(0);
    // a node that has only the planet's id and roots (no signed planet) sends none
    expect(planetUpdateFor({ ...spec, world: undefined }, v1.id, v1.timestamp)).toHaveLength(0);
  });

  it('a forged v2 from the root is refused and counted; the node stays on v1 with its roots', async () => {
    sim = new Sim();
    const { v1, v1Key } = planetV1();
    const forger = generateKeyPair();
    const forged = signWorld({ ...planetV2(sim, v1, v1Key).v2, updatesMustBeSignedBy: forger.publicKey }, forger);
    const home = tempDir('ztnc-planet-update-');
    const planetFile = join(home, 'planet');
    sim.add('R', 0, '10.99.0.1', on(forged));
    const a = sim.add(
      'A',
      2,
      '10.99.0.3',
      on(v1, (node) => keepPlanetUpdates(node, planetFile, silent)),
    );
    expect(await sim.until(() => a.node.counters.get(PlanetUpdateRefusal.badSignature) > 0, 10_000)).toBe(true);
    expect(a.node.planet.world).toEqual(v1);
    expect(a.node.topology.isRoot(sim.identity(N_INDEX).address)).toBe(false);
    expect(a.node.counters.get(PLANET_UPDATED_COUNTER)).toBe(0);
    expect(() => readFileSync(planetFile)).toThrow(/ENOENT/);
  });

  it('a valid v2 from a peer that is not a root is refused and counted', async () => {
    sim = new Sim();
    const { v1, v1Key } = planetV1();
    const { v2 } = planetV2(sim, v1, v1Key);
    sim.add('R', 0, '10.99.0.1', on(v1));
    const b = sim.add('B', 3, '10.99.0.4', on(v2));
    const a = sim.add('A', 2, '10.99.0.3', on(v1));
    expect(await sim.until(() => !!sim!.get('R').node.peer(b.node.address), 10_000)).toBe(true);
    a.node.helloTo(b.node.address);
    expect(await sim.until(() => a.node.counters.get(PlanetUpdateRefusal.untrusted) > 0, 10_000)).toBe(true);
    expect(a.node.planet.world).toEqual(v1);
    expect(a.node.counters.get(PLANET_UPDATED_COUNTER)).toBe(0);
  });

  it('older, same-age, other-planet, rootless and wrongly keyed updates are refused and counted; the key chain is followed', () => {
    sim = new Sim();
    const { v1, v1Key } = planetV1();
    const { v2, v2Key } = planetV2(sim, v1, v1Key);
    const a = sim.add('A', 2, '10.99.0.3', on(v1));
    const root = a.node.peer(sim.identity(0).address)!;
    const take = (w: World): void => takeWorldUpdates(a.node, root, encodeWorld(w));
    const count = (k: keyof typeof PlanetUpdateRefusal): number => a.node.counters.get(PlanetUpdateRefusal[k]);

    take(signWorld({ ...v1, timestamp: v1.timestamp - 1n }, v1Key));
    expect(count('notNewer')).toBe(1);
    take(v1);
    expect(count('notNewer')).toBe(2);
    take(signWorld({ ...v1, id: v1.id + 1n, timestamp: v1.timestamp + 5n }, v1Key));
    expect(count('otherId')).toBe(1);
    take(signWorld({ ...v1, timestamp: v1.timestamp + 5n, roots: [] }, v1Key));
    expect(count('noRoots')).toBe(1);
    take(signWorld({ ...v2 }, v2Key));
    expect(count('badSignature')).toBe(1);
    // a moon with the planet's id is not a planet update (nor a moon we orbit)
    take(signWorld({ ...v2, type: WorldType.MOON }, v1Key));
    expect(count('otherId')).toBe(1);
    expect(a.node.planet.world).toEqual(v1);

    // v2 names a new update key: v3 must be signed with it, no longer with v1's
    take(v2);
    expect(a.node.planet.world).toEqual(v2);
    const v3 = { ...v2, timestamp: v2.timestamp + 1000n };
    take(signWorld(v3, v1Key));
    expect(count('badSignature')).toBe(2);
    take(signWorld(v3, v2Key));
    expect(a.node.planet.timestamp).toBe(v3.timestamp);
    expect(a.node.counters.get(PLANET_UPDATED_COUNTER)).toBe(2);

    // truncated worlds are counted as before
    takeWorldUpdates(a.node, root, encodeWorld(v2).subarray(0, 100));
    expect(a.node.counters.get('rx_drop_bad_world_update')).toBe(1);
    expect(a.node.counters.get('rx_exception')).toBe(0);
  });
});
