import { describe, expect, it } from 'vitest';
import { cryptField } from '../../src/node/packet/armor.js';
import { Reader, Writer } from '../../src/node/wire/bytes.js';
import { readInetAddress, writeInetAddress } from '../../src/node/wire/inet-address.js';
import { emitConfigPushAck, emitEcho } from '../../src/node/wire/echo.js';
import { emitExtFrame, emitFrame, parseExtFrame } from '../../src/node/wire/frame.js';
import { emitHello, emitOkHello, parseHelloMoons } from '../../src/node/wire/hello.js';
import { emitMulticastFrame, emitOkMulticastFrame } from '../../src/node/wire/multicast-frame.js';
import { emitMulticastGather, emitOkMulticastGather } from '../../src/node/wire/multicast-gather.js';
import { emitMulticastLike } from '../../src/node/wire/multicast-like.js';
import { emitNetworkConfigChunk, parseNetworkConfigChunk, verifyNetworkConfigChunk } from '../../src/node/wire/network-config-chunk.js';
import { emitNetworkConfigRequest } from '../../src/node/wire/network-config-request.js';
import { emitNetworkCredentials } from '../../src/node/wire/network-credentials.js';
import { emitError, emitNetworkErrorBody, emitOk } from '../../src/node/wire/ok-error.js';
import { Verb, verbName } from '../../src/node/wire/packet.js';
import { decodeVerbPayload, type DecodedPayload } from '../../src/node/wire/payload.js';
import { emitPushDirectPaths } from '../../src/node/wire/push-direct-paths.js';
import { emitRendezvous } from '../../src/node/wire/rendezvous.js';
import { emitUserMessage, parseUserMessage } from '../../src/node/wire/user-message.js';
import { emitOkWhois, emitWhois } from '../../src/node/wire/whois.js';
import { hexBuf, packetsJson, sessionRecords, vectorJson, vectorNodeKeys, vectorPacket } from './zt-vectors.js';

const nodes = packetsJson().nodes;
const pubKeyByAddress = new Map(Object.values(nodes).map((n) => [BigInt(`0x${n.address}`), hexBuf(n.identitySecret.split(':')[2]!)]));

/** Re-encodes a decoded payload with our emitters; null where the format is not deterministic from the fields. */
function reencode(d: DecodedPayload): Buffer | null {
  switch (d.verb) {
    case Verb.HELLO: {
      const h = d.value;
      const { payload } = emitHello({
        ...h,
        address: h.identity.address,
        publicKey: h.identity.publicKey,
        planetWorldId: h.planetWorldId!,
        planetWorldTimestamp: h.planetWorldTimestamp!,
      });
      // the trailer is encrypted on the wire: compare the clear part and keep the trailer as carried
      return Buffer.concat([payload.subarray(0, h.trailerOffset), h.trailer]);
    }
    case Verb.OK: {
      const b = d.body;
      let body: Buffer;
      if (b.verb === Verb.HELLO && 'value' in b) body = emitOkHello(b.value as Parameters<typeof emitOkHello>[0]);
      else if (b.verb === Verb.WHOIS) body = emitOkWhois(b.value as { address: bigint; publicKey: Buffer }[]);
      else if (b.verb === Verb.MULTICAST_GATHER) body = emitOkMulticastGather(b.value as Parameters<typeof emitOkMulticastGather>[0]);
      else if (b.verb === Verb.MULTICAST_FRAME) body = emitOkMulticastFrame(b.value as Parameters<typeof emitOkMulticastFrame>[0]);
      else if (b.verb === Verb.ECHO && 'configAck' in b && b.configAck) body = emitConfigPushAck(b.configAck);
      else if (b.verb === Verb.NETWORK_CONFIG_REQUEST)
        return null; // checked with its signature below
      else body = b.value as Buffer;
      return emitOk(d.inReVerb, d.inRePacketId, body);
    }
    case Verb.ERROR:
      return emitError(
        d.inReVerb,
        d.inRePacketId,
        d.code,
        d.body.kind === 'network' ? emitNetworkErrorBody(d.body.value) : (d.body.value as Buffer),
      );
    case Verb.WHOIS:
      return emitWhois(d.value);
    case Verb.RENDEZVOUS:
      return emitRendezvous(d.value);
    case Verb.FRAME:
      return emitFrame(d.value.networkId, d.value.etherType, d.value.data);
    case Verb.EXT_FRAME:
      return emitExtFrame(d.value);
    case Verb.ECHO:
      return emitEcho(d.value);
    case Verb.MULTICAST_LIKE:
      return emitMulticastLike(d.value);
    case Verb.NETWORK_CREDENTIALS:
      return emitNetworkCredentials(d.value);
    case Verb.NETWORK_CONFIG_REQUEST:
      return emitNetworkConfigRequest(d.value);
    case Verb.NETWORK_CONFIG:
      return null;
    case Verb.MULTICAST_GATHER:
      return emitMulticastGather(d.value);
    case Verb.MULTICAST_FRAME: {
      const f = d.value;
      return emitMulticastFrame({ ...f, replicate: (f.flags & 0x08) !== 0 });
    }
    case Verb.PUSH_DIRECT_PATHS:
      return emitPushDirectPaths(d.value);
    case Verb.USER_MESSAGE:
      return emitUserMessage(d.value);
    default:
      return null;
  }
}

