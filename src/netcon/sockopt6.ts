/**
 * getsockopt/setsockopt at levels IPPROTO_IPV6 and IPPROTO_ICMPV6 on an app's AF_INET6 socket, as
 * Linux answers them (net/ipv6/ipv6_sockglue.c do_ipv6_setsockopt/do_ipv6_getsockopt, raw.c for
 * ICMP6_FILTER and IPV6_CHECKSUM): option numbers, value checks and errnos are the kernel's.
 *
 * The stack holds what changes packets (SPEC §1: V6ONLY, TOS = IPV6_TCLASS, TTL =
 * IPV6_UNICAST_HOPS, MULTICAST_TTL/LOOP, MTU_DISCOVER, joinGroup6/leaveGroup6). The flags that
 * only say which control messages the app wants (IPV6_RECVPKTINFO, IPV6_RECVTCLASS,
 * IPV6_RECVHOPLIMIT, IPV6_RECVERR) travel on each datagram record, as their IPv4 twins do; on TCP
 * they are remembered only, as the kernel's TCP never delivers those messages either.
 * ICMP6_FILTER is applied by netcon as messages go to the app (datagram-socket.ts).
 */
import { Errno, ipv6FromBytes, type TcpInfo, type TcpOptionName, type UdpOptionName, type UdpSocket } from '../netstack/index.js';
import { DGF, IPPROTO_ICMPV6 } from './protocol.js';
import { V6ONLY } from './socket-family.js';

export const IPPROTO_IPV6 = 41;

/** IPPROTO_IPV6 option numbers (linux/in6.h). */
export const IPV6 = {
  CHECKSUM: 7,
  UNICAST_HOPS: 16,
  MULTICAST_IF: 17,
  MULTICAST_HOPS: 18,
  MULTICAST_LOOP: 19,
  JOIN_GROUP: 20,
  LEAVE_GROUP: 21,
  MTU_DISCOVER: 23,
  MTU: 24,
  RECVERR: 25,
  V6ONLY: 26,
  RECVPKTINFO: 49,
  RECVHOPLIMIT: 51,
  RECVTCLASS: 66,
  TCLASS: 67,
} as const;

/** IPPROTO_ICMPV6 level: the raw ICMPv6 socket's type filter. */
export const ICMP6_FILTER = 1;
/** struct icmp6_filter: 256 bits, one per ICMPv6 type. */
export const ICMP6_FILTER_SIZE = 32;
/** struct ipv6_mreq: the group's 16 bytes and an interface index. */
const IPV6_MREQ_SIZE = 20;
const IPV6_MIN_MTU = 1280;
/** IPV6_PMTUDISC_DONT … IPV6_PMTUDISC_OMIT. */
const PMTUDISC_MAX = 5;
/** What the stack's hop limit defaults to (IPV6_UNICAST_HOPS -1), and IPV6_MULTICAST_HOPS's (-1). */
const DEFAULT_HOPS = 64;
const DEFAULT_MCAST_HOPS = 1;
/** ICMPv6's checksum sits at byte 2 of the message: IPV6_CHECKSUM's answer on a raw ICMPv6 socket. */
const ICMPV6_CHECKSUM_OFFSET = 2;

/** The IPv6 options a TCP socket remembers without effect (the kernel's TCP has no use for them either). */
export class Ipv6KeptOptions {
  recvPktInfo = 0;
  recvTclass = 0;
  recvHopLimit = 0;
  recvErr = 0;
  multicastLoop = 1;
  mtuDiscover = 1;
  /** IPV6_MTU as set (0 = the path MTU). */
  mtu = 0;

  copyFrom(o: Ipv6KeptOptions): void {
    Object.assign(this, o);
  }
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0, 0);
  return b;
}

/** An int option's value as do_ipv6_setsockopt reads it: a whole int is required (EINVAL otherwise). */
function intValue(value: Buffer): number | null {
  return value.length >= 4 ? value.readInt32LE(0) : null;
}

/** Checks and normalises the value of an int option both socket kinds share; a negative errno when refused. */
function checked(name: number, value: Buffer): number {
  const v = intValue(value);
  if (v === null) return -Errno.EINVAL;
  switch (name) {
    case IPV6.UNICAST_HOPS:
      return v < -1 || v > 255 ? -Errno.EINVAL : v === -1 ? DEFAULT_HOPS : v;
    case IPV6.MULTICAST_HOPS:
      return v < -1 || v > 255 ? -Errno.EINVAL : v === -1 ? DEFAULT_MCAST_HOPS : v;
    case IPV6.TCLASS:
      // RFC 3542 §6.5: -1 is the default traffic class, 0.
      return v < -1 || v > 255 ? -Errno.EINVAL : v === -1 ? 0 : v;
    case IPV6.MULTICAST_LOOP:
      return v !== 0 && v !== 1 ? -Errno.EINVAL : v;
    case IPV6.MTU_DISCOVER:
      return v < 0 || v > PMTUDISC_MAX ? -Errno.EINVAL : v;
    case IPV6.MTU:
      return v !== 0 && v < IPV6_MIN_MTU ? -Errno.EINVAL : v;
    default:
      return v !== 0 ? 1 : 0;
  }
}

