/**
 * The IPv4 layer (RFC 791, RFC 1122 host requirements): validation of incoming packets, local,
 * broadcast and loopback delivery, reassembly, demultiplexing to the transports, routing of
 * outgoing packets, fragmentation when DF is clear and -EMSGSIZE when it is set.
 *
 * Zero-copy: a transport's packet arrives with HEADROOM bytes free in front of its header; the IPv4
 * header is written there and the buffer handed on to the link, which writes the Ethernet header
 * in the 14 bytes before it and offers the LINK_HEADROOM before that to its owner.
 */
import { isLoopback, isMulticast, IPV4_LOOPBACK, type Ipv4Addr } from './addr.js';
import type { CounterCell, Counters } from './counters.js';
import { Errno } from './errno.js';
import type { NetInterface } from './interface.js';
import type { Ipv4Reassembler } from './ipv4-reassembly.js';
import { LOOPBACK_MTU, type LoopbackQueue } from './loopback.js';
import type { MulticastGroups } from './multicast-groups.js';
import type { PathMtuCache } from './path-mtu.js';
import type { RandomSource } from './random.js';
import type { ReturnPaths } from './return-paths.js';
import type { TransparentFlows } from './transparent-flows.js';
import type { RouteTable } from './routing.js';
import type { Ipv4Route as Route } from './stack-api.js';
import {
  HEADROOM,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  type IpReceiveInfo,
  type IpSender,
  type IpSendOptions,
  type TransportProtocol,
} from './transport.js';
import { ETH_HEADER_LEN } from './wire/ethernet.js';
import { emitIpv4Header, IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_MAX_PACKET, Ipv4Header, ipv4ParseErrorName, parseIpv4 } from './wire/ipv4.js';

export const DEFAULT_TTL = 64;
/** Where the IPv4 header starts in a buffer built with HEADROOM. */
const IP_OFFSET = HEADROOM - IPV4_HEADER_LEN;

/** Where IPv4 hands finished packets: the link (Ethernet + ARP). */
export interface Ipv4LinkOutput {
  /**
   * Sends the IP packet buf[ipOff, end) (ipOff >= 14: the Ethernet header goes in front) to
   * `nextHop`, or to the link broadcast address when `broadcast`; a multicast `nextHop` goes to
   * its group's Ethernet address.
   */
  sendIp(buf: Buffer, ipOff: number, nextHop: Ipv4Addr, broadcast: boolean, mac?: Buffer): void;
}

/** A gateway's admission of packets to destinations beyond the network (outbound-gate.ts implements it). */
export interface OutboundAdmission {
  /** 'taken': the gate consumed the packet itself (an echo request carried out); nothing more is done with it. */
  admit(protocol: number, src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, l4: number): 'accept' | 'taken' | 'deny' | 'drop';
  close(): void;
}

/** How IPv4 reports a packet it cannot deliver (implemented by the ICMP layer). */
export interface Ipv4ErrorReporter {
  /** Sends an ICMP error about `packet` (a whole IP packet parsed into `h`) when the rules allow it. */
  sendError(type: number, code: number, packet: Buffer, h: Ipv4Header, nextHopMtu?: number): void;
}

export interface Ipv4LayerDeps {
  iface: NetInterface;
  routes: RouteTable;
  link: Ipv4LinkOutput;
  loopback: LoopbackQueue;
  reassembler: Ipv4Reassembler;
  pmtu: PathMtuCache;
  /** The groups our sockets joined: multicasts to them are received, and looped back when sent. */
  groups: MulticastGroups;
  random: RandomSource;
  counters: Counters;
  /** Replies to flows from outside the network's routes go back where they came from (return-paths.ts). */
  returnPaths?: ReturnPaths;
  /** A gateway's flows from foreign addresses, whose packets are let in (transparent-flows.ts). */
  transparent?: TransparentFlows;
}