describe('verb codecs over the whole capture (session_all.json)', () => {
  const withPlain = sessionRecords().filter((r) => r.plain !== undefined);

  it('decodes every plaintext payload with its verb codec and re-encodes it byte-identically', () => {
    expect(withPlain.length).toBe(313);
    const seen = new Map<string, number>();
    let reencoded = 0;
    for (const r of withPlain) {
      const plain = hexBuf(r.plain!);
      const verb = plain[0]! & 0x1f;
      const d = decodeVerbPayload(verb, plain.subarray(1));
      if (!d.ok) throw new Error(`record ${r.r} (${r.verb}): ${d.error}`);
      const label =
        d.value.verb === Verb.OK || d.value.verb === Verb.ERROR ? `${verbName(verb)}(${verbName(d.value.inReVerb)})` : verbName(verb);
      expect(label, `record ${r.r}`).toBe(r.verb);
      seen.set(label, (seen.get(label) ?? 0) + 1);
      const again = reencode(d.value);
      if (again) {
        expect(again.toString('hex'), `record ${r.r} ${r.verb}`).toBe(plain.subarray(1).toString('hex'));
        reencoded++;
      }
    }
    // every verb of the capture was exercised
    for (const v of [
      'HELLO',
      'OK(HELLO)',
      'WHOIS',
      'OK(WHOIS)',
      'RENDEZVOUS',
      'FRAME',
      'ECHO',
      'OK(ECHO)',
      'MULTICAST_LIKE',
      'NETWORK_CREDENTIALS',
      'NETWORK_CONFIG_REQUEST',
      'NETWORK_CONFIG',
      'OK(NETWORK_CONFIG_REQUEST)',
      'ERROR(NETWORK_CONFIG_REQUEST)',
      'MULTICAST_GATHER',
      'OK(MULTICAST_GATHER)',
      'MULTICAST_FRAME',
      'OK(MULTICAST_FRAME)',
      'ERROR(MULTICAST_FRAME)',
      'PUSH_DIRECT_PATHS',
    ]) {
      expect(seen.get(v) ?? 0, v).toBeGreaterThan(0);
    }
    // all but the 7 signed config chunks, which the next test re-signs
    expect(reencoded).toBe(withPlain.length - 7);
  });

  it('every config chunk verifies under the controller key and re-signs byte-identically', () => {
    const C = vectorNodeKeys('C');
    let n = 0;
    for (const r of withPlain) {
      if (r.verb !== 'NETWORK_CONFIG' && r.verb !== 'OK(NETWORK_CONFIG_REQUEST)') continue;
      const plain = hexBuf(r.plain!);
      const payload = r.verb === 'NETWORK_CONFIG' ? plain.subarray(1) : plain.subarray(10);
      const c = parseNetworkConfigChunk(payload);
      if (!c.ok) throw new Error(c.error);
      expect(verifyNetworkConfigChunk(c.value, C.publicKey)).toBe(true);
      expect(verifyNetworkConfigChunk(c.value, vectorNodeKeys('A').publicKey)).toBe(false);
      const s = c.value.signed!;
      const again = emitNetworkConfigChunk(
        {
          networkId: c.value.networkId,
          data: c.value.data,
          flags: s.flags,
          configUpdateId: s.configUpdateId,
          totalLength: s.totalLength,
          chunkIndex: s.chunkIndex,
        },
        C,
      );
      expect(again!.equals(payload)).toBe(true);
      n++;
    }
    expect(n).toBe(7);
  });
});

