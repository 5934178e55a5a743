/**
 * A member whose first config requests are lost (a controller that drops what arrives before it
 * has a path back: a new member's first request while the controller is still checking its
 * identity) repeats its first few requests after a second rather than the usual five, so an
 * endpoint created and joined at once, or a container starting, is configured within seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Timing } from '../../src/node/timing.js';
import { NetSim, NWID } from './sim-harness.js';

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

describe('a member whose first config requests are lost', () => {
  it('asks again within a second or two, then at the usual period', async () => {
    sim = new NetSim();
    sim.startInfrastructure();
    const a = sim.addMember('A', 2, '10.99.0.3');
    sim.backend.authorize(NWID, a.node.address);
    a.nets.join(NWID);
    expect(await sim.until(() => sim!.status('A') === 'OK', 20_000)).toBe(true);
    a.nets.leave(NWID);
    // A knows C and has a path to it: its next requests go straight there, and are lost
    const c = sim.controller;
    sim.board.block(a.ep, c.ep);
    sim.board.block(a.ep, sim.root.ep);
    const t0 = sim.sched.now();
    a.nets.join(NWID);
    await sim.run(1_500);
    sim.board.unblock(a.ep, c.ep);
    sim.board.unblock(a.ep, sim.root.ep);
    expect(await sim.until(() => sim!.status('A') === 'OK', 20_000)).toBe(true);
    // virtual time: the next request after the unblocking went at most a retry of the first kind later
    expect(sim.sched.now() - t0).toBeLessThan(1_500 + Timing.networkFirstRequestRetry + Timing.tick + 500);
  });
});
