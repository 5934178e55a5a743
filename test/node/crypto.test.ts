/**
 * The crypto primitives against published test vectors and the stock ZeroTier 1.14.1 vectors:
 * Salsa20 (12 and 20 rounds), Poly1305 (RFC 8439), the memory-hard hash digests, C25519
 * signatures (verified and reproduced byte for byte), key agreement and the AES-GMAC-SIV subkeys.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveAesGmacSivKeys } from '../../src/node/crypto/aes-gmac-siv.js';
import { agree, CryptoKeyError, generateKeyPair, publicKeyOf, sign, verify } from '../../src/node/crypto/c25519.js';
import { constantTimeEqual } from '../../src/node/crypto/constant-time.js';
import {
  closeMemoryHardHashWorker,
  HashQueueFullError,
  MAX_PENDING_HASHES,
  memoryHardHash,
  memoryHardHashSync,
} from '../../src/node/crypto/memory-hard-hash.js';
import { poly1305 } from '../../src/node/crypto/poly1305.js';
import { Salsa20 } from '../../src/node/crypto/salsa20.js';
import { hex, loadVectors } from './crypto-vectors.js';

interface IdentityVector {
  name: string;
  secret: string;
  public: string;
  publicKey: { x25519: string; ed25519: string };
  privateKey: { x25519: string; ed25519Seed: string };
  memoryHardHash: { digestHex: string };
}
interface SignatureVector {
  name: string;
  signerSecret?: string;
  signerPublic?: string;
  messageHex: string;
  signatureHex: string;
}
interface PairVector {
  pair: string;
  nodes: Record<string, { identitySecret: string }>;
  x25519SharedSecret: string;
  symmetricKey48: string;
  aesGmacSiv: { kbkdfMessageK0Hex: string; kbkdfMessageK1Hex: string; aes256K0: string; aes256K1: string };
}

const identities = loadVectors<{ valid: IdentityVector[] }>('identities.json');
const signatures = loadVectors<{ vectors: SignatureVector[]; invalid: SignatureVector[] }>('signatures.json');
const agreement = loadVectors<{ pairs: PairVector[] }>('agreement.json');

/** public (64) and private (64) from an identity string with its secret part. */
function keysOf(secret: string): { pub: Buffer; priv: Buffer } {
  const f = secret.split(':');
  return { pub: hex(f[2]!), priv: hex(f[3] ?? '') };
}

afterAll(() => closeMemoryHardHashWorker());

describe('Salsa20', () => {
  it('Salsa20/20 matches the eSTREAM 256-bit key set 1 vector 0 (key 80 00.., IV 0), first block', () => {
    const key = new Uint8Array(32);
    key[0] = 0x80;
    const ks = new Uint8Array(512);
    new Salsa20(20).init(key, 0, new Uint8Array(8), 0).keystream(ks, 0, 512);
    expect(Buffer.from(ks.subarray(0, 64)).toString('hex')).toBe(
      'e3be8fdd8beca2e3ea8ef9475b29a6e7003951e1097a5c38d23b7a5fad9f6844' +
        'b22c97559e2723c7cbbd3fe4fc8d9a0744652a83e72a9c461876af4d7ef1a117',
    );
  });

  it('XOR is its own inverse and a partial block discards the rest of it (stock stream accounting)', () => {
    const key = createHash('sha256').update('k').digest();
    const iv = Buffer.alloc(8, 7);
    const whole = new Uint8Array(256);
    new Salsa20(12).init(key, 0, iv, 0).keystream(whole, 0, 256);
    const s = new Salsa20(12).init(key, 0, iv, 0);
    const a = new Uint8Array(32);
    s.keystream(a, 0, 32);
    const b = new Uint8Array(100);
    s.keystream(b, 0, 100);
    expect(Buffer.from(a).equals(Buffer.from(whole.subarray(0, 32)))).toBe(true);
    expect(Buffer.from(b).equals(Buffer.from(whole.subarray(64, 164)))).toBe(true);
    const data = Buffer.from(createHash('sha512').update('d').digest());
    const copy = Buffer.from(data);
    new Salsa20(12).init(key, 0, iv, 0).crypt(data, 3, 60);
    expect(data.equals(copy)).toBe(false);
    new Salsa20(12).init(key, 0, iv, 0).crypt(data, 3, 60);
    expect(data.equals(copy)).toBe(true);
  });
});

