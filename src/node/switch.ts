/**
 * The switch: datagrams in and out. Incoming datagrams are reassembled from fragments, relayed
 * when addressed to someone else (roots only), authenticated and decrypted with the sender's key,
 * checked against replays and handed on as opened packets. Outgoing packets are compressed when
 * that pays, armored, fragmented to the physical MTU and sent over the peer's best path, or
 * through a root while no direct path works.
 */
import type { Logger } from 'pino';
import type { Scheduler, CounterCell, Counters, RandomSource } from '../netstack/index.js';
import { armor, dearmor } from './packet/armor.js';
import { endpointKey, isLoopbackEndpoint, type Endpoint } from './peer/endpoint.js';
import { FragmentReassembly } from './packet/fragment-reassembly.js';
import { lz4Compress, lz4Decompress } from './packet/lz4.js';
import type { Peer } from './peer/peer.js';
import { RateLimiter } from './peer/rate-limit.js';
import type { Topology } from './peer/topology.js';
import type { UdpTransport } from './transport/udp-transport.js';
import { formatAddress } from './wire/address.js';
import { emitRendezvous } from './wire/rendezvous.js';
import {
  buildPacket,
  DEFAULT_PHYSICAL_MTU,
  FLAG_FRAGMENTED,
  FragmentView,
  fragmentPacket,
  isFragment,
  MAX_HOPS,
  PACKET_IDX_FLAGS,
  PACKET_IDX_IV,
  PACKET_IDX_PAYLOAD,
  PACKET_IDX_VERB,
  packetAroundPayload,
  PacketView,
  type PacketFields,
  Verb,
  VERB_FLAG_COMPRESSED,
  VERB_MASK,
} from './wire/packet.js';

/** Largest decompressed payload accepted: a packet is at most ~23 KB and configs are chunked. */
const MAX_DECOMPRESSED = 64 * 1024;
/**
 * Physical MTU on a direct loopback path (only ztnc nodes use those; the loopback carries 64 KiB
 * datagrams whole): a 2800-byte frame goes as one datagram instead of a head and a fragment,
 * halving the per-datagram cost. Relayed packets keep the standard MTU, since the root's next hop
 * may be a real network.
 */
const LOOPBACK_PHYSICAL_MTU = 16 * 1024;
/** Payloads worth trying to compress, as stock compresses them. */
const COMPRESS_MIN = 256;
const COMPRESSIBLE = new Set<number>([
  Verb.NETWORK_CONFIG_REQUEST,
  Verb.NETWORK_CONFIG,
  Verb.OK,
  Verb.NETWORK_CREDENTIALS,
  Verb.MULTICAST_LIKE,
]);

export interface OpenedPacket {
  /** On-wire bytes 0–7: replies name the request by these. */
  wireId: bigint;
  hops: number;
  verb: number;
  payload: Buffer;
  /** Bytes right before `payload` in its buffer that are this packet's and free to overwrite (0 after decompression). */
  headroom: number;
  /** The whole packet after dearmor (HELLO's trailer is read from it). */
  packet: Buffer;
}

export interface SwitchHost {
  readonly address: bigint;
  readonly isRoot: boolean;
  readonly topology: Topology;
  readonly counters: Counters;
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  readonly log: Logger;
  /** An authenticated packet from a known peer. */
  onPacket(peer: Peer, pkt: OpenedPacket, from: Endpoint): void;
  /** A whole packet from an address we hold no identity for (or whose identity seems to have changed). */
  onStranger(packet: Buffer, view: PacketView, from: Endpoint): void;
}

export interface SendOptions {
  /** Send over this endpoint instead of the peer's best path (HELLO probes, replies on the arrival path). */
  via?: Endpoint;
  cipher?: 0 | 1 | 3;
  /** Called with the armored packet before it leaves (HELLO encrypts its trailer here). */
  beforeArmor?: (packet: Buffer) => void;
  /**
   * Bytes right before `payload` in its buffer that are free to overwrite: with room for the
   * packet header there, the packet is built around the payload instead of copied.
   */
  headroom?: number;
}

export class Switch {
  private readonly reassembly: FragmentReassembly;
  private readonly rendezvousLimit: RateLimiter;
  /**
   * Packet ids come from a counter started at a random value, as stock 1.x does: unique per
   * sender (what AES-GMAC-SIV and replay windows need) without a random draw per packet.
   */
  private nextPacketId: bigint;
  private readonly rxDatagrams: CounterCell;
  private readonly txPackets: CounterCell;

  constructor(
    private readonly host: SwitchHost,
    private readonly transport: UdpTransport,
    private readonly mtu = DEFAULT_PHYSICAL_MTU,
  ) {
    this.reassembly = new FragmentReassembly(host.scheduler, undefined, host.counters);
    this.rendezvousLimit = new RateLimiter(host.scheduler, { ratePerSec: 0.2, burst: 1 });
    this.nextPacketId = host.random.bytes(8).readBigUInt64BE(0);
    this.rxDatagrams = host.counters.cell('rx_datagrams');
    this.txPackets = host.counters.cell('tx_packets');
  }

