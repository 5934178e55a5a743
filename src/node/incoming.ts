/**
 * What a node does with each verb of an authenticated packet from a known peer: the peer-level
 * verbs here (HELLO, OK, ERROR, WHOIS, RENDEZVOUS, ECHO, PUSH_DIRECT_PATHS, and the root's side of
 * MULTICAST_LIKE/GATHER), network-level verbs handed to `node.handlers`. Malformed payloads are
 * dropped and counted; nothing here throws on bad input.
 */
import { moonUpdatesFor, takeWorldUpdates, type MoonHolder } from './moon-updates.js';
import { planetUpdateFor, type PlanetHolder } from './planet-updates.js';
import type { Endpoint } from './peer/endpoint.js';
import { Identity } from './identity/identity.js';
import type { CounterCell, Counters } from '../netstack/index.js';
import type { ExpectedReplies } from './peer/expected-replies.js';
import type { MulticastTable } from './network/multicast.js';
import { acceptablePath, type PathPolicy } from './peer/path.js';
import type { RateLimiter } from './peer/rate-limit.js';
import type { Topology } from './peer/topology.js';
import { PROTOCOL_VERSION, SOFTWARE_VERSION } from './version.js';
import type { Peer } from './peer/peer.js';
import type { OpenedPacket, SendOptions } from './switch.js';
import { parseEcho } from './wire/echo.js';
import { cryptField } from './packet/armor.js';
import { emitOkHello, parseHello, parseHelloMoons, parseOkHello } from './wire/hello.js';
import { parseMulticastGather, emitOkMulticastGather } from './wire/multicast-gather.js';
import { parseMulticastLike } from './wire/multicast-like.js';
import { emitOk, parseError, parseOk, type ErrorMessage, type OkMessage } from './wire/ok-error.js';
import { Verb } from './wire/packet.js';
import { parseRendezvous } from './wire/rendezvous.js';
import { emitOkWhois, parseOkWhois, parseWhois } from './wire/whois.js';
import { parsePushDirectPaths } from './wire/push-direct-paths.js';

/** What packet handling needs of its node: Node passes itself, this file never imports node.ts. */
export interface IncomingNode extends MoonHolder, PlanetHolder {
  readonly identity: Identity;
  readonly address: bigint;
  readonly counters: Counters;
  readonly rxPackets: CounterCell;
  readonly topology: Topology;
  readonly multicast: MulticastTable;
  readonly expecting: ExpectedReplies<unknown>;
  readonly pathPolicy: PathPolicy;
  readonly limits: { readonly whoisAnswer: RateLimiter; readonly gather: RateLimiter; readonly pathProbe: RateLimiter };
  readonly handlers: VerbHandlers | null;
  readonly isRoot: boolean;
  now(): number;
  /** `now`: the scheduler's time, when the caller has read it already. */
  confirmPath(peer: Peer, from: Endpoint, learn: boolean, now?: number): void;
  learnedIdentity(identity: Identity): void;
  sendPacket(peer: Peer, verb: number, payload: Buffer, opts?: SendOptions): boolean;
  sendHello(peer: Peer, via?: Endpoint): void;
  sendRaw(to: Endpoint, data: Buffer): void;
}

/**
 * The request a packet is: `wireId` is its on-wire id, which replies name. An OpenedPacket reads
 * it from its bytes on demand, so a frame that needs no reply makes no bigint.
 */
export interface RequestRef {
  readonly wireId: bigint;
}

/** Network-level verbs, handled by the layer that owns networks and the controller. */
export interface VerbHandlers {
  /**
   * FRAME, EXT_FRAME, MULTICAST_FRAME, NETWORK_CREDENTIALS, NETWORK_CONFIG, member-side MULTICAST_LIKE.
   * `headroom`: bytes before `payload` in its buffer that are free to overwrite (see OpenedPacket).
   */
  onNetworkVerb(peer: Peer, verb: number, payload: Buffer, request: RequestRef, headroom?: number): void;
  /** `from` is the physical source when the request came directly (hops 0), null when relayed, as stock records it. */
  onConfigRequest(peer: Peer, payload: Buffer, wireId: bigint, from?: Endpoint | null): void;
  /** OK to a request we made that is not peer-level (config, gather, multicast frame, config-push acks). */
  onOk(peer: Peer, ok: OkMessage, context: unknown): void;
  onError(peer: Peer, err: ErrorMessage, context: unknown): void;
}