export class Ipv4Layer implements IpSender<Ipv4Addr> {
  readonly counters: Counters;
  private readonly rxPackets: CounterCell;
  private readonly txPackets: CounterCell;
  errors: Ipv4ErrorReporter | null = null;
  private readonly iface: NetInterface;
  private readonly routes: RouteTable;
  private readonly link: Ipv4LinkOutput;
  private readonly loopback: LoopbackQueue;
  private readonly reasm: Ipv4Reassembler;
  private readonly pmtu: PathMtuCache;
  private readonly groups: MulticastGroups;
  private readonly transports: (TransportProtocol | undefined)[] = new Array<TransportProtocol | undefined>(256);
  private readonly hdr = new Ipv4Header();
  private readonly quotedHdr = new Ipv4Header();
  private readonly info: IpReceiveInfo<Ipv4Addr> = { src: 0, dst: 0, ttl: 0, tos: 0, broadcast: false, loopback: false };
  private ipId: number;
  private delivering = 0;
  // one-entry route cache for the hot path
  private cacheDst = -1;
  private cacheRoute: Route | null = null;
  private cacheGen = -1;
  private readonly returnPaths: ReturnPaths | null;
  private readonly transparent: TransparentFlows | null;
  /** A gateway's outbound flows (outbound-gate.ts); null unless the stack is a gateway. */
  outbound: OutboundAdmission | null = null;
  // one-entry cache of "no route covers this source" for learning return paths
  private srcCacheAddr = -1;
  private srcCacheGen = -1;
  private srcCacheRouted = true;

  constructor(deps: Ipv4LayerDeps) {
    this.returnPaths = deps.returnPaths ?? null;
    this.transparent = deps.transparent ?? null;
    this.iface = deps.iface;
    this.routes = deps.routes;
    this.link = deps.link;
    this.loopback = deps.loopback;
    this.reasm = deps.reassembler;
    this.pmtu = deps.pmtu;
    this.groups = deps.groups;
    this.counters = deps.counters;
    this.rxPackets = deps.counters.cell('rx_packets');
    this.txPackets = deps.counters.cell('tx_packets');
    this.ipId = deps.random.u32() & 0xffff;
  }

  register(t: TransportProtocol): void {
    this.transports[t.protocol] = t;
  }

  transport(protocol: number): TransportProtocol | undefined {
    return this.transports[protocol & 0xff];
  }

  // ───────────────────────── IpSender ─────────────────────────

  isLocalAddress(addr: Ipv4Addr): boolean {
    return this.iface.isLocal(addr);
  }

  sourceFor(dst: Ipv4Addr): Ipv4Addr | null {
    if (isLoopback(dst)) return IPV4_LOOPBACK;
    if (dst === 0) return null;
    if (this.iface.isOwn(dst)) return dst;
    const r = this.route(dst);
    if (!r) return dst === 0xffffffff ? this.iface.sourceFor(dst) : (this.returnPaths?.localFor(dst) ?? null);
    return this.iface.sourceFor(r.gateway ?? dst);
  }

  maxPayloadFor(dst: Ipv4Addr): number {
    if (this.iface.isLocal(dst)) return LOOPBACK_MTU - IPV4_HEADER_LEN;
    return this.pmtu.get(dst, this.iface.mtu) - IPV4_HEADER_LEN;
  }

