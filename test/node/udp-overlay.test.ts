/**
 * The same deployment as the simulations, over real UDP sockets on 127.0.0.1 in real time: a
 * private planet whose root is a ztnc node, a controller node, two members. Loopback paths are
 * allowed (stock refuses them) and every transport refuses any destination but loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealScheduler } from '../../src/netstack/clock.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import { Identity } from '../../src/node/identity.js';
import { Networks } from '../../src/node/networks.js';
import { checkPlanetAllowed, Node, planetFromWorld, REFUSE_BUILTIN_PLANET_ENV, type PlanetSpec } from '../../src/node/node.js';
import { DgramUdpTransport, loopbackOnly } from '../../src/node/udp-transport.js';
import { createPrivatePlanet } from '../../src/node/world.js';
import { MemoryController } from './memory-controller.js';
import { NWID, tcpTransfer, vectorIdentities } from './sim-harness.js';

const sched = new RealScheduler();
const ids = vectorIdentities();
const started: Node[] = [];
const networks: Networks[] = [];

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

interface Member {
  node: Node;
  nets: Networks;
}

let planet: PlanetSpec;
let backend: MemoryController;
let a: Member;
let b: Member;

async function startNode(idIndex: number, transport: DgramUdpTransport): Promise<Node> {
  const node = new Node({
    identity: Identity.fromString(ids[idIndex]!.secret),
    transport,
    scheduler: sched,
    planet,
    allowLoopbackPaths: true,
  });
  node.start();
  started.push(node);
  return node;
}

const open = () => DgramUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });

beforeAll(async () => {
  process.env[REFUSE_BUILTIN_PLANET_ENV] = '1';
  const rootTransport = await open();
  const rootId = Identity.fromString(ids[0]!.secret);
  const world = createPrivatePlanet({
    id: 0x7a7e57n,
    timestamp: BigInt(Date.now()),
    roots: [{ address: rootId.address, publicKey: rootId.publicKey, stableEndpoints: rootTransport.localEndpoints() }],
  });
  if (!world.ok) throw new Error(world.error);
  planet = planetFromWorld(world.value.world);
  await startNode(0, rootTransport);
  backend = new MemoryController(() => Date.now());
  backend.createNetwork(NWID);
  const c = await startNode(1, await open());
  networks.push(new Networks(c, { controller: backend }));
  const an = await startNode(2, await open());
  const bn = await startNode(3, await open());
  a = { node: an, nets: new Networks(an) };
  b = { node: bn, nets: new Networks(bn) };
  networks.push(a.nets, b.nets);
});

afterAll(() => {
  for (const n of networks) n.close();
  for (const n of started) n.stop();
});

describe('nodes over real UDP on loopback', () => {
  it('refuses the built-in planet while the guard variable is set', () => {
    expect(() => checkPlanetAllowed({ ...planet, builtin: true })).toThrow(/built-in planet is refused/);
    expect(() => checkPlanetAllowed(planet)).not.toThrow();
  });

  it('joins, is refused until authorized, gets its address, pings and moves 4 MB over TCP', async () => {
    const na = a.nets.join(NWID);
    const nb = b.nets.join(NWID);
    expect(await waitFor(() => na.status === 'ACCESS_DENIED' && nb.status === 'ACCESS_DENIED', 15_000)).toBe(true);
    backend.authorize(NWID, a.node.address);
    backend.authorize(NWID, b.node.address);
    expect(await waitFor(() => na.status === 'OK' && nb.status === 'OK', 15_000)).toBe(true);
    const ipB = nb.stack!.addresses()[0]!.addr;

    let ping: PingResult | null = null;
    na.stack!.ping(ipB, { timeoutMs: 5_000 }, (r) => {
      ping = r;
    });
    expect(await waitFor(() => ping !== null, 6_000)).toBe(true);
    expect(ping).toMatchObject({ ok: true });
    // direct path between the members over loopback
    expect(a.node.peer(b.node.address)!.paths.best(sched.now())!.endpoint.ip).toBe('127.0.0.1');

    const SIZE = 4 * 1024 * 1024;
    const res = await tcpTransfer(na.stack!, nb.stack!, ipB, 7001, SIZE, (done, limit) => waitFor(done, limit), () => sched.now(), 60_000);
    expect(res.receivedBytes).toBe(SIZE);
    expect(res.receivedSha256).toBe(res.sentSha256);
    for (const n of started) expect(n.counters.get('rx_exception')).toBe(0);
  }, 60_000);
});
