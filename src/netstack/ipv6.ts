/**
 * The IPv6 layer (RFC 8200, host behaviour): validation of incoming packets, the extension-header
 * chain (unknown headers and options answered per RFC 8200 §4), reassembly (ipv6-reassembly.ts),
 * delivery to the transports, routing and source address selection (ipv6-addresses.ts), path MTU
 * (RFC 8201, never below 1280) and fragmentation of our own datagrams above it, loopback of
 * packets to ::1 and to our own addresses. It owns neighbor discovery (ndp.ts, which installs the
 * neighbor cache into the link) and MLD (mld.ts).
 *
 * How stack.ts wires it (after the link and the multicast groups exist):
 *
 *   this.ipv6 = new Ipv6Layer({
 *     link: this.link, scheduler, random, counters: this.c.ipv6,
 *     mtu: () => this.iface.mtu, groups: this.groups,
 *     loopback: (p) => this.loopback.enqueue(p),   // the queue tells the family by the version nibble
 *   });
 *   link deps: ipv6Input: (p) => this.ipv6.input(p, false)   (loopback delivery: input(p, true))
 *   this.icmp6 = new Icmpv6Layer({ ip: this.ipv6, scheduler, random, counters: this.c.icmpv6,
 *                                  sockets: <the family-6 IcmpSocketTable> });   // sets ipv6.errors
 *   this.ipv6.register(this.icmp6); this.ipv6.register(this.udp); this.ipv6.register(this.tcp);
 *   addAddress / removeAddress / addRoute / removeRoute / routes / addOwnedPrefix with IPv6
 *   addresses go to this.ipv6 (addAddress also adds the fe80:: address from the MAC, joins the
 *   solicited-node groups and starts DAD); close(): this.ipv6.close() (before the loopback's).
 *   `onAddressConflict` hears addresses DAD found in use by another node.
 *
 * Zero-copy as IPv4: a transport's packet arrives with HEADROOM free bytes in front; the 40-byte
 * header is written in the last 40 of them and the link writes the Ethernet header before it.
 */
import { inPrefix6, isLinkLocal6, isMulticast6, IPV6_ALL_NODES, IPV6_ANY, IPV6_LOOPBACK, solicitedNode, type Ipv6Addr } from './addr.js';
import type { Scheduler } from './clock.js';
import type { CounterCell, Counters } from './counters.js';
import { Errno } from './errno.js';
import {
  Ipv6Addresses,
  Ipv6RouteTable,
  linkLocalFromMac,
  validAddr,
  validUnicast,
  type Ipv6InterfaceAddress,
  type Ipv6Route,
} from './ipv6-addresses.js';
import { fragmentDatagram } from './ipv6-fragment.js';
import { Ipv6Reassembler, type Ipv6FragmentInfo, type Ipv6ReassemblyOptions } from './ipv6-reassembly.js';
import type { EthernetLink } from './link.js';
import { LOOPBACK_MTU } from './loopback.js';
import { MldReporter } from './mld.js';
import type { MulticastGroups } from './multicast-groups.js';
import { NeighborDiscovery } from './ndp.js';
import type { NeighborCacheOptions } from './neighbor-cache.js';
import { PathMtuCache, PMTU_MIN6 } from './path-mtu.js';
import type { RandomSource } from './random.js';
import {
  HEADROOM,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPV6_HEADER_LEN,
  type IpReceiveInfo,
  type IpSender,
  type IpSendOptions,
  type TransportProtocol,
} from './transport.js';
import { ETH_HEADER_LEN } from './wire/ethernet.js';
import { ICMPV6_DEST_UNREACH, ICMPV6_PARAM_PROBLEM, ICMPV6_PORT_UNREACH, ICMPV6_ADDR_UNREACH } from './wire/icmpv6.js';
import {
  emitIpv6Header,
  FRAGMENT_HEADER_LEN,
  IPV6_MAX_PAYLOAD,
  Ipv6Chain,
  Ipv6ChainError,
  ipv6ChainErrorName,
  Ipv6Header,
  ipv6ParseErrorName,
  isExtensionHeader,
  NH_NONE,
  parseIpv6,
  parseIpv6Quoted,
  PP_ERRONEOUS_FIELD,
  PP_INCOMPLETE_CHAIN,
  PP_UNKNOWN_NEXT_HEADER,
  walkIpv6Chain,
} from './wire/ipv6.js';

export const DEFAULT_HOP_LIMIT = 64;