export function handlePacket(node: IncomingNode, peer: Peer, pkt: OpenedPacket, from: Endpoint): void {
  node.rxPackets.n++;
  const direct = pkt.hops === 0;
  const { verb, payload } = pkt;
  if (direct && verb !== Verb.HELLO && verb !== Verb.OK) node.confirmPath(peer, from, false, pkt.at);
  switch (verb) {
    case Verb.NOP:
      return;
    case Verb.HELLO:
      return onHello(node, peer, pkt, from, direct);
    case Verb.OK:
      return onOk(node, peer, payload, from, direct);
    case Verb.ERROR:
      return onError(node, peer, payload);
    case Verb.WHOIS:
      return onWhois(node, peer, payload, pkt.wireId);
    case Verb.RENDEZVOUS:
      return onRendezvous(node, peer, payload);
    case Verb.ECHO: {
      const e = parseEcho(payload);
      if (!e.ok) return void node.counters.inc('rx_drop_bad_echo');
      node.sendPacket(peer, Verb.OK, emitOk(Verb.ECHO, idBytes(pkt.wireId), e.value));
      return;
    }
    case Verb.PUSH_DIRECT_PATHS:
      return onPushDirectPaths(node, peer, payload);
    case Verb.MULTICAST_LIKE:
      return onMulticastLike(node, peer, payload, pkt);
    case Verb.MULTICAST_GATHER:
      return onMulticastGather(node, peer, payload, pkt.wireId);
    case Verb.NETWORK_CONFIG_REQUEST:
      if (!node.handlers) return void node.counters.inc('rx_drop_no_controller');
      return node.handlers.onConfigRequest(peer, payload, pkt.wireId, direct ? from : null);
    case Verb.FRAME:
    case Verb.EXT_FRAME:
    case Verb.MULTICAST_FRAME:
    case Verb.NETWORK_CREDENTIALS:
    case Verb.NETWORK_CONFIG:
      if (!node.handlers) return void node.counters.inc('rx_drop_no_network');
      return node.handlers.onNetworkVerb(peer, verb, payload, pkt, pkt.headroom);
    default:
      node.counters.inc('rx_drop_unknown_verb');
  }
}

export function idBytes(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(id);
  return b;
}

function onHello(node: IncomingNode, peer: Peer, pkt: OpenedPacket, from: Endpoint, direct: boolean): void {
  const h = parseHello(pkt.payload);
  if (!h.ok) return void node.counters.inc('rx_drop_bad_hello');
  const hello = h.value;
  if (hello.identity.address !== peer.address || !hello.identity.publicKey.equals(peer.identity.publicKey)) {
    return void node.counters.inc('rx_drop_bad_hello');
  }
  peer.remoteProtocol = hello.protocolVersion;
  peer.remoteVersion = [hello.versionMajor, hello.versionMinor, hello.versionRevision];
  if (hello.trailer.length >= 2) {
    // the moon list is hidden with Salsa20/12 under the unmangled key, IV from the packet id
    const field = Buffer.concat([pkt.packet.subarray(0, 8), hello.trailer]);
    cryptField(peer.key, field, 8, hello.trailer.length);
    const moons = parseHelloMoons(field.subarray(8));
    if (moons.ok) peer.moons = moons.value;
    else node.counters.inc('rx_bad_hello_moons');
  }
  // answer over the path it came in on: our OK is what confirms that path at the other end
  node.sendPacket(
    peer,
    Verb.OK,
    emitOk(
      Verb.HELLO,
      idBytes(pkt.wireId),
      emitOkHello({
        timestampEcho: hello.timestamp,
        protocolVersion: PROTOCOL_VERSION,
        versionMajor: SOFTWARE_VERSION[0],
        versionMinor: SOFTWARE_VERSION[1],
        versionRevision: SOFTWARE_VERSION[2],
        physicalDestination: from,
        // our planet when it holds an older copy of it, then the newer copies of moons it names
        // that we hold (a seed answering a node that wants one), as stock's _doHELLO
        worldUpdates: worldUpdatesFor(node, hello.planetWorldId, hello.planetWorldTimestamp, peer.moons),
      }),
    ),
    direct ? { via: from } : {},
  );
  if (direct) node.confirmPath(peer, from, false);
}

