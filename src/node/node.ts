/**
 * A ZeroTier-compatible node: one identity, one underlay transport, the peers it talks to, the
 * networks it is a member of and (optionally) the networks it controls. Transport, clock and
 * randomness are injected, so many nodes can run in one process over a simulated underlay.
 */
import pino, { type Logger } from 'pino';
import { type Scheduler, type Timer, Counters, CryptoRandom, type RandomSource } from '../netstack/index.js';
import { endpointKey, type Endpoint } from './peer/endpoint.js';
import { ExpectedReplies } from './peer/expected-replies.js';
import { Identity } from './identity/identity.js';
import { handlePacket, type VerbHandlers } from './incoming.js';
import { MulticastTable } from './network/multicast.js';
import { acceptablePath, type PathPolicy } from './peer/path.js';
import { Peer } from './peer/peer.js';
import { nodeRateLimits, type NodeRateLimits } from './peer/rate-limit.js';
import { Switch, type OpenedPacket, type SendOptions } from './switch.js';
import { Timing } from './timing.js';
import { Topology } from './peer/topology.js';
import type { UdpTransport } from './transport/udp-transport.js';
import { WhoisQueue } from './peer/whois-queue.js';
import { emitHello, parseHello, type MoonRef } from './wire/hello.js';
import { PACKET_IDX_PAYLOAD, PACKET_IDX_VERB, Verb, VERB_MASK, type PacketView } from './wire/packet.js';
import { PROTOCOL_VERSION, SOFTWARE_VERSION } from './version.js';
import { emitWhois } from './wire/whois.js';
import { cryptField } from './packet/armor.js';
import { formatAddress } from './wire/address.js';
import { shouldReplaceWorld, type World } from './peer/world.js';
import { checkPlanetAllowed, MAX_MOONS, moonProblem, planetFromWorld, startingMoons, type PlanetSpec } from './planet-spec.js';
import { PacketCounts } from './packet-counts.js';
import { helloMoonRefs } from './moon-updates.js';

/** The options of a send that has none (not a new object per packet). */
const NO_SEND_OPTIONS: SendOptions = {};

/** A root with no live path is retried this often at its stable endpoints. */
const ROOT_RETRY_MS = 5_000;

export interface NodeOptions {
  /** Our identity, with its private key. */
  identity: Identity;
  transport: UdpTransport;
  scheduler: Scheduler;
  planet: PlanetSpec;
  /** Accept loopback/link-local paths (single-machine setups). Default false, as stock. */
  allowLoopbackPaths?: boolean;
  /** Refuse the built-in planet; default from ZTNC_REFUSE_BUILTIN_PLANET=1. */
  refuseBuiltinPlanet?: boolean;
  /** Wall-clock milliseconds since the epoch (HELLO timestamps, config and certificate times). */
  wallClock?: () => number;
  random?: RandomSource;
  logger?: Logger;
  /** Moons to orbit from the start (each verified against its own signing key). */
  moons?: World[];
}

