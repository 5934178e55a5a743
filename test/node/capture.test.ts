/**
 * The whole receive path of the codecs over the stock capture, from UDP payload bytes: fragments
 * reassembled, the packet dearmored with the pair's key (armor.ts), LZ4 payloads expanded, and
 * every payload decoded — each result equal to the plaintext recorded for that datagram.
 */
import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { dearmor } from '../../src/node/packet/armor.js';
import { FragmentReassembly } from '../../src/node/packet/fragment-reassembly.js';
import { lz4Decompress } from '../../src/node/packet/lz4.js';
import { FragmentView, PacketView, isFragment } from '../../src/node/wire/packet.js';
import { decodeVerbPayload } from '../../src/node/wire/payload.js';
import { hexBuf, packetsJson, sessionRecords, vectorJson } from './zt-vectors.js';

describe('receive path over the whole capture', () => {
  it('reassembles, dearmors, decompresses and decodes all 313 packets to the recorded plaintext', () => {
    const nodes = packetsJson().nodes;
    const nameOf = new Map(Object.entries(nodes).map(([n, v]) => [BigInt(`0x${v.address}`), n]));
    const keys = new Map<string, Buffer>();
    for (const p of vectorJson<{ pairs: { pair: string; symmetricKey48: string }[] }>('agreement.json').pairs) {
      const [a, b] = p.pair.split('-');
      keys.set(`${a}-${b}`, hexBuf(p.symmetricKey48));
      keys.set(`${b}-${a}`, hexBuf(p.symmetricKey48));
    }
    const reasm = new FragmentReassembly(new VirtualScheduler());
    let decoded = 0;
    for (const r of sessionRecords()) {
      const datagram = hexBuf(r.hex);
      let whole: Buffer | null = null;
      if (r.kind === 'short') {
        expect(PacketView.parse(datagram).ok).toBe(false);
        continue;
      }
      if (isFragment(datagram)) {
        const f = FragmentView.parse(datagram);
        if (!f.ok) throw new Error(f.error);
        const res = reasm.addFragment(f.value);
        if (res.kind === 'complete') whole = res.packet;
      } else {
        const p = PacketView.parse(datagram);
        if (!p.ok) throw new Error(p.error);
        if (p.value.fragmented) {
          expect(reasm.addHead(p.value).kind).toBe('pending');
          continue;
        }
        whole = datagram;
      }
      expect(whole, `record ${r.r}`).not.toBeNull();
      const v = PacketView.parse(whole!);
      if (!v.ok) throw new Error(v.error);
      const key = keys.get(`${nameOf.get(v.value.source)}-${nameOf.get(v.value.destination)}`)!;
      expect(dearmor(whole!, key), `record ${r.r} MAC`).toBe(true);
      let payload = v.value.payload;
      if (v.value.compressed) {
        const d = lz4Decompress(payload, 16384);
        if (!d.ok) throw new Error(`record ${r.r}: ${d.error}`);
        payload = d.value;
      }
      const plain = hexBuf(r.plain!);
      expect(v.value.verb).toBe(plain[0]! & 0x1f);
      expect(payload.toString('hex'), `record ${r.r}`).toBe(plain.subarray(1).toString('hex'));
      const d = decodeVerbPayload(v.value.verb, payload);
      if (!d.ok) throw new Error(`record ${r.r}: ${d.error}`);
      decoded++;
    }
    expect(decoded).toBe(313);
    expect(reasm.packetsInFlight).toBe(0);
    expect(reasm.bytesHeld).toBe(0);
  });
});
