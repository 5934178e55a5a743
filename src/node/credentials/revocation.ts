/**
 * Revocation: the network controller's signed statement that a member's credentials issued at or
 * before a time threshold are void, so other members drop that member at once instead of waiting
 * for its certificate of membership to age out. Follows stock node/Revocation.hpp (1.x).
 *
 * Serialized: reserved (4, zero), id (4), nwid (8), reserved (4, zero), credential id (4),
 * threshold (8, ms), flags (8; bit 0 = fast propagation), target (5), signer (5), credential type
 * (1), signature type (1; 1 = Ed25519) with length (2) and signature, then the length (2) of
 * additional fields and those fields.
 * Signed: 8 × 0x7f, the fields up to the credential type, 0x0000, 8 × 0x7f.
 */
import { sign, verify } from '../crypto/c25519.js';
import { controllerOf } from '../wire/address.js';
import { Reader, Writer, fail, ok, type Parsed } from '../wire/bytes.js';

export const SIGNATURE_LENGTH = 96;
/** Bytes before the signature type. */
export const REVOCATION_BODY_LENGTH = 4 + 4 + 8 + 4 + 4 + 8 + 8 + 5 + 5 + 1;

/** Flag: members forward the revocation to the other members they know (stock's "rumor mill"). */
export const REVOCATION_FLAG_FAST_PROPAGATE = 0x1n;

/** What is revoked (stock Credential::Type). */
export const CredentialType = {
  NULL: 0,
  COM: 1,
  CAPABILITY: 2,
  TAG: 3,
  COO: 4,
  REVOCATION: 6,
} as const;

export interface Revocation {
  /** Arbitrary (stock: random). */
  id: number;
  networkId: bigint;
  /** The revoked credential's id; 0 for certificates of membership, which have none. */
  credentialId: number;
  /** Credentials of the target with a timestamp at or before this (ms) are revoked. */
  threshold: bigint;
  flags: bigint;
  target: bigint;
  signedBy: bigint;
  credentialType: number;
  /** null when unsigned or the signature type is not Ed25519 (1). */
  signature: Buffer | null;
}

const MARKER = Buffer.alloc(8, 0x7f);

/** Reads a revocation; on malformed input marks the reader failed and returns null. */
export function readRevocation(r: Reader): Revocation | null {
  r.u32('revocation reserved');
  const id = r.u32('revocation id');
  const networkId = r.u64('revocation network id');
  r.u32('revocation reserved');
  const credentialId = r.u32('revocation credential id');
  const threshold = r.u64('revocation threshold');
  const flags = r.u64('revocation flags');
  const target = r.address('revocation target');
  const signedBy = r.address('revocation signer');
  const credentialType = r.u8('revocation credential type');
  let signature: Buffer | null = null;
  if (r.u8('revocation signature type') === 1) {
    if (r.u16('revocation signature length') !== SIGNATURE_LENGTH) {
      r.fail('revocation: bad signature length');
      return null;
    }
    signature = Buffer.from(r.bytes(SIGNATURE_LENGTH, 'revocation signature'));
  } else {
    r.bytes(r.u16('revocation signature length'), 'revocation signature');
  }
  r.bytes(r.u16('revocation extra length'), 'revocation extra fields');
  if (r.failed) return null;
  return { id, networkId, credentialId, threshold, flags, target, signedBy, credentialType, signature };
}

export function parseRevocation(buf: Buffer): Parsed<{ revocation: Revocation; length: number }> {
  const r = new Reader(buf);
  const revocation = readRevocation(r);
  if (!revocation) return fail(r.failed ?? 'revocation: malformed');
  return ok({ revocation, length: r.pos });
}

function writeBody(w: Writer, v: Revocation): void {
  w.u32(0).u32(v.id).u64(v.networkId).u32(0).u32(v.credentialId).u64(BigInt.asUintN(64, v.threshold)).u64(v.flags);
  w.address(v.target).address(v.signedBy).u8(v.credentialType);
}

export function writeRevocation(w: Writer, v: Revocation): void {
  writeBody(w, v);
  w.u8(1)
    .u16(SIGNATURE_LENGTH)
    .bytes(v.signature ?? Buffer.alloc(SIGNATURE_LENGTH));
  w.u16(0);
}

export function encodeRevocation(v: Revocation): Buffer {
  const w = new Writer(REVOCATION_BODY_LENGTH + 3 + SIGNATURE_LENGTH + 2);
  writeRevocation(w, v);
  return Buffer.from(w.finish());
}

/** The bytes the controller signs. */
export function revocationSignedMessage(v: Revocation): Buffer {
  const w = new Writer(REVOCATION_BODY_LENGTH + 18);
  w.bytes(MARKER);
  writeBody(w, v);
  w.u16(0).bytes(MARKER);
  return Buffer.from(w.finish());
}

/** An unsigned revocation of `target`'s certificates of membership issued at or before `threshold`, as stock's controller makes it. */
export function comRevocation(id: number, networkId: bigint, target: bigint, threshold: bigint): Revocation {
  return {
    id: id >>> 0,
    networkId,
    credentialId: 0,
    threshold,
    flags: REVOCATION_FLAG_FAST_PROPAGATE,
    target,
    signedBy: 0n,
    credentialType: CredentialType.COM,
    signature: null,
  };
}

export function signRevocation(v: Revocation, signer: { address: bigint; publicKey: Uint8Array; privateKey: Uint8Array }): Revocation {
  const unsigned = { ...v, signedBy: signer.address };
  return { ...unsigned, signature: sign(signer.privateKey, signer.publicKey, revocationSignedMessage(unsigned)) };
}

/** Checks the signature of the network's controller (whose address is the network id's top 40 bits). */
export function verifyRevocation(v: Revocation, controllerPublicKey: Uint8Array): boolean {
  if (v.signature === null || v.signedBy === 0n || v.signedBy !== controllerOf(v.networkId)) return false;
  return verify(controllerPublicKey, revocationSignedMessage(v), v.signature);
}

export const fastPropagates = (v: Revocation): boolean => (v.flags & REVOCATION_FLAG_FAST_PROPAGATE) !== 0n;
