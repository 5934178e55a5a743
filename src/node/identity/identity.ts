/**
 * A ZeroTier 1.x identity: 40-bit address, 64-byte C25519 public key and (for our own) the 64-byte
 * private key. The address is bound to the public key by the memory-hard hash, so checking an
 * identity costs one hash (done off the event loop and cached).
 *
 * String form: `<10 hex address>:0:<128 hex public>[:<128 hex private>]`.
 * Binary form (HELLO, OK(WHOIS), planets): address(5) type 0 (1) public(64) private length(1)
 * [private(64)].
 */
import {
  agree as c25519Agree,
  generateKeyPair,
  generateX25519,
  publicKeyOf,
  sign as c25519Sign,
  verify as c25519Verify,
  PRIVATE_KEY_LENGTH,
  PUBLIC_KEY_LENGTH,
} from '../crypto/c25519.js';
import { DIGEST_FIRST_BYTE_LIMIT, memoryHardHash, memoryHardHashSync, memoryHardHashUncached } from '../crypto/memory-hard-hash.js';
import { ADDRESS_LENGTH, formatAddress, readAddress, writeAddress } from '../wire/address.js';
/** Binary form without a private key: address, type, public key, private-key length byte. */
export const IDENTITY_PUBLIC_BINARY_LENGTH = ADDRESS_LENGTH + 1 + PUBLIC_KEY_LENGTH + 1;
const IDENTITY_TYPE_C25519 = 0;

/** Thrown by `Identity.fromString` for text that is not a well-formed type-0 identity. */
export class IdentityFormatError extends Error {
  override readonly name = 'IdentityFormatError';
}

/** Address 0 and the 0xff prefix (the fragment indicator) are never valid node addresses. */
export function isReservedAddress(address: bigint): boolean {
  return address === 0n || address >> 32n === 0xffn;
}

const HEX10 = /^[0-9a-f]{10}$/i;
const HEX128 = /^[0-9a-f]{128}$/i;

/** What a digest says about a public key: the address it yields and whether it passes the work check. */
function digestAddress(digest: Uint8Array): bigint {
  return readAddress(digest, 59);
}

const AGREE_CACHE_LIMIT = 1024;

/**
 * Outcome of a full identity check. 'busy' means it could not be checked now (too many hashes
 * waiting, or the hash worker stopped): treat the identity as unverified for now, not as invalid,
 * and do not remember the answer.
 */
export type IdentityVerdict = 'valid' | 'invalid' | 'busy';

export class Identity {
  readonly addressHex: string;
  private validation: Promise<IdentityVerdict> | null = null;
  private readonly agreed = new Map<string, Buffer>();

  private constructor(
    readonly address: bigint,
    readonly publicKey: Buffer,
    readonly privateKey: Buffer | null,
  ) {
    this.addressHex = formatAddress(address);
  }

  /** An identity from its parts (no validation beyond sizes; call locallyValidate for that). */
  static fromParts(address: bigint, publicKey: Uint8Array, privateKey: Uint8Array | null = null): Identity {
    if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new IdentityFormatError('public key must be 64 bytes');
    if (privateKey && privateKey.length !== PRIVATE_KEY_LENGTH) throw new IdentityFormatError('private key must be 64 bytes');
    if (address < 0n || address > 0xffffffffffn) throw new IdentityFormatError('address must be 40 bits');
    return new Identity(address, Buffer.from(publicKey), privateKey ? Buffer.from(privateKey) : null);
  }

  /** Parses the string form strictly; throws IdentityFormatError saying what is wrong. */
  static fromString(text: string): Identity {
    const f = text.trim().split(':');
    if (f.length !== 3 && f.length !== 4) throw new IdentityFormatError(`identity must have 3 or 4 fields, found ${f.length}`);
    const [addr, type, pub, priv] = f as [string, string, string, string | undefined];
    if (!HEX10.test(addr)) throw new IdentityFormatError('address must be 10 hex digits');
    if (type !== String(IDENTITY_TYPE_C25519)) throw new IdentityFormatError(`unsupported identity type "${type}"`);
    if (!HEX128.test(pub)) throw new IdentityFormatError('public key must be 128 hex digits');
    if (priv !== undefined && !HEX128.test(priv)) throw new IdentityFormatError('private key must be 128 hex digits');
    const address = BigInt(`0x${addr}`);
    if (isReservedAddress(address)) throw new IdentityFormatError(`address ${addr} is reserved`);
    return new Identity(address, Buffer.from(pub, 'hex'), priv !== undefined ? Buffer.from(priv, 'hex') : null);
  }

  /** Like fromString, but null instead of an exception. */
  static tryFromString(text: string): Identity | null {
    try {
      return Identity.fromString(text);
    } catch {
      return null;
    }
  }

