/**
 * Moons in simulation: a ztnc node M is the root of a moon that members A and D orbit. M then acts
 * as a root for them: they greet it (naming the moon in their HELLO), and with the planet's root
 * gone it answers their WHOIS and relays between them when they cannot reach each other directly.
 * A node that wants a moon (orbit by seed) names it with timestamp 0 in a HELLO to the seed, found
 * by WHOIS through the planet's root, and gets it in the OK(HELLO); newer copies travel the same way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/node/crypto/c25519.js';
import { Node } from '../../src/node/node.js';
import { Verb } from '../../src/node/wire/packet.js';
import { signWorld, WorldType, type World } from '../../src/node/peer/world.js';
import { ep, Sim } from './sim-harness.js';

const M_INDEX = 5;
const M_IP = '10.99.0.6';

let sim: Sim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

/** Each test moon's signing key, by moon id (to sign updates). */
const MOON_KEYS = new Map<bigint, ReturnType<typeof generateKeyPair>>();

function makeMoon(s: Sim): World {
  const m = s.identity(M_INDEX);
  const key = generateKeyPair();
  MOON_KEYS.set(m.address, key);
  return signWorld(
    {
      type: WorldType.MOON,
      // stock names a moon after its first root's address
      id: m.address,
      timestamp: 1_795_346_400_000n,
      updatesMustBeSignedBy: key.publicKey,
      signature: Buffer.alloc(96),
      roots: [{ address: m.address, publicKey: m.publicKey, stableEndpoints: [ep(M_IP)] }],
    },
    key,
  );
}