export class Node {
  readonly identity: Identity;
  readonly address: bigint;
  readonly counters = new Counters();
  /** Counted for every authenticated packet (incoming.ts). */
  readonly rxPackets = this.counters.cell('rx_packets');
  /** Packets by verb each way, ERRORs sent by code (stock's zt_packet and zt_packet_error). */
  readonly packetCounts = new PacketCounts();
  readonly topology = new Topology();
  /** Multicast subscriptions: as a root everyone's, as a member those learned from gathers. */
  readonly multicast = new MulticastTable();
  readonly expecting = new ExpectedReplies<unknown>();
  readonly log: Logger;
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  readonly wallClock: () => number;
  readonly pathPolicy: PathPolicy;
  /** Our planet; replaced when a root sends a newer copy signed with its update key (planet-updates.ts). */
  planet: PlanetSpec;
  /** Hears each planet update taken (the service keeps it in the home). */
  onPlanetChanged: ((planet: World) => void) | null = null;
  /** Moons we orbit, by id: their roots are roots to us too. */
  private readonly moons: Map<bigint, World>;
  /** Moons asked for (timestamp 0 in our HELLOs) until a seed sends them (moon-updates.ts). */
  readonly moonsWanted = new Set<bigint>();
  /** Hears moons that came in OK(HELLO): updates of ours (applied), or ones in moonsWanted. */
  onMoonArrived: ((moon: World, from: Peer, orbiting: boolean) => void) | null = null;
  readonly limits: NodeRateLimits;
  /** Network-level verb handling, set by the layer that owns networks. */
  handlers: VerbHandlers | null = null;
  private readonly switch: Switch;
  private readonly transport: UdpTransport;
  private readonly whoisWaiting = new WhoisQueue();
  /** Identities whose memory-hard check passed or failed, by string form. */
  private readonly verdicts = new Map<string, boolean>();
  /** Packets from identities under validation. */
  private readonly validating = new Map<string, { packet: Buffer; from: Endpoint }[]>();
  private readonly inflight = new Set<Promise<void>>();
  private tickTimer: Timer | null = null;
  private running = false;
  private readonly tickHooks: ((now: number) => void)[] = [];

