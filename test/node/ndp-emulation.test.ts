// Stock's NDP emulation (ZeroTier One 1.14 node/Switch.cpp onLocalEthernet). The vectors were made
// by running Switch.cpp's emulation code, transcribed to C unchanged (the static-IP walk, the
// 72-byte advertisement and its pseudo-header checksum loop), on the solicitations below; the MACs
// and the 6plane fold check by hand: MAC(deadbeef01, 8056c2e21c000001) = 02 | de ad be^1c ef^e2
// 01^c2 = 02:de:ad:a2:0d:c3, fold = 1c000001 ^ 8056c2e2 = 9c56c2e3.
import { afterEach, describe, expect, it } from 'vitest';
import { createNetStack, type NetStack } from '../../src/netstack/index.js';
import { emulateNeighborAdvertisement } from '../../src/node/network/ndp-emulation.js';
import { macIntForMember } from '../../src/node/network/network-mac.js';
import { Networks } from '../../src/node/network/networks.js';
import type { InetAddress } from '../../src/node/wire/inet-address.js';
import { Verb } from '../../src/node/wire/packet.js';
import { NetSim, NWID } from './sim-harness.js';

const nwid = 0x8056c2e21c000001n;
const self = 0xdeadbeef01n;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const staticIps: InetAddress[] = [
  { family: 6, ip: 'fd80:56c2:e21c:0:199:93de:adbe:ef01', port: 88 },
  { family: 6, ip: 'fc9c:56c2:e3de:adbe:ef01::1', port: 40 },
  { family: 4, ip: '10.1.2.3', port: 24 },
];

// our stack's solicitations: from our address to the target's solicited-node group, with our MAC
const NS_RFC4193 =
  '6000000000203afffd8056c2e21c0000019993deadbeef01ff0200000000000000000001ff456789' +
  '8700952b00000000fd8056c2e21c00000199930123456789010102deada20dc3';
const NA_RFC4193 =
  '6000000000203afffd8056c2e21c00000199930123456789fd8056c2e21c0000019993deadbeef01' +
  '880056d360000000fd8056c2e21c00000199930123456789020102012359854b';
// a 6plane target anywhere in member 0123456789's /80
const NS_6PLANE =
  '6000000000203afffc9c56c2e3deadbeef01000000000001ff0200000000000000000001ff000042' +
  '870079da00000000fc9c56c2e30123456789abcd00000042010102deada20dc3';
const NA_6PLANE =
  '6000000000203afffc9c56c2e30123456789abcd00000042fc9c56c2e3deadbeef01000000000001' +
  '8800bc7f60000000fc9c56c2e30123456789abcd00000042020102012359854b';

describe('NDP emulation (stock Switch.cpp)', () => {
  it('answers a solicitation for an rfc4193 address with stock’s advertisement, byte for byte', () => {
    const na = emulateNeighborAdvertisement(nwid, self, staticIps, hex(NS_RFC4193));
    expect(na).not.toBeNull();
    expect(na!.peerMac).toBe(0x02012359854bn);
    expect(na!.peerMac).toBe(macIntForMember(0x0123456789n, nwid));
    expect(na!.packet.toString('hex')).toBe(NA_RFC4193);
  });

  it('answers for any address of a member’s 6plane /80, from our 6plane address', () => {
    const na = emulateNeighborAdvertisement(nwid, self, staticIps, hex(NS_6PLANE));
    expect(na!.peerMac).toBe(0x02012359854bn);
    expect(na!.packet.toString('hex')).toBe(NA_6PLANE);
  });

  it('lets through what stock lets through: our own address (DAD), other prefixes, other messages', () => {
    // DAD: the target is our own rfc4193 address
    const dad = hex(NS_RFC4193);
    hex('fd8056c2e21c0000019993deadbeef01').copy(dad, 48);
    expect(emulateNeighborAdvertisement(nwid, self, staticIps, dad)).toBeNull();
    // another network's rfc4193 prefix
    const other = hex(NS_RFC4193);
    other[48] = 0xfc; // fd → fc
    expect(emulateNeighborAdvertisement(nwid, self, staticIps, other)).toBeNull();
    // the null address embedded
    const zero = hex(NS_RFC4193);
    zero.fill(0, 59, 64);
    expect(emulateNeighborAdvertisement(nwid, self, staticIps, zero)).toBeNull();
    // a router solicitation, an extension header before the ICMPv6 header, a truncated solicitation
    const rs = hex(NS_RFC4193);
    rs[40] = 0x85;
    expect(emulateNeighborAdvertisement(nwid, self, staticIps, rs)).toBeNull();
    const hbh = hex(NS_RFC4193);
    hbh[6] = 0;
    expect(emulateNeighborAdvertisement(nwid, self, staticIps, hbh)).toBeNull();
    for (let n = 0; n < 64; n++) expect(emulateNeighborAdvertisement(nwid, self, staticIps, hex(NS_RFC4193).subarray(0, n))).toBeNull();
    // without the scheme assigned (a 6plane address whose fold is not this network's, an rfc4193 at /64)
    expect(
      emulateNeighborAdvertisement(nwid, self, [{ family: 6, ip: 'fd80:56c2:e21c:0:199:93de:adbe:ef01', port: 64 }], hex(NS_RFC4193)),
    ).toBeNull();
    expect(emulateNeighborAdvertisement(nwid ^ 1n, self, [staticIps[1]!], hex(NS_6PLANE))).toBeNull();
  });
});

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

