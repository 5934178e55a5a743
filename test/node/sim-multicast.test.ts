/**
 * IPv4 multicast between members of one network, with real nodes, root and controller in virtual
 * time: a socket joining a group makes its node subscribe the network to the group (MULTICAST_LIKE
 * for 01:00:5e + the low 23 bits, ADI 0, as stock subscribes a TAP's IPv4 groups), a datagram one
 * member's stack sends to the group goes out as MULTICAST_FRAME through the multicast path (gather
 * at the root) and reaches the joined sockets of the other members, and leaving unsubscribes.
 * Broadcasts reach every socket bound to the port on the other members.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import type { UdpSocket } from '../../src/netstack/socket-api.js';
import { groupKey, ipv4MulticastGroup, ipv6MulticastGroup } from '../../src/node/network/multicast.js';
import { macIntForMember } from '../../src/node/network/network-mac.js';
import { emitMulticastFrame } from '../../src/node/wire/multicast-frame.js';
import { Verb } from '../../src/node/wire/packet.js';
import { IPV6_ALL_NODES, parseIpv6Addr, solicitedNode, type IpAddr } from '../../src/netstack/index.js';
import { NetSim, NWID, type NetSimNode } from './sim-harness.js';

const GROUP = 0xef010203; // 239.1.2.3
const PORT = 5000;

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

async function joinedMembers(s: NetSim): Promise<{ a: NetSimNode; b: NetSimNode; d: NetSimNode }> {
  s.startInfrastructure();
  const a = s.addMember('A', 2, '10.99.0.3');
  const b = s.addMember('B', 3, '10.99.0.4');
  const d = s.addMember('D', 4, '10.99.0.5');
  await s.run(2_000);
  for (const m of [a, b, d]) {
    m.nets.join(NWID);
    s.backend.authorize(NWID, m.node.address);
  }
  expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'OK'), 20_000)).toBe(true);
  return { a, b, d };
}

function listen(m: NetSimNode): { sock: UdpSocket; got: string[] } {
  const sock = m.nets.get(NWID)!.stack!.udpSocket();
  expect(sock.bind(0, PORT)).toBe(0);
  const got: string[] = [];
  sock.handlers.onReadable = () => {
    for (let d = sock.recv(); d; d = sock.recv()) got.push(d.data.toString());
  };
  return { sock, got };
}

describe('IPv4 multicast over the network', () => {
  it('a group joined on one member is subscribed, and a datagram to it from another member arrives', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b, d } = await joinedMembers(s);
    const atB = listen(b);
    const atD = listen(d); // bound to the port, never joined
    expect(atB.sock.joinGroup(GROUP, 0)).toBe(0);
    const netB = b.nets.get(NWID)!;
    const subscription = ipv4MulticastGroup(GROUP);
    expect(subscription).toEqual({ mac: 0x01005e010203n, adi: 0 });
    expect(netB.groups()).toContainEqual(subscription);
    // the root learns it from B's MULTICAST_LIKE
    expect(await s.until(() => s.root.node.multicast.count(NWID, subscription) === 1, 5_000)).toBe(true);
    expect(s.root.node.multicast.members(NWID, subscription, 10)).toEqual([b.node.address]);

    const tx = a.nets.get(NWID)!.stack!.udpSocket();
    expect(tx.sendTo(Buffer.from('to the group'), { addr: GROUP, port: PORT })).toBe(12);
    expect(await s.until(() => atB.got.length > 0, 5_000)).toBe(true);
    expect(atB.got).toEqual(['to the group']);
    expect(atD.got).toEqual([]);
    expect(a.nets.get(NWID)!.counters.get('multicast_out')).toBeGreaterThan(0);
    expect(netB.counters.get('multicast_in')).toBeGreaterThan(0);

    // a second datagram goes to the members A now knows, at once
    tx.sendTo(Buffer.from('again'), { addr: GROUP, port: PORT });
    expect(await s.until(() => atB.got.length === 2, 5_000)).toBe(true);
  });

  it('a broadcast from one member reaches every socket bound to the port on the others', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b, d } = await joinedMembers(s);
    const atB = listen(b);
    const atD = listen(d);
    const ipA = s.ip('A')!;
    const subnetBroadcast = (ipA | 0xff) >>> 0; // the network's /24
    const tx = a.nets.get(NWID)!.stack!.udpSocket();
    expect(tx.sendTo(Buffer.from('x'), { addr: subnetBroadcast, port: PORT })).toBe(-Errno.EACCES);
    tx.setOption('BROADCAST', 1);
    expect(tx.sendTo(Buffer.from('directed'), { addr: subnetBroadcast, port: PORT })).toBe(8);
    expect(tx.sendTo(Buffer.from('limited'), { addr: 0xffffffff, port: PORT })).toBe(7);
    expect(await s.until(() => atB.got.length === 2 && atD.got.length === 2, 5_000)).toBe(true);
    expect(atB.got).toEqual(['directed', 'limited']);
    expect(atD.got).toEqual(['directed', 'limited']);
  });

  it('leaving the group unsubscribes: later frames to it are refused by the member', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b } = await joinedMembers(s);
    const atB = listen(b);
    atB.sock.joinGroup(GROUP, 0);
    const subscription = ipv4MulticastGroup(GROUP);
    await s.until(() => s.root.node.multicast.count(NWID, subscription) === 1, 5_000);
    const tx = a.nets.get(NWID)!.stack!.udpSocket();
    tx.sendTo(Buffer.from('one'), { addr: GROUP, port: PORT });
    expect(await s.until(() => atB.got.length === 1, 5_000)).toBe(true);

    const netB = b.nets.get(NWID)!;
    expect(atB.sock.leaveGroup(GROUP, 0)).toBe(0);
    expect(netB.groups().some((g) => groupKey(NWID, g) === groupKey(NWID, subscription))).toBe(false);
    expect(netB.counters.get('multicast_groups_changed')).toBe(2);
    // A still lists B until the subscription ages out; B refuses the frame
    tx.sendTo(Buffer.from('two'), { addr: GROUP, port: PORT });
    expect(await s.until(() => netB.counters.get('drop_multicast_not_subscribed') > 0, 5_000)).toBe(true);
    expect(atB.got).toEqual(['one']);
  });
});

describe('IPv6 multicast subscriptions', () => {
  it('each IPv6 group of the stack is subscribed as 33:33 + its last 4 bytes, ADI 0; frames to them are taken, others refused', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b } = await joinedMembers(s);
    const netB = b.nets.get(NWID)!;
    const stackB = netB.stack!;
    const own = parseIpv6Addr('fd3c:e329:f872:0:199:9300:0:4242')!;
    const solicited = solicitedNode(own);
    const groups: IpAddr[] = [IPV6_ALL_NODES, solicited, parseIpv6Addr('ff15::1:2:3')!];
    // the groups a dual-stack stack reports (SPEC §1: strings are IPv6)
    (stackB as unknown as { multicastGroups(): IpAddr[] }).multicastGroups = (): IpAddr[] => groups;
    netB.announce();
    // solicited-node ff02::1:ff00:4242 → 33:33:ff:00:42:42, as stock's deriveMulticastGroupForAddressResolution
    expect(ipv6MulticastGroup(solicited)).toEqual({ mac: 0x3333ff004242n, adi: 0 });
    expect(ipv6MulticastGroup(IPV6_ALL_NODES)).toEqual({ mac: 0x333300000001n, adi: 0 });
    for (const mac of [0x3333ff004242n, 0x333300000001n, 0x333300020003n]) {
      const g = { mac, adi: 0 };
      expect(netB.groups()).toContainEqual(g);
      expect(await s.until(() => s.root.node.multicast.count(NWID, g) === 1, 5_000)).toBe(true);
    }

    const got: string[] = [];
    const input = stackB.input.bind(stackB);
    stackB.input = (f: Buffer): void => {
      got.push(f.subarray(0, 6).toString('hex'));
      input(f);
    };
    const frameTo = (mac: bigint): Buffer =>
      emitMulticastFrame({
        networkId: NWID,
        com: a.nets.get(NWID)!.config!.com,
        gatherLimit: 0,
        sourceMac: macIntForMember(a.node.address, NWID),
        group: { mac, adi: 0 },
        etherType: 0x86dd,
        data: Buffer.alloc(40),
      });
    a.node.sendTo(b.node.address, Verb.MULTICAST_FRAME, frameTo(0x3333ff004242n));
    expect(await s.until(() => got.length === 1, 5_000)).toBe(true);
    expect(got).toEqual(['3333ff004242']);
    a.node.sendTo(b.node.address, Verb.MULTICAST_FRAME, frameTo(0x3333ff009999n));
    expect(await s.until(() => netB.counters.get('drop_multicast_not_subscribed') > 0, 5_000)).toBe(true);
    expect(got).toHaveLength(1);
  });
});
