import { describe, expect, it } from 'vitest';
import {
  comAgrees,
  comIssuedTo,
  comNetworkId,
  comTimestamp,
  createCom,
  encodeCom,
  parseCom,
  signCom,
  verifyCom,
  type MemberKey,
} from '../../src/node/credentials/certificate-of-membership.js';
import {
  cooOwnsIp,
  cooSignedMessage,
  encodeCoo,
  parseCoo,
  signCoo,
  verifyCoo,
} from '../../src/node/credentials/certificate-of-ownership.js';
import { hexBuf, packetsJson, vectorNodeKeys } from './zt-vectors.js';

const C = vectorNodeKeys('C');
const A = vectorNodeKeys('A');
const B = vectorNodeKeys('B');
const member = (k: { address: bigint; publicKey: Buffer }): MemberKey => ({ address: k.address, publicKey: k.publicKey });

const dicts = packetsJson().networkConfigDictionaries.dictionaries;
const entry = (issuedTo: string, key: string) => dicts.find((d) => d.issuedTo === issuedTo)!.entries.find((e) => e.key === key)!;

describe('certificate of membership', () => {
  for (const who of ['A', 'B']) {
    it(`decodes ${who}'s COM from its config, matches the recorded qualifiers, verifies and re-encodes`, () => {
      const e = entry(who, 'C');
      const raw = hexBuf(e.hex!);
      const p = parseCom(raw);
      if (!p.ok) throw new Error(p.error);
      const { com, length } = p.value;
      expect(length).toBe(raw.length);
      const rec = e.decoded as { qualifiers: { id: number; value: string; maxDelta: string }[]; signedBy: string; signatureHex: string };
      expect(
        com.qualifiers.map((q) => [Number(q.id), q.value.toString(16).padStart(16, '0'), q.maxDelta.toString(16).padStart(16, '0')]),
      ).toEqual(rec.qualifiers.map((q) => [q.id, q.value, q.maxDelta]));
      expect(com.signedBy.toString(16)).toBe(rec.signedBy);
      expect(com.signature!.toString('hex')).toBe(rec.signatureHex);
      expect(comNetworkId(com)).toBe(0x3ce329f872000001n);
      expect(comIssuedTo(com)).toBe(vectorNodeKeys(who).address);
      expect(comTimestamp(com)).toBeGreaterThan(0n);
      expect(verifyCom(com, C.publicKey)).toBe(true);
      expect(encodeCom(com).equals(raw)).toBe(true);
      // a controller re-creating and re-signing it reproduces the stock bytes (Ed25519 is deterministic)
      const again = signCom(createCom(comTimestamp(com)!, com.qualifiers[0]!.maxDelta, comNetworkId(com)!, member(vectorNodeKeys(who))), C);
      expect(encodeCom(again).equals(raw)).toBe(true);
    });
  }

  it('rejects a tampered COM and one checked against the wrong key', () => {
    const raw = hexBuf(entry('B', 'C').hex!);
    const p = parseCom(raw);
    if (!p.ok) throw new Error(p.error);
    expect(verifyCom(p.value.com, A.publicKey)).toBe(false);
    const t = Buffer.from(raw);
    t[20] = t[20]! ^ 1;
    const pt = parseCom(t);
    if (!pt.ok) throw new Error(pt.error);
    expect(verifyCom(pt.value.com, C.publicKey)).toBe(false);
  });

  it('agreement: A and B agree; a stale timestamp or a foreign identity does not', () => {
    const ca = parseCom(hexBuf(entry('A', 'C').hex!));
    const cb = parseCom(hexBuf(entry('B', 'C').hex!));
    if (!ca.ok || !cb.ok) throw new Error('parse');
    expect(comAgrees(ca.value.com, cb.value.com, member(B))).toBe(true);
    expect(comAgrees(cb.value.com, ca.value.com, member(A))).toBe(true);
    // B's certificate presented by someone who is not B
    expect(comAgrees(ca.value.com, cb.value.com, member(A))).toBe(false);
    const ts = comTimestamp(ca.value.com)!;
    const old = signCom(createCom(ts - 1_800_001n, 1_800_000n, 0x3ce329f872000001n, member(B)), C);
    expect(comAgrees(ca.value.com, old, member(B))).toBe(false);
    const otherNet = signCom(createCom(ts, 1_800_000n, 0x3ce329f872000002n, member(B)), C);
    expect(comAgrees(ca.value.com, otherNet, member(B))).toBe(false);
  });

  it('rejects truncations at every length, a wrong type, too many and unordered qualifiers', () => {
    const raw = hexBuf(entry('A', 'C').hex!);
    for (let n = 0; n < raw.length; n++) expect(parseCom(raw.subarray(0, n)).ok).toBe(false);
    const badType = Buffer.from(raw);
    badType[0] = 2;
    expect(parseCom(badType).ok).toBe(false);
    const many = Buffer.from(raw);
    many.writeUInt16BE(9, 1);
    expect(parseCom(many).ok).toBe(false);
    const unordered = Buffer.from(raw);
    unordered.writeBigUInt64BE(5n, 3); // first id 5, then 1
    expect(parseCom(unordered).ok).toBe(false);
  });
});

describe('certificate of ownership', () => {
  for (const who of ['A', 'B']) {
    it(`decodes ${who}'s COO, verifies it, and re-encodes and re-signs it byte-identically`, () => {
      const e = entry(who, 'COO');
      const raw = hexBuf(e.hex!);
      const p = parseCoo(raw);
      if (!p.ok) throw new Error(p.error);
      const { coo, length } = p.value;
      expect(length).toBe(raw.length);
      const rec = e.decoded as {
        networkId: string;
        timestamp: string;
        id: number;
        things: { type: number; valueHex: string }[];
        issuedTo: string;
        signedBy: string;
        signatureHex: string;
        signedMessageHex: string;
      };
      expect(coo.networkId.toString(16)).toBe(rec.networkId);
      expect(coo.timestamp.toString()).toBe(rec.timestamp);
      expect(coo.id).toBe(rec.id);
      expect(coo.things.map((t) => [t.type, t.value.toString('hex')])).toEqual(rec.things.map((t) => [t.type, t.valueHex]));
      expect(coo.issuedTo.toString(16).padStart(10, '0')).toBe(rec.issuedTo);
      expect(cooSignedMessage(coo).toString('hex')).toBe(rec.signedMessageHex);
      expect(verifyCoo(coo, C.publicKey)).toBe(true);
      expect(verifyCoo(coo, B.publicKey)).toBe(false);
      expect(encodeCoo(coo).equals(raw)).toBe(true);
      expect(encodeCoo(signCoo(coo, C)).equals(raw)).toBe(true);
      expect(cooOwnsIp(coo, who === 'A' ? '10.147.17.105' : '10.147.17.93')).toBe(true);
      expect(cooOwnsIp(coo, '10.147.17.1')).toBe(false);
    });
  }

  it('rejects truncations at every length and a wrong signature length', () => {
    const raw = hexBuf(entry('A', 'COO').hex!);
    for (let n = 0; n < raw.length; n++) expect(parseCoo(raw.subarray(0, n)).ok).toBe(false);
    const bad = Buffer.from(raw);
    const sigLenAt = 8 + 8 + 8 + 4 + 2 + 17 + 10 + 1;
    bad.writeUInt16BE(95, sigLenAt);
    expect(parseCoo(bad).ok).toBe(false);
  });
});
