/**
 * zerotier-idtool's world definition JSON (what `initmoon` prints and `genmoon` reads), used here
 * for moons and private planets alike:
 *
 *   {"id": "<hex>", "objtype": "world", "worldType": "moon"|"planet",
 *    "roots": [{"identity": "<public identity>", "stableEndpoints": ["ip/port", …]}],
 *    "signingKey": "<128 hex>", "signingKey_SECRET": "<128 hex>", "updatesMustBeSignedBy": "<128 hex>"}
 *
 * An optional "timestamp" (milliseconds) pins the world's timestamp, so a world can be rebuilt
 * byte for byte; without it the current time is used, as stock does.
 */
import { randomBytes } from 'node:crypto';
import {
  type C25519KeyPair,
  EARTH_WORLD_ID,
  encodeWorld,
  endpoint,
  generateKeyPair,
  Identity,
  type InetAddress,
  MARS_WORLD_ID,
  parseWorld,
  publicKeyOf,
  signWorld,
  verifyWorld,
  type World,
  WORLD_KEY_LENGTH,
  WORLD_MAX_ROOTS,
  WORLD_MAX_STABLE_ENDPOINTS,
  WORLD_SIGNATURE_LENGTH,
  type WorldRoot,
  WorldType,
} from '../node/index.js';

export class WorldJsonError extends Error {
  override readonly name = 'WorldJsonError';
}

type Json = Record<string, unknown>;

/** `ip/port` (stock's InetAddress text) as a stable endpoint. */
export function parseStableEndpoint(text: string): InetAddress {
  const slash = text.lastIndexOf('/');
  const port = slash > 0 ? Number(text.slice(slash + 1)) : NaN;
  const ep = slash > 0 && /^\d{1,5}$/.test(text.slice(slash + 1)) ? endpoint(text.slice(0, slash), port) : null;
  if (!ep) throw new WorldJsonError(`stable endpoint ${JSON.stringify(text)} is not ip/port (like 10.0.0.1/9993)`);
  return { family: ep.family, ip: ep.ip, port: ep.port };
}

