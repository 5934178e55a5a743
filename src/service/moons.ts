/**
 * The daemon's moons, as zerotier-one keeps them: `moons.d/<16 hex world id>.moon` in the home
 * holds each moon orbited (the serialized world, stock's file format, so a file made by
 * `ztnc-idtool genmoon` or copied from a stock node works), read at start; `POST /moon/<id>`
 * `{"seed": "<address>"}` orbits by seed — the node asks the seed (a root of the moon) for it in a
 * HELLO, again every SEED_RETRY_MS until it comes, and it is written to moons.d then;
 * `DELETE /moon/<id>` leaves it and removes the file; `GET /moon[/<id>]` answers stock's JSON.
 * Updates of an orbited moon that peers send (signed with its update key) are written too.
 * Every endpoint has its own (its node, its `moons.d`): its routes are `/endpoint/<name>/moon…`.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { encodeWorld, formatAddress, moonProblem, parseWorld, type Node, type World } from '../node/index.js';
import type { ApiRequest, ApiResponse, Router } from './http/router.js';

/** How often a seed that has not answered is asked again. */
export const SEED_RETRY_MS = 10_000;
const MOON_FILE_RE = /^([0-9a-f]{16})\.moon$/;
const WORLD_ID_RE = /^[0-9a-f]{1,16}$/i;
const ADDRESS_RE = /^[0-9a-f]{1,10}$/i;

type Json = Record<string, unknown>;