  /**
   * Reads the binary form at buf[offset]. Returns null when it is truncated, of another type,
   * has a reserved address or a private-key length other than 0 or 64 (input from the network).
   */
  static fromBinary(buf: Uint8Array, offset: number): { identity: Identity; bytesRead: number } | null {
    if (offset < 0 || offset + IDENTITY_PUBLIC_BINARY_LENGTH > buf.length) return null;
    const address = readAddress(buf, offset);
    if (isReservedAddress(address)) return null;
    if (buf[offset + ADDRESS_LENGTH] !== IDENTITY_TYPE_C25519) return null;
    const pubStart = offset + ADDRESS_LENGTH + 1;
    const publicKey = Buffer.from(buf.subarray(pubStart, pubStart + PUBLIC_KEY_LENGTH));
    const privLen = buf[pubStart + PUBLIC_KEY_LENGTH]!;
    const privStart = pubStart + PUBLIC_KEY_LENGTH + 1;
    if (privLen === 0) return { identity: new Identity(address, publicKey, null), bytesRead: privStart - offset };
    if (privLen !== PRIVATE_KEY_LENGTH || privStart + privLen > buf.length) return null;
    const privateKey = Buffer.from(buf.subarray(privStart, privStart + privLen));
    return { identity: new Identity(address, publicKey, privateKey), bytesRead: privStart + privLen - offset };
  }

  /** A new identity; the X25519 half is redrawn until the memory-hard hash accepts it (in a worker). */
  static async generate(): Promise<Identity> {
    const ed = generateKeyPair();
    for (;;) {
      const x = generateX25519();
      const publicKey = Buffer.concat([x.publicKey, ed.publicKey.subarray(32)]);
      const digest = await memoryHardHashUncached(publicKey);
      const address = digestAddress(digest);
      if (digest[0]! < DIGEST_FIRST_BYTE_LIMIT && !isReservedAddress(address)) {
        return new Identity(address, publicKey, Buffer.concat([x.privateKey, ed.privateKey.subarray(32)]));
      }
    }
  }

  get hasPrivate(): boolean {
    return this.privateKey !== null;
  }

  toString(includePrivate = false): string {
    const base = `${this.addressHex}:${IDENTITY_TYPE_C25519}:${this.publicKey.toString('hex')}`;
    return includePrivate && this.privateKey ? `${base}:${this.privateKey.toString('hex')}` : base;
  }

  toBinary(includePrivate = false): Buffer {
    const withPriv = includePrivate && this.privateKey !== null;
    const out = Buffer.alloc(IDENTITY_PUBLIC_BINARY_LENGTH + (withPriv ? PRIVATE_KEY_LENGTH : 0));
    writeAddress(out, 0, this.address);
    out[ADDRESS_LENGTH] = IDENTITY_TYPE_C25519;
    this.publicKey.copy(out, ADDRESS_LENGTH + 1);
    if (withPriv) {
      out[IDENTITY_PUBLIC_BINARY_LENGTH - 1] = PRIVATE_KEY_LENGTH;
      this.privateKey!.copy(out, IDENTITY_PUBLIC_BINARY_LENGTH);
    }
    return out;
  }

  /** The same identity without its private key. */
  publicOnly(): Identity {
    return this.privateKey ? new Identity(this.address, this.publicKey, null) : this;
  }

  /** Same address and public key (private keys are not compared). */
  equals(other: Identity): boolean {
    return this.address === other.address && this.publicKey.equals(other.publicKey);
  }

  /**
   * Full check, off the event loop and cached: the address is not reserved, the public key's
   * memory-hard hash starts below 17 and ends with the address, and a private key (if present)
   * produces the public key. Never rejects.
   */
  locallyValidate(): Promise<boolean> {
    return this.validate().then((v) => v === 'valid');
  }

  /**
   * The same check with 'busy' told apart from 'invalid' (see IdentityVerdict). A 'valid' or
   * 'invalid' verdict is kept by this instance; 'busy' is not, so a later call tries again.
   */
  validate(): Promise<IdentityVerdict> {
    if (this.validation) return this.validation;
    const v = memoryHardHash(this.publicKey).then(
      (digest): IdentityVerdict => (this.checkDigest(digest) ? 'valid' : 'invalid'),
      (): IdentityVerdict => {
        this.validation = null; // queue full or worker stopped: nothing learned about the identity
        return 'busy';
      },
    );
    this.validation = v;
    return v;
  }

  /** The same check on the calling thread (~100 ms of CPU): for tools, not for the daemon. */
  locallyValidateSync(): boolean {
    return this.checkDigest(memoryHardHashSync(this.publicKey));
  }

  private checkDigest(digest: Uint8Array): boolean {
    if (isReservedAddress(this.address)) return false;
    if (digest[0]! >= DIGEST_FIRST_BYTE_LIMIT || digestAddress(digest) !== this.address) return false;
    if (this.privateKey) {
      try {
        if (!publicKeyOf(this.privateKey).equals(this.publicKey)) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** The 48-byte key shared with another identity (needs our private key); cached per peer key. */
  agree(other: Identity): Buffer {
    if (!this.privateKey) throw new Error(`identity ${this.addressHex} has no private key`);
    const id = other.publicKey.toString('hex');
    const hit = this.agreed.get(id);
    if (hit) return hit;
    const key = c25519Agree(this.privateKey, other.publicKey);
    if (this.agreed.size >= AGREE_CACHE_LIMIT) {
      const oldest = this.agreed.keys().next().value;
      if (oldest !== undefined) this.agreed.delete(oldest);
    }
    this.agreed.set(id, key);
    return key;
  }

  /** 96-byte ZeroTier signature of message (needs our private key). */
  sign(message: Uint8Array): Buffer {
    if (!this.privateKey) throw new Error(`identity ${this.addressHex} has no private key`);
    return c25519Sign(this.privateKey, this.publicKey, message);
  }

  /** True when sig96 is this identity's signature of message; never throws. */
  verify(message: Uint8Array, sig96: Uint8Array): boolean {
    return c25519Verify(this.publicKey, message, sig96);
  }
}
