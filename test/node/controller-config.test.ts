import { describe, expect, it } from 'vitest';
import { parseCom } from '../../src/node/credentials/certificate-of-membership.js';
import { parseCoo } from '../../src/node/credentials/certificate-of-ownership.js';
import {
  networkConfigFromController,
  requestMetadataFromDictionary,
  ruleFromObject,
} from '../../src/node/controller-link/config-translation.js';
import { Dictionary } from '../../src/node/wire/dictionary.js';
import { decodeNetworkConfig, encodeNetworkConfig } from '../../src/node/network/network-config.js';
import type { ControllerNetworkConfig } from '../../src/node/controller-link/controller-backend.js';
import { encodeRules } from '../../src/node/network/network-rules.js';
import { hexBuf, packetsJson, vectorPacket } from './zt-vectors.js';

const dicts = packetsJson().networkConfigDictionaries.dictionaries;

describe('controller config → NetworkConfig', () => {
  it("reproduces stock's config dictionary for B byte for byte from the controller's decisions", () => {
    const d = dicts.find((x) => x.issuedTo === 'B')!;
    const stock = decodeNetworkConfig(hexBuf(d.dictionaryHex));
    if (!stock.ok) throw new Error(stock.error);
    const decided: ControllerNetworkConfig = {
      nwid: 0x3ce329f872000001n,
      timestamp: Number(stock.value.timestamp),
      credentialTimeMaxDelta: 1_800_000,
      revision: 1,
      issuedTo: 0x67d125dc43n,
      name: 'zt-vectors',
      private: true,
      enableBroadcast: true,
      allowPassiveBridging: false,
      ndpEmulation: false,
      mtu: 2800,
      multicastLimit: 32,
      routes: [{ target: '10.147.17.0/24', via: null, flags: 0, metric: 0 }],
      staticIps: ['10.147.17.93/24'],
      rules: [{ type: 'ACTION_ACCEPT' }],
      capabilities: [],
      tags: [],
      specialists: [],
      dns: null,
    };
    const c = networkConfigFromController(decided);
    if (!c.ok) throw new Error(c.error);
    // the node adds the certificates it signs; take stock's
    const com = parseCom(hexBuf(d.entries.find((e) => e.key === 'C')!.hex!));
    const coo = parseCoo(hexBuf(d.entries.find((e) => e.key === 'COO')!.hex!));
    if (!com.ok || !coo.ok) throw new Error('certificates');
    c.value.com = com.value.com;
    c.value.certificatesOfOwnership = [coo.value.coo];
    expect(encodeNetworkConfig(c.value).toString('hex')).toBe(d.dictionaryHex);
  });

  it('encodes rule objects as stock serializes them', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ type: 'ACTION_ACCEPT' }, '0100'],
      [{ type: 'ACTION_DROP' }, '0000'],
      [{ type: 'MATCH_ETHERTYPE', etherType: 2048, not: true }, 'a5020800'],
      [{ type: 'MATCH_ETHERTYPE', etherType: 2054, or: true }, '65020806'],
      [{ type: 'MATCH_IPV4_SOURCE', ip: '10.0.0.0/8' }, '1f050a00000008'],
      [{ type: 'MATCH_IPV6_DEST', ip: 'fd00::1/64' }, '2211fd00000000000000000000000000000140'],
      [{ type: 'MATCH_ICMP', icmpType: 8, icmpCode: null }, '2603080000'],
      [{ type: 'MATCH_ICMP', icmpType: 3, icmpCode: 1 }, '2603030101'],
      [{ type: 'MATCH_IP_DEST_PORT_RANGE', start: 80, end: 443 }, '2804005001bb'],
      [{ type: 'MATCH_SOURCE_ZEROTIER_ADDRESS', zt: '1a0bee8b7f' }, '18051a0bee8b7f'],
      [{ type: 'MATCH_MAC_DEST', mac: 'ff:ff:ff:ff:ff:ff' }, '1e06ffffffffffff'],
      [{ type: 'MATCH_TAGS_EQUAL', id: 1, value: 2 }, '30080000000100000002'],
      [{ type: 'MATCH_CHARACTERISTICS', mask: '8000000000000000' }, '29088000000000000000'],
      [{ type: 'ACTION_TEE', address: '67d125dc43', flags: 0, length: 64 }, '020e00000067d125dc43000000000040'],
    ];
    for (const [obj, hex] of cases) {
      const r = ruleFromObject(obj as { type: string });
      if (!r.ok) throw new Error(`${JSON.stringify(obj)}: ${r.error}`);
      expect(encodeRules([r.value]).toString('hex'), JSON.stringify(obj)).toBe(hex);
    }
  });

  it('refuses rule objects it cannot encode and bad addresses', () => {
    expect(ruleFromObject({ type: 'MATCH_NOPE' }).ok).toBe(false);
    expect(ruleFromObject({ type: 'MATCH_ETHERTYPE', etherType: 70000 }).ok).toBe(false);
    expect(ruleFromObject({ type: 'MATCH_IPV4_SOURCE', ip: 'fd00::1/8' }).ok).toBe(false);
    const base = {
      nwid: 1n,
      timestamp: 0,
      credentialTimeMaxDelta: 0,
      revision: 0,
      issuedTo: 2n,
      name: '',
      private: true,
      enableBroadcast: true,
      allowPassiveBridging: false,
      ndpEmulation: false,
      mtu: 2800,
      multicastLimit: 32,
      routes: [],
      rules: [],
      capabilities: [],
      tags: [],
      specialists: [],
      dns: null,
    };
    expect(networkConfigFromController({ ...base, staticIps: ['10.0.0.300/24'] }).ok).toBe(false);
    expect(networkConfigFromController({ ...base, staticIps: [], rules: [{ type: 'X' }] }).ok).toBe(false);
  });

  it('reads the member metadata a stock request carries', () => {
    const p = vectorPacket('network-config-request-cipher1-lz4');
    const d = Dictionary.parse(Buffer.from((p.decoded as { metadataText: string }).metadataText, 'latin1'));
    if (!d.ok) throw new Error(d.error);
    expect(requestMetadataFromDictionary(d.value)).toEqual({
      majorVersion: 1,
      minorVersion: 14,
      revision: 1,
      protocolVersion: 12,
      rulesEngineRev: 1,
    });
  });
});