function hex16(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/** A moon as stock's `/moon` answers it (`_moonToJson`). */
export function moonJson(m: World): Json {
  return {
    id: hex16(m.id),
    timestamp: Number(m.timestamp),
    signature: m.signature.toString('hex'),
    updatesMustBeSignedBy: Buffer.from(m.updatesMustBeSignedBy).toString('hex'),
    waiting: false,
    roots: m.roots.map((r) => ({
      identity: `${formatAddress(r.address)}:0:${Buffer.from(r.publicKey).toString('hex')}`,
      stableEndpoints: r.stableEndpoints.map((e) => `${e.ip}/${e.port}`),
    })),
  };
}

/** A moon asked of a seed and not here yet, as stock answers an orbit by seed. */
function waitingJson(id: bigint, seed: bigint): Json {
  return { id: hex16(id), timestamp: 0, signature: '', updatesMustBeSignedBy: '', waiting: true, seed: formatAddress(seed), roots: [] };
}

export class MoonService {
  /** Moons asked of a seed: world id → seed address. */
  private readonly seeds = new Map<bigint, bigint>();
  private lastSeedHello = -Infinity;

  private constructor(
    private readonly dir: string,
    private readonly node: Node,
    private readonly log: Logger,
  ) {}

  /** Orbits every moon in `<home>/moons.d` (a bad file is skipped with a warning) and starts asking seeds. */
  static start(home: string, node: Node, log: Logger): MoonService {
    const s = new MoonService(join(home, 'moons.d'), node, log);
    let names: string[] = [];
    try {
      names = readdirSync(s.dir);
    } catch {
      // no moons.d: no moons
    }
    for (const name of names) {
      if (!MOON_FILE_RE.test(name)) continue;
      const file = join(s.dir, name);
      try {
        const parsed = parseWorld(readFileSync(file));
        if (!parsed.ok) throw new Error(parsed.error);
        node.orbit(parsed.value.world);
        log.info({ moon: hex16(parsed.value.world.id), file }, 'orbiting moon');
      } catch (e) {
        log.warn({ file, err: (e as Error).message }, 'moon file not usable: skipped');
      }
    }
    node.onMoonArrived = (moon, from, orbiting) => s.arrived(moon, from.address, orbiting);
    node.onTick((now) => s.tick(now));
    return s;
  }

  private tick(now: number): void {
    if (this.seeds.size === 0 || now - this.lastSeedHello < SEED_RETRY_MS) return;
    this.lastSeedHello = now;
    for (const seed of this.seeds.values()) this.node.helloTo(seed);
  }

  private arrived(moon: World, from: bigint, orbiting: boolean): void {
    const id = hex16(moon.id);
    if (!orbiting) {
      const seed = this.seeds.get(moon.id);
      // as stock's Topology::addWorld: a wanted moon is taken when its seed is one of its roots
      if (seed === undefined || !moon.roots.some((r) => r.address === seed)) {
        return void this.log.warn({ moon: id, from: formatAddress(from) }, 'moon from a peer that is not its seed: ignored');
      }
      try {
        this.node.orbit(moon);
      } catch (e) {
        return void this.log.warn({ moon: id, err: (e as Error).message }, 'moon from its seed not usable');
      }
      this.seeds.delete(moon.id);
      this.node.moonsWanted.delete(moon.id);
    }
    this.save(moon);
    this.log.info({ moon: id, from: formatAddress(from), timestamp: Number(moon.timestamp) }, orbiting ? 'moon updated' : 'orbiting moon');
  }

  private file(id: bigint): string {
    return join(this.dir, `${hex16(id)}.moon`);
  }

  private save(moon: World): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.file(moon.id)}.tmp-${process.pid}`;
      writeFileSync(tmp, encodeWorld(moon), { mode: 0o644 });
      renameSync(tmp, this.file(moon.id));
    } catch (e) {
      this.log.warn({ file: this.file(moon.id), err: (e as Error).message }, 'moon not saved: it is orbited until the daemon stops');
    }
  }

  list(): Json[] {
    const held = this.node.moonWorlds().map(moonJson);
    const waiting = [...this.seeds].filter(([id]) => !this.isOrbited(id)).map(([id, seed]) => waitingJson(id, seed));
    return [...held, ...waiting];
  }

  private isOrbited(id: bigint): boolean {
    return this.node.moonWorlds().some((m) => m.id === id);
  }

  get(id: bigint): Json | null {
    const m = this.node.moonWorlds().find((w) => w.id === id);
    if (m) return moonJson(m);
    const seed = this.seeds.get(id);
    return seed !== undefined ? waitingJson(id, seed) : null;
  }

  /**
   * Orbits moon `id` by asking `seed` for it (stock's `orbit <world id> <seed>`); a moon orbited
   * already is answered as it is. Seed 0: the moon must be in moons.d (as stock loads it from disk).
   */
  orbit(id: bigint, seed: bigint): ApiResponse {
    const current = this.get(id);
    if (current && current.waiting === false) return { status: 200, body: current };
    if (seed === 0n) {
      try {
        const parsed = parseWorld(readFileSync(this.file(id)));
        if (!parsed.ok) throw new Error(parsed.error);
        const problem = moonProblem(parsed.value.world) ?? (parsed.value.world.id === id ? null : 'its world id differs');
        if (problem) throw new Error(problem);
        this.node.orbit(parsed.value.world);
        return { status: 200, body: moonJson(parsed.value.world) };
      } catch (e) {
        return { status: 400, body: { error: `seed: required (moon ${hex16(id)} is not in moons.d: ${(e as Error).message})` } };
      }
    }
    this.seeds.set(id, seed);
    this.node.moonsWanted.add(id);
    this.node.helloTo(seed);
    this.log.info({ moon: hex16(id), seed: formatAddress(seed) }, 'asking a seed for a moon');
    return { status: 200, body: waitingJson(id, seed) };
  }

  /** Leaves moon `id` (orbited or waited for) and removes its file; false when neither. */
  deorbit(id: bigint): boolean {
    const waited = this.seeds.delete(id);
    this.node.moonsWanted.delete(id);
    const orbited = this.node.deorbit(id);
    try {
      unlinkSync(this.file(id));
    } catch {
      // not there
    }
    if (waited || orbited) this.log.info({ moon: hex16(id) }, 'moon left');
    return waited || orbited;
  }
}

function bad(error: string): ApiResponse {
  return { status: 400, body: { error } };
}

/** `GET /moon`, `GET|POST|DELETE /moon/<world id>` (mount before the local API's moonless `GET /moon`). */
export function mountMoonApi(router: Router, moons: MoonService): void {
  mountMoonRoutes(router, '', () => moons);
}

/**
 * The moon routes under `prefix` (a pattern; its groups come first in the parameters), each
 * answered by the MoonService `moonsOf` picks, or its answer when there is none: an endpoint's
 * moons are `/endpoint/<name>/moon…`.
 */
export function mountMoonRoutes(router: Router, prefix: string, moonsOf: (req: ApiRequest) => MoonService | ApiResponse): void {
  const worldId = (req: ApiRequest): bigint | null => {
    const raw = req.params[req.params.length - 1];
    return raw !== undefined && WORLD_ID_RE.test(raw) ? BigInt(`0x${raw}`) : null;
  };
  const idError = 'moon id must be a world id of up to 16 hex digits';
  const withMoons =
    (handler: (moons: MoonService, req: ApiRequest) => ApiResponse) =>
    (req: ApiRequest): ApiResponse => {
      const moons = moonsOf(req);
      return moons instanceof MoonService ? handler(moons, req) : moons;
    };
  router
    .add(
      'GET',
      `${prefix}/moon`,
      withMoons((moons) => ({ status: 200, body: moons.list() })),
    )
    .add(
      'GET',
      `${prefix}/moon/([^/]+)`,
      withMoons((moons, req) => {
        const id = worldId(req);
        if (id === null) return bad(idError);
        const m = moons.get(id);
        return m ? { status: 200, body: m } : { status: 404, body: { error: `moon ${hex16(id)} not orbited` } };
      }),
    )
    .add(
      'POST',
      `${prefix}/moon/([^/]+)`,
      withMoons((moons, req) => {
        const id = worldId(req);
        if (id === null || id === 0n) return bad(idError);
        const b = (typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body) ? req.body : {}) as Json;
        const seedText = b.seed === undefined || b.seed === null ? '0' : b.seed;
        if (typeof seedText !== 'string' || !ADDRESS_RE.test(seedText)) return bad('seed: must be a ZeroTier address (10 hex digits)');
        return moons.orbit(id, BigInt(`0x${seedText}`));
      }),
    )
    .add(
      'DELETE',
      `${prefix}/moon/([^/]+)`,
      withMoons((moons, req) => {
        const id = worldId(req);
        if (id === null) return bad(idError);
        return moons.deorbit(id)
          ? { status: 200, body: { result: true } }
          : { status: 404, body: { error: `moon ${hex16(id)} not orbited` } };
      }),
    );
}
