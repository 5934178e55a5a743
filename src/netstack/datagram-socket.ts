/**
 * What UDP, ping and raw ICMP sockets share (the `UdpSocket` of socket-api.ts minus addressing):
 * the receive queue bounded by SO_RCVBUF (overflow is a counted drop), the IP-level options (TOS,
 * TTL, multicast TTL/loop/interface, IP_MTU_DISCOVER, IP_RECVERR), group memberships, the pending
 * error and its report to `onError`, and how a datagram's source, TTL and DF bit are chosen.
 */
import { IPV6_ANY, isMulticast, isMulticast6, unmapV4, v4Mapped, type IpAddr, type Ipv4Addr, type Ipv6Addr } from './addr.js';
import type { Counters } from './counters.js';
import { Errno } from './errno.js';
import {
  MAX_MEMBERSHIPS,
  PmtuDisc,
  type DatagramSendOptions,
  type IcmpErrorReport,
  type UdpDatagram,
  type UdpOptionName,
  type UdpSocketHandlers,
} from './socket-api.js';
import { ipHeaderLen, type IpSender, type IpSendOptions } from './transport.js';
import { DEFAULT_TTL } from './ipv4.js';

/** What a datagram socket may ask of its stack, whatever its protocol. */
export interface DatagramPort {
  readonly counters: Counters;
  readonly ip: Pick<IpSender<IpAddr>, 'isLocalAddress' | 'sourceFor' | 'maxPayloadFor'>;
  /** True for the limited broadcast and the directed broadcasts of the stack's subnets (IPv4 only). */
  isBroadcast(addr: IpAddr): boolean;
  /** One of the interface's own (non-loopback) IPv4 addresses. */
  isOwnAddress(addr: Ipv4Addr): boolean;
  /** The interface's first address (the multicast source when nothing else says), or null. */
  primaryAddress(): Ipv4Addr | null;
  /** Largest IP payload the interface carries without fragmenting (its MTU − 20). */
  linkMaxPayload(): number;
  /** The stack's group memberships (MulticastGroups), which the link's filter and MLD/IGMP follow. */
  readonly groups: GroupMemberships;
}

/** What a socket does with the stack's memberships: a join or leave per group, either family. */
export interface GroupMemberships {
  join(group: IpAddr): void;
  leave(group: IpAddr): void;
}

export const UDP_DEFAULT_RCVBUF = 212_992;
export const UDP_DEFAULT_SNDBUF = 212_992;
/** Accounting overhead per queued datagram, so floods of empty datagrams are bounded too. */
const DATAGRAM_OVERHEAD = 256;
const MAX_BUF = 16 << 20;
/**
 * The most of an offending datagram an IcmpErrorReport carries: what an ICMP error may quote
 * (576 − 20 − 8, RFC 1812 §4.3.2.3), also for the errors the stack raises itself (ARP failure).
 */
export const ERROR_QUOTE_MAX = 548;

/** Multicast TTL when the socket sets none (RFC 1112: 1, this network only). */
export const DEFAULT_MULTICAST_TTL = 1;

/** A family-6 socket's IPv6 maximum: 65535 − 8 (IPv6's payload length excludes its header). */
export const UDP6_MAX_PAYLOAD = 65527;

