/**
 * ZeroTier's "C25519" key pairs: 64-byte public key = X25519 public ‖ Ed25519 public, 64-byte
 * private key = X25519 scalar ‖ Ed25519 seed. Key agreement and signatures go through node:crypto
 * (raw keys wrapped in fixed DER prefixes); KeyObjects are cached because importing one costs
 * more than the operation it is used for.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';

export const PUBLIC_KEY_LENGTH = 64;
export const PRIVATE_KEY_LENGTH = 64;
export const SIGNATURE_LENGTH = 96;
export const AGREED_KEY_LENGTH = 48;

/** Thrown for keys of the wrong size or that node:crypto refuses (e.g. a low-order X25519 point). */
export class CryptoKeyError extends Error {
  override readonly name = 'CryptoKeyError';
}

export interface C25519KeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

// DER headers that turn a raw 32-byte key into PKCS#8 / SPKI (RFC 8410)
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

const CACHE_LIMIT = 2048;
const keyCache = new Map<string, KeyObject>();

function cached(kind: string, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const id = kind + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  const hit = keyCache.get(id);
  if (hit) return hit;
  const k = make();
  if (keyCache.size >= CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(id, k);
  return k;
}

function importKey(kind: 'xpriv' | 'xpub' | 'epriv' | 'epub', raw: Uint8Array): KeyObject {
  return cached(kind, raw, () => {
    try {
      switch (kind) {
        case 'xpriv':
          return createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: 'der', type: 'pkcs8' });
        case 'xpub':
          return createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: 'der', type: 'spki' });
        case 'epriv':
          return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, raw]), format: 'der', type: 'pkcs8' });
        case 'epub':
          return createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: 'der', type: 'spki' });
      }
    } catch (e) {
      throw new CryptoKeyError(`invalid ${kind} key: ${(e as Error).message}`);
    }
  });
}

function rawPublic(k: KeyObject, spkiHeader: Buffer): Buffer {
  return (k.export({ format: 'der', type: 'spki' }) as Buffer).subarray(spkiHeader.length);
}

function rawPrivate(k: KeyObject, pkcs8Header: Buffer): Buffer {
  return (k.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(pkcs8Header.length);
}

/** X25519 public key of a 32-byte scalar. */
export function x25519PublicOf(private32: Uint8Array): Buffer {
  return rawPublic(createPublicKey(importKey('xpriv', private32)), X25519_SPKI);
}

/** Ed25519 public key of a 32-byte seed. */
export function ed25519PublicOf(seed32: Uint8Array): Buffer {
  return rawPublic(createPublicKey(importKey('epriv', seed32)), ED25519_SPKI);
}

/** A fresh random key pair. */
export function generateKeyPair(): C25519KeyPair {
  const x = generateKeyPairSync('x25519');
  const e = generateKeyPairSync('ed25519');
  return {
    publicKey: Buffer.concat([rawPublic(x.publicKey, X25519_SPKI), rawPublic(e.publicKey, ED25519_SPKI)]),
    privateKey: Buffer.concat([rawPrivate(x.privateKey, X25519_PKCS8), rawPrivate(e.privateKey, ED25519_PKCS8)]),
  };
}

/** A fresh X25519 half (public 32, private 32), for identity generation that keeps the Ed25519 half. */
export function generateX25519(): { publicKey: Buffer; privateKey: Buffer } {
  const x = generateKeyPairSync('x25519');
  return { publicKey: rawPublic(x.publicKey, X25519_SPKI), privateKey: rawPrivate(x.privateKey, X25519_PKCS8) };
}

/** The 64-byte public key a 64-byte private key produces. */
export function publicKeyOf(private64: Uint8Array): Buffer {
  if (private64.length !== PRIVATE_KEY_LENGTH) throw new CryptoKeyError('private key must be 64 bytes');
  return Buffer.concat([x25519PublicOf(private64.subarray(0, 32)), ed25519PublicOf(private64.subarray(32, 64))]);
}

/**
 * The 48-byte key two peers share: SHA-512(X25519(our scalar, their public))[0..48].
 * Throws CryptoKeyError for malformed keys or a degenerate (low-order) peer public key.
 */
export function agree(ourPrivate64: Uint8Array, theirPublic64: Uint8Array): Buffer {
  if (ourPrivate64.length !== PRIVATE_KEY_LENGTH) throw new CryptoKeyError('private key must be 64 bytes');
  if (theirPublic64.length !== PUBLIC_KEY_LENGTH) throw new CryptoKeyError('public key must be 64 bytes');
  let shared: Buffer;
  try {
    shared = diffieHellman({
      privateKey: importKey('xpriv', ourPrivate64.subarray(0, 32)),
      publicKey: importKey('xpub', theirPublic64.subarray(0, 32)),
    });
  } catch (e) {
    if (e instanceof CryptoKeyError) throw e;
    throw new CryptoKeyError(`X25519 agreement failed: ${(e as Error).message}`);
  }
  return createHash('sha512').update(shared).digest().subarray(0, AGREED_KEY_LENGTH);
}

/** ZeroTier's 96-byte signature: Ed25519 over SHA-512(message)[0..32], then those 32 hash bytes. */
export function sign(private64: Uint8Array, public64: Uint8Array, message: Uint8Array): Buffer {
  if (private64.length !== PRIVATE_KEY_LENGTH) throw new CryptoKeyError('private key must be 64 bytes');
  if (public64.length !== PUBLIC_KEY_LENGTH) throw new CryptoKeyError('public key must be 64 bytes');
  const digest = createHash('sha512').update(message).digest().subarray(0, 32);
  const sig = edSign(null, digest, importKey('epriv', private64.subarray(32, 64)));
  return Buffer.concat([sig, digest]);
}

/** True when sig96 is a valid ZeroTier signature of message by public64; never throws. */
export function verify(public64: Uint8Array, message: Uint8Array, sig96: Uint8Array): boolean {
  if (public64.length !== PUBLIC_KEY_LENGTH || sig96.length !== SIGNATURE_LENGTH) return false;
  const digest = createHash('sha512').update(message).digest();
  if (!constantTimeEqual(digest, 0, sig96, 64, 32)) return false;
  try {
    return edVerify(null, digest.subarray(0, 32), importKey('epub', public64.subarray(32, 64)), sig96.subarray(0, 64));
  } catch {
    return false;
  }
}
