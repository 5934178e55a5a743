import { describe, expect, it } from 'vitest';
import {
  Cipher,
  FragmentView,
  PacketView,
  Verb,
  buildPacket,
  fragmentPacket,
  packetAroundPayload,
  isFragment,
  verbName,
} from '../../src/node/wire/packet.js';
import { ARP_REPLY, ARP_REQUEST, emitArp } from '../../src/netstack/wire/arp.js';
import { arpRequestTarget, buildFrame, frameAroundPayload, frameInEthernet } from '../../src/node/network/ethernet-frame.js';
import { emitFrame } from '../../src/node/wire/frame.js';
import { hexBuf, packetsJson, sessionRecords } from './zt-vectors.js';

const records = sessionRecords();

describe('packet header against session_all.json', () => {
  const packets = records.filter((r) => r.kind === 'packet' || r.kind === 'head');

  it('covers every ZeroTier datagram of the capture', () => {
    expect(packets.length).toBe(313);
    expect(records.filter((r) => r.kind === 'fragment').length).toBe(3);
  });

  it('parses every packet header: addresses, cipher, hops, verb', () => {
    const addr = new Map(Object.entries(packetsJson().nodes).map(([name, n]) => [name, BigInt(`0x${n.address}`)]));
    for (const r of packets) {
      const raw = hexBuf(r.hex);
      expect(isFragment(raw)).toBe(false);
      const p = PacketView.parse(raw);
      if (!p.ok) throw new Error(`record ${r.r}: ${p.error}`);
      const v = p.value;
      expect(v.packetIdBytes.toString('hex')).toBe(r.hex.slice(0, 16));
      expect(v.fragmented).toBe(r.kind === 'head');
      if (r.kind === 'packet') {
        expect(v.source, `record ${r.r}`).toBe(addr.get(r.from!));
        expect(v.destination, `record ${r.r}`).toBe(addr.get(r.to!));
        expect(v.cipher, `record ${r.r}`).toBe(r.cipher);
        expect(v.hops, `record ${r.r}`).toBe(r.hops);
        if (r.cipher === Cipher.POLY1305_NONE) {
          // cipher 0: the verb byte is in the clear
          expect(verbName(v.verb)).toBe(r.verb!.replace(/\(.*$/, ''));
          expect(v.payload.toString('hex')).toBe(r.plain!.slice(2));
        }
      }
    }
  });

  it('matches the decoded headers in packets.json', () => {
    for (const p of packetsJson().packets) {
      if (!p.header) continue;
      const raw = hexBuf(p.udpPayloadHex ?? p.reassembledPacketHex!);
      const v = PacketView.parse(raw);
      if (!v.ok) throw new Error(v.error);
      expect(v.value.packetId.toString(16).padStart(16, '0')).toBe(p.header.packetIdHex);
      expect(v.value.destination.toString(16).padStart(10, '0')).toBe(p.header.destination);
      expect(v.value.source.toString(16).padStart(10, '0')).toBe(p.header.source);
      expect(v.value.flags).toBe(p.header.flagsByte);
      expect(v.value.cipher).toBe(p.header.cipher);
      expect(v.value.hops).toBe(p.header.hops);
      expect(v.value.fragmented).toBe(p.header.fragmentedFlag);
      expect(v.value.mac.toString('hex')).toBe(p.header.macHex);
    }
  });

  it('parses the three fragments: count, number, hops', () => {
    for (const r of records.filter((x) => x.kind === 'fragment')) {
      const f = FragmentView.parse(hexBuf(r.hex));
      if (!f.ok) throw new Error(f.error);
      expect(f.value.packetId.toString(16).padStart(16, '0')).toBe(r.fragOf);
      expect(f.value.total).toBe(r.fragTotal);
      expect(f.value.number).toBe(r.fragNo);
      expect(f.value.hops).toBe(0);
    }
  });

  it('rejects the 4-byte NAT openers and other short datagrams without throwing', () => {
    for (const r of records.filter((x) => x.kind === 'short')) {
      const raw = hexBuf(r.hex);
      expect(PacketView.parse(raw).ok).toBe(false);
      expect(FragmentView.parse(raw).ok).toBe(false);
    }
  });

  it('relaying changes only the hop bits (relayed config request is byte-identical otherwise)', () => {
    const pk = packetsJson().packets;
    const orig = hexBuf(pk.find((p) => p.id === 'network-config-request-cipher1-lz4')!.udpPayloadHex!);
    const relayed = hexBuf(pk.find((p) => p.id === 'network-config-request-relayed')!.udpPayloadHex!);
    const v = PacketView.parse(orig);
    if (!v.ok) throw new Error(v.error);
    v.value.hops = v.value.hops + 1;
    expect(orig.equals(relayed)).toBe(true);
  });

  it('re-emits a cipher 0 HELLO header byte-identically from its fields', () => {
    const r = records[0]!;
    const raw = hexBuf(r.hex);
    const v = PacketView.parse(raw);
    if (!v.ok) throw new Error(v.error);
    const built = buildPacket(
      {
        packetId: v.value.packetId,
        destination: v.value.destination,
        source: v.value.source,
        cipher: v.value.cipher,
        hops: v.value.hops,
        verb: v.value.verb,
      },
      v.value.payload,
    );
    // the MAC is the armor's job; everything else must match
    raw.copy(built, 19, 19, 27);
    expect(built.equals(raw)).toBe(true);
  });

  it('splits like stock: head of 1432 bytes, then 16-byte-header fragments', () => {
    const pk = packetsJson().packets.find((p) => p.id === 'fragmented-frame-big-ping')!;
    const whole = hexBuf(pk.reassembledPacketHex!);
    const pieces = fragmentPacket(whole, 1432);
    expect(pieces).not.toBeNull();
    expect(pieces!.map((b) => b.toString('hex'))).toEqual(pk.fragments!.map((f) => f.udpPayloadHex));
  });

  it('refuses a packet that would need more than 15 pieces, or lacks the fragmented flag', () => {
    const fields = { packetId: 1n, destination: 2n, source: 3n, cipher: 3, verb: Verb.FRAME, fragmented: true };
    expect(fragmentPacket(buildPacket(fields, Buffer.alloc(1432 + 14 * 1416 - 28)), 1432)!.length).toBe(15);
    expect(fragmentPacket(buildPacket(fields, Buffer.alloc(1432 + 14 * 1416 - 27)), 1432)).toBeNull();
    expect(fragmentPacket(buildPacket({ ...fields, fragmented: false }, Buffer.alloc(3000)), 1432)).toBeNull();
    expect(fragmentPacket(buildPacket({ ...fields, fragmented: false }, Buffer.alloc(100)), 1432)!.length).toBe(1);
  });

  it('never throws on truncations of every length and on random bytes', () => {
    const raw = hexBuf(records[0]!.hex);
    for (let n = 0; n <= raw.length; n++) {
      const p = PacketView.parse(raw.subarray(0, n));
      expect(p.ok).toBe(n >= 28);
    }
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: i % 80 }, rnd));
      const p = PacketView.parse(b);
      const f = FragmentView.parse(b);
      if (f.ok) {
        expect(f.value.total).toBeGreaterThanOrEqual(2);
        expect(f.value.number).toBeLessThan(f.value.total);
      }
      if (p.ok) expect(p.value.length).toBeGreaterThanOrEqual(28);
    }
  });
});