function worldUpdatesFor(node: IncomingNode, planetId: bigint | null, planetTimestamp: bigint | null, moons: Peer['moons']): Buffer {
  const planet = planetUpdateFor(node.planet, planetId, planetTimestamp);
  const moonUpdates = moonUpdatesFor(node.moonWorlds(), moons);
  return planet.length === 0 ? moonUpdates : Buffer.concat([planet, moonUpdates]);
}

function onOk(node: IncomingNode, peer: Peer, payload: Buffer, from: Endpoint, direct: boolean): void {
  const o = parseOk(payload);
  if (!o.ok) return void node.counters.inc('rx_drop_bad_ok');
  const ok = o.value;
  const now = node.now();
  const inRe = ok.inRePacketId.readBigUInt64BE(0);
  const expected = node.expecting.match(inRe, ok.inReVerb, peer.hex, now);
  if (ok.inReVerb === Verb.HELLO) {
    if (!expected) return void node.counters.inc('rx_drop_unexpected_ok');
    const body = parseOkHello(ok.body);
    if (!body.ok) return void node.counters.inc('rx_drop_bad_ok');
    node.expecting.take(inRe);
    if (body.value.worldUpdates.length > 0) takeWorldUpdates(node, peer, body.value.worldUpdates);
    peer.remoteProtocol = body.value.protocolVersion;
    peer.remoteVersion = [body.value.versionMajor, body.value.versionMinor, body.value.versionRevision];
    if (direct) {
      node.confirmPath(peer, from, true);
      const ctx = expected.context as { sentAt: number };
      peer.paths.get(from)?.updateLatency(now - ctx.sentAt);
    }
    return;
  }
  if (direct) node.confirmPath(peer, from, false);
  switch (ok.inReVerb) {
    case Verb.WHOIS: {
      // only roots are trusted to tell us who an address is
      if (!expected || !node.topology.isRoot(peer.address)) return void node.counters.inc('rx_drop_untrusted_whois');
      const ids = parseOkWhois(ok.body);
      if (!ids.ok) return void node.counters.inc('rx_drop_bad_ok');
      for (const idb of ids.value) {
        try {
          node.learnedIdentity(Identity.fromParts(idb.address, idb.publicKey));
        } catch {
          node.counters.inc('rx_drop_bad_identity');
        }
      }
      return;
    }
    case Verb.ECHO:
      if (expected) {
        node.expecting.take(inRe);
        node.counters.inc('echo_answered');
        const ctx = expected.context as { sentAt?: number };
        if (ctx.sentAt !== undefined) peer.paths.get(from)?.updateLatency(now - ctx.sentAt);
        return;
      }
      // stock acks a config push with OK in-re ECHO
      node.handlers?.onOk(peer, ok, undefined);
      return;
    default:
      if (!expected) return void node.counters.inc('rx_drop_unexpected_ok');
      node.handlers?.onOk(peer, ok, expected.context);
  }
}