describe('decoded fields match packets.json', () => {
  const dec = (id: string) => {
    const p = vectorPacket(id);
    const plain = hexBuf(p.plaintextHex!);
    const d = decodeVerbPayload(plain[0]! & 0x1f, plain.subarray(1));
    if (!d.ok) throw new Error(d.error);
    return { d: d.value, rec: p.decoded as Record<string, unknown>, p };
  };

  it('HELLO: versions, timestamp, identity, destination, planet, and the cryptField trailer', () => {
    const { d, rec, p } = dec('hello-cipher0');
    if (d.verb !== Verb.HELLO) throw new Error('verb');
    const h = d.value;
    expect([h.protocolVersion, h.versionMajor, h.versionMinor, h.versionRevision]).toEqual([12, 1, 14, 1]);
    expect(h.timestamp.toString()).toBe(rec.timestamp);
    expect(h.identity.address.toString(16)).toBe('3ce329f872');
    expect(h.identity.publicKey.toString('hex')).toBe((rec.identity as { publicKey: string }).publicKey);
    expect(`${h.physicalDestination!.ip}/${h.physicalDestination!.port}`).toBe(rec.physicalDestination);
    expect(h.planetWorldId!.toString()).toBe(rec.planetWorldId);
    expect(h.planetWorldTimestamp!.toString()).toBe(rec.planetWorldTimestamp);
    expect(h.trailerOffset + 1).toBe(rec.encryptedTrailerOffsetInPlaintext);
    expect(h.trailer.toString('hex')).toBe(rec.encryptedTrailerHex);
    // decrypt the trailer in the captured packet with the C-R key, then decode the moon list
    const pair = vectorJson<{ pairs: { pair: string; symmetricKey48: string }[] }>('agreement.json').pairs.find(
      (x) => x.pair === 'C-R' || x.pair === 'R-C',
    )!;
    const packet = hexBuf(p.udpPayloadHex!);
    expect(cryptField(hexBuf(pair.symmetricKey48), packet, 28 + h.trailerOffset, h.trailer.length)).toBe(true);
    const trailer = packet.subarray(28 + h.trailerOffset);
    expect(trailer.toString('hex')).toBe(rec.decryptedTrailerHex);
    const moons = parseHelloMoons(trailer);
    expect(moons.ok && moons.value.length).toBe(0);
    // and our emitter produces the same plaintext trailer
    const own = emitHello({
      ...h,
      address: h.identity.address,
      publicKey: h.identity.publicKey,
      planetWorldId: h.planetWorldId!,
      planetWorldTimestamp: h.planetWorldTimestamp!,
    });
    expect(own.payload.subarray(own.trailerOffset).toString('hex')).toBe(rec.decryptedTrailerHex);
  });

  it('OK(HELLO), OK(WHOIS), ERROR 7 and 6, OK(ECHO) config ack', () => {
    const okHello = dec('ok-hello-cipher3');
    if (okHello.d.verb !== Verb.OK || okHello.d.body.verb !== Verb.HELLO) throw new Error('verb');
    expect(okHello.d.inRePacketId.toString('hex')).toBe(okHello.rec.inRePacketId);
    const oh = okHello.d.body.value as { timestampEcho: bigint; physicalDestination: { ip: string; port: number } };
    expect(oh.timestampEcho.toString()).toBe(okHello.rec.timestampEcho);
    expect(`${oh.physicalDestination.ip}/${oh.physicalDestination.port}`).toBe(okHello.rec.physicalDestination);

    const okWhois = dec('ok-whois');
    if (okWhois.d.verb !== Verb.OK || okWhois.d.body.verb !== Verb.WHOIS) throw new Error('verb');
    const ids = okWhois.d.body.value as { address: bigint; publicKey: Buffer }[];
    expect(ids.map((i) => i.address.toString(16))).toEqual(['3ce329f872']);
    expect(ids[0]!.publicKey.equals(pubKeyByAddress.get(ids[0]!.address)!)).toBe(true);

    const denied = dec('error-network-access-denied');
    if (denied.d.verb !== Verb.ERROR || denied.d.body.kind !== 'network') throw new Error('verb');
    expect(denied.d.code).toBe(7);
    expect(denied.d.body.value.networkId.toString(16)).toBe(denied.rec.networkId);

    const needCert = dec('error-need-membership-certificate');
    if (needCert.d.verb !== Verb.ERROR || needCert.d.body.kind !== 'network') throw new Error('verb');
    expect(needCert.d.code).toBe(6);
    expect(needCert.d.inReVerb).toBe(Verb.MULTICAST_FRAME);

    const ack = dec('ok-echo-acking-network-config');
    if (ack.d.verb !== Verb.OK || ack.d.body.verb !== Verb.ECHO || !('configAck' in ack.d.body)) throw new Error('verb');
    expect(ack.d.body.configAck!.configUpdateId.toString(16)).toBe('898eb46fd5e7daad');
  });

  it('RENDEZVOUS, PUSH_DIRECT_PATHS, MULTICAST_LIKE/GATHER/FRAME and OKs, NETWORK_CREDENTIALS, FRAME', () => {
    const rv = dec('rendezvous-to-controller');
    if (rv.d.verb !== Verb.RENDEZVOUS) throw new Error('verb');
    expect([rv.d.value.with.toString(16), rv.d.value.endpoint.ip, rv.d.value.endpoint.port]).toEqual(['1a0bee8b7f', '10.99.0.3', 9993]);

    const pdp = dec('push-direct-paths');
    if (pdp.d.verb !== Verb.PUSH_DIRECT_PATHS) throw new Error('verb');
    expect(pdp.d.value.map((x) => `${x.endpoint.ip}/${x.endpoint.port}`)).toEqual(['10.99.0.3/9993', '10.99.0.3/9993']);

    const like = dec('multicast-like-lz4');
    if (like.d.verb !== Verb.MULTICAST_LIKE) throw new Error('verb');
    expect(like.d.value.map((l) => l.group.mac.toString(16).padStart(12, '0'))).toEqual([
      '01005e000001',
      '333300000001',
      '3333ff9c7356',
      'ffffffffffff',
    ]);

    const g = dec('multicast-gather');
    if (g.d.verb !== Verb.MULTICAST_GATHER) throw new Error('verb');
    expect(g.d.value.gatherLimit).toBe(33);
    expect(g.d.value.group.adi).toBe(177410397);
    expect(g.d.value.com).not.toBeNull();

    const og = dec('ok-multicast-gather');
    if (og.d.verb !== Verb.OK || og.d.body.verb !== Verb.MULTICAST_GATHER) throw new Error('verb');
    const ogv = og.d.body.value as { totalKnown: number; members: bigint[] };
    expect(ogv.totalKnown).toBe(1);
    expect(ogv.members.map((m) => m.toString(16))).toEqual(['67d125dc43']);

    const mf = dec('multicast-frame-arp');
    if (mf.d.verb !== Verb.MULTICAST_FRAME) throw new Error('verb');
    expect([mf.d.value.flags, mf.d.value.gatherLimit, mf.d.value.etherType, mf.d.value.data.length]).toEqual([2, 33, 0x0806, 28]);

    const omf = dec('ok-multicast-frame');
    if (omf.d.verb !== Verb.OK || omf.d.body.verb !== Verb.MULTICAST_FRAME) throw new Error('verb');
    expect((omf.d.body.value as { gather: { members: bigint[] } }).gather.members.map((m) => m.toString(16))).toEqual(['67d125dc43']);

    for (const id of ['network-credentials-cipher1-lz4', 'network-credentials-cipher3-lz4']) {
      const nc = dec(id);
      if (nc.d.verb !== Verb.NETWORK_CREDENTIALS) throw new Error('verb');
      expect(nc.d.value.coms.length).toBe(1);
      expect(nc.d.value.coos.length).toBe(1);
      expect(nc.d.value.capabilities.length + nc.d.value.tags.length + nc.d.value.revocations.length).toBe(0);
    }

    const fr = dec('fragmented-frame-tcp-data');
    if (fr.d.verb !== Verb.FRAME) throw new Error('verb');
    expect([fr.d.value.networkId.toString(16), fr.d.value.etherType, fr.d.value.data.length]).toEqual(['3ce329f872000001', 0x0800, 1772]);
  });

  it('NETWORK_CONFIG_REQUEST: network id, metadata, revision', () => {
    const q = dec('network-config-request-cipher1-lz4');
    if (q.d.verb !== Verb.NETWORK_CONFIG_REQUEST) throw new Error('verb');
    expect(q.d.value.metadata.toString('latin1')).toBe(q.rec.metadataText);
    expect(q.d.value.haveRevision).toBe(0n);
  });
});