/** How the fragments of one datagram go out. */
interface FragmentOut {
  hopLimit: number;
  tc: number;
  flow: number;
  mtu: number;
  nextHop: Ipv6Addr;
  multicast: boolean;
  loop: boolean;
  onLink: boolean;
}
/** Where the IPv6 header starts in a buffer built with HEADROOM. */
const IP_OFFSET = HEADROOM - IPV6_HEADER_LEN;

/** How the layer reports a packet it cannot take (implemented by the ICMPv6 layer). */
export interface Ipv6ErrorReporter {
  /**
   * Sends an ICMPv6 error about `packet` (a whole IPv6 packet, or its start) when RFC 4443 §2.4
   * allows it; `param` is packet too big's MTU or parameter problem's pointer. `evenMulticast`: the
   * packet may have gone to a group (packet too big, parameter problem code 2 for option type 10xxxxxx).
   */
  sendError(type: number, code: number, param: number, packet: Buffer, evenMulticast?: boolean): void;
}

export interface Ipv6LayerDeps {
  link: EthernetLink;
  scheduler: Scheduler;
  random: RandomSource;
  counters: Counters;
  /** The link MTU. */
  mtu: () => number;
  groups: MulticastGroups;
  /** Hands a whole IPv6 packet back to `input(…, true)` on a later turn; false when its queue is full. */
  loopback: (packet: Buffer) => boolean | void;
  reassembly?: Ipv6ReassemblyOptions;
  neighbors?: NeighborCacheOptions;
}

export class Ipv6Layer implements IpSender<Ipv6Addr> {
  readonly counters: Counters;
  errors: Ipv6ErrorReporter | null = null;
  /** Hears each address of ours that duplicate address detection found in use by another node. */
  onAddressConflict: ((addr: Ipv6Addr) => void) | null = null;
  readonly addrs = new Ipv6Addresses();
  readonly routeTable = new Ipv6RouteTable();
  readonly reassembler: Ipv6Reassembler;
  readonly pmtu: PathMtuCache;
  readonly ndp: NeighborDiscovery;
  readonly mld: MldReporter;
  readonly link: EthernetLink;
  private readonly groups: MulticastGroups;
  private readonly mtuOf: () => number;
  private readonly loopbackOut: (packet: Buffer) => boolean | void;
  private readonly random: RandomSource;
  private readonly rxPackets: CounterCell;
  private readonly txPackets: CounterCell;
  private readonly transports: (TransportProtocol | undefined)[] = new Array<TransportProtocol | undefined>(256);
  private readonly hdr = new Ipv6Header();
  private readonly chain = new Ipv6Chain();
  private readonly quotedHdr = new Ipv6Header();
  private readonly quotedChain = new Ipv6Chain();
  private readonly frag: Ipv6FragmentInfo = { dataOffset: 0, fragOffset: 0, moreFragments: false, id: 0, nextHeader: 0 };
  private readonly info: IpReceiveInfo<Ipv6Addr> = { src: '', dst: '', ttl: 0, tos: 0, flowLabel: 0, broadcast: false, loopback: false };
  private delivering = 0;
  private closed = false;

  constructor(deps: Ipv6LayerDeps) {
    this.link = deps.link;
    this.groups = deps.groups;
    this.mtuOf = deps.mtu;
    this.loopbackOut = deps.loopback;
    this.random = deps.random;
    this.counters = deps.counters;
    this.rxPackets = deps.counters.cell('rx_packets');
    this.txPackets = deps.counters.cell('tx_packets');
    this.pmtu = new PathMtuCache(deps.scheduler, 600_000, 1024, PMTU_MIN6);
    this.reassembler = new Ipv6Reassembler(
      deps.scheduler,
      deps.counters,
      (first) => {
        // RFC 8200 §4.5: time exceeded (reassembly) only when the first fragment had arrived
        if (first) this.errors?.sendError(3, 1, 0, first);
      },
      deps.reassembly,
    );
    this.ndp = new NeighborDiscovery({
      ip: this,
      scheduler: deps.scheduler,
      random: deps.random,
      counters: deps.counters,
      neighbors: deps.neighbors,
    });
    deps.link.neighbors = this.ndp.cache;
    this.mld = new MldReporter({ ip: this, groups: deps.groups, scheduler: deps.scheduler, random: deps.random, counters: deps.counters });
  }

  register(t: TransportProtocol): void {
    this.transports[t.protocol] = t;
  }

