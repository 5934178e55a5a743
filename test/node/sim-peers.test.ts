import { afterEach, describe, expect, it } from 'vitest';
import { Verb } from '../../src/node/wire/packet.js';
import { Sim } from './sim-harness.js';

let sim: Sim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

function echo(s: Sim, from: string, to: string): void {
  const a = s.get(from).node;
  a.sendTo(s.get(to).node.address, Verb.ECHO, Buffer.from('ping'), { expectReply: { sentAt: a.now() } });
}

describe('peers over the simulated underlay', () => {
  it('HELLO/OK with the root, WHOIS through it, relaying, then a direct path after RENDEZVOUS', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const b = sim.add('B', 3, '10.99.0.4');
    const now = () => sim!.sched.now();
    expect(
      await sim.until(() => !!a.node.peer(r.node.address)?.paths.best(now()) && !!b.node.peer(r.node.address)?.paths.best(now()), 10_000),
    ).toBe(true);
    expect(r.node.peer(a.node.address)).toBeDefined();
    expect(a.node.peer(r.node.address)!.remoteProtocol).toBe(12);

    echo(sim, 'A', 'B');
    expect(await sim.until(() => a.node.counters.get('echo_answered') >= 1, 10_000)).toBe(true);
    expect(a.node.counters.get('whois_sent')).toBeGreaterThanOrEqual(1);
    expect(r.node.counters.get('relayed')).toBeGreaterThanOrEqual(1);
    expect(r.node.counters.get('rendezvous_sent')).toBeGreaterThanOrEqual(2);
    // RENDEZVOUS made both sides try each other directly
    expect(
      await sim.until(() => !!a.node.peer(b.node.address)?.paths.best(now()) && !!b.node.peer(a.node.address)?.paths.best(now()), 10_000),
    ).toBe(true);
    expect(a.node.peer(b.node.address)!.paths.best(now())!.endpoint).toEqual(b.ep);

    const relayedBefore = r.node.counters.get('relayed');
    echo(sim, 'A', 'B');
    expect(await sim.until(() => a.node.counters.get('echo_answered') >= 2, 5_000)).toBe(true);
    expect(r.node.counters.get('relayed')).toBe(relayedBefore);
    for (const n of [r, a, b]) expect(n.node.counters.get('rx_exception')).toBe(0);
  });

  it('keeps talking through the root when the direct path is blocked', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const b = sim.add('B', 3, '10.99.0.4');
    sim.board.block(a.ep, b.ep);
    await sim.run(3_000);
    for (let i = 1; i <= 3; i++) {
      echo(sim, 'A', 'B');
      expect(await sim.until(() => a.node.counters.get('echo_answered') >= i, 10_000)).toBe(true);
    }
    expect(a.node.peer(b.node.address)?.paths.best(sim.sched.now())).toBeUndefined();
    expect(r.node.counters.get('relayed')).toBeGreaterThanOrEqual(6);
    expect(sim.board.stats.blocked).toBeGreaterThan(0);
  });

  it('recovers its root session after the root restarts', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const b = sim.add('B', 3, '10.99.0.4');
    sim.board.block(a.ep, b.ep);
    echo(sim, 'A', 'B');
    expect(await sim.until(() => a.node.counters.get('echo_answered') >= 1, 10_000)).toBe(true);
    r.node.stop();
    await sim.run(40_000);
    expect(a.node.peer(r.node.address)?.paths.best(sim.sched.now())).toBeUndefined();
    const r2 = sim.add('R', 0, '10.99.0.1');
    expect(r2.node).not.toBe(r.node);
    // members keep knocking at the root's stable endpoint every few seconds
    const t0 = sim.sched.now();
    const rootUp = (n: typeof a) =>
      !!n.node.peer(r2.node.address)?.paths.best(sim!.sched.now()) && !!r2.node.peer(n.node.address)?.paths.best(sim!.sched.now());
    expect(await sim.until(() => rootUp(a) && rootUp(b), 15_000)).toBe(true);
    expect(sim.sched.now() - t0).toBeLessThanOrEqual(6_000);
    echo(sim, 'A', 'B');
    expect(await sim.until(() => a.node.counters.get('echo_answered') >= 2, 30_000)).toBe(true);
    expect(r2.node.counters.get('relayed')).toBeGreaterThanOrEqual(2);
  });

  it('a peer forgotten between two of its packets is not served from the last-sender cache', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    const b = sim.add('B', 3, '10.99.0.4');
    echo(sim, 'B', 'A');
    expect(await sim.until(() => b.node.counters.get('echo_answered') >= 1, 10_000)).toBe(true);
    const before = a.node.peer(b.node.address)!;
    expect(before).toBeDefined();
    // A forgets B (as expiry does); B's next packet must go through the stranger path again
    a.node.topology.remove(b.node.address);
    const addedBefore = a.node.counters.get('peers_added');
    echo(sim, 'B', 'A');
    expect(await sim.until(() => b.node.counters.get('echo_answered') >= 2, 10_000)).toBe(true);
    const after = a.node.peer(b.node.address);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(a.node.counters.get('peers_added')).toBe(addedBefore + 1);
    expect(r.node.counters.get('rx_exception')).toBe(0);
  });
});

describe('identity checks of new peers', () => {
  it('run off the event loop, once per identity: a known verdict is reused', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const a = sim.add('A', 2, '10.99.0.3');
    // A's first HELLO reaches R; R starts the memory-hard check and goes on without waiting for it
    sim.sched.advance(50);
    expect(r.node.counters.get('identity_checks')).toBe(1);
    // no verdict yet: the check runs in a worker while this thread carries on
    expect(r.node.peer(a.node.address)).toBeUndefined();
    expect(await sim.until(() => !!r.node.peer(a.node.address), 5_000)).toBe(true);

    // R forgets the session; A's next HELLO makes a new one from the cached verdict, without a new check
    r.node.topology.remove(a.node.address);
    a.node.sendHello(a.node.peer(r.node.address)!);
    expect(await sim.until(() => !!r.node.peer(a.node.address), 5_000)).toBe(true);
    expect(r.node.counters.get('identity_checks')).toBe(1);
  });

  it('what a new node sends beside its first HELLO is taken in once the root has checked its identity', async () => {
    sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    sim.add('A', 2, '10.99.0.3');
    // sent at once: it reaches R while R still checks A's identity (off the event loop), and R, the
    // only root, has nobody to ask WHOIS — it waits for the check instead of being dropped
    echo(sim, 'A', 'R');
    expect(await sim.until(() => r.node.packetCounts.rxByVerb[Verb.ECHO]! >= 1, 2_000)).toBe(true);
    expect(r.node.counters.get('identity_checks')).toBe(1);
  });
});
