import { describe, expect, it } from 'vitest';
import { decodeNetworkConfig, defaultNetworkConfig, encodeNetworkConfig } from '../../src/node/network/network-config.js';
import { decodeNames, encodeNames, MAX_NAME_ENTRIES, MAX_NAMES_BYTES, NAMES_KEY } from '../../src/node/network/network-names.js';
import { Dictionary } from '../../src/node/wire/dictionary.js';

describe('network config: the names key', () => {
  it('round-trips names with IPv4 and IPv6 addresses through the config dictionary', () => {
    const c = defaultNetworkConfig(0x8056c2e21c000001n, 0x1234567890n);
    c.names = [
      { name: 'alpha', addrs: [{ family: 4, ip: '10.147.17.5', port: 0 }] },
      {
        name: 'beta-2',
        addrs: [
          { family: 4, ip: '10.147.17.6', port: 0 },
          { family: 6, ip: 'fd00::1', port: 0 },
        ],
      },
    ];
    const back = decodeNetworkConfig(encodeNetworkConfig(c));
    expect(back.ok && back.value.names).toEqual(c.names);
  });

  it('is absent from a config without names (as from a stock controller), and its value is escaped as any', () => {
    const c = defaultNetworkConfig(1n, 2n);
    const bytes = encodeNetworkConfig(c);
    expect(bytes.includes(Buffer.from(NAMES_KEY))).toBe(false);
    const back = decodeNetworkConfig(bytes);
    expect(back.ok && back.value.names).toBeNull();
    // a value full of bytes the dictionary escapes (10 = LF, 61 = '=') survives
    c.names = [{ name: 'n', addrs: [{ family: 4, ip: '10.61.13.0', port: 0 }] }];
    const again = decodeNetworkConfig(encodeNetworkConfig(c));
    expect(again.ok && again.value.names).toEqual(c.names);
  });

  it('is bounded: entries past the count or byte limit are left out', () => {
    const many = Array.from({ length: MAX_NAME_ENTRIES + 50 }, (_, i) => ({
      name: `m${i}`,
      addrs: [{ family: 4 as const, ip: `10.0.${i >> 8}.${i & 255}`, port: 0 }],
    }));
    const e = encodeNames(many);
    expect(e.written).toBe(MAX_NAME_ENTRIES);
    expect(decodeNames(e.value)).toHaveLength(MAX_NAME_ENTRIES);
    const long = Array.from({ length: 1000 }, (_, i) => ({
      name: `${'x'.repeat(60)}${i}`,
      addrs: Array.from({ length: 8 }, () => ({ family: 6 as const, ip: 'fd00::1', port: 0 })),
    }));
    const big = encodeNames(long);
    expect(big.value.length).toBeLessThanOrEqual(MAX_NAMES_BYTES);
    expect(big.written).toBeLessThan(1000);
    expect(decodeNames(big.value)).toHaveLength(big.written);
  });

  it('a names value the node does not understand leaves the config standing without names', () => {
    const c = defaultNetworkConfig(1n, 2n);
    const d = Dictionary.parse(encodeNetworkConfig(c));
    if (!d.ok) throw new Error(d.error);
    for (const bad of [Buffer.of(9, 0, 0), Buffer.of(1, 0, 1, 3, 0x41, 0x42, 0x43, 0), Buffer.of(1, 0, 2, 1, 0x61, 0), Buffer.alloc(0)]) {
      const dict = Dictionary.parse(encodeNetworkConfig(c));
      if (!dict.ok) throw new Error(dict.error);
      dict.value.add(NAMES_KEY, bad);
      const back = decodeNetworkConfig(dict.value.encode());
      expect(back.ok).toBe(true);
      expect(back.ok && back.value.names).toBeNull();
    }
  });
});
