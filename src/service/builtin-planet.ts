/**
 * The built-in planet: ZeroTier's public "Earth" world (id 149604618, four roots), as stock
 * zerotier-one 1.14 ships it. A home without a planet file uses it, unless the built-in planet is
 * refused (ZTNC_REFUSE_BUILTIN_PLANET=1 or local.conf refuseBuiltinPlanet) — tests and offline
 * use always refuse it, since its roots are public Internet addresses.
 */
import { EARTH_WORLD_ID, parseWorld, verifyWorld, type World } from '../node/index.js';

const EARTH_PLANET_BASE64 =
  'AQAAAAAI6skKAAABfulXYM24s4ikaSIUkaqazWbMdkze/VYDnxBnrhXmnG+0LXtVMw4/2qxSnAeS/XNApqohq6ikif2upEo5vy0AZZrJyBjrNgCSdjfvTRQEpE1URoSFE3l1H6p5tMTqhQQBdeoGWGBIJALh6zQgUgAOYpAGGpvgzSk8i1Xxw9JSSAivxUkiCA41Oada3cPO8PatJg1YgpO7d4bnHvpLkFfa2YZ6/hLdBMr+nv65AMze92vHuX3tkE6rxd8JiG2cFRSmEANsuROcwhQAGilYl4787BVxLdOUjG5rOo6JPfAf9JPR+NmAaoYMVCBXG/AAAgRowgiGJwkGJgWYgAIAEgAAMAVxDjQAUScJd4zecZAAP2aBqZ5a0Ylen7oz5iEtRFThaLzscRIQG/AAlW7Y6S5CiSy28uxBCIGoSrGdpQ4Sh7o9kmw6H3VczPKZoSBwVQACBGfDZ0InCQYmBZiABAAAwwJU8ryh9wAZJwli+GWucQDiB2xX3ocOYojX1edARAixVF78o31n93uH6eVBaMJdPvGpq/KQXqXnhcAd/yOIetQjLZXHqP0sJxEacr0VkyLcAAIEMgf8iicJBiABSfDQ2wACAAAAAAAAAAInCcr+BOupAGxqnR3qVcFha/4qK48P+ajKyvcDdPsfOeO++By/6+8XtyKCaKCiop00iMdSVlxslly9ZQbsJDl8yKXZ0VKFqH8AAgRUETWbJwkGKgJuoNQFAAAAAAAAAACZkycJ';

/** The built-in planet's bytes, as stock writes them to its home's planet file. */
export function builtinPlanetBytes(): Buffer {
  return Buffer.from(EARTH_PLANET_BASE64, 'base64');
}

/** The built-in planet, parsed and its signature checked. */
export function builtinPlanet(): World {
  const parsed = parseWorld(builtinPlanetBytes());
  if (!parsed.ok) throw new Error(`built-in planet does not parse: ${parsed.error}`);
  const world = parsed.value.world;
  if (world.id !== EARTH_WORLD_ID || !verifyWorld(world)) throw new Error('built-in planet is not a signed Earth world');
  return world;
}