function sorted(o: Json): Json {
  const out: Json = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** A fresh world definition with one root, as `initmoon` (moon, id = root address) prints it. */
export function initWorldJson(
  type: 'moon' | 'planet',
  root: Identity,
  stableEndpoints: InetAddress[] = [],
  signingKey: C25519KeyPair = generateKeyPair(),
): Json {
  let id: string;
  if (type === 'moon') id = root.addressHex;
  else {
    // Within 2^53 so the id survives the local API's JSON (planetWorldId is a number) exactly.
    let n: bigint;
    do n = randomBytes(8).readBigUInt64BE(0) & 0x1fffffffffffffn;
    while (n === 0n || n === EARTH_WORLD_ID || n === MARS_WORLD_ID);
    id = n.toString(16).padStart(16, '0');
  }
  const pub = signingKey.publicKey.toString('hex');
  return sorted({
    id,
    objtype: 'world',
    roots: [{ identity: root.toString(false), stableEndpoints: stableEndpoints.map((e) => `${e.ip}/${e.port}`) }],
    signingKey: pub,
    signingKey_SECRET: signingKey.privateKey.toString('hex'),
    updatesMustBeSignedBy: pub,
    worldType: type,
  });
}

function hexKey(doc: Json, field: string): Buffer {
  const v = doc[field];
  if (typeof v !== 'string' || !/^[0-9a-f]+$/i.test(v) || v.length !== WORLD_KEY_LENGTH * 2) {
    throw new WorldJsonError(`"${field}" must be ${WORLD_KEY_LENGTH * 2} hex digits`);
  }
  return Buffer.from(v, 'hex');
}

function parseRoot(v: unknown, i: number, type: number): WorldRoot {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WorldJsonError(`roots[${i}] must be an object`);
  const r = v as Json;
  if (typeof r.identity !== 'string') throw new WorldJsonError(`roots[${i}].identity must be an identity string`);
  let id: Identity;
  try {
    id = Identity.fromString(r.identity);
  } catch (e) {
    throw new WorldJsonError(`roots[${i}].identity: ${(e as Error).message}`);
  }
  if (!id.locallyValidateSync()) throw new WorldJsonError(`roots[${i}].identity ${id.addressHex} fails validation`);
  const eps = r.stableEndpoints === undefined ? [] : r.stableEndpoints;
  if (!Array.isArray(eps) || !eps.every((e) => typeof e === 'string'))
    throw new WorldJsonError(`roots[${i}].stableEndpoints must be a list of "ip/port" strings`);
  if (eps.length > WORLD_MAX_STABLE_ENDPOINTS)
    throw new WorldJsonError(`roots[${i}] has ${eps.length} stable endpoints (at most ${WORLD_MAX_STABLE_ENDPOINTS})`);
  if (type === WorldType.PLANET && eps.length === 0)
    throw new WorldJsonError(`roots[${i}] of a planet needs at least one stable endpoint (nodes could not reach it)`);
  return { address: id.address, publicKey: Buffer.from(id.publicKey), stableEndpoints: eps.map((e) => parseStableEndpoint(e as string)) };
}

/** Reads and checks a world definition and signs the world it describes. */
export function buildWorld(text: string, now: () => number = Date.now): { world: World; serialized: Buffer } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new WorldJsonError(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new WorldJsonError('must hold a JSON object');
  const d = doc as Json;
  const idText = typeof d.id === 'string' ? d.id : '';
  if (!/^[0-9a-f]{1,16}$/i.test(idText) || BigInt(`0x${idText}`) === 0n)
    throw new WorldJsonError('"id" must be a non-zero hex world id (up to 16 digits)');
  const id = BigInt(`0x${idText}`);
  let type: number;
  if (d.worldType === 'moon') type = WorldType.MOON;
  else if (d.worldType === 'planet') type = WorldType.PLANET;
  else throw new WorldJsonError('"worldType" must be "moon" or "planet"');
  if (type === WorldType.PLANET && (id === EARTH_WORLD_ID || id === MARS_WORLD_ID))
    throw new WorldJsonError(`world id ${idText} is reserved for ZeroTier's public planets`);
  const signingPublic = hexKey(d, 'signingKey');
  const signingPrivate = hexKey(d, 'signingKey_SECRET');
  const updatesMustBeSignedBy = hexKey(d, 'updatesMustBeSignedBy');
  let derived: Buffer;
  try {
    derived = publicKeyOf(signingPrivate);
  } catch (e) {
    throw new WorldJsonError(`"signingKey_SECRET" is not a usable key (${(e as Error).message})`);
  }
  if (!derived.equals(signingPublic)) throw new WorldJsonError('"signingKey_SECRET" does not belong to "signingKey"');
  if (!Array.isArray(d.roots) || d.roots.length === 0 || d.roots.length > WORLD_MAX_ROOTS)
    throw new WorldJsonError(`"roots" must list 1 to ${WORLD_MAX_ROOTS} roots`);
  const roots = d.roots.map((r, i) => parseRoot(r, i, type));
  let timestamp: bigint;
  if (d.timestamp === undefined) timestamp = BigInt(now());
  else if (typeof d.timestamp === 'number' && Number.isSafeInteger(d.timestamp) && d.timestamp > 0) timestamp = BigInt(d.timestamp);
  else if (typeof d.timestamp === 'string' && /^\d{1,19}$/.test(d.timestamp) && BigInt(d.timestamp) > 0n) timestamp = BigInt(d.timestamp);
  else throw new WorldJsonError('"timestamp" must be a positive number of milliseconds');
  const world = signWorld(
    { type, id, timestamp, updatesMustBeSignedBy, signature: Buffer.alloc(WORLD_SIGNATURE_LENGTH), roots },
    { publicKey: signingPublic, privateKey: signingPrivate },
  );
  const serialized = encodeWorld(world);
  const back = parseWorld(serialized);
  if (!back.ok || !verifyWorld(back.value.world, signingPublic))
    throw new WorldJsonError('the signed world does not read back (a root or endpoint is not representable)');
  return { world, serialized };
}
