/**
 * The join token in a config request's metadata: sent under `ztnc.token` after stock's keys (so a
 * stock controller reading its own keys sees the same dictionary), read back by the controller
 * side, and absent when the member has none (stock members' requests are unchanged).
 */
import { describe, expect, it } from 'vitest';
import { requestMetadataFromDictionary } from '../../src/node/controller-link/config-translation.js';
import { JOIN_TOKEN_KEY, requestMetadataDictionary } from '../../src/node/network/network-config.js';
import { Dictionary } from '../../src/node/wire/dictionary.js';

const BASE = { protocolVersion: 12, versionMajor: 1, versionMinor: 14, versionRevision: 1, os: 'linux/x86_64' };

describe('join token request metadata', () => {
  it('rides under ztnc.token and is read back; stock keys are unchanged', () => {
    const plain = requestMetadataDictionary(BASE).encode();
    const withToken = requestMetadataDictionary({ ...BASE, joinToken: 'q3VbI5Vb9d3Gm0zZ-_' }).encode();
    expect(JOIN_TOKEN_KEY).toBe('ztnc.token');
    expect(withToken.subarray(0, plain.length - 1).equals(plain.subarray(0, plain.length - 1))).toBe(true);
    const parsed = Dictionary.parse(withToken);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(requestMetadataFromDictionary(parsed.value)).toEqual({
      majorVersion: 1,
      minorVersion: 14,
      revision: 1,
      protocolVersion: 12,
      rulesEngineRev: 1,
      joinToken: 'q3VbI5Vb9d3Gm0zZ-_',
    });
    const stock = Dictionary.parse(plain);
    expect(stock.ok && requestMetadataFromDictionary(stock.value).joinToken).toBe(undefined);
  });

  it('ignores an empty or oversized token', () => {
    for (const t of ['', 'x'.repeat(257)]) {
      const d = Dictionary.parse(new Dictionary().add(JOIN_TOKEN_KEY, t).encode());
      expect(d.ok && requestMetadataFromDictionary(d.value).joinToken).toBe(undefined);
    }
  });
});
