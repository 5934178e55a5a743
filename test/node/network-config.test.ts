import { describe, expect, it } from 'vitest';
import { verifyCom } from '../../src/node/credentials/certificate-of-membership.js';
import { verifyCoo } from '../../src/node/credentials/certificate-of-ownership.js';
import { Dictionary } from '../../src/node/wire/dictionary.js';
import {
  decodeNetworkConfig,
  defaultNetworkConfig,
  encodeNetworkConfig,
  networkConfigFromDictionary,
  networkConfigToDictionary,
  requestMetadataDictionary,
} from '../../src/node/network/network-config.js';
import {
  decodeRules,
  encodeRules,
  ruleAccept,
  ruleDrop,
  ruleMatchEtherType,
  rulesOrDropAll,
} from '../../src/node/network/network-rules.js';
import { filterFrame } from '../../src/node/network/rules-engine.js';
import { hexBuf, packetsJson, vectorPacket } from './zt-vectors.js';

const nodes = packetsJson().nodes;
const pub = (name: string) => hexBuf(nodes[name]!.identitySecret.split(':')[2]!);
const dicts = packetsJson().networkConfigDictionaries.dictionaries;

describe('network config ⇄ dictionary', () => {
  for (const d of dicts) {
    it(`decodes ${d.issuedTo}'s stock config and re-encodes it byte-identically`, () => {
      const raw = hexBuf(d.dictionaryHex);
      const p = decodeNetworkConfig(raw);
      if (!p.ok) throw new Error(p.error);
      const c = p.value;
      const num = (k: string) => BigInt(d.entries.find((e) => e.key === k)!.numeric!);
      expect(c.networkId).toBe(0x3ce329f872000001n);
      expect(c.issuedTo).toBe(BigInt(`0x${nodes[d.issuedTo]!.address}`));
      expect(c.timestamp).toBe(num('ts'));
      expect(c.credentialTimeMaxDelta).toBe(1_800_000n);
      expect(c.revision).toBe(num('r'));
      expect(c.flags).toBe(2n);
      expect(c.multicastLimit).toBe(32);
      expect(c.type).toBe(0);
      expect(c.name).toBe('zt-vectors');
      expect(c.mtu).toBe(2800);
      expect(c.routes).toEqual([{ target: { family: 4, ip: '10.147.17.0', port: 24 }, via: null, flags: 0, metric: 0 }]);
      const ip = d.issuedTo === 'A' ? '10.147.17.105' : '10.147.17.93';
      expect(c.staticIps).toEqual([{ family: 4, ip, port: 24 }]);
      expect(c.rules.map((r) => r.type)).toEqual([1]);
      expect(c.rulesError).toBeNull();
      expect(c.dns).toEqual({ domain: '', servers: [] });
      expect(c.sso).toEqual({ version: 0n, enabled: false });
      expect(verifyCom(c.com!, pub('C'))).toBe(true);
      expect(c.certificatesOfOwnership.length).toBe(1);
      expect(verifyCoo(c.certificatesOfOwnership[0]!, pub('C'))).toBe(true);
      expect(encodeNetworkConfig(c).equals(raw)).toBe(true);
    });
  }

  it('a config built from defaults round-trips through the dictionary', () => {
    const c = defaultNetworkConfig(0x8056c2e21c000001n, 0x1122334455n);
    c.name = 'net=with\\odd\nchars';
    c.staticIps = [{ family: 6, ip: 'fd80:56c2:e21c::1', port: 88 }];
    c.routes = [{ target: { family: 4, ip: '10.0.0.0', port: 8 }, via: { family: 4, ip: '10.0.0.1', port: 0 }, flags: 1, metric: 5 }];
    c.specialists = [0x0000020000000000n | 0x1122334455n];
    c.dns = { domain: 'example.zt', servers: [{ family: 4, ip: '10.0.0.53', port: 53 }] };
    c.rules = [ruleMatchEtherType(0x0800, { not: true }), ruleDrop(), ruleAccept()];
    c.sso = {
      version: 1n,
      enabled: true,
      issuerUrl: 'https://i',
      centralEndpointUrl: 'https://c',
      nonce: 'n',
      state: 's',
      clientId: 'id',
      provider: 'p',
    };
    const bytes = encodeNetworkConfig(c);
    const back = decodeNetworkConfig(bytes);
    if (!back.ok) throw new Error(back.error);
    expect(back.value).toEqual({ ...c, rules: c.rules.map((r) => ({ ...r, value: Buffer.from(r.value) })) });
    expect(encodeNetworkConfig(back.value).equals(bytes)).toBe(true);
  });

  it('refuses configs without a network id or issued-to, and legacy versions', () => {
    const good = networkConfigToDictionary(defaultNetworkConfig(5n, 6n));
    for (const key of ['nwid', 'id']) {
      const d = new Dictionary();
      for (const e of good.entries) if (e.key !== key) d.add(e.key, e.value);
      expect(networkConfigFromDictionary(d).ok).toBe(false);
    }
    const old = new Dictionary().add('v', 5n).add('nwid', 5n).add('id', '0000000006');
    expect(networkConfigFromDictionary(old).ok).toBe(false);
  });

  it('clamps the MTU and rejects malformed binary fields without throwing', () => {
    const d = networkConfigToDictionary(defaultNetworkConfig(5n, 6n));
    d.set('mtu', 100n);
    const p = networkConfigFromDictionary(d);
    expect(p.ok && p.value.mtu).toBe(1280);
    for (const key of ['C', 'COO', 'RT', 'I', 'S', 'DNS', 'CAP', 'TAG']) {
      const bad = networkConfigToDictionary(defaultNetworkConfig(5n, 6n)).set(key, Buffer.from([0x09, 0x01, 0x02]));
      const r = networkConfigFromDictionary(bad);
      expect(r.ok, key).toBe(false);
    }
    let seed = 5;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 300; i++) expect(typeof decodeNetworkConfig(Buffer.from(Array.from({ length: i }, rnd))).ok).toBe('boolean');
    const raw = hexBuf(dicts[0]!.dictionaryHex);
    for (let n = 0; n < raw.length; n += 7) expect(typeof decodeNetworkConfig(raw.subarray(0, n)).ok).toBe('boolean');
  });
});