describe('codecs the capture lacks: EXT_FRAME, USER_MESSAGE, HELLO moons', () => {
  it('HELLO carries a moon list in its trailer', () => {
    const moons = [
      { type: 127, worldId: 0x5f5c2b984an, timestamp: 17n },
      { type: 127, worldId: 0x1234n, timestamp: 18n },
    ];
    const pub = hexBuf(nodes.A!.identitySecret.split(':')[2]!);
    const { payload, trailerOffset } = emitHello({
      protocolVersion: 12,
      versionMajor: 1,
      versionMinor: 14,
      versionRevision: 1,
      timestamp: 5n,
      address: 0x1a0bee8b7fn,
      publicKey: pub,
      physicalDestination: { family: 4, ip: '10.99.0.2', port: 9993 },
      planetWorldId: 1n,
      planetWorldTimestamp: 2n,
      moons,
    });
    const d = decodeVerbPayload(Verb.HELLO, payload);
    if (!d.ok || d.value.verb !== Verb.HELLO) throw new Error('HELLO');
    expect(d.value.value.trailerOffset).toBe(trailerOffset);
    const back = parseHelloMoons(d.value.value.trailer);
    expect(back.ok && back.value).toEqual(moons);
    expect(parseHelloMoons(d.value.value.trailer.subarray(0, 10)).ok).toBe(false);
  });

  it('EXT_FRAME round-trips with and without a COM', () => {
    const f = {
      networkId: 0x3ce329f872000001n,
      flags: 0x10,
      com: null,
      destMac: 0x021a0b9c7356n,
      sourceMac: 0x0267d157246an,
      etherType: 0x0800,
      data: Buffer.from('hello'),
    };
    const p = parseExtFrame(emitExtFrame(f));
    if (!p.ok) throw new Error(p.error);
    expect({ ...p.value, data: p.value.data.toString() }).toEqual({ ...f, subtype: 0, data: 'hello' });
    expect(parseExtFrame(emitExtFrame(f).subarray(0, 22)).ok).toBe(false);
  });

  it('USER_MESSAGE round-trips', () => {
    const m = parseUserMessage(emitUserMessage({ typeId: 0x1234567890n, data: Buffer.from([1, 2, 3]) }));
    expect(m.ok && [m.value.typeId, [...m.value.data]]).toEqual([0x1234567890n, [1, 2, 3]]);
    expect(parseUserMessage(Buffer.alloc(7)).ok).toBe(false);
  });
});