// ───────────────────────── TCP ─────────────────────────

/** What the TCP option calls need of a socket (the stack's TcpSocket or a finished one's record). */
export interface Tcp6Target {
  getOption(name: TcpOptionName): number;
  setOption(name: TcpOptionName, value: number): number;
}

/** The TCP socket's state as these options see it. */
export interface Tcp6View {
  readonly kept: { readonly v6: Ipv6KeptOptions };
  tcpInfo(): TcpInfo;
}

/** The remembered options' fields. */
type Kept6Field = Exclude<keyof Ipv6KeptOptions, 'copyFrom'>;

const tcpFlag: Record<number, Kept6Field> = {
  [IPV6.RECVPKTINFO]: 'recvPktInfo',
  [IPV6.RECVTCLASS]: 'recvTclass',
  [IPV6.RECVHOPLIMIT]: 'recvHopLimit',
  [IPV6.RECVERR]: 'recvErr',
  [IPV6.MULTICAST_LOOP]: 'multicastLoop',
  [IPV6.MTU_DISCOVER]: 'mtuDiscover',
  [IPV6.MTU]: 'mtu',
};

/** getsockopt(IPPROTO_IPV6, name) on an AF_INET6 TCP socket: the value's bytes or a negative errno. */
export function getTcpOption6(tcp: Tcp6Target, view: Tcp6View, name: number): Buffer | number {
  const stackInt = (n: TcpOptionName): Buffer | number => {
    const v = tcp.getOption(n);
    return v < 0 ? v : int32(v);
  };
  switch (name) {
    case IPV6.V6ONLY:
      return stackInt(V6ONLY);
    case IPV6.TCLASS:
      return stackInt('TOS');
    case IPV6.UNICAST_HOPS:
      return stackInt('TTL');
    case IPV6.MULTICAST_HOPS:
      return int32(DEFAULT_MCAST_HOPS);
    case IPV6.MULTICAST_IF:
      return int32(0);
    case IPV6.MTU: {
      // The route's MTU, as Linux answers (ENOTCONN without one).
      const pmtu = view.tcpInfo().pmtu;
      return pmtu > 0 ? int32(pmtu) : -Errno.ENOTCONN;
    }
  }
  const key = tcpFlag[name];
  return key === undefined ? -Errno.ENOPROTOOPT : int32(view.kept.v6[key]);
}

/** setsockopt(IPPROTO_IPV6, name) on an AF_INET6 TCP socket: 0 or a negative errno. */
export function setTcpOption6(tcp: Tcp6Target, view: Tcp6View, name: number, value: Buffer): number {
  switch (name) {
    case IPV6.MULTICAST_HOPS:
    case IPV6.MULTICAST_IF:
      // do_ipv6_setsockopt leaves these to datagram sockets.
      return -Errno.ENOPROTOOPT;
    case IPV6.JOIN_GROUP:
    case IPV6.LEAVE_GROUP:
      // A connection-oriented socket cannot join a group.
      return value.length < IPV6_MREQ_SIZE ? -Errno.EINVAL : -Errno.EPROTO;
  }
  const key = tcpFlag[name];
  if (key === undefined && name !== IPV6.V6ONLY && name !== IPV6.TCLASS && name !== IPV6.UNICAST_HOPS) return -Errno.ENOPROTOOPT;
  const v = checked(name, value);
  if (v < 0) return v;
  switch (name) {
    case IPV6.V6ONLY:
      return tcp.setOption(V6ONLY, v);
    case IPV6.TCLASS:
      return tcp.setOption('TOS', v);
    case IPV6.UNICAST_HOPS:
      return tcp.setOption('TTL', v);
  }
  view.kept.v6[key!] = v;
  return 0;
}

// ───────────────────────── datagram sockets ─────────────────────────

/** What the datagram option calls need of an app's AF_INET6 datagram socket. */
export interface Datagram6Target {
  readonly kind: 'udp' | 'ping' | 'raw';
  readonly sock: UdpSocket;
  /** DGF.PKTINFO | RECVTOS | RECVTTL | RECVERR. */
  recvFlags: number;
  readonly kept: { multicastIf6: number; mtu6: number; icmp6Filter: Buffer | null };
  peer(): unknown;
}

const recvFlagOf6 = new Map<number, number>([
  [IPV6.RECVPKTINFO, DGF.PKTINFO],
  [IPV6.RECVTCLASS, DGF.RECVTOS],
  [IPV6.RECVHOPLIMIT, DGF.RECVTTL],
  [IPV6.RECVERR, DGF.RECVERR],
]);