  /** Bytes and packets held for reassembly (bounded by its limits). */
  reassemblyHeld(): { bytes: number; packets: number } {
    return { bytes: this.reassembly.bytesHeld, packets: this.reassembly.packetsInFlight };
  }

  private drop(reason: string): void {
    this.host.counters.inc(`rx_drop_${reason}`);
  }

  /** One datagram from the underlay. Never throws. */
  receive(data: Buffer, from: Endpoint): void {
    this.rxDatagrams.n++;
    try {
      this.receiveDatagram(data, from);
    } catch (err) {
      // every branch below counts and drops; this is the last line of defence
      this.host.counters.inc('rx_exception');
      this.host.log.warn({ err: (err as Error).message, from: endpointKey(from) }, 'packet handling failed');
    }
  }

  private receiveDatagram(data: Buffer, from: Endpoint): void {
    if (data.length === 4) return void this.host.counters.inc('rx_nat_opener');
    if (isFragment(data)) {
      const f = FragmentView.parse(data);
      if (!f.ok) return this.drop('bad_fragment');
      if (f.value.destination !== this.host.address) return this.relay(data, f.value.destination, from, true);
      const r = this.reassembly.addFragment(f.value);
      if (r.kind === 'complete') this.whole(r.packet, from);
      return;
    }
    const p = PacketView.parse(data);
    if (!p.ok) return this.drop('malformed');
    if (p.value.destination !== this.host.address) return this.relay(data, p.value.destination, from, false);
    if (p.value.fragmented) {
      const r = this.reassembly.addHead(p.value);
      if (r.kind === 'complete') this.whole(r.packet, from);
      return;
    }
    this.whole(data, from, p.value);
  }

  /** The packet's header view; null (counted as malformed) when it does not parse. */
  private viewOf(packet: Buffer): PacketView | null {
    const v = PacketView.parse(packet);
    if (v.ok) return v.value;
    this.drop('malformed');
    return null;
  }

  /** Roots forward packets between peers unchanged except the hop count. */
  private relay(data: Buffer, dest: bigint, from: Endpoint, fragment: boolean): void {
    if (!this.host.isRoot) return this.drop('not_for_us');
    const now = this.host.scheduler.now();
    const target = this.host.topology.get(dest);
    const path = target?.paths.best(now);
    if (!target || !path) return this.drop('relay_no_path');
    const out = Buffer.from(data);
    let hops: number;
    if (fragment) {
      const f = FragmentView.parse(out);
      if (!f.ok) return this.drop('bad_fragment');
      hops = f.value.hops;
      if (hops >= MAX_HOPS) return this.drop('relay_hops');
      f.value.hops = hops + 1;
    } else {
      const p = PacketView.parse(out);
      if (!p.ok) return this.drop('malformed');
      hops = p.value.hops;
      if (hops >= MAX_HOPS) return this.drop('relay_hops');
      p.value.hops = hops + 1;
    }
    this.transport.send(path.endpoint, out);
    this.host.counters.inc('relayed');
    if (!fragment && hops === 0) {
      const src = PacketView.parse(out);
      if (src.ok) this.maybeRendezvous(src.value.source, from, target, path.endpoint);
    }
  }

  /** Introduces two peers talking through us so they can try a direct path (both get RENDEZVOUS). */
  private maybeRendezvous(srcAddr: bigint, srcEp: Endpoint, dst: Peer, dstEp: Endpoint): void {
    const src = this.host.topology.get(srcAddr);
    const now = this.host.scheduler.now();
    if (!src || !src.paths.get(srcEp)?.alive(now)) return;
    const key = srcAddr < dst.address ? `${srcAddr}/${dst.address}` : `${dst.address}/${srcAddr}`;
    if (!this.rendezvousLimit.allow(key)) return;
    const toSrc = emitRendezvous({ flags: 0, with: dst.address, endpoint: dstEp });
    const toDst = emitRendezvous({ flags: 0, with: srcAddr, endpoint: srcEp });
    if (!toSrc || !toDst) return;
    this.send(src, Verb.RENDEZVOUS, toSrc);
    this.send(dst, Verb.RENDEZVOUS, toDst);
    this.host.counters.inc('rendezvous_sent', 2);
  }

  /** A whole packet addressed to us (`parsed`: its view, when the caller has one already). */
  whole(packet: Buffer, from: Endpoint, parsed?: PacketView): void {
    const view = parsed ?? this.viewOf(packet);
    if (!view) return;
    const source = view.source;
    if (source === this.host.address) return this.drop('from_self');
    const peer = this.host.topology.get(source);
    if (!peer) return this.host.onStranger(packet, view, from);
    this.open(peer, packet, from, view);
  }

