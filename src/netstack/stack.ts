/**
 * One network's userspace stack: wires the Ethernet link, ARP cache, IPv4 (with reassembly,
 * loopback and path MTU), ICMP, UDP and TCP together behind the NetStack interface.
 */
import { inSubnet, type Ipv4Addr } from './addr.js';
import { ArpCache } from './arp-cache.js';
import { Counters } from './counters.js';
import { IcmpLayer } from './icmp.js';
import { MAX_MTU, MIN_MTU, NetInterface } from './interface.js';
import { Ipv4Layer } from './ipv4.js';
import { Ipv4Reassembler } from './ipv4-reassembly.js';
import { EthernetLink } from './link.js';
import { LoopbackQueue } from './loopback.js';
import { MulticastGroups } from './multicast-groups.js';
import { PathMtuCache } from './path-mtu.js';
import { CryptoRandom } from './random.js';
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
  type Route,
} from './stack-api.js';
import { TcpLayer } from './tcp/tcp-layer.js';
import { UdpLayer } from './udp.js';
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
  readonly icmp: IcmpLayer;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
  readonly reassembler: Ipv4Reassembler;
  readonly loopback: LoopbackQueue;
  readonly groups: MulticastGroups;
  private readonly c = {
    link: new Counters(),
    arp: new Counters(),
    ipv4: new Counters(),
    icmp: new Counters(),
    udp: new Counters(),
    tcp: new Counters(),
  };
  private closed = false;

  constructor(o: NetStackOptions) {
    const scheduler = o.scheduler;
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
      ipv4Input: (p) => this.ipv4.input(p, false),
    });
    this.arp = new ArpCache({
      scheduler,
      counters: this.c.arp,
      sendRequest: (ip) => this.link.sendArpRequest(ip),
      transmit: (f) => this.link.send(f),
      onFailure: (_ip, frames) => this.ipv4.failQueued(frames),
    });
    this.link.arp = this.arp;
    this.loopback = new LoopbackQueue(scheduler, this.c.ipv4, (p) => this.ipv4.input(p, true));
    const timedOutHdr = new Ipv4Header();
    this.reassembler = new Ipv4Reassembler(scheduler, this.c.ipv4, (first) => {
      // RFC 792: time exceeded (reassembly) when the first fragment had arrived
      if (first && parseIpv4Quoted(first, timedOutHdr) === 0)
        this.icmp.sendError(ICMP_TIME_EXCEEDED, ICMP_REASSEMBLY_EXCEEDED, first, timedOutHdr);
    });
    this.ipv4 = new Ipv4Layer({
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
    const iface = this.iface;
    const ifaceQuestions = {
      isBroadcast: (a: Ipv4Addr) => iface.isBroadcast(a),
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
    this.udp = new UdpLayer({ ip: this.ipv4, random, counters: this.c.udp, iface: ifaceQuestions, groups: this.groups });
    this.tcp = new TcpLayer({ ip: this.ipv4, scheduler, random, counters: this.c.tcp });
    this.ipv4.register(this.icmp);
    this.ipv4.register(this.udp);
    this.ipv4.register(this.tcp);
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

  addAddress(addr: Ipv4Addr, prefixLen: number): void {
    if (!validAddr(addr) || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) return;
    addr = addr >>> 0;
    if (!this.iface.add(addr, prefixLen)) return;
    this.routeTable.add({ dest: addr, prefixLen, gateway: null, metric: 0 });
    this.link.announce(addr);
  }

  removeAddress(addr: Ipv4Addr): void {
    const gone = this.iface.remove(addr >>> 0);
    if (!gone) return;
    const stillCovered = this.iface.addresses().some((a) => a.prefixLen === gone.prefixLen && inSubnet(a.addr, gone.addr, gone.prefixLen));
    if (!stillCovered) this.routeTable.removeOnLink(gone.addr, gone.prefixLen);
  }

  addresses(): InterfaceAddress[] {
    return this.iface.addresses();
  }

  addRoute(route: Route): void {
    if (!route || !validAddr(route.dest) || (route.gateway !== null && !validAddr(route.gateway))) return;
    this.routeTable.add({
      dest: route.dest >>> 0,
      prefixLen: route.prefixLen,
      gateway: route.gateway === null ? null : route.gateway >>> 0,
      metric: Number.isFinite(route.metric) ? route.metric : 0,
    });
  }

  removeRoute(dest: Ipv4Addr, prefixLen: number): void {
    this.routeTable.remove(dest >>> 0, prefixLen);
  }

  routes(): Route[] {
    return this.routeTable.list();
  }

  setMtu(mtu: number): void {
    if (!Number.isFinite(mtu)) return;
    this.iface.mtu = clampMtu(mtu);
  }

  tcpSocket(): TcpSocket {
    return this.tcp.socket();
  }

  udpSocket(): UdpSocket {
    return this.udp.socket();
  }

  icmpSocket(kind: 'ping' | 'raw'): UdpSocket {
    return this.icmp.socket(kind === 'raw' ? 'raw' : 'ping');
  }

  multicastGroups(): Ipv4Addr[] {
    return this.groups.list();
  }

  onMulticastGroupsChanged(listener: (groups: Ipv4Addr[]) => void): () => void {
    return this.groups.onChanged(listener);
  }

  ping(dst: Ipv4Addr, opts: PingOptions, done: (result: PingResult) => void): void {
    this.icmp.ping(dst >>> 0, opts ?? {}, done);
  }

  counters(): Record<string, Record<string, number>> {
    return {
      link: this.c.link.snapshot(),
      arp: this.c.arp.snapshot(),
      ipv4: this.c.ipv4.snapshot(),
      icmp: this.c.icmp.snapshot(),
      udp: this.c.udp.snapshot(),
      tcp: this.c.tcp.snapshot(),
    };
  }

  failConnections(errno: number): void {
    if (!this.closed) this.tcp.failConnections(errno);
  }

  close(): void {
    if (this.closed) return;
    this.tcp.close();
    this.udp.close();
    this.icmp.close();
    this.arp.clear();
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