  send(protocol: number, src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number {
    const c = this.counters;
    const payloadLen = packet.length - offset;
    if (offset < 0 || payloadLen < 0 || payloadLen > IPV4_MAX_PACKET - IPV4_HEADER_LEN) {
      c.inc('tx_too_big');
      return -Errno.EMSGSIZE;
    }
    const ttl = opts?.ttl ?? DEFAULT_TTL;
    const tos = opts?.tos ?? 0;
    const df = opts?.dontFragment === true;
    if (dst === 0) {
      c.inc('tx_no_route');
      return -Errno.ENETUNREACH;
    }
    if (isLoopback(dst) || this.iface.isOwn(dst)) {
      return this.sendLocal(protocol, src !== 0 ? src : isLoopback(dst) ? IPV4_LOOPBACK : dst, dst, packet, offset, ttl, tos, df);
    }
    const r = this.route(dst);
    const broadcast = dst === 0xffffffff || this.iface.isBroadcast(dst);
    // multicast goes on the link without a route (one interface); a copy goes round our loopback
    // when one of our sockets joined the group and the sender allows it (IP_MULTICAST_LOOP)
    const multicast = isMulticast(dst);
    let mac: Buffer | null = null;
    if (!r && !broadcast && !multicast) {
      if (this.returnPaths && (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP))
        mac = this.returnPaths.lookup(protocol, src, dst, packet, offset);
      if (!mac) {
        c.inc('tx_no_route');
        return -Errno.ENETUNREACH;
      }
      c.inc('tx_return_path');
    }
    const nextHop = multicast ? dst : (r?.gateway ?? dst);
    const s = src !== 0 ? src : (this.iface.sourceFor(nextHop) ?? 0);
    const loop = broadcast || (multicast && opts?.multicastLoop !== false && this.groups.has(dst));
    // TTL 0 keeps a multicast on this host (RFC 1112 §6.1)
    const onLink = !(multicast && ttl === 0);
    const mtu = broadcast || opts?.ignorePathMtu === true ? this.iface.mtu : this.pmtu.get(dst, this.iface.mtu);
    if (IPV4_HEADER_LEN + payloadLen > mtu) {
      if (df) {
        c.inc('tx_emsgsize');
        return -Errno.EMSGSIZE;
      }
      return this.fragment(protocol, s, dst, packet, offset, ttl, tos, mtu, nextHop, broadcast, loop, onLink, mac);
    }
    let buf = packet;
    let ipOff = offset - IPV4_HEADER_LEN;
    if (offset < HEADROOM) {
      buf = Buffer.allocUnsafe(HEADROOM + payloadLen);
      packet.copy(buf, HEADROOM, offset);
      ipOff = IP_OFFSET;
      c.inc('tx_headroom_copy');
    }
    emitIpv4Header(buf, ipOff, tos, IPV4_HEADER_LEN + payloadLen, this.nextId(), df ? IPV4_FLAG_DF : 0, ttl, protocol, s, dst);
    this.txPackets.n++;
    if (loop) this.loopGroupCopy(buf, ipOff, multicast);
    if (onLink) this.link.sendIp(buf, ipOff, nextHop, broadcast, mac ?? undefined);
    else c.inc('tx_multicast_ttl0_local');
    return 0;
  }

  /** Our own sockets hear our broadcasts and multicasts too (as Linux): a copy goes round the loopback. */
  private loopGroupCopy(buf: Buffer, ipOff: number, multicast: boolean): void {
    if (this.loopback.enqueue(Buffer.from(buf.subarray(ipOff))))
      this.counters.inc(multicast ? 'tx_multicast_looped' : 'tx_broadcast_looped');
  }

  private nextId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  private route(dst: Ipv4Addr): Route | null {
    const gen = this.routes.generation;
    if (dst === this.cacheDst && gen === this.cacheGen) return this.cacheRoute;
    const r = this.routes.lookup(dst);
    this.cacheDst = dst;
    this.cacheRoute = r;
    this.cacheGen = gen;
    return r;
  }

  private sendLocal(
    protocol: number,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    packet: Buffer,
    offset: number,
    ttl: number,
    tos: number,
    df: boolean,
  ): number {
    const payloadLen = packet.length - offset;
    let buf = packet;
    let ipOff = offset - IPV4_HEADER_LEN;
    if (ipOff < 0) {
      buf = Buffer.allocUnsafe(IPV4_HEADER_LEN + payloadLen);
      packet.copy(buf, IPV4_HEADER_LEN, offset);
      ipOff = 0;
    }
    emitIpv4Header(buf, ipOff, tos, IPV4_HEADER_LEN + payloadLen, this.nextId(), df ? IPV4_FLAG_DF : 0, ttl, protocol, src, dst);
    if (!this.loopback.enqueue(ipOff === 0 && buf.length === IPV4_HEADER_LEN + payloadLen ? buf : buf.subarray(ipOff)))
      return -Errno.ENOBUFS;
    this.counters.inc('tx_loopback');
    return 0;
  }

  private fragment(
    protocol: number,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    packet: Buffer,
    offset: number,
    ttl: number,
    tos: number,
    mtu: number,
    nextHop: Ipv4Addr,
    broadcast: boolean,
    loop: boolean,
    onLink: boolean,
    mac: Buffer | null,
  ): number {
    const payloadLen = packet.length - offset;
    const maxData = (mtu - IPV4_HEADER_LEN) & ~7;
    if (maxData < 8) return -Errno.EMSGSIZE;
    const id = this.nextId();
    for (let at = 0; at < payloadLen; at += maxData) {
      const n = Math.min(maxData, payloadLen - at);
      const last = at + n >= payloadLen;
      const f = Buffer.allocUnsafe(HEADROOM + n);
      packet.copy(f, HEADROOM, offset + at, offset + at + n);
      emitIpv4Header(f, IP_OFFSET, tos, IPV4_HEADER_LEN + n, id, (last ? 0 : IPV4_FLAG_MF) | (at >>> 3), ttl, protocol, src, dst);
      this.counters.inc('tx_fragments');
      if (loop) this.loopGroupCopy(f, IP_OFFSET, !broadcast);
      if (onLink) this.link.sendIp(f, IP_OFFSET, nextHop, broadcast, mac ?? undefined);
    }
    this.counters.inc('tx_fragmented');
    return 0;
  }

  // ───────────────────────── receive ─────────────────────────

  /**
   * An IPv4 packet from the link (`fromLoopback` false; `frame`, when given, the Ethernet frame it
   * came in, for its source address) or from this stack's loopback.
   */
  input(packet: Buffer, fromLoopback: boolean, frame?: Buffer): void {
    const c = this.counters;
    const h = this.hdr;
    const e = parseIpv4(packet, h);
    if (e !== 0) {
      c.inc(ipv4ParseErrorName(e));
      return;
    }
    this.rxPackets.n++;
    let broadcast = false;
    if (fromLoopback) broadcast = !this.iface.isOwn(h.dst) && !isLoopback(h.dst) && (isMulticast(h.dst) || this.iface.isBroadcast(h.dst));
    else {
      const src = h.src;
      if (src === 0xffffffff || isMulticast(src) || isLoopback(src) || this.iface.isOwn(src)) {
        c.inc('rx_martian_src');
        return;
      }
      const dst = h.dst;
      if (!this.iface.isOwn(dst)) {
        if (this.iface.isBroadcast(dst)) broadcast = true;
        else if (isMulticast(dst)) {
          // groups share Ethernet addresses: the link let in every group of the MAC
          if (!this.groups.has(dst)) {
            c.inc('rx_multicast_not_joined');
            return;
          }
          c.inc('rx_multicast');
          broadcast = true;
        } else if (!h.isFragment && this.transparent?.accepts(h.protocol, dst, src, packet, h.headerLen)) {
          c.inc('rx_transparent');
        } else if (
          this.outbound &&
          !h.isFragment &&
          (h.protocol === IPPROTO_TCP || h.protocol === IPPROTO_UDP || h.protocol === IPPROTO_ICMP) &&
          !this.onLink(dst)
        ) {
          const v = this.outbound.admit(h.protocol, src, dst, packet, h.headerLen);
          if (v === 'taken') {
            c.inc('rx_outbound');
            return;
          }
          if (v !== 'accept') {
            c.inc(v === 'deny' ? 'rx_outbound_denied' : 'rx_outbound_dropped');
            // RFC 1812 §5.2.7.1: communication administratively prohibited
            if (v === 'deny') this.errors?.sendError(3, 13, packet, h);
            return;
          }
          c.inc('rx_outbound');
        } else {
          c.inc('rx_not_for_us');
          return;
        }
      } else if (frame && this.returnPaths && !h.isFragment && (h.protocol === IPPROTO_TCP || h.protocol === IPPROTO_UDP)) {
        if (!this.routed(src)) this.returnPaths.learn(h.protocol, dst, src, packet, h.headerLen, frame.subarray(6, 12));
      }
      if (h.ttl === 0) {
        c.inc('rx_ttl_zero');
        return;
      }
    }
    let p = packet;
    if (h.isFragment) {
      const whole = this.reasm.add(h, packet);
      if (!whole) return;
      p = whole;
      if (parseIpv4(p, h) !== 0) {
        c.inc('rx_reassembly_error');
        return;
      }
    }
    this.deliver(h, p, broadcast, fromLoopback);
  }

  private deliver(h: Ipv4Header, p: Buffer, broadcast: boolean, fromLoopback: boolean): void {
    const c = this.counters;
    const t = this.transports[h.protocol];
    if (!t) {
      c.inc('rx_unknown_protocol');
      if (!broadcast) this.errors?.sendError(3, 2, p, h);
      return;
    }
    if (broadcast && h.protocol === IPPROTO_TCP) {
      c.inc('rx_broadcast_tcp');
      return;
    }
    // the shared info object only at the outermost level: a synchronous link can bring the next
    // packet in while a transport is still working on this one
    const info: IpReceiveInfo<Ipv4Addr> =
      this.delivering === 0 ? this.info : { src: 0, dst: 0, ttl: 0, tos: 0, broadcast: false, loopback: false };
    info.src = h.src;
    info.dst = h.dst;
    info.ttl = h.ttl;
    info.tos = h.tos;
    info.broadcast = broadcast;
    info.loopback = fromLoopback;
    info.packet = p;
    const payload = p.subarray(h.headerLen, h.totalLen);
    let taken: boolean;
    this.delivering++;
    try {
      taken = t.receive(info, payload);
    } catch {
      c.inc('rx_transport_exception');
      return;
    } finally {
      this.delivering--;
    }
    if (!taken && !broadcast) {
      // the transport may have parsed other packets meanwhile (loopback); re-read the header
      if (parseIpv4(p, h, false) === 0) this.errors?.sendError(3, 3, p, h);
    }
  }

  /** Whether `dst` is on one of our own subnets (an on-link route): never outbound. */
  private onLink(dst: Ipv4Addr): boolean {
    const r = this.routes.lookup(dst);
    return r !== null && r.gateway === null;
  }

  /** Whether some route covers `src` (cached for the last source: a flow's packets come in runs). */
  private routed(src: Ipv4Addr): boolean {
    const gen = this.routes.generation;
    if (src !== this.srcCacheAddr || gen !== this.srcCacheGen) {
      this.srcCacheAddr = src;
      this.srcCacheGen = gen;
      this.srcCacheRouted = this.routes.lookup(src) !== null;
    }
    return this.srcCacheRouted;
  }

  /** Frames that waited for an ARP reply that never came: their senders learn EHOSTUNREACH. */
  failQueued(frames: Buffer[]): void {
    const q = this.quotedHdr;
    let notified = -1;
    for (const f of frames) {
      this.counters.inc('tx_arp_failed');
      const ip = f.subarray(ETH_HEADER_LEN);
      if (parseIpv4(ip, q, false) !== 0) continue;
      if (q.fragOffset !== 0) continue;
      const t = this.transports[q.protocol];
      if (!t) continue;
      // fragments and retransmissions of one datagram quote the same header: tell the socket once per id
      if (q.id === notified) continue;
      notified = q.id;
      try {
        t.receiveIcmpError(3, 1, q.src, q.dst, ip.subarray(q.headerLen, q.totalLen));
      } catch {
        this.counters.inc('tx_notify_exception');
      }
    }
  }

  /** ICMP fragmentation-needed: remember the smaller path MTU. */
  lowerPathMtu(dst: Ipv4Addr, mtu: number): boolean {
    return this.pmtu.lower(dst, mtu, this.iface.mtu);
  }

  get linkMtu(): number {
    return this.iface.mtu;
  }
}
