/**
 * Revocation credentials: the byte layout of stock node/Revocation.hpp (serialized and as signed),
 * signing by the network's controller, and NETWORK_CREDENTIALS carrying them.
 */
import { describe, expect, it } from 'vitest';
import {
  comRevocation,
  CredentialType,
  encodeRevocation,
  fastPropagates,
  parseRevocation,
  revocationSignedMessage,
  signRevocation,
  verifyRevocation,
  type Revocation,
} from '../../src/node/credentials/revocation.js';
import { RevocationThresholds } from '../../src/node/credentials/revocation-thresholds.js';
import { emitNetworkCredentials, parseNetworkCredentials } from '../../src/node/wire/network-credentials.js';
import { vectorNodeKeys } from './zt-vectors.js';

const C = vectorNodeKeys('C');
const A = vectorNodeKeys('A');
const B = vectorNodeKeys('B');
/** The vectors' network, controlled by C. */
const NWID = 0x3ce329f872000001n;

const sample = (): Revocation => comRevocation(0x01020304, NWID, B.address, 1_795_346_400_123n);

describe('revocation', () => {
  it('serializes as stock: reserved, id, nwid, reserved, credential id, threshold, flags, target, signer, type, Ed25519 signature, no extra fields', () => {
    const rev = signRevocation(sample(), C);
    const raw = encodeRevocation(rev);
    expect(raw.length).toBe(152);
    const hex = (from: number, to: number): string => raw.subarray(from, to).toString('hex');
    expect(hex(0, 4)).toBe('00000000');
    expect(hex(4, 8)).toBe('01020304');
    expect(hex(8, 16)).toBe('3ce329f872000001');
    expect(hex(16, 20)).toBe('00000000');
    expect(hex(20, 24)).toBe('00000000'); // credential id: COMs have none
    expect(raw.readBigUInt64BE(24)).toBe(1_795_346_400_123n);
    expect(raw.readBigUInt64BE(32)).toBe(1n); // fast propagation, as stock's controller sets it
    expect(hex(40, 45)).toBe(B.address.toString(16).padStart(10, '0'));
    expect(hex(45, 50)).toBe('3ce329f872');
    expect(raw[50]).toBe(CredentialType.COM);
    expect(raw[51]).toBe(1);
    expect(raw.readUInt16BE(52)).toBe(96);
    expect(raw.subarray(54, 150).equals(rev.signature!)).toBe(true);
    expect(raw.readUInt16BE(150)).toBe(0);
    // signed: 8 × 0x7f, the fields up to the type, the (empty) extra-field length, 8 × 0x7f
    const msg = revocationSignedMessage(rev);
    expect(msg.equals(Buffer.concat([Buffer.alloc(8, 0x7f), raw.subarray(0, 51), Buffer.alloc(2), Buffer.alloc(8, 0x7f)]))).toBe(true);
  });

  it('parses what it emits, verifies against the controller and nothing else', () => {
    const rev = signRevocation(sample(), C);
    const p = parseRevocation(encodeRevocation(rev));
    if (!p.ok) throw new Error(p.error);
    expect(p.value.length).toBe(152);
    expect(p.value.revocation).toEqual(rev);
    expect(fastPropagates(p.value.revocation)).toBe(true);
    expect(verifyRevocation(p.value.revocation, C.publicKey)).toBe(true);
    expect(verifyRevocation(p.value.revocation, A.publicKey)).toBe(false);
  });

  it('rejects a revocation signed by a member, a tampered one and an unsigned one', () => {
    // a member signing "as" itself: the signer is not the network's controller
    expect(verifyRevocation(signRevocation(sample(), A), A.publicKey)).toBe(false);
    const rev = signRevocation(sample(), C);
    expect(verifyRevocation({ ...rev, threshold: rev.threshold + 1n }, C.publicKey)).toBe(false);
    expect(verifyRevocation({ ...rev, target: A.address }, C.publicKey)).toBe(false);
    expect(verifyRevocation({ ...rev, signature: null }, C.publicKey)).toBe(false);
  });

  it('reports truncation and a bad signature length as errors, never throws', () => {
    const raw = encodeRevocation(signRevocation(sample(), C));
    for (const n of [0, 10, 51, 53, 100, 151]) expect(parseRevocation(raw.subarray(0, n)).ok).toBe(false);
    const bad = Buffer.from(raw);
    bad.writeUInt16BE(95, 52);
    expect(parseRevocation(bad)).toMatchObject({ ok: false });
    // extra fields (a later version's) are skipped
    const longer = Buffer.concat([raw.subarray(0, 150), Buffer.from([0, 3, 9, 9, 9])]);
    const p = parseRevocation(longer);
    expect(p.ok && p.value.length).toBe(155);
  });

  it('travels in NETWORK_CREDENTIALS as stock sends it: no COM, no capabilities, no tags, one revocation, no COOs', () => {
    const rev = signRevocation(sample(), C);
    const payload = emitNetworkCredentials({ revocations: [rev] });
    expect(payload.subarray(0, 7).toString('hex')).toBe('00000000000001');
    expect(payload.length).toBe(7 + 152 + 2);
    expect(payload.readUInt16BE(payload.length - 2)).toBe(0);
    const c = parseNetworkCredentials(payload);
    if (!c.ok) throw new Error(c.error);
    expect(c.value.revocations).toEqual([rev]);
    expect(c.value.coms).toEqual([]);
    // a payload claiming more revocations than it carries is refused
    const cut = payload.subarray(0, 7 + 100);
    expect(parseNetworkCredentials(cut).ok).toBe(false);
  });
});

describe('revocation thresholds', () => {
  it('revokes certificates at or before the threshold, only raises, and forgets thresholds that can no longer matter', () => {
    const t = new RevocationThresholds();
    expect(t.revokes(B.address, 100n)).toBe(false);
    expect(t.raise(B.address, 100n)).toBe(true);
    expect(t.revokes(B.address, 100n)).toBe(true);
    expect(t.revokes(B.address, 99n)).toBe(true);
    expect(t.revokes(B.address, 101n)).toBe(false);
    expect(t.raises(B.address, 100n)).toBe(false);
    expect(t.raise(B.address, 50n)).toBe(false);
    expect(t.threshold(B.address)).toBe(100n);
    t.prune(100n + 1_000n, 1_000n);
    expect(t.size).toBe(1);
    t.prune(100n + 1_001n, 1_000n);
    expect(t.size).toBe(0);
  });
});