describe('hostile payloads', () => {
  const samples = sessionRecords()
    .filter((r) => r.plain !== undefined)
    .map((r) => hexBuf(r.plain!));
  const distinct = new Map<number, Buffer>();
  for (const s of samples) if (!distinct.has(s[0]! & 0x1f) || s.length > distinct.get(s[0]! & 0x1f)!.length) distinct.set(s[0]! & 0x1f, s);

  it('rejects or bounds every truncation of every verb without throwing', () => {
    for (const [verb, s] of distinct) {
      const payload = s.subarray(1);
      for (let n = 0; n < payload.length; n++) {
        const d = decodeVerbPayload(verb, payload.subarray(0, n));
        expect(typeof d.ok).toBe('boolean');
      }
    }
  });

  it('survives random byte mutations of every captured payload', () => {
    let seed = 77;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const s = samples[rnd() % samples.length]!;
      const m = Buffer.from(s);
      for (let k = 0, n = 1 + (rnd() % 4); k < n; k++) m[1 + (rnd() % (m.length - 1 || 1))] = rnd() & 0xff;
      const d = decodeVerbPayload(m[0]! & 0x1f, m.subarray(1));
      if (!d.ok) rejected++;
    }
    // some mutations are still well-formed; many are not — both must come back as values
    expect(rejected).toBeGreaterThan(0);
  });

  it('survives random bytes for every verb and oversized counts', () => {
    let seed = 2024;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let verb = 0; verb < 32; verb++) {
      for (let i = 0; i < 200; i++) {
        const b = Buffer.from(Array.from({ length: i % 120 }, rnd));
        expect(typeof decodeVerbPayload(verb, b).ok).toBe('boolean');
      }
    }
    // a gather result claiming 65535 members in a short packet
    const og = Buffer.concat([
      Buffer.from([0x0d]),
      Buffer.alloc(8),
      Buffer.alloc(18),
      Buffer.from([0, 0, 0, 1, 0xff, 0xff]),
      Buffer.alloc(5),
    ]);
    expect(decodeVerbPayload(Verb.OK, og).ok).toBe(false);
    // credentials claiming 65535 COOs
    expect(decodeVerbPayload(Verb.NETWORK_CREDENTIALS, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])).ok).toBe(false);
    // WHOIS with 1000 addresses
    expect(decodeVerbPayload(Verb.WHOIS, Buffer.alloc(5000, 1)).ok).toBe(false);
  });
});

