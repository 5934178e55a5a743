/**
 * Worlds: the planet (type 1) and moons (type 127) that list root servers.
 *
 * Serialized: type (1), id (8), timestamp (8), update signing key (64), signature (96), root
 * count (1, ≤ 4), per root a binary identity (public) and its stable endpoints (count (1, ≤ 32)
 * and InetAddresses); moons end with a dictionary length (2, currently 0) and dictionary.
 * Signed: 8 × 0x7f, the world without its signature, 8 × 0xf7. A newer world with the same id
 * and type replaces the current one only when signed by the current world's update key.
 */
import { generateKeyPair, sign, verify, type C25519KeyPair } from '../crypto/c25519.js';
import { Reader, Writer, fail, ok, type Parsed } from '../wire/bytes.js';
import { readIdentityBytes, writeIdentityPublic } from '../wire/identity-bytes.js';
import { readInetAddress, writeInetAddress, type InetAddress } from '../wire/inet-address.js';

export const WorldType = {
  NULL: 0,
  PLANET: 1,
  MOON: 127,
} as const;

export const WORLD_MAX_ROOTS = 4;
export const WORLD_MAX_STABLE_ENDPOINTS = 32;
export const WORLD_SIGNATURE_LENGTH = 96;
export const WORLD_KEY_LENGTH = 64;
/** Stock's bound on a serialized world. */
export const WORLD_MAX_SERIALIZED_LENGTH =
  (1024 + 32 * WORLD_MAX_STABLE_ENDPOINTS) * WORLD_MAX_ROOTS + WORLD_KEY_LENGTH + WORLD_SIGNATURE_LENGTH + 128;

export interface WorldRoot {
  address: bigint;
  publicKey: Buffer;
  stableEndpoints: InetAddress[];
}

export interface World {
  type: number;
  id: bigint;
  /** Milliseconds since the epoch. */
  timestamp: bigint;
  updatesMustBeSignedBy: Buffer;
  signature: Buffer;
  roots: WorldRoot[];
}

export function readWorld(r: Reader): World | null {
  const type = r.u8('world type');
  if (!r.failed && type !== WorldType.NULL && type !== WorldType.PLANET && type !== WorldType.MOON) {
    r.fail(`world: unknown type ${type}`);
    return null;
  }
  const id = r.u64('world id');
  const timestamp = r.u64('world timestamp');
  const updatesMustBeSignedBy = Buffer.from(r.bytes(WORLD_KEY_LENGTH, 'world key'));
  const signature = Buffer.from(r.bytes(WORLD_SIGNATURE_LENGTH, 'world signature'));
  const n = r.u8('root count');
  if (n > WORLD_MAX_ROOTS) {
    r.fail(`world: ${n} roots (max ${WORLD_MAX_ROOTS})`);
    return null;
  }
  const roots: WorldRoot[] = [];
  for (let i = 0; i < n && !r.failed; i++) {
    const id = readIdentityBytes(r);
    if (!id) return null;
    const ne = r.u8('endpoint count');
    if (ne > WORLD_MAX_STABLE_ENDPOINTS) {
      r.fail(`world: ${ne} endpoints (max ${WORLD_MAX_STABLE_ENDPOINTS})`);
      return null;
    }
    const stableEndpoints: InetAddress[] = [];
    for (let k = 0; k < ne && !r.failed; k++) {
      const ep = readInetAddress(r);
      if (ep) stableEndpoints.push(ep);
    }
    roots.push({ address: id.address, publicKey: Buffer.from(id.publicKey), stableEndpoints });
  }
  if (type === WorldType.MOON) r.bytes(r.u16('moon dictionary length'), 'moon dictionary');
  return r.failed ? null : { type, id, timestamp, updatesMustBeSignedBy, signature, roots };
}

export function parseWorld(buf: Buffer): Parsed<{ world: World; length: number }> {
  if (buf.length > WORLD_MAX_SERIALIZED_LENGTH) return fail(`world: ${buf.length} bytes`);
  const r = new Reader(buf);
  const world = readWorld(r);
  if (!world) return fail(r.failed ?? 'world: malformed');
  return ok({ world, length: r.pos });
}

