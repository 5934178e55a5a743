/**
 * One network's userspace stack: wires the Ethernet link, ARP cache, IPv4 (with reassembly,
 * loopback and path MTU), ICMP, IPv6 (with neighbor discovery, MLD, reassembly and path MTU),
 * ICMPv6, UDP and TCP together behind the NetStack interface. The transports send through one
 * IpDispatcher (IPv4 or IPv6 by the destination's family) and both IP layers deliver to them.
 */
import { inSubnet, isIpAddr, type IpAddr, type Ipv4Addr, type Ipv6Addr } from './addr.js';
import { ArpCache } from './arp-cache.js';
import type { Scheduler } from './clock.js';
import { Counters } from './counters.js';
import { Errno } from './errno.js';
import { IcmpLayer } from './icmp.js';
import { Icmpv6Layer } from './icmpv6.js';
import { Ipv6Layer } from './ipv6.js';
import { IcmpSocketTable } from './icmp-socket.js';
import { IpDispatcher } from './ip-dispatch.js';
import { MAX_MTU, MIN_MTU, NetInterface } from './interface.js';
import { Ipv4Layer } from './ipv4.js';
import { Ipv4Reassembler } from './ipv4-reassembly.js';
import { EthernetLink } from './link.js';
import { LoopbackQueue } from './loopback.js';
import { MulticastGroups } from './multicast-groups.js';
import { PathMtuCache } from './path-mtu.js';
import { CryptoRandom } from './random.js';
import { OutboundGate } from './outbound-gate.js';
import { ReturnPaths } from './return-paths.js';
import { RouteTable } from './routing.js';
import type { TcpSocket, UdpSocket } from './socket-api.js';
import {
  DEFAULT_MTU,
  type InterfaceAddress,
  type LinkOutput,
  type NetStack,
  type NetStackOptions,
  type PingOptions,
  type PingResult,
  type OutboundHandler,
  type Route,
  type TransparentOrigin,
} from './stack-api.js';
import { TcpLayer } from './tcp/tcp-layer.js';
import { UdpLayer } from './udp.js';
import { TransparentFlows } from './transparent-flows.js';
import { StackTransparentOrigin } from './transparent-origin.js';
import { IPV4_HEADER_LEN } from './transport.js';
import { ICMP_REASSEMBLY_EXCEEDED, ICMP_TIME_EXCEEDED } from './wire/icmp.js';
import { Ipv4Header, parseIpv4Quoted } from './wire/ipv4.js';

export class Stack implements NetStack {
  readonly name: string;
  readonly mac: Buffer;
  readonly iface: NetInterface;
  readonly routeTable = new RouteTable();
  readonly link: EthernetLink;
  readonly arp: ArpCache;
  readonly ipv4: Ipv4Layer;
  /** What the transports send through: IPv4 or IPv6 by the destination's family. */
  readonly ip: IpDispatcher;
  readonly icmp: IcmpLayer;
  readonly ipv6: Ipv6Layer;
  readonly icmp6: Icmpv6Layer;
  /** The ICMPv6 ping and raw sockets (the ICMPv6 layer feeds them). */
  readonly icmp6Sockets: IcmpSocketTable;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
  readonly reassembler: Ipv4Reassembler;
  readonly loopback: LoopbackQueue;
  readonly groups: MulticastGroups;
  /** Where replies to flows from outside the network's routes go (return-paths.ts). */
  readonly returnPaths: ReturnPaths;
  private readonly transparentFlows = new TransparentFlows();
  private origin: StackTransparentOrigin | null = null;
  private readonly c = {
    link: new Counters(),
    arp: new Counters(),
    ipv4: new Counters(),
    icmp: new Counters(),
    ipv6: new Counters(),
    icmpv6: new Counters(),
    udp: new Counters(),
    tcp: new Counters(),
  };
  private closed = false;

  private readonly scheduler: Scheduler;