describe('packets and frames built in place', () => {
  const fields = { packetId: 0x0123456789abcdefn, destination: 0x89e92ceee5n, source: 0x2d2f619cccn, cipher: 3, verb: Verb.FRAME };

  it('builds the same FRAME packet around an Ethernet frame as by copying, touching nothing outside its headroom', () => {
    const nwid = 0x8056c2e21c000001n;
    const nwidBytes = Buffer.alloc(8);
    nwidBytes.writeBigUInt64BE(nwid);
    const data = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 7) & 0xff));
    const ethernet = buildFrame(Buffer.from('32aa11223344', 'hex'), Buffer.from('32bb55667788', 'hex'), 0x0800, data);
    const copied = buildPacket(fields, emitFrame(nwid, 0x0800, data));
    // the frame sits in a larger buffer: 30 bytes before it (24 needed), a guard byte either side
    const whole = Buffer.alloc(1 + 30 + ethernet.length + 1, 0xee);
    ethernet.copy(whole, 31);
    const frame = whole.subarray(31, 31 + ethernet.length);
    const payload = frameInEthernet(nwidBytes, frame);
    const built = packetAroundPayload(fields, payload);
    expect(built.equals(copied)).toBe(true);
    expect(built.buffer).toBe(whole.buffer);
    expect(whole[0]).toBe(0xee);
    expect(whole[whole.length - 1]).toBe(0xee);
  });

  it('rebuilds the Ethernet header in front of a received payload as buildFrame would', () => {
    const data = Buffer.from('a payload of some bytes');
    const packet = Buffer.concat([Buffer.alloc(38, 0x55), data]);
    const dst = Buffer.from('32aa11223344', 'hex');
    const src = Buffer.from('febb55667788', 'hex');
    const copied = buildFrame(dst, src, 0x0806, data);
    // a FRAME payload (network id and ethertype, then the data) after a 28-byte packet header
    const framePayload = Buffer.concat([Buffer.alloc(38, 0x55), data]).subarray(28);
    const fromFrame = frameAroundPayload(dst, src, 0x0806, framePayload, 10);
    expect(fromFrame.equals(copied)).toBe(true);
    expect(fromFrame.byteOffset).toBe(framePayload.byteOffset - 4);
    const inPlace = frameAroundPayload(dst, src, 0x0806, packet.subarray(38));
    expect(inPlace.equals(copied)).toBe(true);
    expect(inPlace.byteOffset).toBe(packet.byteOffset + 24);
  });
});

describe('ARP requests seen by the overlay', () => {
  const arp = (op: number): Buffer => {
    const b = Buffer.alloc(28);
    emitArp(b, 0, op, Buffer.from('32aa11223344', 'hex'), 0x0a000001, Buffer.alloc(6), 0x0a000002);
    return b;
  };

  it('names the target of an IPv4 request, and nothing for replies, other protocols or short packets', () => {
    expect(arpRequestTarget(arp(ARP_REQUEST))).toBe(0x0a000002);
    expect(arpRequestTarget(arp(ARP_REPLY))).toBeNull();
    const ipv6 = arp(ARP_REQUEST);
    ipv6.writeUInt16BE(0x86dd, 2);
    expect(arpRequestTarget(ipv6)).toBeNull();
    expect(arpRequestTarget(arp(ARP_REQUEST).subarray(0, 27))).toBeNull();
  });
});