export abstract class DatagramSocketBase {
  handlers: UdpSocketHandlers = {};
  /**
   * 4: IPv4 addresses (numbers); 6: IPv6 (strings), IPv4 traffic v4-mapped. The addresses below
   * are wire addresses: numbers for IPv4 traffic also on family-6 sockets; 0 unset, IPV6_ANY for
   * a family-6 socket bound to ::.
   */
  family: 4 | 6 = 4;
  /** IPV6_V6ONLY. */
  v6only = false;
  boundAddr: IpAddr = 0;
  boundPort = 0;
  remoteAddr: IpAddr = 0;
  remotePort = 0;
  connected = false;
  reuseAddr = false;
  reusePort = false;
  /** IP_RECVERR: errors reach unconnected sockets too. */
  recvErr = false;
  /** IP_MULTICAST_LOOP: our own multicasts reach this stack's joined sockets. */
  multicastLoop = true;
  pmtuDisc: number = PmtuDisc.WANT;
  /** Datagrams this socket dropped because its queue was full. */
  drops = 0;
  protected broadcast = false;
  protected closed = false;
  private rcvbuf = UDP_DEFAULT_RCVBUF;
  protected sndbuf = UDP_DEFAULT_SNDBUF;
  private tos = 0;
  /** 0 = the default. */
  private ttl = 0;
  private multicastTtl = DEFAULT_MULTICAST_TTL;
  private multicastIf: Ipv4Addr = 0;
  private readonly memberships: IpAddr[] = [];
  private queue: UdpDatagram[] = [];
  private head = 0;
  private queuedBytes = 0;
  private error = 0;
  /** The IP options of the datagram being sent (prepareSend fills them; the IP layer does not keep them). */
  readonly ipOpts: IpSendOptions = { ttl: DEFAULT_TTL, tos: 0, dontFragment: false, ignorePathMtu: false, multicastLoop: true };

  constructor(
    protected readonly port: DatagramPort,
    family: 4 | 6 = 4,
  ) {
    this.family = family;
  }

  abstract bind(addr: IpAddr, port: number): number;

  /**
   * An application's address as this socket's family takes it, as a wire address: family 4 takes
   * numbers; family 6 strings, ::ffff:a.b.c.d meaning IPv4 (-ENETUNREACH under V6ONLY). A negative
   * number is an errno (-EAFNOSUPPORT for the other family, -EINVAL when malformed).
   */
  protected wireAddress(addr: IpAddr): IpAddr {
    if (this.family === 4) {
      if (typeof addr !== 'number') return -Errno.EAFNOSUPPORT;
      return isAddr(addr) ? addr >>> 0 : -Errno.EINVAL;
    }
    if (typeof addr !== 'string') return -Errno.EAFNOSUPPORT;
    if (!/^[0-9a-f]{32}$/.test(addr)) return -Errno.EINVAL;
    const v4 = unmapV4(addr);
    if (v4 === null) return addr;
    return this.v6only ? -Errno.ENETUNREACH : v4;
  }

  /** A wire address as the application sees it (v4-mapped on a family-6 socket). */
  presented(addr: IpAddr): IpAddr {
    if (this.family === 4 || typeof addr === 'string') return addr;
    return addr === 0 ? IPV6_ANY : v4Mapped(addr);
  }

  /** Whether the socket is bound to the wildcard of its family (0 or ::). */
  protected get boundAny(): boolean {
    return this.boundAddr === 0 || this.boundAddr === IPV6_ANY;
  }

  /**
   * connect() as every datagram socket does it: address 0 dissolves the association; otherwise
   * the broadcast permission and a route (or a multicast group) are checked, an unbound socket
   * gets an ephemeral port when `bindFirst`, and the peer is recorded. `needPort`: port 0 is
   * EINVAL (UDP; ICMP sockets have no peer port).
   */
  protected associate(appAddr: IpAddr, port: number, needPort: boolean, bindFirst: boolean): number {
    if (this.closed) return -Errno.EBADF;
    if (!isPort(port)) return -Errno.EINVAL;
    // as Linux: a family-6 socket given 0.0.0.0-like AF_UNSPEC (a number 0) dissolves too
    const addr = this.family === 6 && appAddr === 0 ? 0 : this.wireAddress(appAddr);
    if (typeof addr === 'number' && addr < 0) return addr;
    if (addr === 0 || addr === IPV6_ANY) {
      this.connected = false;
      this.remoteAddr = 0;
      this.remotePort = 0;
      return 0;
    }
    if (needPort && port === 0) return -Errno.EINVAL;
    if (this.port.isBroadcast(addr) && !this.broadcast) return -Errno.EACCES;
    if (this.port.ip.sourceFor(addr) === null && !isGroup(addr)) return -Errno.ENETUNREACH;
    if (bindFirst && this.boundPort === 0) {
      const r = this.bind(this.family === 4 ? 0 : IPV6_ANY, 0);
      if (r < 0) return r;
    }
    this.remoteAddr = addr;
    this.remotePort = port;
    this.connected = true;
    return 0;
  }

