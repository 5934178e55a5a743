/**
 * Certificate of membership (COM): qualifier triplets (id, value, maxDelta) signed by the network
 * controller. Stock qualifiers: 0 timestamp (± credential time max delta), 1 network id,
 * 2 issued-to address, 3–6 the SHA-384 of (address ‖ public key) as four 64-bit words. Two members'
 * certificates agree when every qualifier of ours is within our maxDelta of theirs and their
 * identity hashes to the words in their certificate.
 *
 * Serialized: 0x01, qualifier count (u16), count × (id, value, maxDelta) as u64, signer (5),
 * then the 96-byte signature when the signer is not zero. The signature covers the triplets.
 */
import { createHash } from 'node:crypto';
import { sign, verify } from '../crypto/c25519.js';
import { controllerOf } from '../wire/address.js';
import { Reader, Writer, fail, ok, type Parsed } from '../wire/bytes.js';

export const COM_MAX_QUALIFIERS = 8;
export const SIGNATURE_LENGTH = 96;

export const ComQualifierId = {
  TIMESTAMP: 0n,
  NETWORK_ID: 1n,
  ISSUED_TO: 2n,
} as const;

export interface ComQualifier {
  id: bigint;
  value: bigint;
  maxDelta: bigint;
}

export interface CertificateOfMembership {
  qualifiers: ComQualifier[];
  /** 0n when unsigned. */
  signedBy: bigint;
  signature: Buffer | null;
}

/** The member an identity check needs: address and 64-byte public key. */
export interface MemberKey {
  address: bigint;
  publicKey: Uint8Array;
}

const MAX_U64 = 0xffffffffffffffffn;

/** Reads a COM; on malformed input marks the reader failed and returns null. */
export function readCom(r: Reader): CertificateOfMembership | null {
  if (r.u8('COM type') !== 1) {
    r.fail('COM: unknown type');
    return null;
  }
  const count = r.u16('COM qualifier count');
  if (count > COM_MAX_QUALIFIERS) {
    r.fail(`COM: ${count} qualifiers (max ${COM_MAX_QUALIFIERS})`);
    return null;
  }
  const qualifiers: ComQualifier[] = [];
  let last = 0n;
  for (let i = 0; i < count; i++) {
    const id = r.u64('COM qualifier');
    const value = r.u64('COM qualifier');
    const maxDelta = r.u64('COM qualifier');
    if (id < last) {
      r.fail('COM: qualifiers out of order');
      return null;
    }
    last = id;
    qualifiers.push({ id, value, maxDelta });
  }
  const signedBy = r.address('COM signer');
  const signature = signedBy !== 0n ? Buffer.from(r.bytes(SIGNATURE_LENGTH, 'COM signature')) : null;
  return r.failed ? null : { qualifiers, signedBy, signature };
}

export function parseCom(buf: Buffer): Parsed<{ com: CertificateOfMembership; length: number }> {
  const r = new Reader(buf);
  const com = readCom(r);
  if (!com) return fail(r.failed ?? 'COM: malformed');
  return ok({ com, length: r.pos });
}

export function writeCom(w: Writer, com: CertificateOfMembership): void {
  w.u8(1).u16(com.qualifiers.length);
  for (const q of com.qualifiers) w.u64(q.id).u64(q.value).u64(q.maxDelta);
  w.address(com.signedBy);
  if (com.signedBy !== 0n) w.bytes(com.signature ?? Buffer.alloc(SIGNATURE_LENGTH));
}

export function encodeCom(com: CertificateOfMembership): Buffer {
  const w = new Writer(64 + com.qualifiers.length * 24 + SIGNATURE_LENGTH);
  writeCom(w, com);
  return Buffer.from(w.finish());
}

/** The bytes the controller signs: the triplets, big-endian. */
export function comSignedMessage(com: CertificateOfMembership): Buffer {
  const w = new Writer(com.qualifiers.length * 24);
  for (const q of com.qualifiers) w.u64(q.id).u64(q.value).u64(q.maxDelta);
  return Buffer.from(w.finish());
}