  constructor(o: NetStackOptions) {
    const scheduler = o.scheduler;
    this.scheduler = scheduler;
    const random = o.random ?? new CryptoRandom();
    this.name = o.name ?? 'netstack';
    this.mac = Buffer.from(o.mac.subarray(0, 6));
    this.iface = new NetInterface(this.mac, clampMtu(o.mtu ?? DEFAULT_MTU));
    this.groups = new MulticastGroups(this.c.ipv4);
    this.link = new EthernetLink({
      iface: this.iface,
      linkCounters: this.c.link,
      arpCounters: this.c.arp,
      groups: this.groups,
      ipv4Input: (p, f) => this.ipv4.input(p, false, f),
      ipv6Input: (p) => this.ipv6.input(p, false),
    });
    this.arp = new ArpCache({
      scheduler,
      counters: this.c.arp,
      sendRequest: (ip) => this.link.sendArpRequest(ip),
      transmit: (f) => this.link.send(f),
      onFailure: (_ip, frames) => this.ipv4.failQueued(frames),
    });
    this.link.arp = this.arp;
    this.loopback = new LoopbackQueue(scheduler, this.c.ipv4, (p) => this.loopbackInput(p));
    const timedOutHdr = new Ipv4Header();
    this.reassembler = new Ipv4Reassembler(scheduler, this.c.ipv4, (first) => {
      // RFC 792: time exceeded (reassembly) when the first fragment had arrived
      if (first && parseIpv4Quoted(first, timedOutHdr) === 0)
        this.icmp.sendError(ICMP_TIME_EXCEEDED, ICMP_REASSEMBLY_EXCEEDED, first, timedOutHdr);
    });
    this.returnPaths = new ReturnPaths(() => scheduler.now(), this.c.ipv4);
    this.ipv4 = new Ipv4Layer({
      returnPaths: this.returnPaths,
      transparent: this.transparentFlows,
      iface: this.iface,
      routes: this.routeTable,
      link: this.link,
      loopback: this.loopback,
      reassembler: this.reassembler,
      pmtu: new PathMtuCache(scheduler),
      groups: this.groups,
      random,
      counters: this.c.ipv4,
    });
    this.ip = new IpDispatcher(this.ipv4);
    const iface = this.iface;
    const ifaceQuestions = {
      isBroadcast: (a: IpAddr) => typeof a === 'number' && iface.isBroadcast(a),
      isOwnAddress: (a: Ipv4Addr) => iface.isOwn(a),
      primaryAddress: () => iface.primary(),
      linkMaxPayload: () => iface.mtu - IPV4_HEADER_LEN,
    };
    this.icmp = new IcmpLayer({
      ip: this.ipv4,
      scheduler,
      random,
      counters: this.c.icmp,
      socketPort: { ...ifaceQuestions, groups: this.groups },
    });
    this.ipv4.errors = this.icmp;
    this.icmp6Sockets = new IcmpSocketTable({
      family: 6,
      ip: this.ip,
      random,
      port: { ...ifaceQuestions, groups: this.groups, counters: this.c.icmpv6 },
    });
    this.ipv6 = new Ipv6Layer({
      link: this.link,
      scheduler,
      random,
      counters: this.c.ipv6,
      mtu: () => this.iface.mtu,
      groups: this.groups,
      loopback: (p) => this.loopback.enqueue(p),
    });
    this.ip.v6 = this.ipv6;
    this.icmp6 = new Icmpv6Layer({ ip: this.ipv6, scheduler, random, counters: this.c.icmpv6, sockets: this.icmp6Sockets });
    this.udp = new UdpLayer({ ip: this.ip, random, counters: this.c.udp, iface: ifaceQuestions, groups: this.groups });
    this.tcp = new TcpLayer({ ip: this.ip, scheduler, random, counters: this.c.tcp, congestion: o.tcpCongestion });
    this.ipv4.register(this.icmp);
    this.ipv4.register(this.udp);
    this.ipv4.register(this.tcp);
    this.ipv6.register(this.icmp6);
    this.ipv6.register(this.udp);
    this.ipv6.register(this.tcp);
  }

  get mtu(): number {
    return this.iface.mtu;
  }

  setLinkOutput(send: LinkOutput): void {
    this.link.setOutput(send);
  }

  input(frame: Buffer): void {
    if (this.closed) return;
    try {
      this.link.input(frame);
    } catch {
      // a bug must not take the daemon down with it: count and carry on
      this.c.link.inc('rx_internal_error');
    }
  }

  beginReceiveBatch(): void {
    this.tcp.beginReceiveBatch();
  }

  endReceiveBatch(): void {
    if (this.closed) return;
    try {
      this.tcp.endReceiveBatch();
    } catch {
      this.c.link.inc('rx_internal_error');
    }
  }

  /** A packet back from the loopback queue: to the IP layer of its version. */
  private loopbackInput(p: Buffer): void {
    if (p.length > 0 && p[0]! >>> 4 === 6) this.ipv6.input(p, true);
    else this.ipv4.input(p, true);
  }

  addAddress(addr: IpAddr, prefixLen: number): void {
    if (typeof addr === 'string') {
      if (isIpAddr(addr)) this.ipv6.addAddress(addr, prefixLen);
      return;
    }
    if (!validAddr(addr) || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) return;
    addr = addr >>> 0;
    if (!this.iface.add(addr, prefixLen)) return;
    this.routeTable.add({ dest: addr, prefixLen, gateway: null, metric: 0 });
    this.link.announce(addr);
  }

