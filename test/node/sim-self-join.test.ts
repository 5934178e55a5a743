import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/netstack/addr.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import { NetSim, NWID, tcpTransfer } from './sim-harness.js';

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

describe('a controller joins its own network in simulation', () => {
  it('is refused until it authorizes itself, then pings and moves TCP data to a member; deauthorizing itself cuts it off', async () => {
    sim = new NetSim();
    sim.startInfrastructure();
    const c = sim.controller;
    // the controller as a member, so the harness's status/ip/ping helpers cover it
    sim.members.set('C', c);
    const a = sim.addMember('A', 2, '10.99.0.3');
    await sim.run(2_000);
    const requestsBefore = sim.backend.requests;
    c.nets.join(NWID);
    a.nets.join(NWID);
    const netC = c.nets.get(NWID)!;
    // the answer never arrives within join()
    expect(netC.status).toBe('REQUESTING_CONFIGURATION');
    expect(await sim.until(() => sim!.status('C') === 'ACCESS_DENIED' && sim!.status('A') === 'ACCESS_DENIED', 20_000)).toBe(true);
    expect(netC.stack).toBeNull();
    expect(sim.backend.requests).toBeGreaterThan(requestsBefore);
    expect(sim.backend.member(NWID, c.node.address).requests).toBeGreaterThan(0);
    expect(netC.counters.get('config_requests')).toBeGreaterThan(0);
    expect(c.node.counters.get('ctl_denied')).toBeGreaterThan(0);

    const ipC = sim.backend.authorize(NWID, c.node.address);
    // the push on authorization reaches the controller's own membership
    expect(await sim.until(() => sim!.status('C') === 'OK', 5_000)).toBe(true);
    expect(formatIpv4(sim.ip('C')!)).toBe(ipC);
    expect(netC.config!.issuedTo).toBe(c.node.address);
    expect(netC.config!.com).not.toBeNull();
    expect(c.node.counters.get('ctl_configs_local')).toBeGreaterThan(0);
    expect(sim.status('A')).toBe('ACCESS_DENIED');

    const ipA = sim.backend.authorize(NWID, a.node.address);
    expect(await sim.until(() => sim!.status('A') === 'OK', 10_000)).toBe(true);
    expect(formatIpv4(sim.ip('A')!)).toBe(ipA);

    expect(await sim.ping('C', 'A')).toMatchObject({ ok: true });
    expect(await sim.ping('A', 'C')).toMatchObject({ ok: true });
    // each accepted the other's certificate of membership, both signed by C
    expect(a.nets.get(NWID)!.counters.get('credentials_accepted')).toBeGreaterThan(0);
    expect(netC.counters.get('credentials_accepted')).toBeGreaterThan(0);

    const stack = (n: string) => sim!.member(n).nets.get(NWID)!.stack!;
    const drive = (done: () => boolean, limit: number) => sim!.until(done, limit, 1_000);
    const now = () => sim!.sched.now();
    const SIZE = 4 * 1024 * 1024;
    const up = await tcpTransfer(stack('C'), stack('A'), sim.ip('A')!, 5001, SIZE, drive, now);
    expect(up.receivedBytes).toBe(SIZE);
    expect(up.receivedSha256).toBe(up.sentSha256);
    const down = await tcpTransfer(stack('A'), stack('C'), sim.ip('C')!, 5002, SIZE, drive, now);
    expect(down.receivedBytes).toBe(SIZE);
    expect(down.receivedSha256).toBe(down.sentSha256);

    // a rule change is pushed to the local membership as to any member
    const revision = netC.config!.revision;
    sim.backend.setRules(NWID, [{ type: 'ACTION_ACCEPT' }]);
    expect(await sim.until(() => (sim!.member('C').nets.get(NWID)?.config?.revision ?? 0n) > revision, 5_000)).toBe(true);

    const ipCNum = sim.ip('C')!;
    sim.backend.deauthorize(NWID, c.node.address);
    expect(await sim.until(() => sim!.status('C') === 'ACCESS_DENIED', 5_000)).toBe(true);
    expect(netC.stack).toBeNull();
    let res: PingResult | null = null;
    stack('A').ping(ipCNum, { timeoutMs: 3_000 }, (r) => {
      res = r;
    });
    await sim.until(() => res !== null, 5_000);
    expect(res).toMatchObject({ ok: false });
    // A keeps its membership; C stays refused across its own refreshes
    await sim.run(sim.refreshMs + 5_000);
    expect(sim.status('A')).toBe('OK');
    expect(sim.status('C')).toBe('ACCESS_DENIED');
    for (const n of sim.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  }, 300_000);

  it('a node without a controller never answers for a network named after it', async () => {
    sim = new NetSim();
    sim.startInfrastructure();
    const a = sim.addMember('A', 2, '10.99.0.3');
    await sim.run(2_000);
    const own = (a.node.address << 24n) | 1n;
    const net = a.nets.join(own);
    await sim.run(30_000);
    expect(net.status).toBe('REQUESTING_CONFIGURATION');
    expect(net.counters.get('drop_request_no_local_controller')).toBeGreaterThan(0);
    expect(net.counters.get('config_requests')).toBe(0);
  });
});