/** SHA-384(address ‖ public key) as the four words stock puts in qualifiers 3–6. */
export function identityHashWords(member: MemberKey): bigint[] {
  const a = Buffer.alloc(5);
  a[0] = Number((member.address >> 32n) & 0xffn);
  a.writeUInt32BE(Number(member.address & 0xffffffffn), 1);
  const h = createHash('sha384').update(a).update(member.publicKey).digest();
  return [0, 8, 16, 24].map((o) => h.readBigUInt64BE(o));
}

function qualifier(com: CertificateOfMembership, id: bigint): bigint | undefined {
  return com.qualifiers.find((q) => q.id === id)?.value;
}

export const comTimestamp = (com: CertificateOfMembership): bigint | undefined => qualifier(com, ComQualifierId.TIMESTAMP);
export const comNetworkId = (com: CertificateOfMembership): bigint | undefined => qualifier(com, ComQualifierId.NETWORK_ID);
export const comIssuedTo = (com: CertificateOfMembership): bigint | undefined => qualifier(com, ComQualifierId.ISSUED_TO);

/** An unsigned COM as a controller issues it. */
export function createCom(timestamp: bigint, timestampMaxDelta: bigint, networkId: bigint, issuedTo: MemberKey): CertificateOfMembership {
  const words = identityHashWords(issuedTo);
  return {
    qualifiers: [
      { id: 0n, value: timestamp, maxDelta: timestampMaxDelta },
      { id: 1n, value: networkId, maxDelta: 0n },
      { id: 2n, value: issuedTo.address, maxDelta: MAX_U64 },
      ...words.map((w, i) => ({ id: BigInt(i + 3), value: w, maxDelta: MAX_U64 })),
    ],
    signedBy: 0n,
    signature: null,
  };
}

/** Signs with the controller's keys; returns a new COM. */
export function signCom(
  com: CertificateOfMembership,
  signer: { address: bigint; publicKey: Uint8Array; privateKey: Uint8Array },
): CertificateOfMembership {
  const signature = sign(signer.privateKey, signer.publicKey, comSignedMessage(com));
  return { qualifiers: com.qualifiers.map((q) => ({ ...q })), signedBy: signer.address, signature };
}

/**
 * Checks the signature by the network's controller (whose address is the network id's top 40
 * bits); `controllerPublicKey` is that controller's 64-byte public key.
 */
export function verifyCom(com: CertificateOfMembership, controllerPublicKey: Uint8Array): boolean {
  const nwid = comNetworkId(com);
  if (nwid === undefined || com.signature === null || com.signedBy !== controllerOf(nwid)) return false;
  if (com.qualifiers.length > COM_MAX_QUALIFIERS) return false;
  return verify(controllerPublicKey, comSignedMessage(com), com.signature);
}

/**
 * Does `ours` agree with `theirs`, presented by `them`? Every qualifier of ours must exist in
 * theirs within our maxDelta; when ours carries identity-hash qualifiers, their certificate's
 * words must equal the hash of their actual identity.
 */
export function comAgrees(ours: CertificateOfMembership, theirs: CertificateOfMembership, them: MemberKey): boolean {
  if (ours.qualifiers.length === 0 || theirs.qualifiers.length === 0) return false;
  const other = new Map(theirs.qualifiers.map((q) => [q.id, q.value]));
  let fullIdentity = false;
  for (const q of ours.qualifiers) {
    if (q.id >= 3n && q.id <= 6n) fullIdentity = true;
    const b = other.get(q.id);
    if (b === undefined) return false;
    const diff = q.value >= b ? q.value - b : b - q.value;
    if (diff > q.maxDelta) return false;
  }
  if (fullIdentity) {
    const words = identityHashWords(them);
    for (let i = 0; i < 4; i++) if (other.get(BigInt(i + 3)) !== words[i]) return false;
  }
  return true;
}
