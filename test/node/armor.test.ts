/**
 * Armor against packets captured from stock ZeroTier 1.14.1: every captured packet dearmors with a
 * valid MAC to the recorded plaintext, each intermediate cipher value matches, re-armoring gives
 * the captured bytes, and broken packets are refused without throwing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aesGmacSivFor,
  armor,
  cryptField,
  dataCipherFor,
  dearmor,
  mangleSalsaKey,
  nativeArmorActive,
  packetCipher,
  setNativeArmor,
} from '../../src/node/packet/armor.js';
import { PROTOCOL_VERSION } from '../../src/node/version.js';
import { Cipher, PACKET_IDX_VERB } from '../../src/node/wire/packet.js';
import { nativeCrypto } from '../../src/node/crypto/native-crypto.js';
import { requireOrSkip } from '../support/requirements.js';
import { poly1305 } from '../../src/node/crypto/poly1305.js';
import { Salsa20 } from '../../src/node/crypto/salsa20.js';
import { hex, loadVectors } from './crypto-vectors.js';
import { lz4Decompress } from '../../src/node/packet/lz4.js';

/** LZ4-expands a captured compressed payload; a decode failure fails the test. */
function lz4BlockDecompress(block: Uint8Array, max: number): Buffer {
  const r = lz4Decompress(block, max);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

interface PairVector {
  pair: string;
  symmetricKey48: string;
  aesGmacSiv: { aes256K0: string; aes256K1: string };
}
interface PacketVector {
  id: string;
  pcapRecord: number;
  udpPayloadHex?: string;
  reassembledPacketHex?: string;
  keyPair?: string;
  macValid?: boolean;
  cipherDetail?: Record<string, string>;
  plaintextWireHex?: string;
  plaintextHex?: string;
  compressed?: boolean;
  decoded?: { encryptedTrailerOffsetInPlaintext?: number; encryptedTrailerHex?: string; decryptedTrailerHex?: string };
}
interface SessionRecord {
  r: number;
  kind: 'packet' | 'head' | 'fragment' | 'short';
  hex: string;
  from?: string;
  to?: string;
  cipher?: number;
  macValid?: boolean;
  lz4?: boolean;
  plain?: string;
  reassembledFromRecords?: number[];
}

const agreement = loadVectors<{ pairs: PairVector[] }>('agreement.json');
const packets = loadVectors<{ packets: PacketVector[] }>('packets.json').packets;
const session = loadVectors<{ records: SessionRecord[] }>('session_all.json').records;

function pairKey(a: string, b: string): Buffer {
  const p = agreement.pairs.find((x) => x.pair === `${a}-${b}` || x.pair === `${b}-${a}`);
  if (!p) throw new Error(`no agreed key for ${a}-${b}`);
  return hex(p.symmetricKey48);
}
function keyForPair(keyPair: string): Buffer {
  const [a, b] = keyPair.split('-') as [string, string];
  return pairKey(a, b);
}
const wireOf = (p: PacketVector): Buffer => hex(p.reassembledPacketHex ?? p.udpPayloadHex!);
const zt = packets.filter((p) => p.keyPair !== undefined);

const nativeBuilt = nativeCrypto() !== null;
const implementations: { name: string; native: boolean; run: boolean }[] = [
  { name: 'node:crypto AES', native: false, run: true },
  {
    name: 'native AES (binding)',
    native: true,
    run: requireOrSkip(
      { ok: nativeBuilt, reason: 'native binding without crypto.cc (run npm run build:native)' },
      'armor with the native AES-GMAC-SIV',
    ),
  },
];

for (const impl of implementations) {
  describe.runIf(impl.run)(`armor via ${impl.name}`, () => {
    beforeAll(() => {
      expect(setNativeArmor(impl.native)).toBe(impl.native);
    });
    afterAll(() => {
      setNativeArmor(true);
    });

    describe('armor: packets.json', () => {
      it('has the selected packets (37, of which 36 ZeroTier packets)', () => {
        expect(packets.length).toBe(37);
        expect(zt.length).toBe(36);
        expect(new Set(zt.map((p) => packetCipher(wireOf(p))))).toEqual(new Set([0, 1, 3]));
      });

      for (const p of zt) {
        it(`${p.id}: dearmors with a valid MAC to plaintextWireHex`, () => {
          const pkt = wireOf(p);
          const header = Buffer.from(pkt.subarray(0, PACKET_IDX_VERB));
          expect(p.macValid).toBe(true);
          expect(dearmor(pkt, keyForPair(p.keyPair!))).toBe(true);
          expect(pkt.subarray(PACKET_IDX_VERB).toString('hex')).toBe(p.plaintextWireHex);
          // the header, including the on-wire packet id, stays as received
          expect(pkt.subarray(0, PACKET_IDX_VERB).equals(header)).toBe(true);
          if (p.compressed) {
            const plain = hex(p.plaintextHex!);
            const out = lz4BlockDecompress(pkt.subarray(PACKET_IDX_VERB + 1), 65536);
            expect(Buffer.concat([Buffer.from([pkt[PACKET_IDX_VERB]! & 0x7f]), out]).equals(plain)).toBe(true);
          }
        });

        it(`${p.id}: intermediate values match cipherDetail`, () => {
          const pkt = wireOf(p);
          const key = keyForPair(p.keyPair!);
          const d = p.cipherDetail!;
          const cipher = packetCipher(pkt);
          if (cipher === 0 || cipher === 1) {
            const mk = new Uint8Array(32);
            mangleSalsaKey(key, pkt, mk);
            expect(Buffer.from(mk).toString('hex')).toBe(d.salsaKey);
            const polyKey = new Uint8Array(32);
            new Salsa20(12).init(mk, 0, pkt, 0).keystream(polyKey, 0, 32);
            expect(Buffer.from(polyKey).toString('hex')).toBe(d.poly1305Key);
            const tag = new Uint8Array(16);
            poly1305(polyKey, 0, pkt, PACKET_IDX_VERB, pkt.length, tag, 0);
            expect(Buffer.from(tag.subarray(0, 8)).toString('hex')).toBe(d.computedMac);
          } else {
            expect(cipher).toBe(3);
            const siv = aesGmacSivFor(key);
            const tag16 = Buffer.concat([pkt.subarray(0, 8), pkt.subarray(19, 27)]);
            const ctrIv = new Uint8Array(16);
            siv.ctrIvFor(tag16, ctrIv);
            expect(Buffer.from(ctrIv).toString('hex')).toBe(d.ctrIv);
            const block = Buffer.from(tag16);
            siv.decryptBlock(block);
            expect(block.toString('hex')).toBe(d.decryptedTagBlock);
            expect(block.subarray(0, 8).toString('hex')).toBe(d.originalPacketIv);
            expect(block.subarray(8).toString('hex')).toBe(d.truncatedMac);
            const plain = hex(p.plaintextWireHex!);
            const aad = Buffer.concat([pkt.subarray(8, 19), Buffer.alloc(5)]);
            aad[10] = aad[10]! & 0xf8;
            const g = new Uint8Array(16);
            siv.gmac(block.subarray(0, 8), aad, plain, 0, plain.length, g);
            expect(Buffer.from(g).toString('hex')).toBe(d.gmacTag16);
            const folded = Buffer.alloc(8);
            for (let i = 0; i < 8; i++) folded[i] = g[i]! ^ g[8 + i]!;
            expect(folded.toString('hex')).toBe(d.truncatedMac);
          }
        });

        it(`${p.id}: re-armoring the plaintext with the same inputs gives the captured bytes`, () => {
          const wire = wireOf(p);
          const pkt = Buffer.from(wire);
          pkt.set(hex(p.plaintextWireHex!), PACKET_IDX_VERB);
          const cipher = packetCipher(wire) as 0 | 1 | 3;
          if (cipher === 3) pkt.set(hex(p.cipherDetail!.originalPacketIv!), 0);
          pkt.fill(0, 19, 27); // armor must compute the MAC, not keep it
          expect(armor(pkt, keyForPair(p.keyPair!), cipher, cipher !== 0)).toBe(true);
          expect(pkt.toString('hex')).toBe(wire.toString('hex'));
        });
      }

      it('the relayed copy (hops 1) verifies with the same MAC as the original (hops 0)', () => {
        const a = zt.find((p) => p.id === 'network-config-request-cipher1-lz4')!;
        const b = zt.find((p) => p.id === 'network-config-request-relayed')!;
        const pa = wireOf(a);
        const pb = wireOf(b);
        expect(pa[18]! & 7).toBe(0);
        expect(pb[18]! & 7).toBe(1);
        expect(dearmor(pb, keyForPair(b.keyPair!))).toBe(true);
        expect(dearmor(pa, keyForPair(a.keyPair!))).toBe(true);
        expect(pa.subarray(27).equals(pb.subarray(27))).toBe(true);
      });

      it('HELLO trailer: cryptField reveals the moon count and is its own inverse', () => {
        for (const p of zt.filter((x) => x.decoded?.encryptedTrailerHex !== undefined)) {
          const pkt = wireOf(p);
          const d = p.decoded!;
          const start = PACKET_IDX_VERB + d.encryptedTrailerOffsetInPlaintext!;
          const len = d.encryptedTrailerHex!.length / 2;
          expect(pkt.subarray(start, start + len).toString('hex')).toBe(d.encryptedTrailerHex);
          expect(cryptField(keyForPair(p.keyPair!), pkt, start, len)).toBe(true);
          expect(pkt.subarray(start, start + len).toString('hex')).toBe(d.decryptedTrailerHex);
          expect(cryptField(keyForPair(p.keyPair!), pkt, start, len)).toBe(true);
          expect(pkt.subarray(start, start + len).toString('hex')).toBe(d.encryptedTrailerHex);
        }
        expect(cryptField(keyForPair('A-B'), Buffer.alloc(30), 28, 5)).toBe(false);
      });
    });

    describe('armor: every datagram of session_all.json', () => {
      const byRecord = new Map(session.map((r) => [r.r, r]));
      const complete = session.filter((r) => r.kind === 'packet' || (r.kind === 'fragment' && r.plain !== undefined));

      it('has 313 whole packets to check (310 single + 3 reassembled)', () => {
        expect(session.length).toBe(319);
        expect(complete.length).toBe(313);
      });

      it('each dearmors with a valid MAC to the recorded plaintext (decompressed where LZ4)', () => {
        let checked = 0;
        const ciphers = new Map<number, number>();
        for (const r of complete) {
          let pkt: Buffer;
          if (r.kind === 'fragment') {
            const parts = r.reassembledFromRecords!.map((n) => byRecord.get(n)!);
            pkt = Buffer.concat(parts.map((x, i) => (i === 0 ? hex(x.hex) : hex(x.hex).subarray(16))));
          } else {
            pkt = hex(r.hex);
          }
          expect(r.macValid).toBe(true);
          const cipher = packetCipher(pkt);
          expect(cipher).toBe(r.cipher);
          ciphers.set(cipher, (ciphers.get(cipher) ?? 0) + 1);
          expect(dearmor(pkt, pairKey(r.from!, r.to!)), `record ${r.r}`).toBe(true);
          let plain = pkt.subarray(PACKET_IDX_VERB);
          if (r.lz4) {
            expect(plain[0]! & 0x80).toBe(0x80);
            plain = Buffer.concat([Buffer.from([plain[0]! & 0x7f]), lz4BlockDecompress(plain.subarray(1), 65536)]);
          }
          expect(plain.toString('hex'), `record ${r.r}`).toBe(r.plain);
          checked++;
        }
        expect(checked).toBe(313);
        expect(ciphers.get(0)! + ciphers.get(1)! + ciphers.get(3)!).toBe(313);
      });
    });

    describe('armor: own packets and hostile input', () => {
      const key = pairKey('A', 'B');
      const other = pairKey('A', 'C');

      function packet(len: number, flags = 0): Buffer {
        const p = randomBytes(len);
        p[18] = flags;
        return p;
      }

      for (const cipher of [0, 1, 3] as const) {
        it(`cipher ${cipher}: round trip for lengths 28..3000, payload hidden unless cipher 0`, () => {
          for (const len of [28, 29, 43, 44, 45, 91, 92, 93, 155, 1000, 1432, 2800, 3000]) {
            const orig = packet(len, 0x03);
            const p = Buffer.from(orig);
            expect(armor(p, key, cipher)).toBe(true);
            expect(packetCipher(p)).toBe(cipher);
            expect(p[18]! & 7).toBe(3); // hops untouched
            if (cipher === 0) expect(p.subarray(27).equals(orig.subarray(27))).toBe(true);
            else if (len > 40) expect(p.subarray(27).equals(orig.subarray(27))).toBe(false);
            expect(dearmor(p, key)).toBe(true);
            expect(p.subarray(27).equals(orig.subarray(27))).toBe(true);
            expect(p.subarray(8, 18).equals(orig.subarray(8, 18))).toBe(true);
          }
        });

        it(`cipher ${cipher}: a flipped bit anywhere covered, a wrong key or a cut packet is refused and the packet left as it was`, () => {
          const sealed = packet(300);
          armor(sealed, key, cipher);
          for (let bit = 0; bit < 300 * 8; bit += 7) {
            const byte = bit >>> 3;
            if (byte === 18 && (bit & 7) < 3) continue; // hop bits are not covered, by design
            const p = Buffer.from(sealed);
            p[byte] = p[byte]! ^ (1 << (bit & 7));
            const before = Buffer.from(p);
            expect(dearmor(p, key), `bit ${bit}`).toBe(false);
            expect(p.equals(before)).toBe(true);
          }
          const wrong = Buffer.from(sealed);
          expect(dearmor(wrong, other)).toBe(false);
          expect(wrong.equals(sealed)).toBe(true);
          for (const cut of [0, 1, 27, 28, 29, 299]) expect(dearmor(Buffer.from(sealed.subarray(0, cut)), key)).toBe(false);
          // hop changes are allowed
          const hop = Buffer.from(sealed);
          hop[18] = (hop[18]! & 0xf8) | 5;
          expect(dearmor(hop, key)).toBe(true);
        });
      }

      it('cipher 2 and the unassigned suites are refused; short keys and random datagrams never throw', () => {
        for (const suite of [2, 4, 5, 6, 7]) {
          const p = packet(100, suite << 3);
          expect(dearmor(p, key)).toBe(false);
        }
        expect(dearmor(packet(100), Buffer.alloc(10))).toBe(false);
        expect(armor(packet(100), Buffer.alloc(10), 1)).toBe(false);
        expect(armor(Buffer.alloc(27), key, 3)).toBe(false);
        for (let i = 0; i < 2000; i++) {
          const p = randomBytes(i % 200);
          expect(() => dearmor(p, key)).not.toThrow();
        }
      });

      it('the AES-GMAC-SIV state is cached per key and follows a key buffer whose bytes change', () => {
        const k = Buffer.from(key);
        const s1 = aesGmacSivFor(k);
        expect(aesGmacSivFor(k)).toBe(s1);
        k.set(other);
        const s2 = aesGmacSivFor(k);
        expect(s2).not.toBe(s1);
        const p = packet(200);
        armor(p, k, 3);
        expect(dearmor(p, other)).toBe(true);
      });
    });
  });
}

describe('armor: cipher choice', () => {
  it('uses AES-GMAC-SIV for peers at protocol 12 or later (stock 1.14.1 speaks 12), Salsa20/12 before', () => {
    expect(dataCipherFor(12)).toBe(3);
    expect(dataCipherFor(13)).toBe(3);
    expect(dataCipherFor(11)).toBe(1);
    expect(dataCipherFor(0)).toBe(1);
    // a peer speaking our own protocol version gets AES-GMAC-SIV
    expect(dataCipherFor(PROTOCOL_VERSION)).toBe(Cipher.AES_GMAC_SIV);
  });
});

describe('armor: implementation choice', () => {
  it("native and node:crypto AES-GMAC-SIV produce the same packets and open each other's", () => {
    if (!nativeBuilt) {
      expect(setNativeArmor(true)).toBe(false);
      return;
    }
    const key = randomBytes(48);
    for (const len of [28, 29, 60, 1500, 2800]) {
      const a = randomBytes(len);
      a[18] = 0;
      const b = Buffer.from(a);
      setNativeArmor(true);
      expect(nativeArmorActive()).toBe(true);
      armor(a, key, 3);
      setNativeArmor(false);
      expect(nativeArmorActive()).toBe(false);
      armor(b, key, 3);
      expect(a.equals(b)).toBe(true);
      expect(dearmor(b, key)).toBe(true);
      setNativeArmor(true);
      expect(dearmor(a, key)).toBe(true);
      expect(a.equals(b)).toBe(true);
    }
  });
});