describe('Poly1305', () => {
  it('matches RFC 8439 section 2.5.2', () => {
    const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    const msg = Buffer.from('Cryptographic Forum Research Group');
    const tag = new Uint8Array(16);
    poly1305(key, 0, msg, 0, msg.length, tag, 0);
    expect(Buffer.from(tag).toString('hex')).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  });

  it('handles the carry edge cases of RFC 8439 appendix A.3 (vectors 5, 6, 7, 9)', () => {
    const cases: [string, string, string][] = [
      ['02' + '00'.repeat(31), 'ff'.repeat(16), '03' + '00'.repeat(15)],
      ['02' + '00'.repeat(15) + 'ff'.repeat(16), '02' + '00'.repeat(15), '03' + '00'.repeat(15)],
      ['01' + '00'.repeat(31), 'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15), '05' + '00'.repeat(15)],
      ['02' + '00'.repeat(31), 'fd' + 'ff'.repeat(15), 'fa' + 'ff'.repeat(15)],
    ];
    for (const [k, m, t] of cases) {
      const tag = new Uint8Array(16);
      const msg = hex(m);
      poly1305(hex(k), 0, msg, 0, msg.length, tag, 0);
      expect(Buffer.from(tag).toString('hex')).toBe(t);
    }
  });

  it('agrees with a BigInt reference on random and carry-heavy inputs', () => {
    const P = (1n << 130n) - 5n;
    const le = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
    const reference = (key: Uint8Array, msg: Uint8Array): string => {
      const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
      const sKey = le(key.subarray(16, 32));
      let h = 0n;
      for (let i = 0; i < msg.length; i += 16) {
        const block = msg.subarray(i, Math.min(i + 16, msg.length));
        h = ((h + le(block) + (1n << BigInt(8 * block.length))) * r) % P;
      }
      const t = (h + sKey) & ((1n << 128n) - 1n);
      return Buffer.from(t.toString(16).padStart(32, '0'), 'hex').reverse().toString('hex');
    };
    let seed = 1;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let n = 0; n < 300; n++) {
      const fill = n % 3; // random, all 0xff, or mostly 0xff with random bytes
      const key = Uint8Array.from({ length: 32 }, () => (fill === 0 ? rnd() : 0xff));
      const len = n % 7 === 0 ? 16 * (n % 20) : rnd() * 3;
      const msg = Uint8Array.from({ length: len }, () =>
        fill === 1 ? 0xff : fill === 2 && rnd() < 16 ? rnd() : fill === 2 ? 0xff : rnd(),
      );
      const tag = new Uint8Array(16);
      poly1305(key, 0, msg, 0, msg.length, tag, 0);
      expect(Buffer.from(tag).toString('hex'), `case ${n}`).toBe(reference(key, msg));
    }
    // maximal r with near-maximal messages: where 32-bit carry arithmetic goes wrong (~1.4% of these)
    const key = Buffer.alloc(32, 0xff);
    for (let n = 0; n < 3000; n++) {
      const msg = Buffer.alloc(1 + (n % 64), 0xff);
      for (let j = 0; j < msg.length; j++) if ((n * 31 + j * 17) % 13 === 0) msg[j] = (n * 7 + j) & 0xff;
      const tag = new Uint8Array(16);
      poly1305(key, 0, msg, 0, msg.length, tag, 0);
      expect(Buffer.from(tag).toString('hex'), `max-key case ${n}`).toBe(reference(key, msg));
    }
  });

  it('works on a sub-range at any offset and length 0', () => {
    const key = createHash('sha256').update('p').digest();
    const msg = Buffer.from(createHash('sha512').update('m').digest());
    const padded = Buffer.concat([Buffer.alloc(5), msg, Buffer.alloc(3)]);
    const a = new Uint8Array(16);
    const b = new Uint8Array(20);
    poly1305(key, 0, msg, 0, 37, a, 0);
    poly1305(key, 0, padded, 5, 42, b, 4);
    expect(Buffer.from(b.subarray(4)).equals(Buffer.from(a))).toBe(true);
    const empty = new Uint8Array(16);
    poly1305(key, 0, msg, 0, 0, empty, 0);
    expect(Buffer.from(empty).equals(key.subarray(16))).toBe(true); // h = 0, tag = s
  });
});

