/**
 * In-process simulation of a small ZeroTier deployment in virtual time: nodes over the in-memory
 * switchboard on a private planet with one root (R, at 10.99.0.1/9993), using the identities of
 * the stock test vectors so no identity has to be generated. Nothing here opens a socket.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { endpoint, type Endpoint } from '../../src/node/peer/endpoint.js';
import { Identity } from '../../src/node/identity/identity.js';
import { Node, type NodeOptions } from '../../src/node/node.js';
import type { PlanetSpec } from '../../src/node/planet-spec.js';
import type { UdpTransport } from '../../src/node/transport/udp-transport.js';
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

  nodeOptions(idIndex: number, port: UdpTransport): NodeOptions {
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

import { parseIpv4 } from '../../src/netstack/addr.js';
import type { PingResult } from '../../src/netstack/stack-api.js';
import type { Networks, NetworksOptions } from '../../src/node/network/networks.js';
import { assembleNode, type AssembledNode } from '../../src/node/node-assembly.js';
import type { NetworkControllerBackend } from '../../src/node/controller-link/controller-backend.js';
import { MemoryController } from './memory-controller.js';

export interface NetSimNode extends SimNode {
  nets: Networks;
}

/**
 * One root (R), one controller (C, with an in-memory backend) and members on network NWID
 * (controlled by C: the vectors' C is 3ce329f872, the network id's prefix).
 */
export class NetSim extends Sim {
  readonly backend: MemoryController;
  readonly refreshMs: number;
  readonly members = new Map<string, NetSimNode>();
  root!: SimNode;
  controller!: NetSimNode;

  /** What C answers config requests from: the in-memory backend unless another is given. */
  readonly controllerBackend: NetworkControllerBackend;

  constructor(
    opts: {
      latencyMs?: number;
      loss?: number;
      refreshMs?: number;
      credentialTimeMaxDelta?: number;
      controllerBackend?: NetworkControllerBackend;
    } = {},
  ) {
    super(opts);
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.backend = new MemoryController(this.wall);
    this.backend.createNetwork(NWID, { credentialTimeMaxDelta: opts.credentialTimeMaxDelta ?? 1_800_000 });
    this.controllerBackend = opts.controllerBackend ?? this.backend;
  }

  startInfrastructure(): void {
    this.root = this.add('R', 0, '10.99.0.1');
    this.controller = this.addWithNetworks('C', 1, '10.99.0.2', { controller: this.controllerBackend, refreshMs: this.refreshMs });
  }

  /** Restarts the root with the same identity and endpoint (its tables start empty). */
  restartRoot(): SimNode {
    this.root.node.stop();
    this.root = this.add('R', 0, '10.99.0.1');
    return this.root;
  }

  addMember(name: string, idIndex: number, ip: string): NetSimNode {
    const m = this.addWithNetworks(name, idIndex, ip, { refreshMs: this.refreshMs });
    this.members.set(name, m);
    return m;
  }

  /** A node with its networks, assembled as the daemon assembles one (add() starts it). */
  private addWithNetworks(name: string, idIndex: number, ip: string, networks: NetworksOptions): NetSimNode {
    let assembled: AssembledNode | null = null;
    const sn = this.add(name, idIndex, ip, (o) => (assembled = assembleNode({ ...o, networks, start: false })).node);
    return { ...sn, nets: assembled!.networks };
  }

  member(name: string): NetSimNode {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  status(name: string): string | undefined {
    return this.member(name).nets.get(NWID)?.status;
  }

  /** The member's first IPv4 address on the network, once configured. */
  ip(name: string): number | null {
    const a = this.member(name)
      .nets.get(NWID)
      ?.stack?.addresses()
      .find((x) => typeof x.addr === 'number')?.addr;
    return typeof a === 'number' ? a : null;
  }

  async ping(from: string, to: string, limitMs = 10_000): Promise<PingResult | null> {
    const stack = this.member(from).nets.get(NWID)?.stack;
    const dst = this.ip(to);
    if (!stack || dst === null) return null;
    let result: PingResult | null = null;
    stack.ping(dst, { timeoutMs: limitMs - 100 }, (r) => {
      result = r;
    });
    await this.until(() => result !== null, limitMs);
    return result;
  }
}

export function ipv4(text: string): number {
  const a = parseIpv4(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

import { createHash } from 'node:crypto';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { CheckedStream } from '../../src/netstack/checked-stream.js';

export interface TransferResult {
  sentSha256: string;
  receivedSha256: string;
  receivedBytes: number;
  virtualMs: number;
}

/**
 * Moves `bytes` of seeded random data over TCP from `client` to a listener on `server` (at
 * serverIp:port) and returns both SHA-256 digests. Drives time with `drive` until done.
 */
export async function tcpTransfer(
  client: NetStack,
  server: NetStack,
  serverIp: number,
  port: number,
  bytes: number,
  drive: (done: () => boolean, limitMs: number) => Promise<boolean>,
  now: () => number,
  limitMs = 600_000,
): Promise<TransferResult> {
  const data = Buffer.alloc(bytes);
  let x = 0x12345678;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data.writeInt32LE(x | 0, i);
  }
  const sentSha256 = createHash('sha256').update(data).digest('hex');
  const s = new CheckedStream(client, server, serverIp, port, {
    total: data.length,
    bytesAt: (off) => data.subarray(off, Math.min(data.length, off + 64 * 1024)),
    readBytes: 256 * 1024,
  });
  const t0 = now();
  s.connect();
  await drive(() => s.finished(), limitMs);
  s.close();
  if (s.failed !== null) throw new Error(`tcp failed: errno ${s.failed} after ${s.received} bytes`);
  return { sentSha256, receivedSha256: s.receivedSha256(), receivedBytes: s.received, virtualMs: now() - t0 };
}