  transport(protocol: number): TransportProtocol | undefined {
    return this.transports[protocol & 0xff];
  }

  get linkMtu(): number {
    return this.mtuOf();
  }

  // ───────────────────────── addresses and routes ─────────────────────────

  /**
   * Adds an address (usable at once: optimistic DAD, RFC 4429), its on-link route, its
   * solicited-node group and, with the first address, ff02::1 and the link-local address from the
   * MAC (modified EUI-64, RFC 4291 appendix A).
   */
  addAddress(addr: Ipv6Addr, prefixLen: number): void {
    if (this.closed || !validUnicast(addr) || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) return;
    const first = this.addrs.size === 0;
    if (!this.addrs.add(addr, prefixLen)) return;
    if (first) this.groups.join(IPV6_ALL_NODES);
    this.groups.join(solicitedNode(addr));
    if (prefixLen < 128) this.routeTable.add({ dest: addr, prefixLen, gateway: null, metric: 0 });
    if (!isLinkLocal6(addr) && this.addrs.linkLocal() === null) this.addAddress(linkLocalFromMac(this.link.mac), 64);
    this.ndp.startDad(addr);
  }

  removeAddress(addr: Ipv6Addr): void {
    const gone = this.addrs.remove(addr);
    if (!gone) return;
    this.ndp.cancelDad(addr);
    this.groups.leave(solicitedNode(addr));
    if (this.addrs.size === 0) this.groups.leave(IPV6_ALL_NODES);
    const covered = this.addrs.list().some((a) => a.prefixLen === gone.prefixLen && inPrefix6(a.addr, gone.addr, gone.prefixLen));
    if (!covered) this.routeTable.removeOnLink(gone.addr, gone.prefixLen);
  }

  addresses(): Ipv6InterfaceAddress[] {
    return this.addrs.list();
  }

