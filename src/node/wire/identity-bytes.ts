/**
 * Bounds of a binary identity inside a payload (HELLO, OK(WHOIS), planets): address (5), type
 * (1, only 0 = C25519 exists in protocol 1.x), public key (64), private length (1), private key.
 * Validation of the key material is the Identity module's job; this only frames the bytes.
 */
import type { Reader, Writer } from './bytes.js';

export const IDENTITY_PUBLIC_KEY_LENGTH = 64;
export const IDENTITY_PRIVATE_KEY_LENGTH = 64;

export interface IdentityBytes {
  address: bigint;
  publicKey: Buffer;
  /** Present only in secret identities; never on the wire between nodes. */
  privateKey: Buffer | null;
  /** The whole serialized identity (for Identity.fromBinary). */
  serialized: Buffer;
}

export function readIdentityBytes(r: Reader): IdentityBytes | null {
  const start = r.pos;
  const address = r.address('identity address');
  const type = r.u8('identity type');
  if (!r.failed && type !== 0) {
    r.fail(`identity: unknown type ${type}`);
    return null;
  }
  const publicKey = r.bytes(IDENTITY_PUBLIC_KEY_LENGTH, 'identity public key');
  const privLen = r.u8('identity private key length');
  if (!r.failed && privLen !== 0 && privLen !== IDENTITY_PRIVATE_KEY_LENGTH) {
    r.fail(`identity: private key length ${privLen}`);
    return null;
  }
  const privateKey = privLen > 0 ? r.bytes(privLen, 'identity private key') : null;
  if (r.failed) return null;
  return { address, publicKey, privateKey, serialized: r.since(start) };
}

/** Writes the public form (private length 0). */
export function writeIdentityPublic(w: Writer, address: bigint, publicKey: Uint8Array): void {
  w.address(address).u8(0).bytes(publicKey).u8(0);
}
