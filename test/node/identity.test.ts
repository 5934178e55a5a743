/**
 * Identities against identities.json from stock 1.14.1: every valid one validates and every
 * invalid one is rejected as marked (I9 included, through the private-key check), string and
 * binary forms round-trip byte for byte, generation yields identities that validate, and the
 * identity files are written with the right modes.
 */
import { readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { closeMemoryHardHashWorker, MAX_PENDING_HASHES, memoryHardHash } from '../../src/node/crypto/memory-hard-hash.js';
import { IDENTITY_PUBLIC_BINARY_LENGTH, Identity, IdentityFormatError, isReservedAddress } from '../../src/node/identity/identity.js';
import { IdentityFileError, loadOrCreateIdentity, readIdentityFile, writeIdentityFiles } from '../../src/node/identity/identity-file.js';
import { hex, loadVectors } from './crypto-vectors.js';

interface ValidVector {
  name: string;
  address: string;
  secret: string;
  public: string;
  serializedPublicHex: string;
}
interface InvalidVector {
  name: string;
  string: string;
  stockValidate: { exitCode: number; output: string };
  strictParseError?: string;
}

const vectors = loadVectors<{ valid: ValidVector[]; invalid: InvalidVector[] }>('identities.json');

afterAll(() => closeMemoryHardHashWorker());

describe('identities.json: valid', () => {
  it('has 8 valid and 9 invalid identities', () => {
    expect(vectors.valid.length).toBe(8);
    expect(vectors.invalid.map((v) => v.name)).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8', 'I9']);
  });

  for (const v of vectors.valid) {
    it(`${v.name}: secret and public forms validate and round-trip byte for byte`, async () => {
      const secret = Identity.fromString(v.secret);
      const pub = Identity.fromString(v.public);
      expect(secret.addressHex).toBe(v.address);
      expect(secret.address).toBe(BigInt(`0x${v.address}`));
      expect(secret.hasPrivate).toBe(true);
      expect(pub.hasPrivate).toBe(false);
      expect(secret.toString(true)).toBe(v.secret);
      expect(secret.toString()).toBe(v.public);
      expect(pub.toString(true)).toBe(v.public);
      expect(await secret.locallyValidate()).toBe(true);
      expect(await pub.locallyValidate()).toBe(true);
      expect(secret.equals(pub)).toBe(true);

      // binary: the stock serialization inside HELLO / OK(WHOIS) / planets
      expect(pub.toBinary().toString('hex')).toBe(v.serializedPublicHex);
      expect(secret.toBinary().toString('hex')).toBe(v.serializedPublicHex);
      const framed = Buffer.concat([Buffer.from([1, 2, 3]), hex(v.serializedPublicHex), Buffer.from([9])]);
      const parsed = Identity.fromBinary(framed, 3)!;
      expect(parsed.bytesRead).toBe(IDENTITY_PUBLIC_BINARY_LENGTH);
      expect(parsed.identity.toString()).toBe(v.public);
      const withPriv = secret.toBinary(true);
      expect(withPriv.length).toBe(IDENTITY_PUBLIC_BINARY_LENGTH + 64);
      const back = Identity.fromBinary(withPriv, 0)!;
      expect(back.bytesRead).toBe(withPriv.length);
      expect(back.identity.toString(true)).toBe(v.secret);
    });
  }

  it('the session identities are the nodes of packets.json', () => {
    const nodes = loadVectors<{ nodes: Record<string, { identitySecret: string }> }>('packets.json').nodes;
    const secrets = new Set(vectors.valid.map((v) => v.secret));
    for (const n of Object.values(nodes)) expect(secrets.has(n.identitySecret)).toBe(true);
  });
});

describe('identities.json: invalid', () => {
  const byName = new Map(vectors.invalid.map((v) => [v.name, v]));

  it('I4, I5, I6, I7, I8 are refused by the strict parser with a clear error', () => {
    const expected: Record<string, RegExp> = {
      I4: /public key must be 128 hex/,
      I5: /unsupported identity type "1"/,
      I6: /reserved/,
      I7: /3 or 4 fields/,
      I8: /public key must be 128 hex/,
    };
    for (const [name, re] of Object.entries(expected)) {
      const v = byName.get(name)!;
      expect(() => Identity.fromString(v.string), name).toThrow(IdentityFormatError);
      expect(() => Identity.fromString(v.string), name).toThrow(re);
      expect(Identity.tryFromString(v.string)).toBeNull();
    }
  });

  it('I1, I2, I3 parse but fail validation (the hash does not give the address)', async () => {
    for (const name of ['I1', 'I2', 'I3']) {
      const v = byName.get(name)!;
      expect(v.stockValidate.exitCode).toBe(1);
      const id = Identity.fromString(v.string);
      expect(await id.locallyValidate(), name).toBe(false);
    }
  });

  it('I8 as stock reads it (non-hex as 0) also fails validation', async () => {
    const v = byName.get('I8')! as InvalidVector & { hexAsStockReadsIt: string };
    expect(await Identity.fromString(v.hexAsStockReadsIt).locallyValidate()).toBe(false);
  });

  it('I9 (public key of id5, private key of id6) fails our full check though its public part is valid', async () => {
    const v = byName.get('I9')!;
    expect(v.stockValidate.exitCode).toBe(0);
    const id = Identity.fromString(v.string);
    expect(id.hasPrivate).toBe(true);
    expect(await id.locallyValidate()).toBe(false);
    expect(id.locallyValidateSync()).toBe(false);
    expect(await id.publicOnly().locallyValidate()).toBe(true);
  });
});

describe('Identity behaviour', () => {
  const a = Identity.fromString(vectors.valid[2]!.secret);
  const b = Identity.fromString(vectors.valid[3]!.secret);

  it('agrees, signs and verifies, caching the agreed key', () => {
    const k = a.agree(b.publicOnly());
    expect(k.length).toBe(48);
    expect(k.equals(b.agree(a))).toBe(true);
    expect(a.agree(b)).toBe(k);
    const msg = Buffer.from('certificate');
    const sig = a.sign(msg);
    expect(a.publicOnly().verify(msg, sig)).toBe(true);
    expect(b.verify(msg, sig)).toBe(false);
    expect(() => a.publicOnly().sign(msg)).toThrow(/no private key/);
  });

  it('fromBinary refuses truncated, reserved, wrong-type and bad-length input with null', () => {
    const bin = a.toBinary(true);
    for (let cut = 0; cut < bin.length; cut++) expect(Identity.fromBinary(bin.subarray(0, cut), 0), `cut ${cut}`).toBeNull();
    const badType = Buffer.from(bin);
    badType[5] = 1;
    expect(Identity.fromBinary(badType, 0)).toBeNull();
    const badLen = Buffer.from(bin);
    badLen[70] = 32;
    expect(Identity.fromBinary(badLen, 0)).toBeNull();
    const reserved = Buffer.from(bin);
    reserved[0] = 0xff;
    expect(Identity.fromBinary(reserved, 0)).toBeNull();
    expect(Identity.fromBinary(bin, -1)).toBeNull();
    expect(Identity.fromBinary(Buffer.alloc(71), 0)).toBeNull(); // address 0
    expect(isReservedAddress(0xff00000001n)).toBe(true);
    expect(isReservedAddress(0xfe00000001n)).toBe(false);
  });

  it('generate() makes an identity that validates, whose string form parses back', async () => {
    const id = await Identity.generate();
    expect(id.hasPrivate).toBe(true);
    expect(await id.locallyValidate()).toBe(true);
    expect(id.locallyValidateSync()).toBe(true);
    expect(Identity.fromString(id.toString(true)).toString(true)).toBe(id.toString(true));
    const peer = Identity.fromString(vectors.valid[0]!.secret);
    expect(id.agree(peer).equals(peer.agree(id))).toBe(true);
  });
});

describe('Identity.validate verdicts', () => {
  it('tells valid, invalid and busy apart, and retries after busy', async () => {
    expect(await Identity.fromString(vectors.valid[5]!.public).validate()).toBe('valid');
    expect(await Identity.fromString(vectors.invalid[0]!.string).validate()).toBe('invalid');
    // a key never hashed before (digests are cached per key), so the check must wait for the queue
    const pub = Buffer.from(vectors.valid[6]!.public.split(':')[2]!, 'hex');
    pub[5] = pub[5]! ^ 0x10;
    const id = Identity.fromParts(0x1122334455n, pub);
    // fill the hash queue with other keys, so this identity cannot be checked now
    const filler = Array.from({ length: MAX_PENDING_HASHES }, (_, i) => {
      const k = Buffer.alloc(64);
      k.writeUInt32BE(i + 1, 0);
      k.write('identity-busy', 8);
      return memoryHardHash(k).catch(() => null);
    });
    try {
      expect(await id.validate()).toBe('busy');
      expect(await id.locallyValidate()).toBe(false);
    } finally {
      await closeMemoryHardHashWorker();
      await Promise.all(filler);
    }
    // busy was not remembered: the identity is now actually checked (and its address is wrong)
    expect(await id.validate()).toBe('invalid');
    expect(await id.locallyValidate()).toBe(false);
  });
});

describe('identity files', () => {
  let dir = '';
  afterAll(() => {
    if (dir) removeDir(dir);
  });

  it('writes identity.secret 0600 and identity.public, and loads them back', async () => {
    dir = tempDir('ztnc-id-');
    const id = Identity.fromString(vectors.valid[4]!.secret);
    await writeIdentityFiles(dir, id);
    expect((await stat(join(dir, 'identity.secret'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'identity.secret'), 'utf8')).trim()).toBe(vectors.valid[4]!.secret);
    expect((await readFile(join(dir, 'identity.public'), 'utf8')).trim()).toBe(vectors.valid[4]!.public);

    await rm(join(dir, 'identity.public'));
    await chmod(join(dir, 'identity.secret'), 0o644);
    const loaded = await loadOrCreateIdentity(dir);
    expect(loaded.created).toBe(false);
    expect(loaded.identity.toString(true)).toBe(vectors.valid[4]!.secret);
    expect((await stat(join(dir, 'identity.secret'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'identity.public'), 'utf8')).trim()).toBe(vectors.valid[4]!.public);
    expect((await readIdentityFile(join(dir, 'identity.public')))!.toString()).toBe(vectors.valid[4]!.public);
    expect(await readIdentityFile(join(dir, 'missing'))).toBeNull();
  });

  it('refuses a corrupt, public-only or inconsistent identity.secret with a clear error', async () => {
    await writeFile(join(dir, 'identity.secret'), 'not an identity\n');
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(IdentityFileError);
    await writeFile(join(dir, 'identity.secret'), `${vectors.valid[4]!.public}\n`);
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/no private key/);
    await writeFile(join(dir, 'identity.secret'), `${vectors.invalid[8]!.string}\n`); // I9
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/fails validation/);
  });

  it('creates a new identity when there is none', async () => {
    const fresh = tempDir('ztnc-id-');
    try {
      const r = await loadOrCreateIdentity(fresh);
      expect(r.created).toBe(true);
      expect(await r.identity.locallyValidate()).toBe(true);
      expect((await stat(join(fresh, 'identity.secret'))).mode & 0o777).toBe(0o600);
      const again = await loadOrCreateIdentity(fresh);
      expect(again.created).toBe(false);
      expect(again.identity.toString(true)).toBe(r.identity.toString(true));
    } finally {
      removeDir(fresh);
    }
  });
});