function onError(node: IncomingNode, peer: Peer, payload: Buffer): void {
  const e = parseError(payload);
  if (!e.ok) return void node.counters.inc('rx_drop_bad_error');
  const err = e.value;
  node.counters.inc(`rx_error_code_${err.code}`);
  const inRe = err.inRePacketId.readBigUInt64BE(0);
  const expected = node.expecting.match(inRe, err.inReVerb, peer.hex, node.now());
  node.handlers?.onError(peer, err, expected?.context);
}

function onWhois(node: IncomingNode, peer: Peer, payload: Buffer, wireId: bigint): void {
  if (!node.limits.whoisAnswer.allow(peer.hex)) return void node.counters.inc('rx_drop_rate_limited');
  const w = parseWhois(payload);
  if (!w.ok) return void node.counters.inc('rx_drop_bad_whois');
  const known: Identity[] = [];
  for (const a of w.value) {
    if (a === node.address) known.push(node.identity);
    else {
      const p = node.topology.get(a);
      if (p) known.push(p.identity);
    }
  }
  if (known.length === 0) return void node.counters.inc('whois_unknown');
  node.sendPacket(peer, Verb.OK, emitOk(Verb.WHOIS, idBytes(wireId), emitOkWhois(known.slice(0, 16))));
}

function onRendezvous(node: IncomingNode, peer: Peer, payload: Buffer): void {
  if (!node.topology.isRoot(peer.address)) return void node.counters.inc('rx_drop_untrusted_rendezvous');
  const r = parseRendezvous(payload);
  if (!r.ok) return void node.counters.inc('rx_drop_bad_rendezvous');
  const other = node.topology.get(r.value.with);
  const ep = r.value.endpoint;
  if (!other || !acceptablePath(ep, node.pathPolicy)) return;
  if (other.paths.get(ep)?.alive(node.now())) return;
  node.counters.inc('rendezvous_received');
  // stock first sends a 4-byte datagram to open NAT state, then a direct HELLO
  node.sendRaw(ep, Buffer.alloc(4));
  node.sendHello(other, ep);
}

function onPushDirectPaths(node: IncomingNode, peer: Peer, payload: Buffer): void {
  const p = parsePushDirectPaths(payload);
  if (!p.ok) return void node.counters.inc('rx_drop_bad_push_paths');
  let tried = 0;
  for (const { endpoint: ep } of p.value) {
    if (tried >= 4) break;
    if (!acceptablePath(ep, node.pathPolicy) || peer.paths.get(ep)?.alive(node.now())) continue;
    if (!node.limits.pathProbe.allow(`${peer.hex}/push`)) break;
    tried++;
    node.sendHello(peer, ep);
  }
}

function onMulticastLike(node: IncomingNode, peer: Peer, payload: Buffer, request: RequestRef): void {
  const l = parseMulticastLike(payload);
  if (!l.ok) return void node.counters.inc('rx_drop_bad_like');
  const now = node.now();
  for (const like of l.value.slice(0, 256)) {
    // roots keep everyone's subscriptions; members those of peers on their networks
    if (node.isRoot) node.multicast.add(like.networkId, like.group, peer.address, now);
  }
  if (!node.isRoot) node.handlers?.onNetworkVerb(peer, Verb.MULTICAST_LIKE, payload, request);
}

function onMulticastGather(node: IncomingNode, peer: Peer, payload: Buffer, wireId: bigint): void {
  if (!node.isRoot) return void node.counters.inc('rx_drop_gather_not_root');
  const g = parseMulticastGather(payload);
  if (!g.ok) return void node.counters.inc('rx_drop_bad_gather');
  if (!node.limits.gather.allow(peer.hex)) return void node.counters.inc('rx_drop_rate_limited');
  const { networkId, group, gatherLimit } = g.value;
  const members = node.multicast.members(networkId, group, Math.min(gatherLimit, 200), peer.address);
  node.sendPacket(
    peer,
    Verb.OK,
    emitOk(
      Verb.MULTICAST_GATHER,
      idBytes(wireId),
      emitOkMulticastGather({ networkId, group, totalKnown: node.multicast.count(networkId, group), members }),
    ),
  );
}
