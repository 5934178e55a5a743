/**
 * Revocations in simulation (virtual time): when the controller de-authorizes a member, every
 * other member drops its frames as soon as the signed revocation arrives, even when the revoked
 * member ignores its own de-authorization and keeps sending; an honest member learns it is
 * refused at once; revocations spread member to member; forged ones change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UdpSocket } from '../../src/netstack/socket-api.js';
import { comRevocation, signRevocation } from '../../src/node/credentials/revocation.js';
import { emitNetworkCredentials } from '../../src/node/wire/network-credentials.js';
import { Verb } from '../../src/node/wire/packet.js';
import { NetSim, NWID, type NetSimNode } from './sim-harness.js';

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

const PORT = 7000;

/** Root, controller, members A, B and D, all authorized and configured. */
async function threeMembers(s: NetSim): Promise<{ a: NetSimNode; b: NetSimNode; d: NetSimNode }> {
  s.startInfrastructure();
  const a = s.addMember('A', 2, '10.99.0.3');
  const b = s.addMember('B', 3, '10.99.0.4');
  const d = s.addMember('D', 4, '10.99.0.5');
  for (const m of [a, b, d]) s.backend.authorize(NWID, m.node.address);
  for (const m of [a, b, d]) m.nets.join(NWID);
  expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'OK'), 20_000)).toBe(true);
  for (const [x, y] of [
    ['A', 'D'],
    ['B', 'D'],
    ['A', 'B'],
  ] as const)
    expect(await s.ping(x, y)).toMatchObject({ ok: true });
  return { a, b, d };
}

/** A patched member: its network never applies a refusal, never asks again and ignores revocations, so it keeps its config and keeps sending. */
function ignoreOwnDeauthorization(m: NetSimNode): void {
  const net = m.nets.get(NWID)!;
  net.onConfigError = () => {};
  net.requestConfig = () => {};
  net.acceptRevocation = () => true;
}

/** Arrival times (virtual ms) of datagrams at `name`'s PORT. */
function receiver(s: NetSim, name: string): number[] {
  const times: number[] = [];
  const sock = s.member(name).nets.get(NWID)!.stack!.udpSocket();
  expect(sock.bind(0, PORT)).toBe(0);
  sock.handlers.onReadable = () => {
    while (sock.recv()) times.push(s.sched.now());
  };
  return times;
}

/** `from` sends a datagram to each of `to` every `everyMs` until stopped. */
function flood(s: NetSim, from: string, to: string[], everyMs: number): () => void {
  const sock: UdpSocket = s.member(from).nets.get(NWID)!.stack!.udpSocket();
  const targets = to.map((n) => s.ip(n)!);
  let live = true;
  const tick = (): void => {
    if (!live) return;
    for (const addr of targets) sock.sendTo(Buffer.from('still here'), { addr, port: PORT });
    s.sched.setTimer(everyMs, tick);
  };
  tick();
  return () => {
    live = false;
  };
}

/**
 * D floods `to` (from 500 ms before) while the controller de-authorizes it, for `forMs` after;
 * returns when the last of D's datagrams reached `to`, in ms after the de-authorization.
 */
async function lastArrivalAfterDeauthorizing(s: NetSim, d: NetSimNode, to: string, forMs: number): Promise<number> {
  const at = receiver(s, to);
  const stop = flood(s, 'D', [to], 20);
  await s.run(500, 10);
  expect(at.length).toBeGreaterThan(5);
  const t0 = s.sched.now();
  s.backend.deauthorize(NWID, d.node.address);
  await s.run(forMs, 10);
  stop();
  return at.at(-1)! - t0;
}