const stackOption6 = new Map<number, UdpOptionName>([
  [IPV6.V6ONLY, V6ONLY],
  [IPV6.TCLASS, 'TOS'],
  [IPV6.UNICAST_HOPS, 'TTL'],
  [IPV6.MULTICAST_HOPS, 'MULTICAST_TTL'],
  [IPV6.MULTICAST_LOOP, 'MULTICAST_LOOP'],
  [IPV6.MTU_DISCOVER, 'MTU_DISCOVER'],
]);

/** getsockopt at IPPROTO_IPV6 or IPPROTO_ICMPV6 on an AF_INET6 datagram socket. */
export function getDatagramOption6(t: Datagram6Target, level: number, name: number): Buffer | number {
  if (level === IPPROTO_ICMPV6) {
    if (t.kind !== 'raw') return -Errno.ENOPROTOOPT;
    if (name !== ICMP6_FILTER) return -Errno.ENOPROTOOPT;
    return Buffer.from(t.kept.icmp6Filter ?? Buffer.alloc(ICMP6_FILTER_SIZE));
  }
  const flag = recvFlagOf6.get(name);
  if (flag !== undefined) return int32((t.recvFlags & flag) !== 0 ? 1 : 0);
  const stackName = stackOption6.get(name);
  if (stackName !== undefined) {
    const v = t.sock.getOption(stackName);
    return v < 0 ? v : int32(v);
  }
  switch (name) {
    case IPV6.MULTICAST_IF:
      return int32(t.kept.multicastIf6);
    case IPV6.MTU: {
      if (t.peer() === null) return -Errno.ENOTCONN;
      const mtu = t.sock.pathMtu();
      return mtu < 0 ? mtu : int32(mtu);
    }
    case IPV6.CHECKSUM:
      // The kernel computes ICMPv6 checksums of raw sockets at offset 2 (read-only, RFC 3542 §3.1).
      return t.kind === 'raw' ? int32(ICMPV6_CHECKSUM_OFFSET) : -Errno.ENOPROTOOPT;
    default:
      return -Errno.ENOPROTOOPT;
  }
}

/** setsockopt at IPPROTO_IPV6 or IPPROTO_ICMPV6 on an AF_INET6 datagram socket: 0 or a negative errno. */
export function setDatagramOption6(t: Datagram6Target, level: number, name: number, value: Buffer): number {
  if (level === IPPROTO_ICMPV6) {
    if (t.kind !== 'raw' || name !== ICMP6_FILTER) return -Errno.ENOPROTOOPT;
    // rawv6_seticmpfilter copies what it is given, up to the whole filter.
    const filter = Buffer.from(t.kept.icmp6Filter ?? Buffer.alloc(ICMP6_FILTER_SIZE));
    value.copy(filter, 0, 0, Math.min(ICMP6_FILTER_SIZE, value.length));
    t.kept.icmp6Filter = filter.some((b) => b !== 0) ? filter : null;
    return 0;
  }
  switch (name) {
    case IPV6.JOIN_GROUP:
    case IPV6.LEAVE_GROUP: {
      if (value.length < IPV6_MREQ_SIZE) return -Errno.EINVAL;
      // The network is the one interface: any index names it (as IP_ADD_MEMBERSHIP's ifindex).
      const group = ipv6FromBytes(value.subarray(0, 16));
      return name === IPV6.JOIN_GROUP ? t.sock.joinGroup6(group) : t.sock.leaveGroup6(group);
    }
    case IPV6.CHECKSUM:
      // RFC 3542 §3.1: not settable on ICMPv6 sockets (their checksum is always computed).
      return t.kind === 'raw' ? -Errno.EINVAL : -Errno.ENOPROTOOPT;
  }
  const flag = recvFlagOf6.get(name);
  const stackName = stackOption6.get(name);
  if (flag === undefined && stackName === undefined && name !== IPV6.MULTICAST_IF && name !== IPV6.MTU) return -Errno.ENOPROTOOPT;
  const v = checked(name, value);
  if (v < 0) return v;
  if (flag !== undefined) {
    if (name === IPV6.RECVERR) {
      // The stack reports errors of unconnected sockets only with RECVERR set.
      const r = t.sock.setOption('RECVERR', v);
      if (r < 0 && r !== -Errno.ENOPROTOOPT) return r;
    }
    t.recvFlags = v !== 0 ? t.recvFlags | flag : t.recvFlags & ~flag;
    return 0;
  }
  if (stackName !== undefined) return t.sock.setOption(stackName, v);
  if (name === IPV6.MTU) {
    t.kept.mtu6 = v;
    return 0;
  }
  // IPV6_MULTICAST_IF: an interface index; the network is the one interface.
  t.kept.multicastIf6 = intValue(value)!;
  return 0;
}