function writeWorld(w: Writer, world: World, forSign: boolean): void {
  if (forSign) w.bytes(Buffer.alloc(8, 0x7f));
  w.u8(world.type).u64(world.id).u64(world.timestamp).bytes(world.updatesMustBeSignedBy);
  if (!forSign) w.bytes(world.signature);
  w.u8(world.roots.length);
  for (const root of world.roots) {
    writeIdentityPublic(w, root.address, root.publicKey);
    w.u8(root.stableEndpoints.length);
    for (const ep of root.stableEndpoints) writeInetAddress(w, ep);
  }
  if (world.type === WorldType.MOON) w.u16(0);
  if (forSign) w.bytes(Buffer.alloc(8, 0xf7));
}

export function encodeWorld(world: World): Buffer {
  const w = new Writer(512);
  writeWorld(w, world, false);
  return Buffer.from(w.finish());
}

export function worldSignedMessage(world: World): Buffer {
  const w = new Writer(512);
  writeWorld(w, world, true);
  return Buffer.from(w.finish());
}

/** Checks the signature with `key` (default: the world's own update key, as for a first planet). */
export function verifyWorld(world: World, key: Uint8Array = world.updatesMustBeSignedBy): boolean {
  return verify(key, worldSignedMessage(world), world.signature);
}

/** Signs with the previous world's key pair (or the world's own, for a self-signed first one). */
export function signWorld(world: World, signingKey: C25519KeyPair): World {
  const unsigned = { ...world, signature: Buffer.alloc(WORLD_SIGNATURE_LENGTH) };
  return { ...unsigned, signature: sign(signingKey.privateKey, signingKey.publicKey, worldSignedMessage(unsigned)) };
}

/** Should `update` replace `current`? Same id and type, newer, signed by current's update key. */
export function shouldReplaceWorld(current: World | null, update: World): boolean {
  if (!current || current.id === 0n || current.type === WorldType.NULL) return true;
  if (update.id !== current.id || update.type !== current.type || update.timestamp <= current.timestamp) return false;
  return verifyWorld(update, current.updatesMustBeSignedBy);
}

export interface PrivatePlanetSpec {
  /** World id; must not be stock's Earth (149604618) or Mars (227883110). */
  id: bigint;
  timestamp: bigint;
  roots: WorldRoot[];
  /** The key that signs this planet and must sign its updates; generated when absent. */
  signingKey?: C25519KeyPair;
}

export const EARTH_WORLD_ID = 149604618n;
export const MARS_WORLD_ID = 227883110n;

/** Makes and signs a private planet; returns the planet bytes and the signing key to keep secret. */
export function createPrivatePlanet(spec: PrivatePlanetSpec): Parsed<{ world: World; serialized: Buffer; signingKey: C25519KeyPair }> {
  if (spec.id === EARTH_WORLD_ID || spec.id === MARS_WORLD_ID || spec.id <= 0n) return fail('planet id is reserved');
  if (spec.roots.length === 0 || spec.roots.length > WORLD_MAX_ROOTS) return fail(`a planet has 1 to ${WORLD_MAX_ROOTS} roots`);
  for (const r of spec.roots) {
    if (r.publicKey.length !== WORLD_KEY_LENGTH) return fail('root public key must be 64 bytes');
    if (r.stableEndpoints.length === 0 || r.stableEndpoints.length > WORLD_MAX_STABLE_ENDPOINTS)
      return fail(`a root has 1 to ${WORLD_MAX_STABLE_ENDPOINTS} endpoints`);
  }
  const signingKey = spec.signingKey ?? generateKeyPair();
  const world = signWorld(
    {
      type: WorldType.PLANET,
      id: spec.id,
      timestamp: spec.timestamp,
      updatesMustBeSignedBy: Buffer.from(signingKey.publicKey),
      signature: Buffer.alloc(WORLD_SIGNATURE_LENGTH),
      roots: spec.roots,
    },
    signingKey,
  );
  return ok({ world, serialized: encodeWorld(world), signingKey });
}
