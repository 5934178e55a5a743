/**
 * Certificate of ownership (COO): the controller's statement that a member owns IP or MAC
 * addresses ("things") on a network, so peers accept frames from those addresses.
 *
 * Serialized: nwid (8), timestamp (8), flags (8), id (4), thing count (2), count × (type (1),
 * value (16, zero padded)), issued-to (5), signer (5), signature type (1; 1 = Ed25519) with
 * length (2) and signature, then the length (2) of additional fields and those fields.
 * Signed: 8 × 0x7f, nwid … signer, 0x0000, 8 × 0x7f.
 */
import { sign, verify } from '../crypto/c25519.js';
import { controllerOf } from '../wire/address.js';
import { Reader, Writer, fail, ok, type Parsed } from '../wire/bytes.js';
import { ipv4Bytes } from '../wire/inet-address.js';
import { ipv6Bytes } from '../peer/endpoint.js';

export const COO_MAX_THINGS = 16;
export const COO_THING_VALUE_SIZE = 16;
export const SIGNATURE_LENGTH = 96;

export const CooThing = {
  NULL: 0,
  MAC_ADDRESS: 1,
  IPV4_ADDRESS: 2,
  IPV6_ADDRESS: 3,
} as const;

export interface CooThingEntry {
  type: number;
  /** 16 bytes; IPv4 in the first 4, MAC in the first 6. */
  value: Buffer;
}

export interface CertificateOfOwnership {
  networkId: bigint;
  timestamp: bigint;
  flags: bigint;
  id: number;
  things: CooThingEntry[];
  issuedTo: bigint;
  signedBy: bigint;
  /** null when the signature type is not Ed25519 (1). */
  signature: Buffer | null;
}

const MARKER = Buffer.alloc(8, 0x7f);

export function readCoo(r: Reader): CertificateOfOwnership | null {
  const networkId = r.u64('COO network id');
  const timestamp = r.u64('COO timestamp');
  const flags = r.u64('COO flags');
  const id = r.u32('COO id');
  const count = r.u16('COO thing count');
  if (count > COO_MAX_THINGS) {
    r.fail(`COO: ${count} things (max ${COO_MAX_THINGS})`);
    return null;
  }
  const things: CooThingEntry[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8('COO thing type');
    things.push({ type, value: Buffer.from(r.bytes(COO_THING_VALUE_SIZE, 'COO thing value')) });
  }
  const issuedTo = r.address('COO issued to');
  const signedBy = r.address('COO signer');
  let signature: Buffer | null = null;
  if (r.u8('COO signature type') === 1) {
    if (r.u16('COO signature length') !== SIGNATURE_LENGTH) {
      r.fail('COO: bad signature length');
      return null;
    }
    signature = Buffer.from(r.bytes(SIGNATURE_LENGTH, 'COO signature'));
  } else {
    r.bytes(r.u16('COO signature length'), 'COO signature');
  }
  r.bytes(r.u16('COO extra length'), 'COO extra fields');
  if (r.failed) return null;
  return { networkId, timestamp, flags, id, things, issuedTo, signedBy, signature };
}

export function parseCoo(buf: Buffer): Parsed<{ coo: CertificateOfOwnership; length: number }> {
  const r = new Reader(buf);
  const coo = readCoo(r);
  if (!coo) return fail(r.failed ?? 'COO: malformed');
  return ok({ coo, length: r.pos });
}

function writeBody(w: Writer, c: CertificateOfOwnership): void {
  w.u64(c.networkId).u64(c.timestamp).u64(c.flags).u32(c.id).u16(c.things.length);
  for (const t of c.things) {
    const v = Buffer.alloc(COO_THING_VALUE_SIZE);
    t.value.copy(v, 0, 0, Math.min(COO_THING_VALUE_SIZE, t.value.length));
    w.u8(t.type).bytes(v);
  }
  w.address(c.issuedTo).address(c.signedBy);
}

export function writeCoo(w: Writer, c: CertificateOfOwnership): void {
  writeBody(w, c);
  w.u8(1)
    .u16(SIGNATURE_LENGTH)
    .bytes(c.signature ?? Buffer.alloc(SIGNATURE_LENGTH));
  w.u16(0);
}

export function encodeCoo(c: CertificateOfOwnership): Buffer {
  const w = new Writer(256);
  writeCoo(w, c);
  return Buffer.from(w.finish());
}

export function cooSignedMessage(c: CertificateOfOwnership): Buffer {
  const w = new Writer(256);
  w.bytes(MARKER);
  writeBody(w, c);
  w.u16(0).bytes(MARKER);
  return Buffer.from(w.finish());
}

export function signCoo(
  c: CertificateOfOwnership,
  signer: { address: bigint; publicKey: Uint8Array; privateKey: Uint8Array },
): CertificateOfOwnership {
  const unsigned = { ...c, signedBy: signer.address };
  return { ...unsigned, signature: sign(signer.privateKey, signer.publicKey, cooSignedMessage(unsigned)) };
}

/** Checks the controller's signature (signer must be the network's controller). */
export function verifyCoo(c: CertificateOfOwnership, controllerPublicKey: Uint8Array): boolean {
  if (c.signature === null || c.signedBy !== controllerOf(c.networkId)) return false;
  return verify(controllerPublicKey, cooSignedMessage(c), c.signature);
}

/** A thing entry for an IP address text (IPv4 or IPv6), or null. */
export function ipThing(ip: string): CooThingEntry | null {
  const v4 = ipv4Bytes(ip);
  if (v4) return { type: CooThing.IPV4_ADDRESS, value: Buffer.concat([v4, Buffer.alloc(12)]) };
  const v6 = ipv6Bytes(ip);
  if (v6) return { type: CooThing.IPV6_ADDRESS, value: v6 };
  return null;
}

/** Does the certificate list this IP (text form)? */
export function cooOwnsIp(c: CertificateOfOwnership, ip: string): boolean {
  const t = ipThing(ip);
  if (!t) return false;
  const len = t.type === CooThing.IPV4_ADDRESS ? 4 : 16;
  return c.things.some((x) => x.type === t.type && x.value.subarray(0, len).equals(t.value.subarray(0, len)));
}
