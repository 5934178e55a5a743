/**
 * Which planet the daemon uses: a planet file given on the command line, a private planet this
 * daemon is the root of (made once and kept in the home), or the home's `planet` file; and the
 * home's `planet` kept up to date when a root sends a newer one. Problems name the file they are
 * about.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  createPrivatePlanet,
  EARTH_WORLD_ID,
  encodeWorld,
  type Identity,
  type InetAddress,
  MARS_WORLD_ID,
  type Node,
  parseWorld,
  verifyWorld,
  type World,
  WorldType,
} from '../node/index.js';
import type { Logger } from 'pino';
import { HomeError, type Home, writeFileAtomic } from './home.js';

/** The private planet's signing key pair, beside the planet: `<public hex>:<private hex>`. */
export const PLANET_SIGNING_KEY_FILE = 'planet.signing.secret';

export type PlanetSource = 'file' | 'private' | 'home';

export interface PlanetChoice {
  world: World;
  source: PlanetSource;
  /** The file the planet came from or was written to. */
  file: string;
}

export interface PlanetSetupOptions {
  home: Home;
  identity: Identity;
  /** `--planet FILE`. */
  planetFile?: string;
  /** `--private-planet`: this daemon is the root. */
  privatePlanet?: boolean;
  /** Addresses the root binds (its stable endpoints); wildcards are replaced by loopback. */
  bind: string[];
  /** The UDP port the root listens on. */
  port: number;
}

/**
 * Reads and parses a planet file. Its signature is not checked here, as stock does not check the
 * planet it loads: a planet made with a new update key (mkworld with a new key pair, or an update
 * a root sent) is signed with the previous planet's key, which the file does not hold.
 * `signedByItsOwnKey` tells the daemon whether to say so in its log.
 */
export function readPlanetFile(file: string): World {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new HomeError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const parsed = parseWorld(bytes);
  if (!parsed.ok) throw new HomeError(file, `is not a valid planet (${parsed.error}; truncated or not a planet file?)`);
  const world = parsed.value.world;
  if (world.type !== WorldType.PLANET) throw new HomeError(file, 'holds a moon, not a planet');
  if (world.roots.length === 0) throw new HomeError(file, 'has no roots');
  return world;
}

/** True for a planet signed by the update key it names (every first planet, every update that kept its key). */
export function signedByItsOwnKey(world: World): boolean {
  return verifyWorld(world);
}

/** The planet in `file` when it is a copy of `world`'s planet (same id), or null (none, unreadable, another planet). */
function samePlanetIn(file: string, world: World): World | null {
  try {
    const held = readPlanetFile(file);
    return held.id === world.id ? held : null;
  } catch {
    return null;
  }
}

/**
 * True when the home's planet is a newer copy of `given` (same id, later timestamp): an update a
 * root sent since, which the `--planet` file given at the next start must not undo (stock keeps
 * such an update over its built-in planet in the same way).
 */
export function homeHoldsNewerPlanet(homePlanet: string, given: World): boolean {
  const held = samePlanetIn(homePlanet, given);
  return held !== null && held.timestamp > given.timestamp;
}

/**
 * Keeps each planet update `node` takes in the home's `planet` (atomically), so the daemon starts
 * on it next time, as stock writes its planet state object. An update older than the file's (another
 * endpoint of the daemon took a newer one first) leaves the file alone. Write failures are logged.
 */
export function keepPlanetUpdates(node: Node, homePlanet: string, log: Logger): void {
  node.onPlanetChanged = (planet) => {
    const planetHex = planet.id.toString(16);
    const held = samePlanetIn(homePlanet, planet);
    if (held && held.timestamp >= planet.timestamp) return;
    try {
      writeFileAtomic(homePlanet, encodeWorld(planet), 0o644);
      log.info({ planet: planetHex, timestamp: planet.timestamp.toString(), file: homePlanet }, 'planet update kept');
    } catch (e) {
      log.warn({ planet: planetHex, file: homePlanet, err: (e as Error).message }, 'planet update not written');
    }
  };
}

/** The stable endpoints a private root advertises: its bind addresses, or loopback for wildcards. */
export function rootEndpoints(bind: string[], port: number): InetAddress[] {
  const out: InetAddress[] = [];
  for (const addr of bind) {
    const fam = isIP(addr);
    if (fam === 4 && addr !== '0.0.0.0') out.push({ family: 4, ip: addr, port });
    else if (fam === 6 && addr !== '::') out.push({ family: 6, ip: addr, port });
  }
  if (out.length === 0) out.push({ family: 4, ip: '127.0.0.1', port });
  return out;
}

/**
 * A random planet id below 2^53: /status writes `planetWorldId` as a JSON number, as stock does
 * (exactly, whatever its size), but JavaScript clients reading it with JSON.parse would round a
 * larger one.
 */
function randomPlanetId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE(0) & 0x1fffffffffffffn;
    if (id !== 0n && id !== EARTH_WORLD_ID && id !== MARS_WORLD_ID) return id;
  }
}

function samePlanetRoot(world: World, identity: Identity, endpoints: InetAddress[]): boolean {
  if (world.roots.length !== 1) return false;
  const r = world.roots[0]!;
  if (r.address !== identity.address || !r.publicKey.equals(identity.publicKey)) return false;
  const key = (e: InetAddress): string => `${e.ip}/${e.port}`;
  const have = new Set(r.stableEndpoints.map(key));
  return endpoints.length === have.size && endpoints.every((e) => have.has(key(e)));
}

function makePrivatePlanet(opts: PlanetSetupOptions, endpoints: InetAddress[]): World {
  const made = createPrivatePlanet({
    id: randomPlanetId(),
    timestamp: BigInt(Date.now()),
    roots: [{ address: opts.identity.address, publicKey: Buffer.from(opts.identity.publicKey), stableEndpoints: endpoints }],
  });
  if (!made.ok) throw new HomeError(opts.home.planet, `cannot make a private planet (${made.error})`);
  const keyText = `${made.value.signingKey.publicKey.toString('hex')}:${made.value.signingKey.privateKey.toString('hex')}\n`;
  writeFileAtomic(join(opts.home.dir, PLANET_SIGNING_KEY_FILE), keyText, 0o600);
  writeFileAtomic(opts.home.planet, made.value.serialized, 0o644);
  return made.value.world;
}

/**
 * Picks the planet. A private planet already in the home with this node as its only root, at the
 * same endpoints, is kept across restarts so members configured with it keep working.
 */
export function choosePlanet(opts: PlanetSetupOptions): PlanetChoice | null {
  if (opts.planetFile) return { world: readPlanetFile(opts.planetFile), source: 'file', file: opts.planetFile };
  if (opts.privatePlanet) {
    const endpoints = rootEndpoints(opts.bind, opts.port);
    let existing: World | null;
    try {
      existing = readPlanetFile(opts.home.planet);
    } catch {
      existing = null;
    }
    if (existing && samePlanetRoot(existing, opts.identity, endpoints))
      return { world: existing, source: 'private', file: opts.home.planet };
    return { world: makePrivatePlanet(opts, endpoints), source: 'private', file: opts.home.planet };
  }
  let world: World;
  try {
    world = readPlanetFile(opts.home.planet);
  } catch (e) {
    if (e instanceof HomeError && /cannot be read \(ENOENT\)/.test(e.message)) return null;
    throw e;
  }
  return { world, source: 'home', file: opts.home.planet };
}
