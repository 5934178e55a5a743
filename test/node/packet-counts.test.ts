/**
 * The node's packet counts (what /metrics serves as stock's zt_packet and zt_peer_* families):
 * packets by verb each way, and per peer the packets each way and those dropped after the header
 * named it (replayed, or failing their MAC).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/node/index.js';
import { Verb } from '../../src/node/wire/packet.js';
import { Sim } from './sim-harness.js';

let sim: Sim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

describe('packet counts', () => {
  it('counts HELLO and OK each way by verb, and each peer’s packets', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const now = () => sim!.sched.now();
    expect(await sim.until(() => !!a.node.peer(r.node.address)?.paths.best(now()), 10_000)).toBe(true);
    const ac = a.node.packetCounts;
    const rc = r.node.packetCounts;
    expect(ac.txByVerb[Verb.HELLO]).toBeGreaterThanOrEqual(1);
    expect(rc.rxByVerb[Verb.HELLO]).toBe(ac.txByVerb[Verb.HELLO]);
    expect(ac.rxByVerb[Verb.OK]).toBeGreaterThanOrEqual(1);
    expect(ac.rxByVerb[Verb.FRAME]).toBe(0);
    const rootSeenByA = a.node.peer(r.node.address)!;
    const aSeenByRoot = r.node.peer(a.node.address)!;
    const sum = (xs: Float64Array) => xs.reduce((s, x) => s + x, 0);
    expect(rootSeenByA.txPackets).toBe(sum(ac.txByVerb));
    expect(aSeenByRoot.rxPackets).toBe(sum(rc.rxByVerb));
    expect(rootSeenByA.rxErrors).toBe(0);
  });

  it("counts a peer's replayed and forged packets as its errors", async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const now = () => sim!.sched.now();
    expect(await sim.until(() => !!a.node.peer(r.node.address)?.paths.best(now()), 10_000)).toBe(true);
    // keep the next packet A sends the root
    let kept: { from: Endpoint; to: Endpoint; data: Buffer } | null = null;
    sim.board.tap = (from, to, data) => {
      if (kept === null && from.ip === a.ep.ip && from.port === a.ep.port) kept = { from, to, data: Buffer.from(data) };
    };
    a.node.sendTo(r.node.address, Verb.ECHO, Buffer.from('ping'));
    expect(await sim.until(() => kept !== null, 5_000)).toBe(true);
    await sim.run(100);
    const peer = r.node.peer(a.node.address)!;
    const received = peer.rxPackets;
    const k = kept!;
    sim.board.tap = null;
    sim.board.deliver(k.from, k.to, k.data); // the same packet again: a replay
    const forged = Buffer.from(k.data);
    forged[forged.length - 1]! ^= 0xff; // its last byte changed: the MAC fails
    sim.board.deliver(k.from, k.to, forged);
    await sim.run(100);
    expect(r.node.counters.get('rx_drop_replay')).toBe(1);
    expect(r.node.counters.get('rx_drop_mac')).toBe(1);
    expect(peer.rxErrors).toBe(2);
    expect(peer.rxPackets).toBe(received);
  });
});