describe('rules', () => {
  it('decodes the stock single ACCEPT rule and re-encodes it', () => {
    const r = decodeRules(hexBuf('0100'));
    expect(r.ok && r.value.map((x) => [x.type, x.not, x.or, x.value.length])).toEqual([[1, false, false, 0]]);
    expect(encodeRules([ruleAccept()]).toString('hex')).toBe('0100');
  });

  it('carries NOT/OR flags and values; an ethertype filter drops what it should', () => {
    const rules = [ruleMatchEtherType(0x0806, { not: true }), ruleMatchEtherType(0x0800, { not: true }), ruleDrop(), ruleAccept()];
    const bytes = encodeRules(rules);
    expect(bytes.toString('hex')).toBe('a5020806a50208000000' + '0100');
    const back = rulesOrDropAll(bytes);
    expect(back.error).toBeNull();
    const facts = (etherType: number) => ({ ztSource: 1n, ztDest: 2n, macSource: 3n, macDest: 4n, etherType, payload: new Uint8Array(0) });
    expect(filterFrame(back.rules, facts(0x0800)).accept).toBe(true);
    expect(filterFrame(back.rules, facts(0x0806)).accept).toBe(true);
    expect(filterFrame(back.rules, facts(0x86dd)).accept).toBe(false);
  });

  it('fails closed on unknown rule types, wrong value lengths and truncation', () => {
    for (const hex of ['0100' + '3f00', '0100' + '2503080000', '01', '250108', '2502']) {
      const r = rulesOrDropAll(hexBuf(hex));
      expect(r.error, hex).not.toBeNull();
      expect(r.rules.map((x) => x.type)).toEqual([0]);
      const facts = { ztSource: 1n, ztDest: 2n, macSource: 3n, macDest: 4n, etherType: 0x0800, payload: new Uint8Array(0) };
      expect(filterFrame(r.rules, facts).accept).toBe(false);
    }
    const cfg = networkConfigToDictionary(defaultNetworkConfig(5n, 6n)).set('R', hexBuf('3f00'));
    const p = networkConfigFromDictionary(cfg);
    expect(p.ok && p.value.rulesError).toMatch(/unknown rule type 63/);
  });
});

describe('request metadata', () => {
  it('reproduces the member metadata stock 1.14.1 sends', () => {
    const p = vectorPacket('network-config-request-cipher3-lz4');
    const dec = p.decoded as { metadataText: string };
    const d = requestMetadataDictionary({ protocolVersion: 12, versionMajor: 1, versionMinor: 14, versionRevision: 1, os: 'linux/x86_64' });
    expect(d.encode().toString('latin1')).toBe(dec.metadataText);
  });
});