  /** Every address in prefix/len is ours (ZeroTier 6plane: the member's /80); NDP answers for all of them. */
  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    if (this.closed || !validUnicast(prefix) || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) return;
    if (this.addrs.addOwnedPrefix(prefix, prefixLen)) this.groups.allSolicitedNodes = true;
  }

  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    if (this.addrs.removeOwnedPrefix(prefix, prefixLen)) this.groups.allSolicitedNodes = this.addrs.ownedPrefixes().length > 0;
  }

  addRoute(route: Ipv6Route): void {
    if (!route || !validAddr(route.dest) || (route.gateway !== null && !validUnicast(route.gateway))) return;
    if (!Number.isInteger(route.prefixLen) || route.prefixLen < 0 || route.prefixLen > 128) return;
    this.routeTable.add({
      dest: route.dest,
      prefixLen: route.prefixLen,
      gateway: route.gateway,
      metric: Number.isFinite(route.metric) ? route.metric : 0,
    });
  }

  removeRoute(dest: Ipv6Addr, prefixLen: number): void {
    if (validAddr(dest)) this.routeTable.remove(dest, prefixLen);
  }

  routes(): Ipv6Route[] {
    return this.routeTable.list();
  }

  /** True when some route names one of our own addresses as its gateway: we are the network's router for it. */
  isGateway(): boolean {
    return this.routeTable.list().some((r) => r.gateway !== null && this.addrs.isOwn(r.gateway));
  }

  // ───────────────────────── IpSender ─────────────────────────

  isLocalAddress(addr: Ipv6Addr): boolean {
    return addr === IPV6_ANY || addr === IPV6_LOOPBACK || this.addrs.isOwn(addr);
  }

  sourceFor(dst: Ipv6Addr): Ipv6Addr | null {
    if (dst === IPV6_LOOPBACK) return IPV6_LOOPBACK;
    if (dst === IPV6_ANY) return null;
    if (this.addrs.isOwn(dst)) return dst;
    if (!isMulticast6(dst) && !this.routeTable.lookup(dst)) return null;
    return this.addrs.selectSource(dst);
  }

  maxPayloadFor(dst: Ipv6Addr): number {
    if (this.isLocalAddress(dst)) return LOOPBACK_MTU - IPV6_HEADER_LEN;
    return this.pmtu.get(dst, this.mtuOf()) - IPV6_HEADER_LEN;
  }

  /** Packet too big: remember the smaller path MTU (at least 1280, RFC 8201 §4). */
  lowerPathMtu(dst: Ipv6Addr, mtu: number): boolean {
    return this.pmtu.lower(dst, Math.max(PMTU_MIN6, mtu), this.mtuOf());
  }

  send(protocol: number, src: Ipv6Addr, dst: Ipv6Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number {
    if (src === IPV6_ANY) src = this.sourceFor(dst) ?? IPV6_ANY;
    return this.output(protocol, src, dst, packet, offset, opts);
  }

  /** `send` without choosing a source: an unspecified `src` stays so (DAD probes, MLD before a link-local address). */
  output(protocol: number, src: Ipv6Addr, dst: Ipv6Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number {
    const c = this.counters;
    const payloadLen = packet.length - offset;
    if (this.closed) return -Errno.ENETDOWN;
    if (offset < 0 || payloadLen < 0 || payloadLen > IPV6_MAX_PAYLOAD) {
      c.inc('tx_too_big');
      return -Errno.EMSGSIZE;
    }
    if (dst === IPV6_ANY || typeof dst !== 'string') {
      c.inc('tx_no_route');
      return -Errno.ENETUNREACH;
    }
    const hopLimit = opts?.ttl ?? DEFAULT_HOP_LIMIT;
    const tc = opts?.tos ?? 0;
    const flow = opts?.flowLabel ?? 0;
    if (dst === IPV6_LOOPBACK || this.addrs.isOwn(dst)) {
      return this.sendLocal(
        protocol,
        src === IPV6_ANY ? (dst === IPV6_LOOPBACK ? IPV6_LOOPBACK : dst) : src,
        dst,
        packet,
        offset,
        hopLimit,
        tc,
        flow,
      );
    }
    const multicast = isMulticast6(dst);
    let nextHop = dst;
    if (!multicast) {
      const r = this.routeTable.lookup(dst);
      if (!r) {
        c.inc('tx_no_route');
        return -Errno.ENETUNREACH;
      }
      nextHop = r.gateway ?? dst;
    }
    const loop = multicast && opts?.multicastLoop !== false && this.groups.has(dst);
    // hop limit 0 keeps a multicast on this host
    const onLink = !(multicast && hopLimit === 0);
    const linkMtu = this.mtuOf();
    const mtu = opts?.ignorePathMtu === true ? linkMtu : this.pmtu.get(dst, linkMtu);
    if (IPV6_HEADER_LEN + payloadLen > mtu) {
      if (opts?.dontFragment === true) {
        c.inc('tx_emsgsize');
        return -Errno.EMSGSIZE;
      }
      const o = { hopLimit, tc, flow, mtu: Math.max(mtu, PMTU_MIN6), nextHop, multicast, loop, onLink };
      return this.fragment(protocol, src, dst, packet, offset, o);
    }
    let buf = packet;
    let ipOff = offset - IPV6_HEADER_LEN;
    if (ipOff < ETH_HEADER_LEN) {
      buf = Buffer.allocUnsafe(HEADROOM + payloadLen);
      packet.copy(buf, HEADROOM, offset);
      ipOff = IP_OFFSET;
      c.inc('tx_headroom_copy');
    }
    emitIpv6Header(buf, ipOff, tc, flow, payloadLen, protocol, hopLimit, src, dst);
    this.txPackets.n++;
    if (loop) this.loopCopy(buf.subarray(ipOff));
    if (onLink) this.link.sendIp6(buf, ipOff, nextHop, multicast);
    else c.inc('tx_multicast_hop0_local');
    return 0;
  }

  /** Our own sockets hear our multicasts too (IPV6_MULTICAST_LOOP): a copy goes round the loopback. */
  private loopCopy(packet: Buffer): void {
    if (this.loopbackOut(Buffer.from(packet)) !== false) this.counters.inc('tx_multicast_looped');
  }

  private sendLocal(
    protocol: number,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    packet: Buffer,
    offset: number,
    hopLimit: number,
    tc: number,
    flow: number,
  ): number {
    const payloadLen = packet.length - offset;
    let buf = packet;
    let ipOff = offset - IPV6_HEADER_LEN;
    if (ipOff < 0) {
      buf = Buffer.allocUnsafe(IPV6_HEADER_LEN + payloadLen);
      packet.copy(buf, IPV6_HEADER_LEN, offset);
      ipOff = 0;
    }
    emitIpv6Header(buf, ipOff, tc, flow, payloadLen, protocol, hopLimit, src, dst);
    if (this.loopbackOut(ipOff === 0 ? buf : buf.subarray(ipOff)) === false) return -Errno.ENOBUFS;
    this.counters.inc('tx_loopback');
    return 0;
  }

  /** RFC 8200 §4.5: our own datagram in fragments of at most `mtu`, each with a fragment header. */
  private fragment(protocol: number, src: Ipv6Addr, dst: Ipv6Addr, packet: Buffer, offset: number, o: FragmentOut): number {
    // RFC 7739: identifications nobody can predict
    const id = this.random.u32();
    for (const f of fragmentDatagram(packet, offset, o.mtu, {
      protocol,
      src,
      dst,
      hopLimit: o.hopLimit,
      trafficClass: o.tc,
      flowLabel: o.flow,
      id,
    })) {
      this.counters.inc('tx_fragments');
      this.txPackets.n++;
      if (o.loop) this.loopCopy(f.subarray(IP_OFFSET));
      if (o.onLink) this.link.sendIp6(f, IP_OFFSET, o.nextHop, o.multicast);
    }
    this.counters.inc('tx_fragmented');
    return 0;
  }

  // ───────────────────────── receive ─────────────────────────

  /** An IPv6 packet from the link (`fromLoopback` false) or from this stack's loopback. */
  input(packet: Buffer, fromLoopback: boolean): void {
    if (this.closed) return;
    const c = this.counters;
    const h = this.hdr;
    const e = parseIpv6(packet, h);
    if (e !== 0) {
      c.inc(ipv6ParseErrorName(e));
      return;
    }
    this.rxPackets.n++;
    const src = h.src;
    const dst = h.dst;
    if (!fromLoopback && (isMulticast6(src) || src === IPV6_LOOPBACK || dst === IPV6_LOOPBACK)) {
      c.inc('rx_martian');
      return;
    }
    const multicast = isMulticast6(dst);
    if (multicast) {
      // groups share Ethernet addresses: the link let in every group of the MAC
      if (!this.groups.has(dst) && !(this.groups.allSolicitedNodes && dst.startsWith(SOLICITED_NODE_PREFIX))) {
        c.inc('rx_multicast_not_joined');
        return;
      }
      if (dst[3] === '1' && !fromLoopback) {
        c.inc('rx_interface_local_multicast');
        return;
      }
      c.inc('rx_multicast');
    } else if (!this.addrs.isOwn(dst) && !(fromLoopback && dst === IPV6_LOOPBACK)) {
      c.inc('rx_not_for_us');
      return;
    }
    const ch = this.chain;
    const end = h.totalLen;
    const w = walkIpv6Chain(packet, IPV6_HEADER_LEN, end, h.nextHeader, 6, ch);
    if (w !== Ipv6ChainError.Ok) {
      c.inc(ipv6ChainErrorName(w));
      if (w === Ipv6ChainError.ParamProblem || w === Ipv6ChainError.HopByHopNotFirst)
        this.paramProblem(ch.ppCode, ch.ppPointer, packet, end, multicast && !ch.ppEvenMulticast);
      return;
    }
    if (ch.isFragment) {
      this.fragmentIn(h, ch, packet, multicast, fromLoopback);
      return;
    }
    this.deliver(packet, h, ch, multicast, fromLoopback);
  }

  private paramProblem(code: number, pointer: number, packet: Buffer, end: number, suppressed: boolean): void {
    if (suppressed) {
      this.counters.inc('tx_param_problem_multicast_suppressed');
      return;
    }
    this.errors?.sendError(ICMPV6_PARAM_PROBLEM, code, pointer, packet.subarray(0, end), true);
  }

  private fragmentIn(h: Ipv6Header, ch: Ipv6Chain, packet: Buffer, multicast: boolean, fromLoopback: boolean): void {
    const c = this.counters;
    const end = h.totalLen;
    const f = this.frag;
    f.dataOffset = ch.offset + FRAGMENT_HEADER_LEN;
    f.fragOffset = ch.fragOffset;
    f.moreFragments = ch.moreFragments;
    f.id = ch.fragId;
    f.nextHeader = ch.fragNextHeader;
    const len = end - f.dataOffset;
    // RFC 8200 §4.5: a non-last fragment's length must be a positive multiple of 8, the datagram within 65535
    if (f.moreFragments && (len <= 0 || (len & 7) !== 0)) {
      c.inc('rx_fragment_bad_length');
      this.paramProblem(PP_ERRONEOUS_FIELD, 4, packet, end, multicast);
      return;
    }
    if (f.fragOffset + len > IPV6_MAX_PAYLOAD) {
      c.inc('rx_fragment_too_far');
      this.paramProblem(PP_ERRONEOUS_FIELD, ch.offset + 2, packet, end, multicast);
      return;
    }
    if (f.fragOffset === 0) {
      // RFC 7112: the first fragment carries the whole header chain
      const q = this.quotedChain;
      walkIpv6Chain(packet, f.dataOffset, end, f.nextHeader, ch.offset, q, true, true);
      if (isExtensionHeader(q.protocol) || q.offset >= end) {
        c.inc('rx_first_fragment_incomplete');
        this.paramProblem(PP_INCOMPLETE_CHAIN, 0, packet, end, multicast);
        return;
      }
    }
    const whole = this.reassembler.add(h, packet, f);
    if (!whole) return;
    if (parseIpv6(whole, h) !== 0) {
      c.inc('rx_reassembly_error');
      return;
    }
    const w = walkIpv6Chain(whole, IPV6_HEADER_LEN, h.totalLen, h.nextHeader, 6, ch);
    if (w !== Ipv6ChainError.Ok || ch.isFragment) {
      c.inc(w !== Ipv6ChainError.Ok ? ipv6ChainErrorName(w) : 'rx_nested_fragment');
      return;
    }
    this.deliver(whole, h, ch, multicast, fromLoopback);
  }

  private deliver(p: Buffer, h: Ipv6Header, ch: Ipv6Chain, multicast: boolean, fromLoopback: boolean): void {
    const c = this.counters;
    const protocol = ch.protocol;
    if (protocol === NH_NONE) {
      c.inc('rx_no_next_header');
      return;
    }
    const end = h.totalLen;
    const t = this.transports[protocol];
    if (!t) {
      c.inc('rx_unknown_protocol');
      // RFC 8200 §4: parameter problem code 1 pointing at the Next Header field that named it
      this.paramProblem(PP_UNKNOWN_NEXT_HEADER, ch.nextHeaderAt, p, end, multicast);
      return;
    }
    if (multicast && protocol === IPPROTO_TCP) {
      c.inc('rx_multicast_tcp');
      return;
    }
    if (!fromLoopback && protocol !== IPPROTO_ICMPV6 && this.addrs.isAssigned(h.src)) {
      c.inc('rx_martian_src');
      return;
    }
    // the shared info object only at the outermost level: a synchronous link can bring the next
    // packet in while a transport is still working on this one
    const info: IpReceiveInfo<Ipv6Addr> =
      this.delivering === 0 ? this.info : { src: '', dst: '', ttl: 0, tos: 0, flowLabel: 0, broadcast: false, loopback: false };
    info.src = h.src;
    info.dst = h.dst;
    info.ttl = h.hopLimit;
    info.tos = h.trafficClass;
    info.flowLabel = h.flowLabel;
    info.broadcast = multicast;
    info.loopback = fromLoopback;
    info.packet = p;
    const payload = p.subarray(ch.offset, end);
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
    if (!taken && !multicast) this.errors?.sendError(ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0, p.subarray(0, end));
  }

  /** Frames that waited for a neighbor that never answered: their senders learn EHOSTUNREACH (address unreachable). */
  failQueued(frames: Buffer[]): void {
    const q = this.quotedHdr;
    const qc = this.quotedChain;
    let notified = -1;
    for (const f of frames) {
      this.counters.inc('tx_nd_failed');
      const ip = f.subarray(ETH_HEADER_LEN);
      if (parseIpv6Quoted(ip, q) !== 0) continue;
      const end = Math.min(ip.length, q.totalLen);
      walkIpv6Chain(ip, IPV6_HEADER_LEN, end, q.nextHeader, 6, qc, false, true);
      let id = -2;
      if (qc.isFragment) {
        // fragments of one datagram: tell its sender once, from the first
        if (qc.fragOffset !== 0) continue;
        id = qc.fragId;
        walkIpv6Chain(ip, qc.offset + FRAGMENT_HEADER_LEN, end, qc.fragNextHeader, qc.offset, qc, true, true);
      }
      if (id >= 0 && id === notified) continue;
      notified = id;
      const t = this.transports[qc.protocol];
      if (!t || isExtensionHeader(qc.protocol)) continue;
      try {
        t.receiveIcmpError(ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, q.src, q.dst, ip.subarray(qc.offset, end));
      } catch {
        this.counters.inc('tx_notify_exception');
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ndp.close();
    this.mld.close();
    this.reassembler.close();
  }
}

const SOLICITED_NODE_PREFIX = 'ff0200000000000000000001ff';
