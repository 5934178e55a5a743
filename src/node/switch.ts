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
import { ERROR_PAYLOAD_CODE_OFFSET, type PacketCounts } from './packet-counts.js';
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
  type PacketIdHalves,
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

/** An authenticated, decrypted packet from a known peer, as the switch hands it on. */
export class OpenedPacket {
  constructor(
    readonly hops: number,
    readonly verb: number,
    readonly payload: Buffer,
    /** Bytes right before `payload` in its buffer that are this packet's and free to overwrite (0 after decompression). */
    readonly headroom: number,
    /** The whole packet after dearmor (HELLO's trailer is read from it). */
    readonly packet: Buffer,
    /** The scheduler's time when it was opened: what layers above use for "now" with it. */
    readonly at: number,
  ) {}

  /**
   * On-wire bytes 0–7: replies name the request by these. Read on demand (frames never need it),
   * so only before the headroom is handed on to be written over.
   */
  get wireId(): bigint {
    return this.packet.readBigUInt64BE(PACKET_IDX_IV);
  }
}

export interface SwitchHost {
  readonly address: bigint;
  readonly isRoot: boolean;
  readonly topology: Topology;
  readonly counters: Counters;
  /** Packets by verb each way (read by /metrics). */
  readonly packetCounts: PacketCounts;
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

const NO_OPTIONS: SendOptions = {};

export class Switch {
  private readonly reassembly: FragmentReassembly;
  private readonly rendezvousLimit: RateLimiter;
  /**
   * Packet ids come from a counter started at a random value, as stock 1.x does: unique per
   * sender (what AES-GMAC-SIV and replay windows need) without a random draw per packet.
   */
  private readonly nextPacketId: PacketIdHalves;
  private readonly rxDatagrams: CounterCell;
  private readonly txPackets: CounterCell;
  /** Our address as a number, compared with each packet's destination (see readAddressNumber). */
  private readonly ownAddress: number;
  /**
   * The peer the last packet came from, by its address as a number, while the topology's
   * generation is `lastSenderGeneration`: a stream's packets come from one peer after another.
   */
  private lastSender: Peer | null = null;
  private lastSenderAddress = -1;
  private lastSenderGeneration = -1;
  /** Header fields of the packet being sent (send is synchronous: one at a time). */
  private readonly fields: PacketFields = { packetId: 0n, destination: 0n, source: 0n, cipher: 0, verb: 0, compressed: false };
  /** The id of the packet being sent (see takePacketId). */
  private readonly sendingId: PacketIdHalves = { high: 0, low: 0 };
  /** Where the packet being sent goes (see route), refilled by each send. */
  private readonly targets: Endpoint[] = [];

  constructor(
    private readonly host: SwitchHost,
    private readonly transport: UdpTransport,
    private readonly mtu = DEFAULT_PHYSICAL_MTU,
  ) {
    this.reassembly = new FragmentReassembly(host.scheduler, undefined, host.counters);
    this.rendezvousLimit = new RateLimiter(host.scheduler, { ratePerSec: 0.2, burst: 1 });
    const start = host.random.bytes(8);
    this.nextPacketId = { high: start.readUInt32BE(0), low: start.readUInt32BE(4) };
    this.rxDatagrams = host.counters.cell('rx_datagrams');
    this.txPackets = host.counters.cell('tx_packets');
    this.ownAddress = Number(host.address);
    this.fields.source = host.address;
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
    if (p.value.destinationNumber !== this.ownAddress) return this.relay(data, p.value.destination, from, false);
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
    const sourceNumber = view.sourceNumber;
    if (sourceNumber === this.ownAddress) return this.drop('from_self');
    const topology = this.host.topology;
    let peer: Peer | undefined;
    if (sourceNumber === this.lastSenderAddress && topology.generation === this.lastSenderGeneration) peer = this.lastSender!;
    else {
      peer = topology.get(view.source);
      if (!peer) return this.host.onStranger(packet, view, from);
      this.lastSender = peer;
      this.lastSenderAddress = sourceNumber;
      this.lastSenderGeneration = topology.generation;
    }
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
      peer.rxErrors++;
      return this.drop('mac');
    }
    // dearmor leaves bytes 0..8 as received: the on-wire id
    if (!peer.replay.accept(packet, PACKET_IDX_IV)) {
      peer.rxErrors++;
      return this.drop('replay');
    }
    const verbByte = packet[PACKET_IDX_VERB]!;
    let payload = packet.subarray(PACKET_IDX_VERB + 1);
    let headroom = PACKET_IDX_VERB + 1;
    if ((verbByte & VERB_FLAG_COMPRESSED) !== 0) {
      const d = lz4Decompress(payload, MAX_DECOMPRESSED);
      if (!d.ok) {
        peer.rxErrors++;
        return this.drop('decompress');
      }
      payload = d.value;
      headroom = 0;
    }
    const at = this.host.scheduler.now();
    peer.lastReceive = at;
    peer.rxPackets++;
    this.host.packetCounts.rxByVerb[verbByte & VERB_MASK]!++;
    this.host.onPacket(peer, new OpenedPacket(hops, verbByte & VERB_MASK, payload, headroom, packet, at), from);
  }

