/**
 * Neighbor discovery for the stack (RFC 4861, host side) and duplicate address detection (RFC 4862
 * §5.4 with optimistic addresses, RFC 4429).
 *
 * - Resolution: the neighbor cache (neighbor-cache.ts) asks for solicitations; they go to the
 *   target's solicited-node group (unicast when probing), from the source we would use towards it.
 * - Solicitations for our addresses (and any address in a prefix we own: ZeroTier's 6plane /80)
 *   are answered: unicast with S and O set to a solicitor we learn from its source link-layer
 *   option, to ff02::1 when it was a DAD probe (source ::).
 * - Advertisements update the cache (§7.2.5); one claiming our own address is a conflict.
 * - DAD: each new address is usable at once (optimistic) while one probe (source ::) goes out; a
 *   conflicting advertisement, or another node's probe for it while ours runs, marks it duplicate
 *   (it stays, but is a source of last resort), is counted (`nd_dad_conflict`) and reported
 *   through `onAddressConflict`. With no conflict after RetransTimer the address is announced with
 *   an unsolicited advertisement (override set) to ff02::1.
 * - Router solicitations are ignored (counted) unless the stack is a gateway of the network
 *   (a route names one of its addresses); then answered with a router advertisement to ff02::1,
 *   at most one per 3 s (MIN_DELAY_BETWEEN_RAS). Advertisements from routers only teach their
 *   link-layer address: addresses and routes come from the network's configuration.
 * Every ND message is checked by wire/ndp.ts (hop limit 255, code, option lengths…) first.
 */
import { IPV6_ALL_NODES, IPV6_ANY, solicitedNode, type Ipv6Addr } from './addr.js';
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import type { Ipv6Addresses } from './ipv6-addresses.js';
import { NeighborCache, type NeighborCacheOptions } from './neighbor-cache.js';
import type { RandomSource } from './random.js';
import { HEADROOM, IPPROTO_ICMPV6, type IpReceiveInfo, type IpSendOptions } from './transport.js';
import {
  ICMPV6_NEIGHBOR_ADVERT,
  ICMPV6_NEIGHBOR_SOLICIT,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERT,
  ICMPV6_ROUTER_SOLICIT,
} from './wire/icmpv6.js';
import {
  emitNeighborAdvertisement,
  emitNeighborSolicitation,
  emitRouterAdvertisement,
  LLADDR_OPT_LEN,
  NA_FLAG_OVERRIDE,
  NA_FLAG_ROUTER,
  NA_FLAG_SOLICITED,
  NA_LEN,
  NDP_HOP_LIMIT,
  NdpMessage,
  ndpParseErrorName,
  NS_LEN,
  parseNdp,
  routerAdvertisementLen,
  type RouterAdvertisementFields,
} from './wire/ndp.js';

/** What neighbor discovery needs of the IPv6 layer. */
export interface NdpPort {
  readonly link: { readonly mac: Buffer; send(frame: Buffer): void };
  readonly addrs: Ipv6Addresses;
  readonly linkMtu: number;
  onAddressConflict: ((addr: Ipv6Addr) => void) | null;
  /** Sends without choosing a source (so :: stays ::). */
  output(protocol: number, src: Ipv6Addr, dst: Ipv6Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number;
  sourceFor(dst: Ipv6Addr): Ipv6Addr | null;
  isGateway(): boolean;
  failQueued(frames: Buffer[]): void;
}

export interface NeighborDiscoveryDeps {
  ip: NdpPort;
  scheduler: Scheduler;
  random: RandomSource;
  counters: Counters;
  neighbors?: NeighborCacheOptions;
}

/** MIN_DELAY_BETWEEN_RAS (RFC 4861 §10). */
const MIN_DELAY_BETWEEN_RAS_MS = 3000;
/** AdvDefaultLifetime we advertise as a gateway (3 × MaxRtrAdvInterval, §6.2.1). */
const ROUTER_LIFETIME_S = 1800;

const ND_OPTS: IpSendOptions = { ttl: NDP_HOP_LIMIT, multicastLoop: false };

export class NeighborDiscovery {
  readonly cache: NeighborCache;
  private readonly ip: NdpPort;
  private readonly scheduler: Scheduler;
  private readonly counters: Counters;
  private readonly msg = new NdpMessage();
  /** Addresses whose DAD probe is out, with the timer that ends it. */
  private readonly tentative = new Map<Ipv6Addr, Timer>();
  private lastRaAt = -Infinity;

