/**
 * Which planet the daemon runs on: the built-in planet (parsed and checked here, never contacted)
 * and the guard that refuses it; a private planet made for a root and kept across restarts at the
 * same endpoints.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';
import { checkPlanetAllowed, EARTH_WORLD_ID, Identity, planetFromWorld, WorldType } from '../../src/node/index.js';
import { builtinPlanet, builtinPlanetBytes } from '../../src/service/builtin-planet.js';
import { Home } from '../../src/service/home.js';
import { choosePlanet } from '../../src/service/planet-setup.js';

afterAll(removeTempDirs);

describe('the built-in planet', () => {
  it('is the signed Earth world with four roots', () => {
    const w = builtinPlanet();
    expect(w.id).toBe(EARTH_WORLD_ID);
    expect(w.type).toBe(WorldType.PLANET);
    expect(w.roots).toHaveLength(4);
    for (const r of w.roots) expect(r.stableEndpoints.length).toBeGreaterThan(0);
    expect(builtinPlanetBytes()).toHaveLength(570);
  });

  it('is refused by the node guard', () => {
    const spec = planetFromWorld(builtinPlanet());
    expect(spec.builtin).toBe(true);
    expect(() => checkPlanetAllowed(spec, true)).toThrow(/built-in planet is refused/);
    expect(() => checkPlanetAllowed(spec, false)).not.toThrow();
  });
});

describe('a private planet', () => {
  it('is made once for the root and kept while its endpoints stay the same', async () => {
    const d = tempDir('ztnc-planet-');
    const home = new Home(join(d, 'home'));
    home.ensure();
    const identity = await Identity.generate();
    const first = choosePlanet({ home, identity, privatePlanet: true, bind: [], port: 40001 })!;
    expect(first.source).toBe('private');
    expect(first.world.roots[0]!.address).toBe(identity.address);
    expect(first.world.roots[0]!.stableEndpoints).toEqual([{ family: 4, ip: '127.0.0.1', port: 40001 }]);
    const bytes = readFileSync(home.planet);
    const again = choosePlanet({ home, identity, privatePlanet: true, bind: [], port: 40001 })!;
    expect(again.world.id).toBe(first.world.id);
    expect(readFileSync(home.planet)).toEqual(bytes);
    const moved = choosePlanet({ home, identity, privatePlanet: true, bind: [], port: 40002 })!;
    expect(moved.world.roots[0]!.stableEndpoints[0]!.port).toBe(40002);
    // a member reading the home's planet file sees the current one
    expect(choosePlanet({ home, identity, bind: [], port: 0 })!.world.id).toBe(moved.world.id);
  });
});