  /**
   * Builds, arms and sends one packet to a known peer. Returns the packet as it went out (its bytes
   * 0–7 are the on-wire id replies will name; read them before the caller's next send), or null
   * when it could not be sent.
   */
  send(peer: Peer, verb: number, payload: Buffer, opts: SendOptions = NO_OPTIONS): Buffer | null {
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
    const fields = this.fields;
    fields.packetId = this.takePacketId();
    fields.destination = peer.address;
    fields.cipher = cipher;
    fields.verb = verb;
    fields.compressed = compressed;
    const packet =
      body === payload && (opts.headroom ?? 0) >= PACKET_IDX_PAYLOAD ? packetAroundPayload(fields, payload) : buildPacket(fields, body);
    const now = this.host.scheduler.now();
    const targets = this.targets;
    const loopbackDirect = this.route(peer, opts.via, now, targets);
    if (targets.length === 0) {
      this.host.counters.inc('tx_drop_no_path');
      return null;
    }
    const mtu = loopbackDirect ? LOOPBACK_PHYSICAL_MTU : this.mtu;
    // the fragmented flag is covered by the MAC: set it before armoring
    if (packet.length > mtu) packet[PACKET_IDX_FLAGS] = packet[PACKET_IDX_FLAGS]! | FLAG_FRAGMENTED;
    opts.beforeArmor?.(packet);
    if (!armor(packet, peer.key, cipher)) {
      this.host.counters.inc('tx_drop_armor');
      return null;
    }
    if (!this.transmit(peer, packet, targets, mtu, now)) return null;
    this.host.packetCounts.txByVerb[verb & VERB_MASK]!++;
    if (verb === Verb.ERROR && payload.length > ERROR_PAYLOAD_CODE_OFFSET)
      this.host.packetCounts.txErrorsByCode[payload[ERROR_PAYLOAD_CODE_OFFSET]!]!++;
    return packet;
  }

  /** The next packet id: the counter itself, advanced after the header is written (send is synchronous). */
  private takePacketId(): PacketIdHalves {
    const id = this.nextPacketId;
    const taken = this.sendingId;
    taken.high = id.high;
    taken.low = id.low;
    id.low = (id.low + 1) >>> 0;
    if (id.low === 0) id.high = (id.high + 1) >>> 0;
    return taken;
  }

  /**
   * Where a packet for `peer` goes, into `targets` (emptied first): `via`, else its best direct
   * path, else (for a root with no live path) every endpoint known for it, else the best root,
   * which relays. Returns whether the packet goes directly over loopback only.
   */
  private route(peer: Peer, via: Endpoint | undefined, now: number, targets: Endpoint[]): boolean {
    targets.length = 0;
    if (via) {
      targets.push(via);
      return isLoopbackEndpoint(via);
    }
    const best = peer.paths.best(now);
    if (best) {
      targets.push(best.endpoint);
      return best.loopback;
    }
    const topo = this.host.topology;
    if (topo.isRoot(peer.address)) {
      // a root with no live path: try every endpoint we know for it
      let loopback = true;
      for (const p of peer.paths.all()) {
        targets.push(p.endpoint);
        loopback &&= p.loopback;
      }
      return targets.length > 0 && loopback;
    }
    const rootPath = topo.bestRoot(now)?.paths.best(now);
    if (rootPath) targets.push(rootPath.endpoint);
    return false;
  }

  private transmit(peer: Peer, packet: Buffer, targets: Endpoint[], mtu: number, now: number): boolean {
    if (packet.length <= mtu) {
      // the common case, one datagram: no list of pieces
      for (const ep of targets) {
        this.transport.send(ep, packet);
        peer.paths.get(ep)?.sent(now);
      }
      this.txPackets.n++;
      peer.txPackets++;
      return true;
    }
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
    peer.txPackets++;
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