describe('constant-time compare', () => {
  it('compares ranges and refuses out-of-bounds ones', () => {
    const a = Buffer.from('0011223344556677', 'hex');
    expect(constantTimeEqual(a, 2, Buffer.from('22334455', 'hex'), 0, 4)).toBe(true);
    expect(constantTimeEqual(a, 2, Buffer.from('22334456', 'hex'), 0, 4)).toBe(false);
    expect(constantTimeEqual(a, 6, a, 0, 4)).toBe(false);
  });
});

describe('memory-hard hash', () => {
  it('reproduces the stock digest of id1 on the calling thread', () => {
    const v = identities.valid[0]!;
    expect(memoryHardHashSync(hex(v.public.split(':')[2]!)).toString('hex')).toBe(v.memoryHardHash.digestHex);
  });

  it('reproduces every valid identity digest in the worker, caching repeated keys', async () => {
    const digests = await Promise.all(identities.valid.map((v) => memoryHardHash(hex(v.public.split(':')[2]!))));
    digests.forEach((d, i) => expect(d.toString('hex')).toBe(identities.valid[i]!.memoryHardHash.digestHex));
    const again = memoryHardHash(hex(identities.valid[1]!.public.split(':')[2]!));
    expect(again).toBe(memoryHardHash(hex(identities.valid[1]!.public.split(':')[2]!)));
    expect((await again).equals(digests[1]!)).toBe(true);
  });

  it('hashes off the event loop: the call returns at once and the loop keeps turning until the result', async () => {
    const key = generateKeyPair().publicKey;
    let done = false;
    const p = memoryHardHash(key).then((d) => {
      done = true;
      return d;
    });
    let turns = 0;
    while (!done && turns < 3) {
      await new Promise<void>((r) => setImmediate(r));
      turns++;
    }
    expect(turns).toBe(3);
    expect((await p).equals(memoryHardHashSync(key))).toBe(true);
  });
});

describe('memory-hard hash queue bound', () => {
  it('refuses hashes beyond MAX_PENDING_HASHES at once, without caching the refusal', async () => {
    const keys = Array.from({ length: MAX_PENDING_HASHES + 5 }, (_, i) => {
      const k = Buffer.alloc(64);
      k.writeUInt32BE(i + 1, 0);
      k.write('queue-bound', 8);
      return k;
    });
    const results = keys.map((k) =>
      memoryHardHash(k).then(
        () => 'done',
        (e: unknown) => (e instanceof HashQueueFullError ? 'full' : 'stopped'),
      ),
    );
    // the refusals are immediate; stopping the worker then ends the queued hashes
    await new Promise<void>((r) => setImmediate(r));
    await closeMemoryHardHashWorker();
    const outcome = await Promise.all(results);
    expect(outcome.filter((o) => o === 'full').length).toBe(5);
    expect(outcome.slice(MAX_PENDING_HASHES).every((o) => o === 'full')).toBe(true);
    // a refused key is tried again later rather than remembered as failed
    const again = await memoryHardHash(keys[MAX_PENDING_HASHES + 4]!);
    expect(again.equals(memoryHardHashSync(keys[MAX_PENDING_HASHES + 4]!))).toBe(true);
  });
});