/** A member whose stack's link output the test can drive, on a network with rfc4193 and 6plane. */
async function memberWithLink(ndp: boolean) {
  sim = new NetSim();
  sim.backend.networks.get(NWID)!.v6 = ndp ? { rfc4193: true, sixPlane: true } : {};
  sim.startInfrastructure();
  const a = sim.add('A', 2, '10.99.0.3');
  let send: ((frame: Buffer, headroom: number) => void) | null = null;
  let stack: NetStack | null = null;
  const nets = new Networks(a.node, {
    refreshMs: sim.refreshMs,
    stackFactory: (o) => {
      stack = createNetStack({ scheduler: a.node.scheduler, random: a.node.random, mac: o.mac, mtu: o.mtu, name: o.name });
      const set = stack.setLinkOutput.bind(stack);
      stack.setLinkOutput = (out) => {
        send = out;
        set(out);
      };
      return stack;
    },
  });
  const net = nets.join(NWID);
  sim.backend.authorize(NWID, a.node.address);
  expect(await sim.until(() => net.status === 'OK', 20_000)).toBe(true);
  const received: Buffer[] = [];
  const verbs: number[] = [];
  const sendPacket = a.node.sendPacket.bind(a.node);
  a.node.sendPacket = ((peer, verb, ...rest) => {
    verbs.push(verb);
    return sendPacket(peer, verb, ...rest);
  }) as typeof a.node.sendPacket;
  const s = stack as unknown as NetStack;
  const input = s.input.bind(s);
  s.input = (f: Buffer): void => {
    received.push(Buffer.from(f));
    input(f);
  };
  return { nets, net, send: send as unknown as (frame: Buffer, headroom: number) => void, received, verbs };
}

/** Our stack's solicitation for `peer`'s rfc4193 address on NWID, as an Ethernet frame. */
function solicitation(own: string, peer: bigint, mac: Buffer): Buffer {
  const p = hex(NS_RFC4193);
  const n = NWID;
  const target = Buffer.alloc(16);
  target[0] = 0xfd;
  target.writeBigUInt64BE(n, 1);
  target[9] = 0x99;
  target[10] = 0x93;
  for (let i = 0; i < 5; i++) target[11 + i] = Number((peer >> BigInt(32 - 8 * i)) & 0xffn);
  hex(own).copy(p, 8);
  target.copy(p, 48);
  p.set([0xff, target[13]!, target[14]!, target[15]!], 36);
  mac.copy(p, 66);
  // the emulation does not read the checksum: it stays as in the vector
  const dst = Buffer.from([0x33, 0x33, 0xff, target[13]!, target[14]!, target[15]!]);
  return Buffer.concat([dst, mac, Buffer.from([0x86, 0xdd]), p]);
}

describe('NDP emulation on a network', () => {
  it('answers our stack’s solicitation for a member’s rfc4193 address locally, and sends nothing', async () => {
    const { net, send, received, verbs } = await memberWithLink(true);
    const own = net.config!.staticIps[0]!;
    expect(own.port).toBe(88);
    const ownHex = Buffer.from(
      own.ip
        .split(':')
        .map((g) => g.padStart(4, '0'))
        .join(''),
      'hex',
    );
    expect(ownHex.length).toBe(16);
    const peer = 0x0123456789n;
    verbs.length = 0;
    send(solicitation(ownHex.toString('hex'), peer, net.mac), 0);
    expect(received).toHaveLength(0); // on a later turn, not inside the stack's send
    await sim!.run(10);
    expect(net.counters.get('ndp_emulated')).toBe(1);
    expect(verbs.filter((v) => v === Verb.MULTICAST_GATHER || v === Verb.MULTICAST_FRAME || v === Verb.FRAME)).toEqual([]);
    expect(received).toHaveLength(1);
    const f = received[0]!;
    const peerMac = macIntForMember(peer, NWID);
    expect(f.subarray(0, 6).toString('hex')).toBe(net.mac.toString('hex'));
    expect(f.readUIntBE(6, 6)).toBe(Number(peerMac));
    expect(f.readUInt16BE(12)).toBe(0x86dd);
    const na = f.subarray(14);
    expect(na[40]).toBe(0x88);
    expect(na.subarray(24, 40).toString('hex')).toBe(ownHex.toString('hex'));
    expect(na.readUIntBE(66, 6)).toBe(Number(peerMac));
  });

  it('sends the solicitation on as a multicast when the config does not enable emulation', async () => {
    const { net, send, received, verbs } = await memberWithLink(false);
    const own = 'fd3ce329f8720000019993' + '0000000001';
    verbs.length = 0;
    send(solicitation(own, 0x0123456789n, net.mac), 0);
    await sim!.run(10);
    expect(net.counters.get('ndp_emulated')).toBe(0);
    expect(received).toHaveLength(0);
    // no one is known in the group yet: the roots are asked who is
    expect(verbs).toContain(Verb.MULTICAST_GATHER);
  });
});