  removeAddress(addr: IpAddr): void {
    if (typeof addr === 'string') {
      this.ipv6.removeAddress(addr);
      return;
    }
    const gone = this.iface.remove(addr >>> 0);
    if (!gone) return;
    const stillCovered = this.iface.addresses().some((a) => a.prefixLen === gone.prefixLen && inSubnet(a.addr, gone.addr, gone.prefixLen));
    if (!stillCovered) this.routeTable.removeOnLink(gone.addr, gone.prefixLen);
  }

  addresses(): InterfaceAddress[] {
    return [...this.iface.addresses(), ...this.ipv6.addresses()];
  }

  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    if (isIpAddr(prefix) && typeof prefix === 'string') this.ipv6.addOwnedPrefix(prefix, prefixLen);
  }

  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    if (typeof prefix === 'string') this.ipv6.removeOwnedPrefix(prefix, prefixLen);
  }

  addRoute(route: Route): void {
    if (route && typeof route.dest === 'string') {
      if (route.gateway === null || typeof route.gateway === 'string')
        this.ipv6.addRoute({ ...route, dest: route.dest, gateway: route.gateway });
      return;
    }
    if (!route || !validAddr(route.dest) || (route.gateway !== null && !validAddr(route.gateway))) return;
    this.routeTable.add({
      dest: route.dest >>> 0,
      prefixLen: route.prefixLen,
      gateway: route.gateway === null ? null : route.gateway >>> 0,
      metric: Number.isFinite(route.metric) ? route.metric : 0,
    });
  }

  removeRoute(dest: IpAddr, prefixLen: number): void {
    if (typeof dest === 'string') {
      this.ipv6.removeRoute(dest, prefixLen);
      return;
    }
    this.routeTable.remove(dest >>> 0, prefixLen);
  }

  routes(): Route[] {
    return [...this.routeTable.list(), ...this.ipv6.routes()];
  }

  setMtu(mtu: number): void {
    if (!Number.isFinite(mtu)) return;
    this.iface.mtu = clampMtu(mtu);
  }

  tcpSocket(family: 4 | 6 = 4): TcpSocket {
    return this.tcp.socket(family === 6 ? 6 : 4);
  }

  udpSocket(family: 4 | 6 = 4): UdpSocket {
    return this.udp.socket(family === 6 ? 6 : 4);
  }

  icmpSocket(kind: 'ping' | 'raw', family: 4 | 6 = 4): UdpSocket {
    const k = kind === 'raw' ? 'raw' : 'ping';
    return family === 6 ? this.icmp6Sockets.socket(k) : this.icmp.socket(k);
  }

  multicastGroups(): IpAddr[] {
    return this.groups.list();
  }

  onMulticastGroupsChanged(listener: (groups: IpAddr[]) => void): () => void {
    return this.groups.onChanged(listener);
  }

  ping(dst: IpAddr, opts: PingOptions, done: (result: PingResult) => void): void {
    if (typeof dst === 'string') {
      if (isIpAddr(dst)) this.icmp6.ping(dst, opts ?? {}, done);
      else this.scheduler.setTimer(0, () => done({ ok: false, errno: Errno.EINVAL }));
      return;
    }
    this.icmp.ping(dst >>> 0, opts ?? {}, done);
  }

  setOutbound(handler: OutboundHandler | null): void {
    this.ipv4.outbound?.close();
    this.ipv4.outbound = handler ? new OutboundGate(handler, this.tcp, this.transparentOrigin(), this.c.ipv4, this.ipv4) : null;
  }

  transparentOrigin(): TransparentOrigin {
    return (this.origin ??= new StackTransparentOrigin(this.tcp, this.udp, this.transparentFlows));
  }

  counters(): Record<string, Record<string, number>> {
    return {
      link: this.c.link.snapshot(),
      arp: this.c.arp.snapshot(),
      ipv4: this.c.ipv4.snapshot(),
      icmp: this.c.icmp.snapshot(),
      ipv6: this.c.ipv6.snapshot(),
      icmpv6: this.c.icmpv6.snapshot(),
      udp: this.c.udp.snapshot(),
      tcp: this.c.tcp.snapshot(),
    };
  }

  failConnections(errno: number): void {
    if (!this.closed) this.tcp.failConnections(errno);
  }

  close(): void {
    if (this.closed) return;
    this.ipv4.outbound?.close();
    this.tcp.close();
    this.udp.close();
    this.icmp.close();
    this.icmp6.close();
    this.icmp6Sockets.close();
    this.ipv6.close();
    this.arp.clear();
    this.returnPaths.clear();
    this.reassembler.close();
    this.loopback.close();
    this.link.setOutput(null);
    this.closed = true;
  }
}

function validAddr(a: unknown): a is number {
  return typeof a === 'number' && Number.isInteger(a) && a >= 0 && a <= 0xffffffff;
}

function clampMtu(mtu: number): number {
  return Math.max(MIN_MTU, Math.min(MAX_MTU, Math.floor(mtu)));
}
