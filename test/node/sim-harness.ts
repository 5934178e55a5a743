/**
 * In-process simulation of a small ZeroTier deployment in virtual time: nodes over the in-memory
 * switchboard on a private planet with one root (R, at 10.99.0.1/9993), using the identities of
 * the stock test vectors so no identity has to be generated. Nothing here opens a socket.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { endpoint, type Endpoint } from '../../src/node/endpoint.js';
import { Identity } from '../../src/node/identity.js';
import { Node, type NodeOptions, type PlanetSpec } from '../../src/node/node.js';
import { Switchboard, type SwitchboardPort } from './switchboard.js';

import { VECTORS_DIR } from '../support/vectors.js';
export const VECTORS = VECTORS_DIR;

interface VectorIdentity {
  name: string;
  address: string;
  secret: string;
}

export function vectorIdentities(): VectorIdentity[] {
  const j = JSON.parse(readFileSync(path.join(VECTORS, 'identities.json'), 'utf8')) as { valid: VectorIdentity[] };
  return j.valid;
}

/** Virtual wall clock origin: close to the vectors' capture time. */
export const EPOCH = 1_795_346_400_000;
export const NWID = 0x3ce329f872000001n;

export interface SimNode {
  name: string;
  node: Node;
  port: SwitchboardPort;
  ep: Endpoint;
  identity: Identity;
}

export function ep(ip: string, port = 9993): Endpoint {
  const e = endpoint(ip, port);
  if (!e) throw new Error(`bad endpoint ${ip}`);
  return e;
}

export class Sim {
  readonly sched = new VirtualScheduler(0);
  readonly board: Switchboard;
  readonly nodes = new Map<string, SimNode>();
  readonly ids = vectorIdentities();
  readonly planet: PlanetSpec;

  constructor(opts: { latencyMs?: number; loss?: number } = {}) {
    this.board = new Switchboard(this.sched, { latencyMs: opts.latencyMs ?? 1, loss: opts.loss ?? 0, seed: 7 });
    this.planet = {
      id: 424242424242n,
      timestamp: 1795346356449n,
      builtin: false,
      roots: [{ identity: Identity.fromString(this.ids[0]!.secret).publicOnly(), endpoints: [ep('10.99.0.1')] }],
    };
  }

  wall = (): number => EPOCH + this.sched.now();

  /** Identity i of the vectors (0 = R, the root; 1 = C, the controller; 2, 3, 4… members). */
  identity(i: number): Identity {
    return Identity.fromString(this.ids[i]!.secret);
  }

  nodeOptions(idIndex: number, port: SwitchboardPort): NodeOptions {
    return {
      identity: this.identity(idIndex),
      transport: port,
      scheduler: this.sched,
      planet: this.planet,
      refuseBuiltinPlanet: true,
      wallClock: this.wall,
      random: new SeededRandom(1000 + idIndex * 7 + this.sched.now()),
    };
  }

  add(name: string, idIndex: number, ip: string, build: (opts: NodeOptions) => Node = (o) => new Node(o)): SimNode {
    const e = ep(ip);
    const port = this.board.attach(e);
    const node = build(this.nodeOptions(idIndex, port));
    const sn: SimNode = { name, node, port, ep: e, identity: node.identity };
    this.nodes.set(name, sn);
    node.start();
    return sn;
  }

  get(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Advances virtual time by `ms`, yielding to the event loop between steps (identity checks run in a worker). */
  async run(ms: number, step = 100): Promise<void> {
    const end = this.sched.now() + ms;
    while (this.sched.now() < end) {
      this.sched.advance(Math.min(step, end - this.sched.now()));
      await this.settle();
    }
  }

  /** Runs until `done()` or until `limitMs` of virtual time pass; returns done(). */
  async until(done: () => boolean, limitMs: number, step = 100): Promise<boolean> {
    const end = this.sched.now() + limitMs;
    while (!done() && this.sched.now() < end) {
      this.sched.runUntil(done, Math.min(step, end - this.sched.now()));
      await this.settle();
    }
    return done();
  }

  /** Lets asynchronous work finish before virtual time moves on. */
  async settle(): Promise<void> {
    await settle();
    await Promise.all([...this.nodes.values()].map((n) => n.node.whenIdle()));
    await settle();
  }

  stopAll(): void {
    for (const n of this.nodes.values()) n.node.stop();
  }
}

/** Lets promise callbacks and worker replies run. */
export async function settle(): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
}