  constructor(opts: NodeOptions) {
    checkPlanetAllowed(opts.planet, opts.refuseBuiltinPlanet);
    if (!opts.identity.hasPrivate) throw new Error('the node identity needs its private key');
    this.identity = opts.identity;
    this.address = opts.identity.address;
    this.planet = opts.planet;
    this.scheduler = opts.scheduler;
    this.random = opts.random ?? new CryptoRandom();
    this.wallClock = opts.wallClock ?? (() => Date.now());
    this.transport = opts.transport;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ node: this.identity.addressHex });
    this.pathPolicy = { allowLoopbackPaths: opts.allowLoopbackPaths ?? false };
    this.limits = nodeRateLimits(this.scheduler);
    this.moons = startingMoons(opts.moons ?? []);
    this.updateRoots();
    const node = this;
    this.switch = new Switch(
      {
        address: this.address,
        get isRoot() {
          return node.isRoot;
        },
        topology: this.topology,
        counters: this.counters,
        packetCounts: this.packetCounts,
        scheduler: this.scheduler,
        random: this.random,
        log: this.log,
        onPacket: (peer, pkt, from) => handlePacket(this, peer, pkt, from),
        onStranger: (packet, view, from) => this.fromStranger(packet, view, from),
      },
      this.transport,
    );
  }

  get hex(): string {
    return this.identity.addressHex;
  }

  /** True when we are a root of our planet or of a moon we orbit: we relay, answer WHOIS and gathers. */
  get isRoot(): boolean {
    return this.topology.isRoot(this.address);
  }

  /** Roots of the planet, then of each moon (an address listed twice counts once). */
  private updateRoots(): void {
    const entries = new Map<bigint, { address: bigint; endpoints: Endpoint[] }>();
    for (const r of this.planet.roots) entries.set(r.identity.address, { address: r.identity.address, endpoints: [...r.endpoints] });
    for (const moon of this.moons.values()) {
      for (const r of moon.roots) {
        const e = entries.get(r.address);
        if (e) e.endpoints.push(...r.stableEndpoints.filter((ep) => !e.endpoints.some((x) => endpointKey(x) === endpointKey(ep))));
        else entries.set(r.address, { address: r.address, endpoints: [...r.stableEndpoints] });
      }
    }
    this.topology.setRoots([...entries.values()]);
  }

  /** Roots' identities come signed in the planet or a moon: no memory-hard check; their stable endpoints become paths. */
  private adoptRoots(roots: { identity: Identity; endpoints: Endpoint[] }[]): Peer[] {
    const out: Peer[] = [];
    for (const r of roots) {
      if (r.identity.address === this.address) continue;
      this.verdicts.set(r.identity.toString(), true);
      const peer = this.peerFor(r.identity);
      if (!peer) continue;
      for (const ep of r.endpoints) peer.paths.add(ep);
      out.push(peer);
    }
    return out;
  }

  private moonRoots(moon: World): { identity: Identity; endpoints: Endpoint[] }[] {
    return moon.roots.map((r) => ({ identity: Identity.fromParts(r.address, r.publicKey), endpoints: r.stableEndpoints }));
  }

  /**
   * Orbits a moon: its roots become roots to us (HELLO, WHOIS, relaying, multicast gathers) and
   * our HELLOs name it. A newer copy of a moon we orbit replaces the old one. Throws when the moon
   * is unusable (wrong type, no roots, bad signature) or too many are orbited.
   */
  orbit(moon: World): void {
    const problem = moonProblem(moon);
    if (problem) throw new Error(problem);
    const current = this.moons.get(moon.id);
    if (!current && this.moons.size >= MAX_MOONS) throw new Error(`cannot orbit more than ${MAX_MOONS} moons`);
    if (current) {
      if (moon.timestamp <= current.timestamp) return;
      // an update must be signed with the key the moon we hold names
      if (!shouldReplaceWorld(current, moon)) throw new Error(`moon ${moon.id.toString(16)}: update not signed by its update key`);
    }
    this.moons.set(moon.id, moon);
    this.updateRoots();
    if (this.running) this.greet(this.adoptRoots(this.moonRoots(moon)));
  }

  /** Takes a planet update that planet-updates.ts judged acceptable: its roots are ours and greeted now. */
  adoptPlanet(planet: World): void {
    this.planet = planetFromWorld(planet);
    this.updateRoots();
    if (this.running) this.greet(this.adoptRoots(this.planet.roots));
    this.onPlanetChanged?.(planet);
  }

  /** HELLO at every known path of each (new) root. */
  private greet(roots: Peer[]): void {
    for (const peer of roots) for (const p of peer.paths.all()) this.sendHello(peer, p.endpoint);
  }

  /** Stops orbiting a moon; its roots are ordinary peers again (unless the planet lists them). */
  deorbit(id: bigint): boolean {
    if (!this.moons.delete(id)) return false;
    this.updateRoots();
    return true;
  }

  moonWorlds(): World[] {
    return [...this.moons.values()];
  }

  /** HELLOs `address`, looking its identity up (WHOIS) first when unknown: how a moon seed is asked. */
  helloTo(address: bigint): void {
    const peer = this.topology.get(address);
    if (peer) return this.sendHello(peer);
    const later = this.topology.get.bind(this.topology, address);
    const send = (): void => later() && this.sendHello(later()!);
    if (address !== this.address && this.whoisWaiting.add(address, { kind: 'out', send }, this.now())) this.sendWhois(address);
  }

  /** The moons we orbit, as HELLO names them. */
  orbiting(): MoonRef[] {
    return [...this.moons.values()].map((m) => ({ type: m.type, worldId: m.id, timestamp: m.timestamp }));
  }

  now(): number {
    return this.scheduler.now();
  }

  get started(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.transport.onReceive((data, from) => this.switch.receive(data, from));
    this.adoptRoots(this.planet.roots);
    for (const moon of this.moons.values()) this.adoptRoots(this.moonRoots(moon));
    this.contactRoots(true);
    this.scheduleTick();
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.transport.close();
  }

  /** Adds periodic work (networks, controller) to the node's tick. */
  onTick(fn: (now: number) => void): void {
    this.tickHooks.push(fn);
  }

  // ---------------------------------------------------------------- peers

  /** The peer with this identity, created (with the agreed key) when new; undefined on an address collision. */
  peerFor(identity: Identity): Peer | undefined {
    const existing = this.topology.get(identity.address);
    if (existing) {
      if (existing.identity.equals(identity)) return existing;
      this.counters.inc('identity_collision');
      return undefined;
    }
    let key: Buffer;
    try {
      key = this.identity.agree(identity);
    } catch {
      this.counters.inc('rx_drop_bad_key');
      return undefined;
    }
    const peer = new Peer(identity.publicOnly(), key);
    if (!this.topology.add(peer)) {
      this.counters.inc('peer_table_full');
      return undefined;
    }
    this.counters.inc('peers_added');
    return peer;
  }

  /** Peer by address, if we have a session. */
  peer(address: bigint): Peer | undefined {
    return this.topology.get(address);
  }

  /**
   * Validates `identity` (memory-hard check, off the event loop, once per identity) and then runs
   * `then` with its peer. Packets meanwhile wait, bounded; invalid identities are counted and dropped.
   */
  withValidIdentity(identity: Identity, then: (peer: Peer) => void, onInvalid?: () => void): void {
    const key = identity.toString();
    const verdict = this.verdicts.get(key);
    if (verdict === false) {
      onInvalid?.();
      return void this.counters.inc('rx_drop_invalid_identity');
    }
    if (verdict === true) {
      const peer = this.peerFor(identity);
      if (peer) then(peer);
      else onInvalid?.();
      return;
    }
    this.counters.inc('identity_checks');
    const pending = identity.locallyValidate().then((ok) => {
      if (this.verdicts.size > 10_000) this.verdicts.clear();
      this.verdicts.set(key, ok);
      if (!this.running) return;
      if (!ok) {
        onInvalid?.();
        return void this.counters.inc('rx_drop_invalid_identity');
      }
      const peer = this.peerFor(identity);
      if (peer) then(peer);
      else onInvalid?.();
    });
    this.inflight.add(pending);
    void pending.finally(() => this.inflight.delete(pending));
  }

  /** Resolves when no identity check is in flight (simulations wait on it before moving time on). */
  async whenIdle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** A whole packet from an address we have no identity for: HELLO carries one; anything else waits for WHOIS. */
  private fromStranger(packet: Buffer, view: PacketView, from: Endpoint): void {
    const src = view.source;
    const plainHello = view.cipher === 0 && (packet[PACKET_IDX_VERB]! & VERB_MASK) === Verb.HELLO;
    if (plainHello) {
      if (!this.limits.stranger.allow(endpointKey(from))) return void this.counters.inc('rx_drop_rate_limited');
      const hello = parseHello(packet.subarray(PACKET_IDX_PAYLOAD));
      if (!hello.ok) return void this.counters.inc('rx_drop_bad_hello');
      const idb = hello.value.identity;
      if (idb.address !== src) return void this.counters.inc('rx_drop_bad_hello');
      let identity: Identity;
      try {
        identity = Identity.fromParts(idb.address, idb.publicKey);
      } catch {
        return void this.counters.inc('rx_drop_bad_hello');
      }
      const existing = this.topology.get(src);
      if (existing) {
        // a known peer's HELLO that failed its MAC; or someone else claims a known address (or
        // the peer came back with a new key): the old session stands until it expires, as stock
        // keeps the first identity it saw
        return void this.counters.inc(existing.identity.equals(identity) ? 'rx_drop_mac' : 'identity_collision');
      }
      const held = Buffer.from(packet);
      const key = identity.toString();
      const waiting = this.validating.get(key);
      if (waiting) {
        if (waiting.length < 8) waiting.push({ packet: held, from });
        else this.counters.inc('rx_drop_validation_backlog');
        return;
      }
      if (this.validating.size >= 256) return void this.counters.inc('rx_drop_validation_backlog');
      this.validating.set(key, [{ packet: held, from }]);
      this.withValidIdentity(
        identity,
        (peer) => {
          const items = this.validating.get(key) ?? [];
          this.validating.delete(key);
          for (const it of items) this.switch.open(peer, it.packet, it.from);
          // what it sent beside its HELLO waited for its identity (as for a WHOIS answer)
          this.releaseWaiting(src);
        },
        () => this.validating.delete(key),
      );
      return;
    }
    // one endpoint cannot make us look up thousands of made-up addresses
    if (!this.limits.stranger.allow(`whois/${endpointKey(from)}`)) return void this.counters.inc('rx_drop_rate_limited');
    if (this.whoisWaiting.add(src, { kind: 'in', packet: Buffer.from(packet), from }, this.now())) this.sendWhois(src);
  }

  /** An identity arrived in OK(WHOIS) from a root: process what waited for it. */
  learnedIdentity(identity: Identity): void {
    if (!this.whoisWaiting.has(identity.address)) return;
    this.withValidIdentity(identity, () => this.releaseWaiting(identity.address));
  }

  /** Packets from and to `address` that waited for its identity, now known and valid. */
  private releaseWaiting(address: bigint): void {
    for (const item of this.whoisWaiting.take(address)) {
      if (item.kind === 'in') this.switch.whole(item.packet, item.from);
      else item.send();
    }
  }

  // ---------------------------------------------------------------- send

  /** Sends to a known peer; returns whether the packet went out. */
  sendPacket(peer: Peer, verb: number, payload: Buffer, opts: SendOptions & { expectReply?: unknown } = NO_SEND_OPTIONS): boolean {
    const packet = this.switch.send(peer, verb, payload, opts);
    if (packet !== null && opts.expectReply !== undefined) {
      // replies name the request by its on-wire id, bytes 0-7 of the packet as sent
      this.expecting.add(packet.readBigUInt64BE(0), { verb, peer: peer.hex, sentAt: this.now(), context: opts.expectReply });
    }
    return packet !== null;
  }

  /**
   * Sends to an address; when its identity is unknown the send waits for WHOIS (bounded).
   * `beforeSend` runs with the peer just before the packet goes (immediately or after WHOIS).
   * `opts` is read now (a copy waits with the payload), so a caller may reuse one object.
   */
  sendTo(
    address: bigint,
    verb: number,
    payload: Buffer,
    opts: SendOptions & { expectReply?: unknown; beforeSend?: (peer: Peer) => void } = {},
  ): void {
    const peer = this.topology.get(address);
    if (peer) {
      opts.beforeSend?.(peer);
      this.sendPacket(peer, verb, payload, opts);
      return;
    }
    if (address === this.address) return;
    const later = { ...opts };
    const send = (): void => {
      const p = this.topology.get(address);
      if (!p) return;
      later.beforeSend?.(p);
      this.sendPacket(p, verb, payload, later);
    };
    if (this.whoisWaiting.add(address, { kind: 'out', send }, this.now())) this.sendWhois(address);
  }

  sendHello(peer: Peer, via?: Endpoint): void {
    const now = this.now();
    const dest = via ?? peer.paths.best(now)?.endpoint ?? null;
    const { payload, trailerOffset } = emitHello({
      protocolVersion: PROTOCOL_VERSION,
      versionMajor: SOFTWARE_VERSION[0],
      versionMinor: SOFTWARE_VERSION[1],
      versionRevision: SOFTWARE_VERSION[2],
      timestamp: BigInt(Math.floor(this.wallClock())),
      address: this.address,
      publicKey: this.identity.publicKey,
      physicalDestination: dest,
      planetWorldId: this.planet.id,
      planetWorldTimestamp: this.planet.timestamp,
      moons: helloMoonRefs(this.orbiting(), this.moonsWanted),
    });
    peer.lastHelloSent = now;
    this.sendPacket(peer, Verb.HELLO, payload, {
      via,
      cipher: 0,
      expectReply: { sentAt: now },
      // stock hides the moon list with Salsa20/12 under the unmangled key
      beforeArmor: (packet) => {
        const start = PACKET_IDX_PAYLOAD + trailerOffset;
        cryptField(peer.key, packet, start, packet.length - start);
      },
    });
  }

  sendWhois(address: bigint): void {
    const now = this.now();
    const root = this.topology.bestRoot(now) ?? this.topology.rootPeers()[0];
    if (!root || root.address === address) return void this.counters.inc('whois_no_root');
    this.sendPacket(root, Verb.WHOIS, emitWhois([address]), { expectReply: { address } });
    this.counters.inc('whois_sent');
  }

  /** Raw datagram (NAT opener). */
  sendRaw(to: Endpoint, data: Buffer): void {
    this.switch.sendRaw(to, data);
  }

  /**
   * A packet arrived directly (hops 0) from `from`. Known paths are refreshed; an unknown one is
   * learned when `learn` (an OK to our HELLO proves it), otherwise probed with a HELLO.
   */
  confirmPath(peer: Peer, from: Endpoint, learn: boolean, now = this.now()): void {
    // a known path passed the policy when it was added (peers' path sets only hold acceptable ones)
    const existing = peer.paths.get(from);
    if (!existing && !acceptablePath(from, this.pathPolicy)) return;
    if (existing) {
      const wasAlive = existing.alive(now);
      existing.received(now);
      if (!wasAlive && learn) this.pathCameUp(peer);
      return;
    }
    if (learn) {
      peer.paths.add(from).received(now);
      this.counters.inc('paths_learned');
      this.pathCameUp(peer);
    } else if (this.limits.pathProbe.allow(`${peer.hex}/${endpointKey(from)}`)) {
      this.sendHello(peer, from);
    }
  }

  /** Listeners for a root session coming (back) up: members re-announce multicast subscriptions. */
  private readonly rootUpHooks: ((root: Peer) => void)[] = [];
  onRootUp(fn: (root: Peer) => void): void {
    this.rootUpHooks.push(fn);
  }

  private pathCameUp(peer: Peer): void {
    if (this.topology.isRoot(peer.address)) for (const fn of this.rootUpHooks) fn(peer);
  }

  // ---------------------------------------------------------------- periodic work

  private scheduleTick(): void {
    this.tickTimer = this.scheduler.setTimer(Timing.tick, () => {
      if (!this.running) return;
      try {
        this.tick();
      } catch (err) {
        this.counters.inc('tick_exception');
        this.log.warn({ err: (err as Error).message }, 'periodic work failed');
      }
      this.scheduleTick();
    });
  }

  private contactRoots(force: boolean): void {
    const now = this.now();
    for (const root of this.topology.rootPeers()) {
      const alive = root.paths.best(now);
      if (alive) {
        if (force || now - root.lastHelloSent >= Timing.pathHeartbeat) this.sendHello(root, alive.endpoint);
      } else if (force || now - root.lastHelloSent >= ROOT_RETRY_MS) {
        const entry = this.topology.rootEntries().find((r) => r.address === root.address);
        const eps = new Map<string, Endpoint>();
        for (const p of root.paths.all()) eps.set(p.key, p.endpoint);
        for (const ep of entry?.endpoints ?? []) eps.set(endpointKey(ep), ep);
        for (const ep of eps.values()) this.sendHello(root, ep);
      }
    }
  }

  private tick(): void {
    const now = this.now();
    this.contactRoots(false);
    for (const peer of this.topology.all()) {
      if (this.topology.isRoot(peer.address)) continue;
      // keep paths to peers we are talking with warm; idle sessions are left to expire
      if (now - peer.lastReceive > Timing.peerPing * 2) continue;
      const best = peer.paths.best(now);
      if (best) {
        if (best.needsHeartbeat(now)) this.sendHello(peer, best.endpoint);
      } else if (now - peer.lastHelloSent >= Timing.pathHeartbeat) {
        this.sendHello(peer); // relayed by a root, which answers with RENDEZVOUS
      }
    }
    for (const addr of this.whoisWaiting.due(now)) this.sendWhois(addr);
    for (const fn of this.tickHooks) fn(now);
    this.topology.expire(now);
    this.expecting.expire(now);
    if (this.isRoot) this.multicast.expire(now);
  }

  /** Sizes of every table a stranger can make grow: all bounded. */
  footprint(): {
    peers: number;
    whoisWaiting: number;
    validating: number;
    fragmentBytes: number;
    fragmentPackets: number;
    multicast: number;
  } {
    const f = this.switch.reassemblyHeld();
    return {
      peers: this.topology.size,
      whoisWaiting: this.whoisWaiting.size,
      validating: this.validating.size,
      fragmentBytes: f.bytes,
      fragmentPackets: f.packets,
      multicast: this.multicast.size,
    };
  }

  describe(): string {
    return formatAddress(this.address);
  }
}

export type { OpenedPacket };