  /** Authenticates and decrypts a packet from a known peer, then hands it on. */
  open(peer: Peer, packet: Buffer, from: Endpoint, parsed?: PacketView): void {
    const view = parsed ?? this.viewOf(packet);
    if (!view) return;
    const hops = view.hops;
    const plainHello = view.cipher === 0 && (packet[PACKET_IDX_VERB]! & VERB_MASK) === Verb.HELLO;
    if (!dearmor(packet, peer.key)) {
      // a HELLO carries its identity: a peer that came back with another key is handled as new
      if (plainHello) return this.host.onStranger(packet, view, from);
      return this.drop('mac');
    }
    // dearmor leaves bytes 0..8 as received: the on-wire id
    if (!peer.replay.accept(packet, PACKET_IDX_IV)) return this.drop('replay');
    const wireId = view.packetId;
    const verbByte = packet[PACKET_IDX_VERB]!;
    let payload = packet.subarray(PACKET_IDX_VERB + 1);
    let headroom = PACKET_IDX_VERB + 1;
    if ((verbByte & VERB_FLAG_COMPRESSED) !== 0) {
      const d = lz4Decompress(payload, MAX_DECOMPRESSED);
      if (!d.ok) return this.drop('decompress');
      payload = d.value;
      headroom = 0;
    }
    peer.lastReceive = this.host.scheduler.now();
    this.host.onPacket(peer, { wireId, hops, verb: verbByte & VERB_MASK, payload, headroom, packet }, from);
  }

  /**
   * Builds, arms and sends one packet to a known peer. Returns the request's on-wire id (bytes 0–7
   * as sent, which replies will name), or null when it could not be sent.
   */
  send(peer: Peer, verb: number, payload: Buffer, opts: SendOptions = {}): bigint | null {
    const cipher = opts.cipher ?? peer.cipher();
    let body: Buffer = payload;
    let compressed = false;
    if (payload.length >= COMPRESS_MIN && COMPRESSIBLE.has(verb)) {
      const c = lz4Compress(payload);
      if (c.length < payload.length) {
        body = c;
        compressed = true;
      }
    }
    const fields: PacketFields = {
      packetId: this.takePacketId(),
      destination: peer.address,
      source: this.host.address,
      cipher,
      verb,
      compressed,
    };
    const packet =
      body === payload && (opts.headroom ?? 0) >= PACKET_IDX_PAYLOAD ? packetAroundPayload(fields, payload) : buildPacket(fields, body);
    const route = this.route(peer, opts.via);
    if (route.targets.length === 0) {
      this.host.counters.inc('tx_drop_no_path');
      return null;
    }
    const mtu = route.loopbackDirect ? LOOPBACK_PHYSICAL_MTU : this.mtu;
    // the fragmented flag is covered by the MAC: set it before armoring
    if (packet.length > mtu) packet[PACKET_IDX_FLAGS] = packet[PACKET_IDX_FLAGS]! | FLAG_FRAGMENTED;
    opts.beforeArmor?.(packet);
    if (!armor(packet, peer.key, cipher)) {
      this.host.counters.inc('tx_drop_armor');
      return null;
    }
    const wireId = packet.readBigUInt64BE(0);
    return this.transmit(peer, packet, route.targets, mtu) ? wireId : null;
  }

  private takePacketId(): bigint {
    const id = this.nextPacketId;
    this.nextPacketId = BigInt.asUintN(64, id + 1n);
    return id;
  }

  /**
   * Where a packet for `peer` goes: `via`, else its best direct path, else (for a root with no
   * live path) every endpoint known for it, else the best root, which relays.
   */
  private route(peer: Peer, via?: Endpoint): { targets: Endpoint[]; loopbackDirect: boolean } {
    const now = this.host.scheduler.now();
    const topo = this.host.topology;
    let targets: Endpoint[];
    let direct = true;
    if (via) targets = [via];
    else {
      const best = peer.paths.best(now);
      if (best) targets = [best.endpoint];
      else if (topo.isRoot(peer.address)) {
        // a root with no live path: try every endpoint we know for it
        targets = peer.paths.all().map((p) => p.endpoint);
      } else {
        const rootPath = topo.bestRoot(now)?.paths.best(now);
        targets = rootPath ? [rootPath.endpoint] : [];
        direct = false;
      }
    }
    return { targets, loopbackDirect: direct && targets.length > 0 && targets.every(isLoopbackEndpoint) };
  }

  private transmit(peer: Peer, packet: Buffer, targets: Endpoint[], mtu: number): boolean {
    const now = this.host.scheduler.now();
    const pieces = fragmentPacket(packet, mtu);
    if (!pieces) {
      this.host.counters.inc('tx_drop_too_big');
      return false;
    }
    for (const ep of targets) {
      for (const piece of pieces) this.transport.send(ep, piece);
      peer.paths.get(ep)?.sent(now);
    }
    this.txPackets.n++;
    return true;
  }

  /** Sends raw bytes to an endpoint (NAT openers). */
  sendRaw(to: Endpoint, data: Buffer): void {
    this.transport.send(to, data);
  }

  describe(peer: bigint): string {
    return formatAddress(peer);
  }
}