  constructor(deps: NeighborDiscoveryDeps) {
    this.ip = deps.ip;
    this.scheduler = deps.scheduler;
    this.counters = deps.counters;
    this.cache = new NeighborCache(
      {
        scheduler: deps.scheduler,
        counters: deps.counters,
        random: deps.random,
        solicit: (target, mac) => this.solicit(target, mac),
        transmit: (frame) => this.ip.link.send(frame),
        onFailure: (_target, frames) => this.ip.failQueued(frames),
      },
      deps.neighbors,
    );
  }

  private get mac(): Buffer {
    return this.ip.link.mac;
  }

  // ───────────────────────── sending ─────────────────────────

  /** A solicitation for `target`: to its solicited-node group, or unicast to it when `mac` is known (NUD probe). */
  private solicit(target: Ipv6Addr, mac: Buffer | null): void {
    const src = this.ip.sourceFor(target) ?? this.ip.addrs.linkLocal();
    if (src === null) {
      this.counters.inc('tx_nd_no_source');
      return;
    }
    const dst = mac ? target : solicitedNode(target);
    const buf = Buffer.allocUnsafe(HEADROOM + NS_LEN + LLADDR_OPT_LEN);
    emitNeighborSolicitation(buf, HEADROOM, target, this.mac, src, dst);
    this.ip.output(IPPROTO_ICMPV6, src, dst, buf, HEADROOM, ND_OPTS);
  }

  private advertise(target: Ipv6Addr, flags: number, dst: Ipv6Addr): void {
    const buf = Buffer.allocUnsafe(HEADROOM + NA_LEN + LLADDR_OPT_LEN);
    // from the target itself: it is ours (assigned, or in a prefix we own)
    emitNeighborAdvertisement(buf, HEADROOM, target, flags, this.mac, target, dst);
    const r = this.ip.output(IPPROTO_ICMPV6, target, dst, buf, HEADROOM, ND_OPTS);
    this.counters.inc(r === 0 ? 'tx_nd_advert' : 'tx_nd_error');
  }

  // ───────────────────────── DAD ─────────────────────────

  /** Starts DAD for a new address (optimistic: usable meanwhile). */
  startDad(addr: Ipv6Addr): void {
    this.cancelDad(addr);
    const buf = Buffer.allocUnsafe(HEADROOM + NS_LEN);
    const dst = solicitedNode(addr);
    emitNeighborSolicitation(buf, HEADROOM, addr, null, IPV6_ANY, dst);
    this.counters.inc('tx_dad_probe');
    this.ip.output(IPPROTO_ICMPV6, IPV6_ANY, dst, buf, HEADROOM, ND_OPTS);
    this.tentative.set(
      addr,
      this.scheduler.setTimer(this.cache.retransMs, () => {
        this.tentative.delete(addr);
        if (!this.ip.addrs.isAssigned(addr) || this.ip.addrs.isDuplicate(addr)) return;
        this.counters.inc('nd_dad_ok');
        this.advertise(addr, NA_FLAG_OVERRIDE | this.routerFlag(), IPV6_ALL_NODES);
      }),
    );
  }

  cancelDad(addr: Ipv6Addr): void {
    this.tentative.get(addr)?.cancel();
    this.tentative.delete(addr);
  }

  isTentative(addr: Ipv6Addr): boolean {
    return this.tentative.has(addr);
  }

  private conflict(addr: Ipv6Addr): void {
    this.counters.inc('nd_dad_conflict');
    this.ip.addrs.markDuplicate(addr);
    this.cancelDad(addr);
    const h = this.ip.onAddressConflict;
    if (!h) return;
    try {
      h(addr);
    } catch {
      this.counters.inc('handler_exception');
    }
  }

  private routerFlag(): number {
    return this.ip.isGateway() ? NA_FLAG_ROUTER : 0;
  }

  // ───────────────────────── receiving ─────────────────────────

