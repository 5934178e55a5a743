/**
 * ztnc-idtool as a real process, checked against stock zerotier-idtool's outputs in the
 * ZeroTier One 1.14.1 vectors: identities it validated or refused, signatures it made and
 * refused, and the planet stock's mkworld made, rebuilt byte for byte with genplanet.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, parseWorld, verifyWorld, WorldType } from '../../src/node/index.js';
import { readPlanetFile } from '../../src/service/planet-setup.js';
import { VECTORS_DIR } from '../support/vectors.js';
import { runProgram, type ProgramResult } from './harness.js';
import { removeDir, tempDir } from '../support/temp-dir.js';

interface IdentityVector {
  name: string;
  secret: string;
  public: string;
}
interface InvalidIdentity {
  name: string;
  string: string;
}
interface SignatureVector {
  name: string;
  signerSecret: string;
  messageHex: string;
  signatureHex: string;
}
interface InvalidSignature {
  name?: string;
  signerPublic?: string;
  signerSecret?: string;
  messageHex: string;
  signatureHex: string;
}

const identities = JSON.parse(readFileSync(join(VECTORS_DIR, 'identities.json'), 'utf8')) as {
  valid: IdentityVector[];
  invalid: InvalidIdentity[];
};
const signatures = JSON.parse(readFileSync(join(VECTORS_DIR, 'signatures.json'), 'utf8')) as {
  vectors: SignatureVector[];
  invalid: InvalidSignature[];
};
const planet = JSON.parse(readFileSync(join(VECTORS_DIR, 'planet.json'), 'utf8')) as {
  id: string;
  idHex: string;
  timestamp: string;
  fileHex: string;
  signingKeyPair: { publicHex: string; privateHex: string };
};

describe('ztnc-idtool', () => {
  let dir: string;
  const idtool = (...args: string[]): Promise<ProgramResult> => runProgram('ztnc-idtool', args, { cwd: dir });
  const file = (name: string, content: string | Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  beforeAll(() => {
    dir = tempDir('ztnc-idtool-');
  });

  afterAll(() => {
    removeDir(dir);
  });

  it('generate prints a valid secret identity; with files it writes secret (0600) and public', async () => {
    const r = await idtool('generate');
    expect(r.code).toBe(0);
    const id = Identity.fromString(r.stdout);
    expect(id.hasPrivate).toBe(true);
    expect(id.locallyValidateSync()).toBe(true);

    const w = await idtool('generate', 'id.secret', 'id.public');
    expect(w).toEqual({ code: 0, stdout: 'id.secret written\nid.public written\n', stderr: '' });
    const secret = Identity.fromString(readFileSync(join(dir, 'id.secret'), 'utf8'));
    const pub = Identity.fromString(readFileSync(join(dir, 'id.public'), 'utf8'));
    expect(secret.locallyValidateSync()).toBe(true);
    expect(pub.hasPrivate).toBe(false);
    expect(pub.equals(secret)).toBe(true);
    expect(statSync(join(dir, 'id.secret')).mode & 0o777).toBe(0o600);

    expect(await idtool('generate', join(dir, 'no', 'such', 'dir', 'x.secret'))).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^Error writing to /),
    });
  });

  it('validate accepts every identity stock made, as a literal or a file', async () => {
    for (const v of identities.valid) {
      expect(await idtool('validate', v.secret)).toEqual({ code: 0, stdout: `${v.secret} is a valid identity\n`, stderr: '' });
    }
    const f = file('valid.public', identities.valid[0]!.public);
    expect(await idtool('validate', f)).toEqual({ code: 0, stdout: `${f} is a valid identity\n`, stderr: '' });
  });

  it("validate refuses every broken identity (I9 too, whose private key is someone else's)", async () => {
    expect(identities.invalid).toHaveLength(9);
    for (const v of identities.invalid) {
      const r = await idtool('validate', v.string);
      expect(r.code, v.name).toBe(1);
      expect(r.stdout, v.name).toBe('');
      expect(r.stderr, v.name).toMatch(/^(Identity argument invalid or file unreadable: .*|.* FAILED validation\.)\n$/);
    }
    expect(await idtool('validate', join(dir, 'missing.secret'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `Identity argument invalid or file unreadable: ${join(dir, 'missing.secret')}\n`,
    });
  });

  it('getpublic prints the public form stock gives', async () => {
    for (const v of identities.valid.slice(0, 3)) {
      expect(await idtool('getpublic', file(`${v.name}.secret`, v.secret))).toEqual({ code: 0, stdout: `${v.public}\n`, stderr: '' });
    }
    expect((await idtool('getpublic', 'nonsense')).code).toBe(1);
  });

  it('sign reproduces every stock signature byte for byte', async () => {
    expect(signatures.vectors.length).toBeGreaterThanOrEqual(10);
    for (const v of signatures.vectors) {
      const msg = file(`${v.name}.msg`, Buffer.from(v.messageHex, 'hex'));
      expect(await idtool('sign', v.signerSecret, msg), v.name).toEqual({ code: 0, stdout: `${v.signatureHex}\n`, stderr: '' });
    }
  });

  it('sign needs a private key and a readable file', async () => {
    const v = identities.valid[0]!;
    const msg = file('m.txt', 'hello');
    expect(await idtool('sign', v.public, msg)).toEqual({
      code: 1,
      stdout: '',
      stderr: `${v.public} does not contain a private key (must use private to sign)\n`,
    });
    expect(await idtool('sign', v.secret, join(dir, 'nope'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `${join(dir, 'nope')} is not readable\n`,
    });
  });

  it('verify accepts stock signatures (hex or file) and refuses the four broken ones', async () => {
    for (const v of signatures.vectors) {
      const msg = file(`${v.name}.msg`, Buffer.from(v.messageHex, 'hex'));
      const pub = Identity.fromString(v.signerSecret).toString(false);
      expect(await idtool('verify', pub, msg, v.signatureHex), v.name).toEqual({ code: 0, stdout: `${msg} signature valid\n`, stderr: '' });
    }
    const first = signatures.vectors[0]!;
    const sigFile = file('first.sig', `${first.signatureHex}\n`);
    const firstMsg = file('first.msg', Buffer.from(first.messageHex, 'hex'));
    expect((await idtool('verify', first.signerSecret, firstMsg, sigFile)).code).toBe(0);

    expect(signatures.invalid).toHaveLength(4);
    for (const [i, v] of signatures.invalid.entries()) {
      const signer = v.signerPublic ?? v.signerSecret;
      expect(signer, `invalid[${i}] names its signer`).toBeDefined();
      const msg = file(`bad${i}.msg`, Buffer.from(v.messageHex, 'hex'));
      expect(await idtool('verify', signer!, msg, v.signatureHex), `invalid[${i}]`).toEqual({
        code: 1,
        stdout: '',
        stderr: `${msg} signature check FAILED\n`,
      });
    }
    expect((await idtool('verify', first.signerSecret, firstMsg, 'not-hex-and-not-a-file')).code).toBe(1);
  });

  it("genplanet rebuilds stock's planet.bin byte for byte from its definition", async () => {
    const root = identities.valid.find((v) => v.name === 'id1')!;
    const def = {
      id: planet.idHex,
      objtype: 'world',
      roots: [{ identity: root.public, stableEndpoints: ['10.99.0.1/9993'] }],
      signingKey: planet.signingKeyPair.publicHex,
      signingKey_SECRET: planet.signingKeyPair.privateHex,
      updatesMustBeSignedBy: planet.signingKeyPair.publicHex,
      worldType: 'planet',
      timestamp: planet.timestamp,
    };
    const defFile = file('stock-planet.json', JSON.stringify(def));
    const r = await idtool('genplanet', defFile, 'rebuilt.planet');
    expect(r).toEqual({ code: 0, stdout: `wrote rebuilt.planet (signed world with timestamp ${planet.timestamp})\n`, stderr: '' });
    expect(readFileSync(join(dir, 'rebuilt.planet')).toString('hex')).toBe(planet.fileHex);
    expect(readFileSync(join(dir, 'rebuilt.planet')).equals(readFileSync(join(VECTORS_DIR, 'planet.bin')))).toBe(true);
  });

  it("initplanet + genplanet make a private planet that the daemon's planet loader accepts", async () => {
    const gen = await idtool('generate', 'root.secret', 'root.public');
    expect(gen.code).toBe(0);
    const init = await idtool('initplanet', 'root.public', '127.0.0.1/9993', '::1/9993');
    expect(init.code).toBe(0);
    const def = JSON.parse(init.stdout) as Record<string, unknown>;
    expect(Object.keys(def)).toEqual(['id', 'objtype', 'roots', 'signingKey', 'signingKey_SECRET', 'updatesMustBeSignedBy', 'worldType']);
    expect(def).toMatchObject({ objtype: 'world', worldType: 'planet', roots: [{ stableEndpoints: ['127.0.0.1/9993', '::1/9993'] }] });
    expect(def.signingKey).toBe(def.updatesMustBeSignedBy);
    writeFileSync(join(dir, 'private.json'), init.stdout);
    const made = await idtool('genplanet', 'private.json');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^wrote planet \(signed world with timestamp \d+\)\n$/);
    const world = readPlanetFile(join(dir, 'planet'));
    const rootId = Identity.fromString(readFileSync(join(dir, 'root.public'), 'utf8'));
    expect(world.id).toBe(BigInt(`0x${def.id as string}`));
    expect(world.roots).toHaveLength(1);
    expect(world.roots[0]!.address).toBe(rootId.address);
    expect(world.roots[0]!.stableEndpoints).toEqual([
      { family: 4, ip: '127.0.0.1', port: 9993 },
      { family: 6, ip: '::1', port: 9993 },
    ]);
  });

  it("initmoon prints stock's moon definition; genmoon writes <id>.moon", async () => {
    const root = identities.valid[1]!;
    const init = await idtool('initmoon', root.public);
    expect(init.code).toBe(0);
    const def = JSON.parse(init.stdout) as Record<string, unknown>;
    expect(def).toMatchObject({
      id: root.public.slice(0, 10),
      objtype: 'world',
      worldType: 'moon',
      roots: [{ identity: root.public, stableEndpoints: [] }],
    });
    // stock prints with one-space indentation
    expect(init.stdout).toContain('\n "id": ');
    (def.roots as { stableEndpoints: string[] }[])[0]!.stableEndpoints = ['127.0.0.1/9993'];
    writeFileSync(join(dir, 'moon.json'), JSON.stringify(def));
    expect(await idtool('genplanet', 'moon.json')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'moon.json: "worldType" is not "planet" (use genmoon for moons)\n',
    });
    const r = await idtool('genmoon', 'moon.json');
    const name = `000000${root.public.slice(0, 10)}.moon`;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${name} \\(signed world with timestamp \\d+\\)\\n$`));
    const parsed = parseWorld(readFileSync(join(dir, name)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.world.type).toBe(WorldType.MOON);
    expect(verifyWorld(parsed.value.world)).toBe(true);
  });

  it('genmoon / genplanet refuse broken definitions with a message naming the problem', async () => {
    // A different Ed25519 seed (second half) always gives a different public key.
    const otherSeed = (secret: string): string => secret.slice(0, 64) + (secret[64] === '0' ? '1' : '0') + secret.slice(65);
    const root = identities.valid[0]!;
    const good = JSON.parse((await idtool('initplanet', root.public, '127.0.0.1/9993')).stdout) as Record<string, unknown>;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['no-id', { ...good, id: '0' }, /"id" must be a non-zero hex world id/],
      ['earth', { ...good, id: '8eac90a' }, /reserved for ZeroTier's public planets/],
      ['type', { ...good, worldType: 'star' }, /"worldType" must be "moon" or "planet"/],
      ['key', { ...good, signingKey_SECRET: 'ab' }, /"signingKey_SECRET" must be 128 hex digits/],
      [
        'mismatch',
        { ...good, signingKey_SECRET: otherSeed(good.signingKey_SECRET as string) },
        /"signingKey_SECRET" does not belong to "signingKey"/,
      ],
      ['roots', { ...good, roots: [] }, /"roots" must list 1 to 4 roots/],
      [
        'identity',
        { ...good, roots: [{ identity: identities.invalid[0]!.string, stableEndpoints: ['127.0.0.1/9993'] }] },
        /fails validation/,
      ],
      ['endpoint', { ...good, roots: [{ identity: root.public, stableEndpoints: ['localhost:9993'] }] }, /is not ip\/port/],
      ['planet-no-endpoint', { ...good, roots: [{ identity: root.public, stableEndpoints: [] }] }, /needs at least one stable endpoint/],
    ];
    for (const [name, def, pattern] of cases) {
      const f = file(`${name}.json`, JSON.stringify(def));
      const r = await idtool('genplanet', f, `${name}.planet`);
      expect(r.code, name).toBe(1);
      expect(r.stdout, name).toBe('');
      expect(r.stderr, name).toMatch(pattern);
      expect(r.stderr.trimEnd().split('\n'), name).toHaveLength(1);
    }
    expect(await idtool('genplanet', file('garbage.json', '{not json'))).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/not valid JSON/),
    });
    expect(await idtool('genmoon', join(dir, 'absent.json'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `cannot read ${join(dir, 'absent.json')}\n`,
    });
    expect(await idtool('initplanet', root.public)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/give the root's stable endpoints/),
    });
    expect(await idtool('initmoon', 'nonsense')).toEqual({ code: 1, stdout: '', stderr: 'nonsense is not a valid identity\n' });
  });

  it('no command or an unknown one prints the usage and exits 1', async () => {
    for (const args of [[], ['frobnicate'], ['validate'], ['getpublic', 'a', 'b'], ['generate', 'a', 'b', 'c']]) {
      const r = await idtool(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^Usage: ztnc-idtool <command>/);
    }
    expect((await idtool('-h')).code).toBe(0);
  });
});
