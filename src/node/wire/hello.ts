/**
 * HELLO (verb 1) and OK(HELLO).
 *
 * HELLO: protocol version (1), major (1), minor (1), revision (2), timestamp (8), identity,
 * physical destination (InetAddress), planet world id (8) and timestamp (8), then a trailer that
 * stock encrypts with cryptField (Salsa20/12 under the unmangled key): moon count (2) and per
 * moon type (1), world id (8), timestamp (8). This codec frames the trailer; the armor decrypts.
 *
 * OK(HELLO): timestamp echo (8), protocol version, major, minor, revision (2), physical
 * destination as seen by the responder, world update length (2) and updates.
 */
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';
import { readIdentityBytes, writeIdentityPublic, type IdentityBytes } from './identity-bytes.js';
import { readInetAddress, writeInetAddress, type InetAddress } from './inet-address.js';

export interface SoftwareVersion {
  protocolVersion: number;
  versionMajor: number;
  versionMinor: number;
  versionRevision: number;
}

export interface Hello extends SoftwareVersion {
  timestamp: bigint;
  identity: IdentityBytes;
  physicalDestination: InetAddress | null;
  /** Absent from very old nodes. */
  planetWorldId: bigint | null;
  planetWorldTimestamp: bigint | null;
  /** Offset of the cryptField trailer within the payload (bytes after the verb). */
  trailerOffset: number;
  /** The trailer as carried (encrypted by stock senders). */
  trailer: Buffer;
}

export interface MoonRef {
  type: number;
  worldId: bigint;
  timestamp: bigint;
}

export function parseHello(payload: Buffer): Parsed<Hello> {
  const r = new Reader(payload);
  const protocolVersion = r.u8();
  const versionMajor = r.u8();
  const versionMinor = r.u8();
  const versionRevision = r.u16();
  const timestamp = r.u64('timestamp');
  const identity = readIdentityBytes(r);
  if (!identity) return fail(`HELLO: ${r.failed ?? 'bad identity'}`);
  if (identity.privateKey) return fail('HELLO: identity carries a private key');
  const physicalDestination = r.remaining > 0 ? readInetAddress(r) : null;
  let planetWorldId: bigint | null = null;
  let planetWorldTimestamp: bigint | null = null;
  if (r.remaining >= 16) {
    planetWorldId = r.u64();
    planetWorldTimestamp = r.u64();
  }
  if (r.failed) return fail(`HELLO: ${r.failed}`);
  const trailerOffset = r.pos;
  return ok({
    protocolVersion,
    versionMajor,
    versionMinor,
    versionRevision,
    timestamp,
    identity,
    physicalDestination,
    planetWorldId,
    planetWorldTimestamp,
    trailerOffset,
    trailer: r.rest(),
  });
}

/** Decodes the (decrypted) trailer: the moons the sender has joined. */
export function parseHelloMoons(trailer: Buffer, maxMoons = 16): Parsed<MoonRef[]> {
  if (trailer.length === 0) return ok([]);
  const r = new Reader(trailer);
  const n = r.u16('moon count');
  if (n > maxMoons) return fail(`HELLO: ${n} moons`);
  const moons: MoonRef[] = [];
  for (let i = 0; i < n; i++) moons.push({ type: r.u8(), worldId: r.u64(), timestamp: r.u64() });
  return r.failed ? fail(`HELLO: ${r.failed}`) : ok(moons);
}

export interface HelloFields extends SoftwareVersion {
  timestamp: bigint;
  address: bigint;
  publicKey: Uint8Array;
  physicalDestination: InetAddress | null;
  planetWorldId: bigint;
  planetWorldTimestamp: bigint;
  moons?: MoonRef[];
}

/** The payload with the trailer in plaintext; returns it and where the trailer starts (to cryptField it). */
export function emitHello(h: HelloFields): { payload: Buffer; trailerOffset: number } {
  const w = new Writer(160);
  w.u8(h.protocolVersion).u8(h.versionMajor).u8(h.versionMinor).u16(h.versionRevision).u64(h.timestamp);
  writeIdentityPublic(w, h.address, h.publicKey);
  writeInetAddress(w, h.physicalDestination);
  w.u64(h.planetWorldId).u64(h.planetWorldTimestamp);
  const trailerOffset = w.length;
  const moons = h.moons ?? [];
  w.u16(moons.length);
  for (const m of moons) w.u8(m.type).u64(m.worldId).u64(m.timestamp);
  return { payload: Buffer.from(w.finish()), trailerOffset };
}

export interface OkHello extends SoftwareVersion {
  timestampEcho: bigint;
  physicalDestination: InetAddress | null;
  /** Planet/moon updates (serialized worlds), possibly empty. */
  worldUpdates: Buffer;
}

export function parseOkHello(body: Buffer): Parsed<OkHello> {
  const r = new Reader(body);
  const timestampEcho = r.u64('timestamp echo');
  const protocolVersion = r.u8();
  const versionMajor = r.u8();
  const versionMinor = r.u8();
  const versionRevision = r.u16();
  const physicalDestination = r.remaining > 0 ? readInetAddress(r) : null;
  const worldUpdates = r.remaining >= 2 ? r.bytes(r.u16(), 'world updates') : Buffer.alloc(0);
  if (r.failed) return fail(`OK(HELLO): ${r.failed}`);
  return ok({ timestampEcho, protocolVersion, versionMajor, versionMinor, versionRevision, physicalDestination, worldUpdates });
}

export function emitOkHello(o: OkHello): Buffer {
  const w = new Writer(64 + o.worldUpdates.length);
  w.u64(o.timestampEcho).u8(o.protocolVersion).u8(o.versionMajor).u8(o.versionMinor).u16(o.versionRevision);
  writeInetAddress(w, o.physicalDestination);
  w.u16(o.worldUpdates.length).bytes(o.worldUpdates);
  return Buffer.from(w.finish());
}