describe('C25519 signatures (signatures.json)', () => {
  for (const v of signatures.vectors) {
    it(`${v.name}: verifies and is reproduced byte for byte`, () => {
      const { pub, priv } = keysOf(v.signerSecret!);
      const msg = hex(v.messageHex);
      expect(verify(pub, msg, hex(v.signatureHex))).toBe(true);
      expect(sign(priv, pub, msg).toString('hex')).toBe(v.signatureHex);
    });
  }
  for (const v of signatures.invalid) {
    it(`${v.name}: is rejected`, () => {
      expect(verify(hex(v.signerPublic!.split(':')[2]!), hex(v.messageHex), hex(v.signatureHex))).toBe(false);
    });
  }
  it('malformed keys and signatures are rejected without throwing', () => {
    const v = signatures.vectors[2]!;
    const { pub } = keysOf(v.signerSecret!);
    const msg = hex(v.messageHex);
    const sig = hex(v.signatureHex);
    expect(verify(pub.subarray(0, 63), msg, sig)).toBe(false);
    expect(verify(pub, msg, sig.subarray(0, 95))).toBe(false);
    expect(verify(Buffer.alloc(64, 0xff), msg, sig)).toBe(false);
    expect(verify(pub, msg, Buffer.alloc(96))).toBe(false);
  });
});

describe('C25519 keys and agreement (agreement.json, identities.json)', () => {
  it('every valid identity private key produces its public key', () => {
    for (const v of identities.valid) {
      const { pub, priv } = keysOf(v.secret);
      expect(publicKeyOf(priv).equals(pub)).toBe(true);
    }
  });

  for (const p of agreement.pairs) {
    it(`${p.pair}: both sides agree on symmetricKey48 and the AES-GMAC-SIV subkeys match`, () => {
      const [a, b] = Object.values(p.nodes).map((n) => keysOf(n.identitySecret)) as [
        { pub: Buffer; priv: Buffer },
        { pub: Buffer; priv: Buffer },
      ];
      const ab = agree(a.priv, b.pub);
      const ba = agree(b.priv, a.pub);
      expect(ab.toString('hex')).toBe(p.symmetricKey48);
      expect(ba.toString('hex')).toBe(p.symmetricKey48);
      expect(p.aesGmacSiv.kbkdfMessageK0Hex).toBe('000000005a5430000000000180');
      expect(p.aesGmacSiv.kbkdfMessageK1Hex).toBe('000000005a5431000000000180');
      const { k0, k1 } = deriveAesGmacSivKeys(ab);
      expect(k0.toString('hex')).toBe(p.aesGmacSiv.aes256K0);
      expect(k1.toString('hex')).toBe(p.aesGmacSiv.aes256K1);
    });
  }

  it('fresh key pairs agree, sign and verify; bad keys give CryptoKeyError', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.publicKey.length).toBe(64);
    expect(a.privateKey.length).toBe(64);
    expect(publicKeyOf(a.privateKey).equals(a.publicKey)).toBe(true);
    expect(agree(a.privateKey, b.publicKey).equals(agree(b.privateKey, a.publicKey))).toBe(true);
    const sig = sign(a.privateKey, a.publicKey, Buffer.from('x'));
    expect(verify(a.publicKey, Buffer.from('x'), sig)).toBe(true);
    expect(verify(b.publicKey, Buffer.from('x'), sig)).toBe(false);
    expect(() => agree(a.privateKey, Buffer.alloc(10))).toThrow(CryptoKeyError);
    // the all-zero X25519 point is low order: the shared secret would be zero
    expect(() => agree(a.privateKey, Buffer.alloc(64))).toThrow(CryptoKeyError);
  });
});
