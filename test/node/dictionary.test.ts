import { describe, expect, it } from 'vitest';
import { Dictionary, escapeValue, unescapeValue } from '../../src/node/wire/dictionary.js';
import { hexBuf, packetsJson, vectorPacket } from './zt-vectors.js';

describe('Dictionary', () => {
  const dicts = packetsJson().networkConfigDictionaries.dictionaries;

  it('decodes both stock config dictionaries to the recorded entries and re-encodes them byte-identically', () => {
    expect(dicts.length).toBe(2);
    for (const d of dicts) {
      const raw = hexBuf(d.dictionaryHex);
      expect(raw.length).toBe(d.dictionaryLength);
      const parsed = Dictionary.parse(raw);
      if (!parsed.ok) throw new Error(parsed.error);
      const dict = parsed.value;
      expect(dict.entries.map((e) => e.key)).toEqual(d.entries.map((e) => e.key));
      for (const e of d.entries) {
        const v = dict.get(e.key)!;
        if (e.hex !== undefined) expect(v.toString('hex'), e.key).toBe(e.hex);
        else expect(v.toString('latin1'), e.key).toBe(e.text);
        if (e.numeric !== undefined) expect(dict.getU64(e.key)).toBe(BigInt(e.numeric));
      }
      expect(dict.encode().equals(raw)).toBe(true);
    }
  });

  it('decodes the member metadata of a NETWORK_CONFIG_REQUEST', () => {
    const p = vectorPacket('network-config-request-cipher3-lz4');
    const dec = p.decoded as { metadataText: string; metadata: { key: string; text: string }[] };
    const parsed = Dictionary.parse(Buffer.from(dec.metadataText, 'latin1'));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.entries.map((e) => [e.key, e.value.toString()])).toEqual(dec.metadata.map((m) => [m.key, m.text]));
    expect(parsed.value.getU64('pv')).toBe(12n);
    expect(parsed.value.getString('o')).toBe('linux/x86_64');
  });

  it('escapes every special byte and round-trips all 256 byte values', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const esc = escapeValue(all);
    expect(esc.includes(0)).toBe(false);
    expect(esc.includes(0x0a)).toBe(false);
    expect(esc.includes(0x0d)).toBe(false);
    expect(esc.includes(0x3d)).toBe(false);
    expect(unescapeValue(esc).equals(all)).toBe(true);
    const d = new Dictionary().add('bin', all).add('n', 0x2800n).add('b', true).add('s', 'a=b\\c');
    const back = Dictionary.parse(d.encode());
    if (!back.ok) throw new Error(back.error);
    expect(back.value.get('bin')!.equals(all)).toBe(true);
    expect(back.value.getU64('n')).toBe(0x2800n);
    expect(back.value.get('n')!.toString()).toBe('0000000000002800');
    expect(back.value.getBool('b')).toBe(true);
    expect(back.value.getString('s')).toBe('a=b\\c');
  });

  it('stops at NUL, accepts CR line ends, skips lines without =, and set() replaces', () => {
    const p = Dictionary.parse(Buffer.from('a=1\r\nnoeq\nb=2\0c=3', 'latin1'));
    if (!p.ok) throw new Error(p.error);
    expect(p.value.entries.map((e) => e.key)).toEqual(['a', 'b']);
    p.value.set('a', 'x');
    expect(p.value.getString('a')).toBe('x');
    expect(p.value.getU64('missing')).toBeUndefined();
    expect(Dictionary.parse(Buffer.alloc(10), 5).ok).toBe(false);
  });

  it('never throws on random bytes', () => {
    let seed = 11;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let i = 0; i < 500; i++) {
      const r = Dictionary.parse(Buffer.from(Array.from({ length: i }, rnd)));
      expect(r.ok).toBe(true);
    }
  });
});
