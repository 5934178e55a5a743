import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/node/crypto/c25519.js';
import {
  WorldType,
  createPrivatePlanet,
  encodeWorld,
  parseWorld,
  shouldReplaceWorld,
  signWorld,
  verifyWorld,
  worldSignedMessage,
  type World,
} from '../../src/node/peer/world.js';
import { hexBuf, vectorFile, vectorJson } from './zt-vectors.js';

interface PlanetJson {
  fileHex: string;
  type: number;
  id: string;
  timestamp: string;
  updatesMustBeSignedBy: { hex: string };
  signingKeyPair: { publicHex: string; privateHex: string };
  signature: { hex: string };
  signedMessage: { hex: string };
  roots: { identityPublic: string; stableEndpoints: { string: string }[] }[];
}

const planetJson = vectorJson<PlanetJson>('planet.json');
const planetBin = vectorFile('planet.bin');

function parsed(buf: Buffer): World {
  const p = parseWorld(buf);
  if (!p.ok) throw new Error(p.error);
  return p.value.world;
}

describe('world (planet/moon) codec', () => {
  it('parses the stock planet; fields match planet.json', () => {
    expect(planetBin.toString('hex')).toBe(planetJson.fileHex);
    const p = parseWorld(planetBin);
    if (!p.ok) throw new Error(p.error);
    const w = p.value.world;
    expect(p.value.length).toBe(planetBin.length);
    expect(w.type).toBe(WorldType.PLANET);
    expect(w.id.toString()).toBe(planetJson.id);
    expect(w.timestamp.toString()).toBe(planetJson.timestamp);
    expect(w.updatesMustBeSignedBy.toString('hex')).toBe(planetJson.updatesMustBeSignedBy.hex);
    expect(w.signature.toString('hex')).toBe(planetJson.signature.hex);
    expect(w.roots.map((r) => `${r.address.toString(16).padStart(10, '0')}:0:${r.publicKey.toString('hex')}`)).toEqual(
      planetJson.roots.map((r) => r.identityPublic),
    );
    expect(w.roots.map((r) => r.stableEndpoints.map((e) => `${e.ip}/${e.port}`))).toEqual(
      planetJson.roots.map((r) => r.stableEndpoints.map((e) => e.string)),
    );
  });

  it('verifies its signature, re-emits byte-identically, and re-signing reproduces the signature', () => {
    const w = parsed(planetBin);
    expect(worldSignedMessage(w).toString('hex')).toBe(planetJson.signedMessage.hex);
    expect(verifyWorld(w)).toBe(true);
    expect(encodeWorld(w).equals(planetBin)).toBe(true);
    const key = { publicKey: hexBuf(planetJson.signingKeyPair.publicHex), privateKey: hexBuf(planetJson.signingKeyPair.privateHex) };
    const again = signWorld(w, key);
    expect(again.signature.equals(w.signature)).toBe(true);
    expect(encodeWorld(again).equals(planetBin)).toBe(true);
  });

  it('rejects a tampered planet and a wrong key', () => {
    const t = Buffer.from(planetBin);
    t[t.length - 1] = t[t.length - 1]! ^ 1; // the root's port
    expect(verifyWorld(parsed(t))).toBe(false);
    expect(verifyWorld(parsed(planetBin), generateKeyPair().publicKey)).toBe(false);
  });

  it('makes a private planet that parses, verifies, and accepts only properly signed updates', () => {
    const w0 = parsed(planetBin);
    const made = createPrivatePlanet({ id: 0x1234n, timestamp: 1000n, roots: w0.roots });
    if (!made.ok) throw new Error(made.error);
    const back = parsed(made.value.serialized);
    expect(verifyWorld(back)).toBe(true);
    expect(back.roots[0]!.stableEndpoints[0]).toEqual({ family: 4, ip: '10.99.0.1', port: 9993 });
    // update signed by the same key and newer: accepted; older, foreign-signed or other id: refused
    const newer = signWorld(
      { ...back, timestamp: 2000n, roots: [{ ...back.roots[0]!, stableEndpoints: [{ family: 6, ip: 'fd00::1', port: 9993 }] }] },
      made.value.signingKey,
    );
    expect(shouldReplaceWorld(back, parsed(encodeWorld(newer)))).toBe(true);
    expect(shouldReplaceWorld(back, signWorld({ ...back, timestamp: 500n }, made.value.signingKey))).toBe(false);
    expect(shouldReplaceWorld(back, signWorld({ ...back, timestamp: 3000n }, generateKeyPair()))).toBe(false);
    expect(shouldReplaceWorld(back, signWorld({ ...back, id: 99n, timestamp: 3000n }, made.value.signingKey))).toBe(false);
    expect(shouldReplaceWorld(null, back)).toBe(true);
    // the reserved ids and empty root lists are refused
    expect(createPrivatePlanet({ id: 149604618n, timestamp: 1n, roots: w0.roots }).ok).toBe(false);
    expect(createPrivatePlanet({ id: 5n, timestamp: 1n, roots: [] }).ok).toBe(false);
  });

  it('round-trips a moon (type 127 with its trailing dictionary length)', () => {
    const w0 = parsed(planetBin);
    const key = generateKeyPair();
    const moon = signWorld(
      {
        type: WorldType.MOON,
        id: 0x5f5c2b984an,
        timestamp: 7n,
        updatesMustBeSignedBy: key.publicKey,
        signature: Buffer.alloc(96),
        roots: w0.roots,
      },
      key,
    );
    const bytes = encodeWorld(moon);
    const back = parseWorld(bytes);
    if (!back.ok) throw new Error(back.error);
    expect(back.value.length).toBe(bytes.length);
    expect(verifyWorld(back.value.world)).toBe(true);
  });

  it('rejects truncations at every length, bad types and oversized counts without throwing', () => {
    for (let n = 0; n < planetBin.length; n++) expect(parseWorld(planetBin.subarray(0, n)).ok).toBe(false);
    const badType = Buffer.from(planetBin);
    badType[0] = 2;
    expect(parseWorld(badType).ok).toBe(false);
    const manyRoots = Buffer.from(planetBin);
    manyRoots[177] = 5;
    expect(parseWorld(manyRoots).ok).toBe(false);
    const manyEndpoints = Buffer.from(planetBin);
    manyEndpoints[178 + 71] = 33;
    expect(parseWorld(manyEndpoints).ok).toBe(false);
    expect(parseWorld(Buffer.alloc(100000)).ok).toBe(false);
  });
});