describe('revocation in simulation', () => {
  it('cuts off a de-authorized member that ignores its own de-authorization, at every other member, at once', async () => {
    // stock periods: a 60 s refresh and 30 min certificates, so only the revocation can explain the cut
    sim = new NetSim();
    const s = sim;
    const { a, b, d } = await threeMembers(s);
    ignoreOwnDeauthorization(d);
    const atA = receiver(s, 'A');
    const atB = receiver(s, 'B');
    const atD = receiver(s, 'D');
    const stop = flood(s, 'D', ['A', 'B'], 20);
    const stopA = flood(s, 'A', ['D'], 20);
    await s.run(1_000, 10);
    expect(atA.length).toBeGreaterThan(10);
    expect(atB.length).toBeGreaterThan(10);
    expect(atD.length).toBeGreaterThan(10);

    const t0 = s.sched.now();
    s.backend.deauthorize(NWID, d.node.address);
    await s.run(10_000, 10);
    stop();
    stopA();
    // D still believes it is a member and kept sending the whole time
    expect(s.status('D')).toBe('OK');
    const lastAccepted = Math.max(atA.at(-1)!, atB.at(-1)!);
    const delayMs = lastAccepted - t0;
    console.log(`revoked member's frames last accepted ${delayMs} ms (virtual) after de-authorization`);
    expect(delayMs).toBeLessThan(2_000);
    // nor does A send D anything more: D reads nothing of A's from then on
    expect(atD.at(-1)! - t0).toBeLessThan(2_000);
    expect(a.nets.get(NWID)!.counters.get('drop_tx_revoked')).toBeGreaterThan(100);
    for (const m of [a, b]) {
      const c = m.nets.get(NWID)!.counters;
      expect(c.get('revocations_accepted')).toBe(1);
      expect(c.get('drop_frame_revoked')).toBeGreaterThan(100);
      // D's certificate, pushed again when it is asked for, is refused as revoked
      expect(m.nets.get(NWID)!.members.revocations.threshold(d.node.address)).toBeDefined();
    }
    expect(s.controller.node.counters.get('ctl_revocations_issued')).toBe(1);
    // the others are untouched
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });
  });

  // just after a request the pushed refusal names it; 40 s later that request is no longer
  // expected, and the revocation of its own certificate makes the member ask at once
  for (const idleMs of [0, 40_000]) {
    it(`tells an honest member at once (${idleMs / 1000} s after its last request): ACCESS_DENIED long before its next refresh; a re-authorization restores it`, async () => {
      sim = new NetSim();
      const s = sim;
      const { d } = await threeMembers(s);
      const ipD = s.ip('D')!;
      await s.run(idleMs);
      expect(s.status('D')).toBe('OK');
      const requestsBefore = d.nets.get(NWID)!.counters.get('config_requests');
      const t0 = s.sched.now();
      s.backend.deauthorize(NWID, d.node.address);
      expect(await s.until(() => s.status('D') === 'ACCESS_DENIED', 2_000, 10)).toBe(true);
      console.log(
        `honest member refused ${s.sched.now() - t0} ms (virtual) after de-authorization, ${idleMs / 1000} s after its last request`,
      );
      if (idleMs > 0) expect(d.nets.get(NWID)!.counters.get('config_requests')).toBe(requestsBefore + 1);
      expect(d.nets.get(NWID)!.stack).toBeNull();
      expect(await s.ping('A', 'D', 3_000)).toBeNull();
      // A still sends to D's old address meanwhile (its certificate going along, and dropped)
      let lost: unknown = null;
      s.member('A')
        .nets.get(NWID)!
        .stack!.ping(ipD, { timeoutMs: 2_000 }, (r) => (lost = r));
      await s.until(() => lost !== null, 3_000);
      expect(lost).toMatchObject({ ok: false });

      // a certificate issued after the revocation admits it again
      s.backend.authorize(NWID, d.node.address);
      expect(await s.until(() => s.status('D') === 'OK', 10_000)).toBe(true);
      // A sends nothing to a revoked member: its first frame asks D for a certificate instead (and
      // may be lost), D's answer lets it back in
      await s.ping('A', 'D', 2_000);
      expect(s.member('A').nets.get(NWID)!.members.cutOff(d.node.address)).toBe(false);
      expect(await s.ping('A', 'D')).toMatchObject({ ok: true });
      expect(await s.ping('D', 'B')).toMatchObject({ ok: true });
    });
  }

  it('spreads member to member: a member the controller cannot reach learns the revocation from another', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b, d } = await threeMembers(s);
    ignoreOwnDeauthorization(d);
    s.board.block(s.controller.ep, b.ep);
    expect(await lastArrivalAfterDeauthorizing(s, d, 'B', 5_000)).toBeLessThan(2_000);
    expect(a.nets.get(NWID)!.counters.get('revocations_forwarded')).toBeGreaterThanOrEqual(1);
    expect(b.nets.get(NWID)!.counters.get('revocations_accepted')).toBe(1);
    // each member takes a revocation once; copies are redundant and cost no signature check
    expect(a.nets.get(NWID)!.counters.get('revocations_accepted')).toBe(1);
  });

  it('ignores revocations not signed by the controller, for other networks, or replayed', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b, d } = await threeMembers(s);
    const netD = d.nets.get(NWID)!;
    const keysOf = (m: NetSimNode) => ({ address: m.node.address, publicKey: m.identity.publicKey, privateKey: m.identity.privateKey! });
    const now = BigInt(Math.floor(s.wall()));
    // A "revokes" B, signing as itself
    const forged = signRevocation(comRevocation(1, NWID, b.node.address, now), keysOf(a));
    a.node.sendPacket(a.node.peer(d.node.address)!, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ revocations: [forged] }));
    // … and claims the controller's address as signer, with its own signature
    const claimed = { ...forged, signedBy: s.controller.node.address };
    a.node.sendPacket(a.node.peer(d.node.address)!, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ revocations: [claimed] }));
    // a genuine revocation for another network
    const controllerKeys = keysOf(s.controller);
    const other = signRevocation(comRevocation(2, NWID + 1n, b.node.address, now), controllerKeys);
    a.node.sendPacket(a.node.peer(d.node.address)!, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ revocations: [other] }));
    // two forged in one packet: the first bad signature ends that packet's checks
    const forged2 = signRevocation(comRevocation(4, NWID, a.node.address, now), keysOf(b));
    a.node.sendPacket(a.node.peer(d.node.address)!, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ revocations: [forged, forged2] }));
    await s.run(500);
    expect(netD.counters.get('drop_revocation_bad_signature')).toBe(3);
    expect(netD.counters.get('revocations_accepted')).toBe(0);
    expect(await s.ping('D', 'B')).toMatchObject({ ok: true });

    // a genuine one with a threshold before B's certificate revokes nothing it holds; sent again, it is redundant
    const old = signRevocation(comRevocation(3, NWID, b.node.address, now - 3_600_000n), controllerKeys);
    for (let i = 0; i < 2; i++)
      a.node.sendPacket(a.node.peer(d.node.address)!, Verb.NETWORK_CREDENTIALS, emitNetworkCredentials({ revocations: [old] }));
    await s.run(500);
    expect(netD.counters.get('revocations_accepted')).toBe(1);
    expect(netD.counters.get('revocations_redundant')).toBeGreaterThanOrEqual(1);
    expect(await s.ping('D', 'B')).toMatchObject({ ok: true });
  });

  it("reaches the controller's own membership of the network too", async () => {
    sim = new NetSim();
    const s = sim;
    s.startInfrastructure();
    const c = s.controller;
    s.members.set('C', c);
    const d = s.addMember('D', 4, '10.99.0.5');
    for (const m of [c, d]) s.backend.authorize(NWID, m.node.address);
    for (const m of [c, d]) m.nets.join(NWID);
    expect(await s.until(() => s.status('C') === 'OK' && s.status('D') === 'OK', 20_000)).toBe(true);
    expect(await s.ping('D', 'C')).toMatchObject({ ok: true });
    ignoreOwnDeauthorization(d);
    expect(await lastArrivalAfterDeauthorizing(s, d, 'C', 3_000)).toBeLessThan(2_000);
    expect(c.nets.get(NWID)!.counters.get('revocations_accepted')).toBe(1);
    expect(c.nets.get(NWID)!.counters.get('drop_frame_revoked')).toBeGreaterThan(50);
  });

  it('revokes every member when the network is deleted', async () => {
    sim = new NetSim();
    const s = sim;
    const { a } = await threeMembers(s);
    s.backend.deleteNetwork(NWID);
    expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'NOT_FOUND'), 2_000, 10)).toBe(true);
    expect(s.controller.node.counters.get('ctl_revocations_issued')).toBe(3);
    expect(a.nets.get(NWID)!.members.revocations.size).toBeGreaterThanOrEqual(2);
  });
});