describe('physical addresses (InetAddress) in payloads', () => {
  it('IPv4 and IPv6 round-trip; reserved types are skipped, unknown types rejected, bad text written as nil', () => {
    const w = new Writer();
    expect(writeInetAddress(w, { family: 6, ip: 'fd00:1::2', port: 9993 })).toBe(true);
    expect(writeInetAddress(w, { family: 4, ip: '10.99.0.3', port: 1 })).toBe(true);
    expect(writeInetAddress(w, { family: 4, ip: '10.99.0', port: 1 })).toBe(false);
    w.u8(3).u16(2).u16(0xabcd); // reserved type 3 with a 2-byte body
    w.u8(1).bytes(Buffer.alloc(6)); // reserved type 1
    const r = new Reader(w.finish());
    expect(readInetAddress(r)).toEqual({ family: 6, ip: 'fd00:1::2', port: 9993 });
    expect(readInetAddress(r)).toEqual({ family: 4, ip: '10.99.0.3', port: 1 });
    expect(readInetAddress(r)).toBeNull();
    expect(readInetAddress(r)).toBeNull();
    expect(readInetAddress(r)).toBeNull();
    expect(r.failed).toBeNull();
    expect(r.remaining).toBe(0);
    const bad = new Reader(Buffer.from([9, 1, 2, 3]));
    expect(readInetAddress(bad)).toBeNull();
    expect(bad.failed).toMatch(/unknown address type 9/);
  });

  it('RENDEZVOUS and PUSH_DIRECT_PATHS carry IPv6; pushed paths of unknown types are skipped', () => {
    const rv = emitRendezvous({ flags: 0, with: 0x1a0bee8b7fn, endpoint: { family: 6, ip: 'fd00::3', port: 9993 } })!;
    const back = decodeVerbPayload(Verb.RENDEZVOUS, rv);
    expect(back.ok && back.value.verb === Verb.RENDEZVOUS && back.value.value.endpoint).toEqual({ family: 6, ip: 'fd00::3', port: 9993 });
    expect(decodeVerbPayload(Verb.RENDEZVOUS, Buffer.concat([rv.subarray(0, 8), Buffer.from([5])])).ok).toBe(false);
    const pdp = emitPushDirectPaths([
      { flags: 0, endpoint: { family: 6, ip: 'fd00::4', port: 9993 } },
      { flags: 2, endpoint: { family: 4, ip: '10.99.0.4', port: 9994 } },
    ])!;
    // append a path of an unknown address type (7) and fix the count
    const withUnknown = Buffer.concat([pdp, Buffer.from([0, 0, 0, 7, 2, 0xaa, 0xbb])]);
    withUnknown.writeUInt16BE(3, 0);
    const d = decodeVerbPayload(Verb.PUSH_DIRECT_PATHS, withUnknown);
    expect(d.ok && d.value.verb === Verb.PUSH_DIRECT_PATHS && d.value.value.map((p) => [p.flags, p.endpoint.ip, p.endpoint.port])).toEqual([
      [0, 'fd00::4', 9993],
      [2, '10.99.0.4', 9994],
    ]);
  });
});