describe('moons', () => {
  it('refuses worlds that are not usable moons', () => {
    sim = new Sim();
    const moon = makeMoon(sim);
    const a = sim.add('A', 2, '10.99.0.3');
    const forged = { ...moon, timestamp: moon.timestamp + 1n };
    expect(() => a.node.orbit(forged)).toThrow(/bad signature/);
    expect(() => a.node.orbit({ ...moon, type: WorldType.PLANET })).toThrow(/not a moon/);
    expect(() => a.node.orbit({ ...moon, roots: [] })).toThrow(/no roots/);
    expect(a.node.orbiting()).toEqual([]);
    // a newer copy replaces the moon only when signed with the update key it names
    a.node.orbit(moon);
    const impostor = signWorld(
      { ...moon, timestamp: moon.timestamp + 10n, updatesMustBeSignedBy: generateKeyPair().publicKey },
      generateKeyPair(),
    );
    expect(() => a.node.orbit(impostor)).toThrow(/bad signature|update not signed/);
    const otherKey = generateKeyPair();
    const selfSigned = signWorld({ ...moon, timestamp: moon.timestamp + 10n, updatesMustBeSignedBy: otherKey.publicKey }, otherKey);
    expect(() => a.node.orbit(selfSigned)).toThrow(/update not signed/);
    expect(a.node.orbiting()).toEqual([{ type: WorldType.MOON, worldId: moon.id, timestamp: moon.timestamp }]);
    expect(a.node.deorbit(moon.id)).toBe(true);
    const port = sim.board.attach(ep('10.99.0.9'));
    expect(() => new Node({ ...sim!.nodeOptions(6, port), moons: [forged] })).toThrow(/bad signature/);
  });

  it('makes the moon root a root for its orbiters: HELLO names the moon, WHOIS and relaying go through it', async () => {
    sim = new Sim();
    const moon = makeMoon(sim);
    const r = sim.add('R', 0, '10.99.0.1');
    const m = sim.add('M', M_INDEX, M_IP, (o) => new Node({ ...o, moons: [moon] }));
    const a = sim.add('A', 2, '10.99.0.3', (o) => new Node({ ...o, moons: [moon] }));
    const d = sim.add('D', 3, '10.99.0.4');
    // D joins the moon after it started
    d.node.orbit(moon);
    sim.board.block(a.ep, d.ep);
    const now = () => sim!.sched.now();
    expect(m.node.isRoot).toBe(true);
    expect(a.node.isRoot).toBe(false);
    expect(a.node.topology.isRoot(m.node.address)).toBe(true);
    expect(
      await sim.until(() => [a, d].every((n) => !!n.node.peer(m.node.address)?.paths.best(now()) && !!m.node.peer(n.node.address)), 10_000),
    ).toBe(true);
    // the moon root read the moon list from its orbiters' HELLO trailers
    expect(m.node.peer(a.node.address)!.moons).toEqual([{ type: WorldType.MOON, worldId: moon.id, timestamp: moon.timestamp }]);
    expect(m.node.peer(d.node.address)!.moons).toEqual([{ type: WorldType.MOON, worldId: moon.id, timestamp: moon.timestamp }]);

    // the planet's root goes away; once its path is dead only the moon's root is left
    r.node.stop();
    await sim.run(40_000);
    expect(a.node.peer(r.node.address)?.paths.best(now())).toBeUndefined();
    expect(a.node.topology.bestRoot(now())?.address).toBe(m.node.address);
    expect(a.node.peer(d.node.address)).toBeUndefined();

    const relayed0 = m.node.counters.get('relayed');
    a.node.sendTo(d.node.address, Verb.ECHO, Buffer.from('via the moon'), { expectReply: { sentAt: now() } });
    expect(await sim.until(() => a.node.counters.get('echo_answered') >= 1, 10_000)).toBe(true);
    expect(a.node.counters.get('whois_sent')).toBeGreaterThanOrEqual(1);
    expect(m.node.counters.get('relayed') - relayed0).toBeGreaterThanOrEqual(2);
    expect(a.node.peer(d.node.address)?.paths.best(now())).toBeUndefined();

    // leaving the moon makes M an ordinary peer again
    expect(a.node.deorbit(moon.id)).toBe(true);
    expect(a.node.deorbit(moon.id)).toBe(false);
    expect(a.node.topology.isRoot(m.node.address)).toBe(false);
    expect(a.node.orbiting()).toEqual([]);
    for (const n of sim.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  });

  it('fetches a moon from its seed: HELLO names it with timestamp 0, the OK(HELLO) carries it', async () => {
    sim = new Sim();
    const moon = makeMoon(sim);
    sim.add('R', 0, '10.99.0.1');
    const m = sim.add('M', M_INDEX, M_IP, (o) => new Node({ ...o, moons: [moon] }));
    const a = sim.add('A', 2, '10.99.0.3');
    const arrived: { id: bigint; from: bigint; orbiting: boolean }[] = [];
    a.node.onMoonArrived = (w, from, orbiting) => {
      arrived.push({ id: w.id, from: from.address, orbiting });
      a.node.moonsWanted.delete(w.id);
      a.node.orbit(w);
    };
    // M is known to the root (its HELLO); A knows only M's address, as `orbit <id> <seed>` gives it
    expect(await sim.until(() => !!sim!.nodes.get('R')!.node.peer(m.node.address), 10_000)).toBe(true);
    a.node.moonsWanted.add(moon.id);
    a.node.helloTo(m.node.address);
    expect(await sim.until(() => arrived.length > 0, 10_000)).toBe(true);
    expect(arrived).toEqual([{ id: moon.id, from: m.node.address, orbiting: false }]);
    expect(a.node.orbiting()).toEqual([{ type: WorldType.MOON, worldId: moon.id, timestamp: moon.timestamp }]);
    expect(a.node.topology.isRoot(m.node.address)).toBe(true);

    // a newer copy signed with the moon's update key reaches A with M's next answer to A's HELLO
    const newer = signWorld({ ...moon, timestamp: moon.timestamp + 1000n }, MOON_KEYS.get(moon.id)!);
    m.node.orbit(newer);
    a.node.sendHello(a.node.peer(m.node.address)!);
    expect(await sim.until(() => a.node.orbiting()[0]?.timestamp === newer.timestamp, 10_000)).toBe(true);
    expect(arrived.at(-1)).toEqual({ id: moon.id, from: m.node.address, orbiting: true });
    // nobody else is given a moon it did not ask for
    const d = sim.add('D', 3, '10.99.0.4');
    d.node.helloTo(m.node.address);
    await sim.run(5_000);
    expect(d.node.orbiting()).toEqual([]);
    for (const n of sim.nodes.values()) expect(n.node.counters.get('rx_drop_bad_world_update')).toBe(0);
  });
});