  get pendingDatagrams(): number {
    return this.queue.length - this.head;
  }

  recv(): UdpDatagram | null {
    if (this.head >= this.queue.length) return null;
    const d = this.queue[this.head]!;
    this.queue[this.head] = EMPTY_DATAGRAM;
    this.head++;
    this.queuedBytes -= d.data.length + DATAGRAM_OVERHEAD;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  setOption(name: UdpOptionName, value: number): number {
    if (!Number.isFinite(value)) return -Errno.EINVAL;
    value = Math.trunc(value);
    switch (name) {
      case 'BROADCAST':
        this.broadcast = value !== 0;
        return 0;
      case 'RCVBUF':
        this.rcvbuf = clampBuf(value);
        return 0;
      case 'SNDBUF':
        this.sndbuf = clampBuf(value);
        return 0;
      case 'REUSEADDR':
        this.reuseAddr = value !== 0;
        return 0;
      case 'REUSEPORT':
        this.reusePort = value !== 0;
        return 0;
      case 'TOS':
        this.tos = value & 0xff;
        return 0;
      case 'TTL':
        if (value === -1) this.ttl = 0;
        else if (value < 1 || value > 255) return -Errno.EINVAL;
        else this.ttl = value;
        return 0;
      case 'MULTICAST_TTL':
        if (value === -1) this.multicastTtl = DEFAULT_MULTICAST_TTL;
        else if (value < 0 || value > 255) return -Errno.EINVAL;
        else this.multicastTtl = value;
        return 0;
      case 'MULTICAST_LOOP':
        this.multicastLoop = value !== 0;
        return 0;
      case 'MULTICAST_IF':
        if (value < 0 || value > 0xffffffff) return -Errno.EINVAL;
        value = value >>> 0;
        if (value !== 0 && !this.port.isOwnAddress(value)) return -Errno.EADDRNOTAVAIL;
        this.multicastIf = value;
        return 0;
      case 'MTU_DISCOVER':
        if (value < PmtuDisc.DONT || value > PmtuDisc.OMIT) return -Errno.EINVAL;
        this.pmtuDisc = value;
        return 0;
      case 'RECVERR':
        this.recvErr = value !== 0;
        return 0;
      case 'V6ONLY':
        if (this.family !== 6) return -Errno.ENOPROTOOPT;
        if (this.boundPort !== 0 || this.connected) return -Errno.EINVAL;
        this.v6only = value !== 0;
        return 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  getOption(name: UdpOptionName): number {
    switch (name) {
      case 'BROADCAST':
        return this.broadcast ? 1 : 0;
      case 'RCVBUF':
        return this.rcvbuf;
      case 'SNDBUF':
        return this.sndbuf;
      case 'REUSEADDR':
        return this.reuseAddr ? 1 : 0;
      case 'REUSEPORT':
        return this.reusePort ? 1 : 0;
      case 'TOS':
        return this.tos;
      case 'TTL':
        return this.ttl || DEFAULT_TTL;
      case 'MULTICAST_TTL':
        return this.multicastTtl;
      case 'MULTICAST_LOOP':
        return this.multicastLoop ? 1 : 0;
      case 'MULTICAST_IF':
        return this.multicastIf;
      case 'MTU_DISCOVER':
        return this.pmtuDisc;
      case 'RECVERR':
        return this.recvErr ? 1 : 0;
      case 'V6ONLY':
        return this.family === 6 ? (this.v6only ? 1 : 0) : -Errno.ENOPROTOOPT;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  joinGroup(group: Ipv4Addr, iface: Ipv4Addr): number {
    if (this.closed) return -Errno.EBADF;
    if (this.family === 6 && this.v6only) return -Errno.EINVAL;
    if (!isAddr(group) || !isAddr(iface) || !isMulticast(group >>> 0)) return -Errno.EINVAL;
    if (!this.ifaceOk(iface >>> 0)) return -Errno.ENODEV;
    group = group >>> 0;
    if (this.memberships.includes(group)) return -Errno.EADDRINUSE;
    if (this.memberships.length >= MAX_MEMBERSHIPS) return -Errno.ENOBUFS;
    this.memberships.push(group);
    this.port.groups.join(group);
    return 0;
  }

  leaveGroup(group: Ipv4Addr, iface: Ipv4Addr): number {
    if (this.closed) return -Errno.EBADF;
    if (!isAddr(group) || !isAddr(iface)) return -Errno.EINVAL;
    if (iface !== 0 && !this.port.isOwnAddress(iface >>> 0)) return -Errno.ENODEV;
    const i = this.memberships.indexOf(group >>> 0);
    if (i < 0) return -Errno.EADDRNOTAVAIL;
    this.memberships.splice(i, 1);
    this.port.groups.leave(group >>> 0);
    return 0;
  }

  /** IPV6_JOIN_GROUP (family-6 sockets; the one interface): the same errno rules as joinGroup. */
  joinGroup6(group: Ipv6Addr): number {
    if (this.closed) return -Errno.EBADF;
    if (this.family !== 6) return -Errno.ENOPROTOOPT;
    if (typeof group !== 'string' || !/^[0-9a-f]{32}$/.test(group) || !isMulticast6(group)) return -Errno.EINVAL;
    if (this.memberships.includes(group)) return -Errno.EADDRINUSE;
    if (this.memberships.length >= MAX_MEMBERSHIPS) return -Errno.ENOBUFS;
    this.memberships.push(group);
    this.port.groups.join(group);
    return 0;
  }

  /** IPV6_LEAVE_GROUP. */
  leaveGroup6(group: Ipv6Addr): number {
    if (this.closed) return -Errno.EBADF;
    if (this.family !== 6) return -Errno.ENOPROTOOPT;
    if (typeof group !== 'string') return -Errno.EINVAL;
    const i = this.memberships.indexOf(group);
    if (i < 0) return -Errno.EADDRNOTAVAIL;
    this.memberships.splice(i, 1);
    this.port.groups.leave(group);
    return 0;
  }

  /** True when this socket joined `group`. */
  isMember(group: IpAddr): boolean {
    return this.memberships.includes(group);
  }

  private ifaceOk(iface: Ipv4Addr): boolean {
    return iface === 0 ? this.port.primaryAddress() !== null : this.port.isOwnAddress(iface);
  }

  /** IP_MTU: the path MTU to the connected peer. */
  pathMtu(): number {
    if (this.closed) return -Errno.EBADF;
    if (!this.connected) return -Errno.ENOTCONN;
    return this.port.ip.maxPayloadFor(this.remoteAddr) + ipHeaderLen(this.remoteAddr);
  }

  /**
   * Chooses the source address and fills `ipOpts` (TTL, TOS, DF) for `payloadLen` bytes of IP
   * payload to wire address `dst`. Returns the source address, or a negative errno (a number < 0).
   */
  protected prepareSend(dst: IpAddr, payloadLen: number, opts: DatagramSendOptions | undefined): IpAddr {
    const multicast = isGroup(dst);
    const o = this.ipOpts;
    let src: IpAddr | null;
    if (opts?.src !== undefined && opts.src !== 0 && opts.src !== IPV6_ANY) {
      const s = this.wireAddress(opts.src);
      if ((typeof s === 'number' && s < 0) || typeof s !== typeof dst || !this.port.ip.isLocalAddress(s)) return -Errno.EINVAL;
      src = s;
    } else if (!this.boundAny && typeof this.boundAddr === typeof dst && !this.port.isBroadcast(this.boundAddr) && !isGroup(this.boundAddr))
      src = this.boundAddr;
    else if (multicast && typeof dst === 'number') src = this.multicastIf || this.port.ip.sourceFor(dst) || this.port.primaryAddress();
    else src = this.port.ip.sourceFor(dst);
    if (src === null) return -Errno.ENETUNREACH;
    if (opts?.ttl !== undefined) {
      if (!Number.isInteger(opts.ttl) || opts.ttl < 1 || opts.ttl > 255) return -Errno.EINVAL;
      o.ttl = opts.ttl;
    } else o.ttl = multicast ? this.multicastTtl : this.ttl || DEFAULT_TTL;
    if (opts?.tos !== undefined) {
      if (!Number.isInteger(opts.tos) || opts.tos < 0 || opts.tos > 255) return -Errno.EINVAL;
      o.tos = opts.tos;
    } else o.tos = this.tos;
    o.multicastLoop = this.multicastLoop;
    switch (this.pmtuDisc) {
      case PmtuDisc.DONT:
        o.dontFragment = false;
        o.ignorePathMtu = false;
        break;
      case PmtuDisc.WANT:
        // as Linux: DF while the datagram fits the path, fragments (without DF) beyond
        o.dontFragment = payloadLen <= this.port.ip.maxPayloadFor(dst);
        o.ignorePathMtu = false;
        break;
      case PmtuDisc.DO:
        o.dontFragment = true;
        o.ignorePathMtu = false;
        break;
      case PmtuDisc.PROBE:
        o.dontFragment = true;
        o.ignorePathMtu = true;
        break;
      default:
        o.dontFragment = false;
        o.ignorePathMtu = true;
    }
    return src;
  }

  /** A datagram for this socket: queued unless SO_RCVBUF is full (a counted drop). */
  enqueue(data: Buffer, src: IpAddr, sport: number, to: IpAddr, tos: number, ttl: number): void {
    const cost = data.length + DATAGRAM_OVERHEAD;
    if (this.queuedBytes + cost > this.rcvbuf) {
      this.drops++;
      this.port.counters.inc('rx_queue_full');
      return;
    }
    if (this.family === 6) {
      src = this.presented(src);
      to = this.presented(to);
    }
    this.queue.push({ data, from: { addr: src, port: sport }, to, tos, ttl });
    this.queuedBytes += cost;
    const h = this.handlers.onReadable;
    if (!h) return;
    try {
      h();
    } catch {
      this.port.counters.inc('handler_exception');
    }
  }

  /** An ICMP error the socket is to hear: pending (SO_ERROR, next send) and reported. */
  icmpError(report: IcmpErrorReport): void {
    this.error = report.errno;
    if (this.family === 6) {
      report.offender = this.presented(report.offender);
      report.dst = { ...report.dst, addr: this.presented(report.dst.addr) };
    }
    const h = this.handlers.onError;
    if (!h) return;
    try {
      h(report);
    } catch {
      this.port.counters.inc('handler_exception');
    }
  }

  /** Whether an error about a datagram from this socket is reported to it. */
  hearsErrors(): boolean {
    return this.connected || this.recvErr;
  }

  /** Leaves every group and empties the queue; the subclass unbinds. */
  protected closeBase(): void {
    this.closed = true;
    for (const g of this.memberships) this.port.groups.leave(g);
    this.memberships.length = 0;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.handlers = {};
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

const EMPTY_DATAGRAM: UdpDatagram = { data: Buffer.alloc(0), from: { addr: 0, port: 0 }, to: 0, tos: 0, ttl: 0 };

export function isAddr(a: IpAddr): boolean {
  return Number.isInteger(a) && (a as number) >= 0 && (a as number) <= 0xffffffff;
}

/** A multicast group of either family. */
export function isGroup(addr: IpAddr): boolean {
  return typeof addr === 'number' ? isMulticast(addr) : isMulticast6(addr);
}

export function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function clampBuf(v: number): number {
  return Math.max(2048, Math.min(MAX_BUF, Math.floor(v)));
}

/** True for addresses a socket may bind to besides the stack's own: broadcasts and multicast groups. */
export function isGroupAddress(port: DatagramPort, addr: IpAddr): boolean {
  return typeof addr === 'number' ? port.isBroadcast(addr) || isMulticast(addr) : isMulticast6(addr);
}
