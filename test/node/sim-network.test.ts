import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/netstack/addr.js';
import { ETHERTYPE_IPV4 } from '../../src/netstack/wire/ethernet.js';
import { createNetStack } from '../../src/netstack/index.js';
import type { StackFactoryOptions } from '../../src/node/network/network.js';
import { macIntForMember, macToBytes } from '../../src/node/network/network-mac.js';
import { Networks } from '../../src/node/network/networks.js';
import { emitExtFrame } from '../../src/node/wire/frame.js';
import { Verb } from '../../src/node/wire/packet.js';
import { NetSim, NWID, tcpTransfer } from './sim-harness.js';

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

/** Root, controller and members A, B and D, none joined yet. */
function addMembersABD(s: NetSim) {
  s.startInfrastructure();
  return { a: s.addMember('A', 2, '10.99.0.3'), b: s.addMember('B', 3, '10.99.0.4'), d: s.addMember('D', 4, '10.99.0.5') };
}

describe('network membership in simulation', () => {
  it('refuses members until authorized, then configures them; they ARP and ping each other', async () => {
    sim = new NetSim();
    sim.startInfrastructure();
    const a = sim.addMember('A', 2, '10.99.0.3');
    const b = sim.addMember('B', 3, '10.99.0.4');
    await sim.run(2_000);
    a.nets.join(NWID);
    b.nets.join(NWID);
    expect(sim.status('A')).toBe('REQUESTING_CONFIGURATION');
    expect(await sim.until(() => sim!.status('A') === 'ACCESS_DENIED' && sim!.status('B') === 'ACCESS_DENIED', 20_000)).toBe(true);
    expect(a.nets.get(NWID)!.stack).toBeNull();

    const ipA = sim.backend.authorize(NWID, a.node.address);
    const ipB = sim.backend.authorize(NWID, b.node.address);
    // the controller pushes the new config to members that asked recently
    expect(await sim.until(() => sim!.status('A') === 'OK' && sim!.status('B') === 'OK', 10_000)).toBe(true);
    expect(formatIpv4(sim.ip('A')!)).toBe(ipA);
    expect(formatIpv4(sim.ip('B')!)).toBe(ipB);
    const netA = a.nets.get(NWID)!;
    expect(netA.config!.com).not.toBeNull();
    expect(Array.from(netA.stack!.mac)).toEqual(Array.from(netA.mac));

    const r = await sim.ping('A', 'B');
    expect(r).toMatchObject({ ok: true });
    const r2 = await sim.ping('B', 'A');
    expect(r2).toMatchObject({ ok: true });
    // ARP went through the root's multicast table and MULTICAST_FRAME
    expect(netA.counters.get('multicast_out') + b.nets.get(NWID)!.counters.get('multicast_out')).toBeGreaterThan(0);
    expect(b.nets.get(NWID)!.counters.get('credentials_accepted')).toBeGreaterThan(0);
    for (const n of sim.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  });
});

describe('stack factory', () => {
  it('is told which network the stack is for, not left to parse it from the interface name', async () => {
    sim = new NetSim();
    sim.startInfrastructure();
    const a = sim.add('A', 2, '10.99.0.3');
    const asked: StackFactoryOptions[] = [];
    const nets = new Networks(a.node, {
      refreshMs: sim.refreshMs,
      stackFactory: (o) => {
        asked.push(o);
        return createNetStack({ scheduler: a.node.scheduler, random: a.node.random, mac: o.mac, mtu: o.mtu, name: o.name });
      },
    });
    const net = nets.join(NWID);
    sim.backend.authorize(NWID, a.node.address);
    expect(await sim.until(() => net.status === 'OK', 20_000)).toBe(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.nwid).toBe(NWID);
    expect(Array.from(asked[0]!.mac)).toEqual(Array.from(net.mac));
    nets.close();
  });
});

describe('frames from several members', () => {
  it("each frame reaches the stack with its sender's MAC; EXT_FRAME is taken from the sender's MAC only", async () => {
    sim = new NetSim();
    const { a, b, d } = addMembersABD(sim);
    await sim.run(2_000);
    for (const m of [a, b, d]) {
      m.nets.join(NWID);
      sim.backend.authorize(NWID, m.node.address);
    }
    expect(await sim.until(() => ['A', 'B', 'D'].every((n) => sim!.status(n) === 'OK'), 20_000)).toBe(true);
    const netB = b.nets.get(NWID)!;
    const stackB = netB.stack!;
    const sources: string[] = [];
    const input = stackB.input.bind(stackB);
    stackB.input = (frame: Buffer): void => {
      sources.push(frame.subarray(6, 12).toString('hex'));
      input(frame);
    };
    const macOf = (m: typeof a): string => macToBytes(macIntForMember(m.node.address, NWID)).toString('hex');
    // senders take turns, so a remembered sender MAC would show up on the next one's frames
    for (const [from, mac] of [
      ['A', macOf(a)],
      ['D', macOf(d)],
      ['A', macOf(a)],
    ] as const) {
      sources.length = 0;
      expect(await sim.ping(from, 'B')).toMatchObject({ ok: true });
      expect(sources.length).toBeGreaterThan(0);
      expect(new Set(sources)).toEqual(new Set([mac]));
    }

    // EXT_FRAME (what stock nodes send with a certificate attached): the sender's own MAC is taken,
    // any other source MAC is bridging, which members do not do
    const extFrame = (sourceMac: bigint): Buffer =>
      emitExtFrame({
        networkId: NWID,
        flags: 0,
        com: null,
        destMac: macIntForMember(b.node.address, NWID),
        sourceMac,
        etherType: ETHERTYPE_IPV4,
        data: Buffer.alloc(20),
      });
    const framesIn = netB.counters.get('frames_in');
    const bridged = netB.counters.get('drop_frame_bridged');
    sources.length = 0;
    a.node.sendTo(b.node.address, Verb.EXT_FRAME, extFrame(macIntForMember(a.node.address, NWID)));
    await sim.run(500);
    expect(netB.counters.get('frames_in')).toBe(framesIn + 1);
    expect(sources).toEqual([macOf(a)]);
    a.node.sendTo(b.node.address, Verb.EXT_FRAME, extFrame(macIntForMember(d.node.address, NWID)));
    await sim.run(500);
    expect(netB.counters.get('frames_in')).toBe(framesIn + 1);
    expect(netB.counters.get('drop_frame_bridged')).toBe(bridged + 1);
  });
});

describe('TCP over the overlay in simulation', () => {
  it('moves 20 MB intact directly, and 20 MB intact relayed through the root', async () => {
    sim = new NetSim();
    const { a, b, d } = addMembersABD(sim);
    // D can never reach B directly: their traffic must go through the root
    sim.board.block(b.ep, d.ep);
    for (const m of [a, b, d]) sim.backend.authorize(NWID, m.node.address);
    for (const m of [a, b, d]) m.nets.join(NWID);
    expect(await sim.until(() => ['A', 'B', 'D'].every((n) => sim!.status(n) === 'OK'), 20_000)).toBe(true);
    const stack = (n: string) => sim!.member(n).nets.get(NWID)!.stack!;
    const drive = (done: () => boolean, limit: number) => sim!.until(done, limit, 1_000);
    const now = () => sim!.sched.now();
    const SIZE = 20 * 1024 * 1024;

    const direct = await tcpTransfer(stack('A'), stack('B'), sim.ip('B')!, 5001, SIZE, drive, now);
    expect(direct.receivedBytes).toBe(SIZE);
    expect(direct.receivedSha256).toBe(direct.sentSha256);
    expect(a.node.peer(b.node.address)!.paths.best(now())).toBeDefined();

    const relayedBefore = sim.root.node.counters.get('relayed');
    const relayed = await tcpTransfer(stack('D'), stack('B'), sim.ip('B')!, 5002, SIZE, drive, now);
    expect(relayed.receivedBytes).toBe(SIZE);
    expect(relayed.receivedSha256).toBe(relayed.sentSha256);
    expect(d.node.peer(b.node.address)!.paths.best(now())).toBeUndefined();
    // every data packet went through the root: 20 MB is well over 7,000 packets
    expect(sim.root.node.counters.get('relayed') - relayedBefore).toBeGreaterThan(7_000);
    for (const n of sim.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  }, 300_000);
});

describe('failures and revocation in simulation', () => {
  async function threeMembers(s: NetSim) {
    const { a, b, d } = addMembersABD(s);
    s.board.block(b.ep, d.ep);
    for (const m of [a, b, d]) s.backend.authorize(NWID, m.node.address);
    for (const m of [a, b, d]) m.nets.join(NWID);
    expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'OK'), 20_000)).toBe(true);
    return { a, b, d };
  }

  it('recovers after the root restarts: relayed members reach each other again', async () => {
    sim = new NetSim();
    const { a, b, d } = await threeMembers(sim);
    expect(await sim.ping('D', 'B')).toMatchObject({ ok: true });
    expect(await sim.ping('A', 'B')).toMatchObject({ ok: true });
    sim.root.node.stop();
    await sim.run(40_000);
    // without the root, the relayed pair is cut off; the direct pair is not
    expect(await sim.ping('D', 'B', 3_000)).toMatchObject({ ok: false });
    expect(await sim.ping('A', 'B')).toMatchObject({ ok: true });
    const r2 = sim.restartRoot();
    const t0 = sim.sched.now();
    expect(await sim.until(() => [a, b, d].every((m) => !!r2.node.peer(m.node.address)?.paths.best(sim!.sched.now())), 20_000)).toBe(true);
    expect(sim.sched.now() - t0).toBeLessThanOrEqual(10_000);
    expect(await sim.ping('D', 'B')).toMatchObject({ ok: true });
    // members announced their subscriptions to the new root again
    expect(r2.node.multicast.size).toBeGreaterThanOrEqual(6);
  });

  it('stops passing frames within one refresh period after deauthorization', async () => {
    sim = new NetSim({ refreshMs: 30_000 });
    const { d } = await threeMembers(sim);
    expect(await sim.ping('D', 'B')).toMatchObject({ ok: true });
    expect(await sim.ping('A', 'D')).toMatchObject({ ok: true });
    const ipD = sim.ip('D')!;
    sim.backend.deauthorize(NWID, d.node.address);
    const t0 = sim.sched.now();
    expect(await sim.until(() => sim!.status('D') === 'ACCESS_DENIED', sim.refreshMs + 1_000)).toBe(true);
    expect(sim.sched.now() - t0).toBeLessThanOrEqual(sim.refreshMs);
    expect(d.nets.get(NWID)!.stack).toBeNull();
    // nobody reaches D's old address any more; the others still reach each other
    const stackA = sim.member('A').nets.get(NWID)!.stack!;
    let res: unknown = null;
    stackA.ping(ipD, { timeoutMs: 3_000 }, (r) => {
      res = r;
    });
    await sim.until(() => res !== null, 5_000);
    expect(res).toMatchObject({ ok: false });
    expect(await sim.ping('A', 'B')).toMatchObject({ ok: true });
    // the others keep their configs and get refreshed ones
    expect(sim.status('A')).toBe('OK');
    expect(sim.status('B')).toBe('OK');
  });
});