  /** An ND message (RS, RA, NS, NA, redirect) whose ICMPv6 checksum was checked. */
  receive(info: IpReceiveInfo<Ipv6Addr>, message: Buffer): void {
    const c = this.counters;
    if (message[0] === ICMPV6_REDIRECT) {
      c.inc('rx_redirect_ignored'); // addresses and routes come from the network
      return;
    }
    const m = this.msg;
    const e = parseNdp(message, info.src, info.dst, info.ttl, m);
    if (e !== 0) {
      c.inc(ndpParseErrorName(e));
      return;
    }
    switch (m.type) {
      case ICMPV6_NEIGHBOR_SOLICIT:
        this.solicitationIn(info.src, m);
        break;
      case ICMPV6_NEIGHBOR_ADVERT:
        this.advertisementIn(m);
        break;
      case ICMPV6_ROUTER_SOLICIT:
        this.routerSolicitationIn(info.src, m);
        break;
      case ICMPV6_ROUTER_ADVERT:
        c.inc('rx_router_advert');
        if (m.sourceLinkAddr) this.cache.learnFromSolicitation(info.src, m.sourceLinkAddr, true);
        break;
    }
  }

  private solicitationIn(src: Ipv6Addr, m: NdpMessage): void {
    const c = this.counters;
    c.inc('rx_nd_solicit');
    const target = m.target;
    if (!this.ip.addrs.isOwn(target)) {
      c.inc('rx_nd_solicit_not_ours');
      return;
    }
    if (src === IPV6_ANY) {
      // a DAD probe: someone else wants our address; while ours is tentative both lose it (§5.4.3)
      if (this.tentative.has(target)) {
        this.conflict(target);
        return;
      }
      this.advertise(target, NA_FLAG_OVERRIDE | this.routerFlag(), IPV6_ALL_NODES);
      return;
    }
    if (m.sourceLinkAddr) this.cache.learnFromSolicitation(src, m.sourceLinkAddr);
    this.advertise(target, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE | this.routerFlag(), src);
  }

  private advertisementIn(m: NdpMessage): void {
    const c = this.counters;
    c.inc('rx_nd_advert');
    const target = m.target;
    if (this.ip.addrs.isOwn(target)) {
      // our own advertisement reflected (or an overlay answering for us) is no conflict
      const tlla = m.targetLinkAddr;
      if (tlla && tlla.equals(this.mac)) {
        c.inc('rx_nd_advert_own');
        return;
      }
      if (this.ip.addrs.isAssigned(target)) this.conflict(target);
      else c.inc('rx_nd_advert_owned_prefix');
      return;
    }
    this.cache.advertisement(target, m.targetLinkAddr, m.solicited, m.override, m.router);
  }

  private routerSolicitationIn(src: Ipv6Addr, m: NdpMessage): void {
    const c = this.counters;
    if (!this.ip.isGateway()) {
      c.inc('rx_router_solicit_ignored');
      return;
    }
    if (src !== IPV6_ANY && m.sourceLinkAddr) this.cache.learnFromSolicitation(src, m.sourceLinkAddr);
    const now = this.scheduler.now();
    if (now - this.lastRaAt < MIN_DELAY_BETWEEN_RAS_MS) {
      c.inc('tx_router_advert_rate_limited');
      return;
    }
    const ll = this.ip.addrs.linkLocal();
    if (ll === null) {
      c.inc('tx_router_advert_no_link_local');
      return;
    }
    this.lastRaAt = now;
    const f: RouterAdvertisementFields = {
      curHopLimit: 64,
      flags: 0,
      routerLifetime: ROUTER_LIFETIME_S,
      reachableTime: 0,
      retransTimer: 0,
      sourceMac: this.mac,
      mtu: this.ip.linkMtu,
    };
    const buf = Buffer.allocUnsafe(HEADROOM + routerAdvertisementLen(f));
    emitRouterAdvertisement(buf, HEADROOM, f, ll, IPV6_ALL_NODES);
    const r = this.ip.output(IPPROTO_ICMPV6, ll, IPV6_ALL_NODES, buf, HEADROOM, ND_OPTS);
    c.inc(r === 0 ? 'tx_router_advert' : 'tx_nd_error');
  }

  close(): void {
    for (const t of this.tentative.values()) t.cancel();
    this.tentative.clear();
    this.cache.clear();
  }
}
