/**
 * getsockopt/setsockopt on an app's datagram socket (UDP, ping, raw ICMP), as Linux answers them
 * (net/core/sock.c, net/ipv4/ip_sockglue.c, net/ipv4/raw.c): option numbers, value sizes and
 * errnos are the kernel's. The stack holds what changes its packets (TOS, TTL, multicast, PMTU
 * discovery, ICMP_FILTER, buffers); the flags that only say which control messages the app wants
 * (IP_PKTINFO, IP_RECVTOS, IP_RECVTTL, IP_RECVERR) travel on each record to the library.
 * SO_RCVBUF also sizes the daemon's end's send buffer, which is the socket's receive queue here.
 * Options that live on the app's end (timeouts, timestamps, SO_RCVLOWAT…) never come this far.
 */
import { readFileSync } from 'node:fs';
import { Errno, type Ipv4Addr, type SocketAddress, type UdpOptionName, type UdpSocket } from '../netstack/index.js';
import type { DatagramKeptOptions } from './datagram-socket.js';
import { DGF, type Family, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW } from './protocol.js';
import { IP, IPPROTO_IP, setBindToDevice, SO, SOL_SOCKET } from './sockopt.js';
import { getDatagramOption6, IPPROTO_IPV6, setDatagramOption6 } from './sockopt6.js';
import type { DatagramKind } from './stack-datagram.js';

export const SOL_RAW = 255;
export const ICMP_FILTER = 1;

const AF_INET = 2;
const AF_INET6 = 10;
/** struct in_addr, struct ip_mreq, struct ip_mreqn. */
const IN_ADDR_SIZE = 4;
const IP_MREQ_SIZE = 8;
const IP_MREQN_SIZE = 12;
/** Linux's floors for the doubled buffer sizes (SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF on x86-64). */
const SOCK_MIN_RCVBUF = 2304;
const SOCK_MIN_SNDBUF = 4608;
/** IP_PMTUDISC_DONT … IP_PMTUDISC_OMIT. */
const PMTUDISC_MAX = 5;

function sysctl(name: string, fallback: number): number {
  try {
    const v = Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());
    return Number.isInteger(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** The host's caps on SO_RCVBUF / SO_SNDBUF, as an app on the kernel would meet them. */
const RMEM_MAX = sysctl('rmem_max', 212992);
const WMEM_MAX = sysctl('wmem_max', 212992);

/** What the option calls need of an app's datagram socket. */
export interface DatagramOptionTarget {
  readonly kind: DatagramKind;
  /** AF_INET6 sockets (6) have the IPPROTO_IPV6 and IPPROTO_ICMPV6 levels (sockopt6.ts). */
  readonly family: Family;
  readonly sock: UdpSocket;
  /** DGF.PKTINFO | RECVTOS | RECVTTL | RECVERR. */
  recvFlags: number;
  readonly kept: DatagramKeptOptions;
  peer(): SocketAddress | null;
  /** The bytes that may wait for the app (the daemon end's send buffer; the kernel doubles it as for SO_RCVBUF). */
  setAppQueue(bytes: number): void;
}

export type DatagramGetResult = Buffer | number;

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0, 0);
  return b;
}

/** An IP-level value: an int, one byte when shorter, 0 when empty (do_ip_setsockopt). */
function ipValue(value: Buffer): number {
  if (value.length >= 4) return value.readInt32LE(0);
  if (value.length >= 1) return value[0]!;
  return 0;
}

/** A stack option's value as an int, or its negative errno. */
function stackInt(t: DatagramOptionTarget, name: UdpOptionName): DatagramGetResult {
  const v = t.sock.getOption(name);
  return v < 0 ? v : int32(v);
}

const recvFlagOf = new Map<number, number>([
  [IP.PKTINFO, DGF.PKTINFO],
  [IP.RECVTOS, DGF.RECVTOS],
  [IP.RECVTTL, DGF.RECVTTL],
  [IP.RECVERR, DGF.RECVERR],
]);

/** getsockopt: the value's bytes (the caller truncates to the app's buffer) or a negative errno. */
export function getDatagramOption(t: DatagramOptionTarget, level: number, name: number): DatagramGetResult {
  if (level === SOL_SOCKET) return getSocketLevel(t, name);
  if (t.family === 6) {
    if (level === IPPROTO_IPV6 || level === IPPROTO_ICMPV6) return getDatagramOption6(t, level, name);
    // ipv6_getsockopt hands IPPROTO_IP to IPv4's code except on raw sockets; other levels are unknown.
    if (level === IPPROTO_IP && t.kind !== 'raw') return getIpLevel(t, name);
    return -Errno.ENOPROTOOPT;
  }
  if (level === IPPROTO_IP) return getIpLevel(t, name);
  if (level === SOL_RAW) {
    if (t.kind !== 'raw') return -Errno.EOPNOTSUPP;
    if (name !== ICMP_FILTER) return -Errno.ENOPROTOOPT;
    const v = t.sock.getOption('ICMP_FILTER');
    return v < 0 ? v : int32(v);
  }
  // udp_getsockopt hands every other level to ip_getsockopt, which answers EOPNOTSUPP (SOL_UDP
  // options are not carried: UDP_CORK, UDP_SEGMENT and UDP_GRO programs probe and fall back).
  return level === IPPROTO_UDP && t.kind === 'udp' ? -Errno.ENOPROTOOPT : -Errno.EOPNOTSUPP;
}

function getSocketLevel(t: DatagramOptionTarget, name: number): DatagramGetResult {
  switch (name) {
    case SO.TYPE:
      return int32(t.kind === 'raw' ? SOCK_RAW : SOCK_DGRAM);
    case SO.PROTOCOL:
      return int32(t.kind === 'udp' ? IPPROTO_UDP : t.family === 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    case SO.DOMAIN:
      return int32(t.family === 6 ? AF_INET6 : AF_INET);
    case SO.ERROR:
      return int32(t.sock.takeError());
    case SO.ACCEPTCONN:
      return int32(0);
    case SO.BINDTODEVICE:
      return Buffer.alloc(0);
    case SO.BROADCAST:
      return stackInt(t, 'BROADCAST');
    case SO.REUSEADDR:
      return stackInt(t, 'REUSEADDR');
    case SO.REUSEPORT:
      return stackInt(t, 'REUSEPORT');
    case SO.RCVBUF:
      return stackInt(t, 'RCVBUF');
    case SO.SNDBUF:
      return stackInt(t, 'SNDBUF');
    case SO.KEEPALIVE:
      return int32(t.kept.keepalive);
    case SO.DONTROUTE:
      return int32(t.kept.dontRoute);
    case SO.NO_CHECK:
      return int32(t.kept.noCheck);
    case SO.LINGER: {
      const b = Buffer.alloc(8);
      b.writeInt32LE(t.kept.linger >= 0 ? 1 : 0, 0);
      b.writeInt32LE(Math.max(0, t.kept.linger), 4);
      return b;
    }
    default:
      return -Errno.ENOPROTOOPT;
  }
}

function getIpLevel(t: DatagramOptionTarget, name: number): DatagramGetResult {
  const flag = recvFlagOf.get(name);
  if (flag !== undefined) return int32((t.recvFlags & flag) !== 0 ? 1 : 0);
  switch (name) {
    case IP.TOS:
      return stackInt(t, 'TOS');
    case IP.TTL:
      return stackInt(t, 'TTL');
    case IP.MULTICAST_TTL:
      return stackInt(t, 'MULTICAST_TTL');
    case IP.MULTICAST_LOOP:
      return stackInt(t, 'MULTICAST_LOOP');
    case IP.MTU_DISCOVER:
      return stackInt(t, 'MTU_DISCOVER');
    case IP.HDRINCL:
      return t.kind === 'raw' ? int32(0) : -Errno.ENOPROTOOPT;
    case IP.RECVOPTS:
      return int32(t.kept.recvOpts);
    case IP.RETOPTS:
      return int32(t.kept.retOpts);
    case IP.MULTICAST_IF: {
      // Linux returns the in_addr (network order), at most 4 bytes.
      const b = Buffer.alloc(IN_ADDR_SIZE);
      b.writeUInt32BE(t.kept.multicastIf >>> 0, 0);
      return b;
    }
    case IP.MTU: {
      if (t.peer() === null) return -Errno.ENOTCONN;
      const mtu = t.sock.pathMtu();
      return mtu < 0 ? mtu : int32(mtu);
    }
    default:
      return -Errno.ENOPROTOOPT;
  }
}

/** setsockopt: 0 or a negative errno. `isLocal` tells the stack's own addresses (IP_MULTICAST_IF). */
export function setDatagramOption(
  t: DatagramOptionTarget,
  level: number,
  name: number,
  value: Buffer,
  isLocal: (addr: Ipv4Addr) => boolean,
): number {
  if (level === SOL_SOCKET) return setSocketLevel(t, name, value);
  if (t.family === 6) {
    if (level === IPPROTO_IPV6 || level === IPPROTO_ICMPV6) return setDatagramOption6(t, level, name, value);
    if (level === IPPROTO_IP && t.kind !== 'raw') return setIpLevel(t, name, value, isLocal);
    return -Errno.ENOPROTOOPT;
  }
  if (level === IPPROTO_IP) return setIpLevel(t, name, value, isLocal);
  if (level === SOL_RAW) {
    if (t.kind !== 'raw') return -Errno.ENOPROTOOPT;
    if (name !== ICMP_FILTER) return -Errno.ENOPROTOOPT;
    // raw_seticmpfilter copies what it is given, up to the 4-byte filter.
    const cur = t.sock.getOption('ICMP_FILTER');
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE((cur < 0 ? 0 : cur) >>> 0, 0);
    value.copy(bytes, 0, 0, Math.min(4, value.length));
    return t.sock.setOption('ICMP_FILTER', bytes.readUInt32LE(0));
  }
  return -Errno.ENOPROTOOPT;
}

function setSocketLevel(t: DatagramOptionTarget, name: number, value: Buffer): number {
  if (name === SO.BINDTODEVICE) return setBindToDevice(value);
  // sk_setsockopt: every int option needs a whole int.
  if (value.length < 4) return -Errno.EINVAL;
  const v = value.readInt32LE(0);
  switch (name) {
    case SO.BROADCAST:
      return t.sock.setOption('BROADCAST', v !== 0 ? 1 : 0);
    case SO.REUSEADDR:
      return t.sock.setOption('REUSEADDR', v !== 0 ? 1 : 0);
    case SO.REUSEPORT:
      return t.sock.setOption('REUSEPORT', v !== 0 ? 1 : 0);
    case SO.RCVBUF:
    case SO.RCVBUFFORCE: {
      // The value is taken as unsigned and capped (unless forced), then doubled for overhead.
      const want = name === SO.RCVBUF ? Math.min(v >>> 0, RMEM_MAX) : Math.max(0, v);
      const half = Math.min(want, 0x3fffffff);
      const r = t.sock.setOption('RCVBUF', Math.max(half * 2, SOCK_MIN_RCVBUF));
      if (r === 0) t.setAppQueue(Math.max(half, SOCK_MIN_RCVBUF / 2));
      return r;
    }
    case SO.SNDBUF:
    case SO.SNDBUFFORCE: {
      const want = name === SO.SNDBUF ? Math.min(v >>> 0, WMEM_MAX) : Math.max(0, v);
      return t.sock.setOption('SNDBUF', Math.max(Math.min(want, 0x3fffffff) * 2, SOCK_MIN_SNDBUF));
    }
    case SO.KEEPALIVE:
      t.kept.keepalive = v !== 0 ? 1 : 0;
      return 0;
    case SO.DONTROUTE:
      t.kept.dontRoute = v !== 0 ? 1 : 0;
      return 0;
    case SO.NO_CHECK:
      t.kept.noCheck = v !== 0 ? 1 : 0;
      return 0;
    case SO.LINGER: {
      if (value.length < 8) return -Errno.EINVAL;
      t.kept.linger = v !== 0 ? Math.max(0, value.readInt32LE(4)) : -1;
      return 0;
    }
    default:
      return -Errno.ENOPROTOOPT;
  }
}

function setIpLevel(t: DatagramOptionTarget, name: number, value: Buffer, isLocal: (addr: Ipv4Addr) => boolean): number {
  const flag = recvFlagOf.get(name);
  if (flag !== undefined) {
    const on = ipValue(value) !== 0;
    if (name === IP.RECVERR) {
      // The stack reports errors of unconnected sockets only with RECVERR set.
      const r = t.sock.setOption('RECVERR', on ? 1 : 0);
      if (r < 0 && r !== -Errno.ENOPROTOOPT) return r;
    }
    t.recvFlags = on ? t.recvFlags | flag : t.recvFlags & ~flag;
    return 0;
  }
  switch (name) {
    case IP.TOS:
      return t.sock.setOption('TOS', ipValue(value) & 0xff);
    case IP.RECVOPTS:
      t.kept.recvOpts = ipValue(value) !== 0 ? 1 : 0;
      return 0;
    case IP.RETOPTS:
      t.kept.retOpts = ipValue(value) !== 0 ? 1 : 0;
      return 0;
    case IP.TTL: {
      if (value.length < 1) return -Errno.EINVAL;
      const v = ipValue(value);
      if (v !== -1 && (v < 1 || v > 255)) return -Errno.EINVAL;
      return t.sock.setOption('TTL', v === -1 ? 64 : v);
    }
    case IP.MULTICAST_TTL: {
      if (value.length < 1) return -Errno.EINVAL;
      let v = ipValue(value);
      if (v === -1) v = 1;
      if (v < 0 || v > 255) return -Errno.EINVAL;
      return t.sock.setOption('MULTICAST_TTL', v);
    }
    case IP.MULTICAST_LOOP:
      if (value.length < 1) return -Errno.EINVAL;
      return t.sock.setOption('MULTICAST_LOOP', ipValue(value) !== 0 ? 1 : 0);
    case IP.MTU_DISCOVER: {
      const v = ipValue(value);
      if (v < 0 || v > PMTUDISC_MAX) return -Errno.EINVAL;
      return t.sock.setOption('MTU_DISCOVER', v);
    }
    case IP.HDRINCL:
      // Raw sockets here take ICMP messages; building their own IP header is not carried.
      if (t.kind !== 'raw') return -Errno.ENOPROTOOPT;
      return ipValue(value) === 0 ? 0 : -Errno.ENOPROTOOPT;
    case IP.MULTICAST_IF:
      return setMulticastIf(t, value, isLocal);
    case IP.ADD_MEMBERSHIP:
    case IP.DROP_MEMBERSHIP: {
      const m = decodeMreq(value);
      if (m === null) return -Errno.EINVAL;
      return name === IP.ADD_MEMBERSHIP ? t.sock.joinGroup(m.group, m.iface) : t.sock.leaveGroup(m.group, m.iface);
    }
    default:
      return -Errno.ENOPROTOOPT;
  }
}

/** struct ip_mreq (group, interface address) or ip_mreqn (group, address, ifindex); null when shorter. */
function decodeMreq(value: Buffer): { group: Ipv4Addr; iface: Ipv4Addr; ifindex: number } | null {
  if (value.length < IP_MREQ_SIZE) return null;
  return {
    group: value.readUInt32BE(0),
    iface: value.readUInt32BE(4),
    ifindex: value.length >= IP_MREQN_SIZE ? value.readInt32LE(8) : 0,
  };
}

/**
 * IP_MULTICAST_IF takes an in_addr, an ip_mreq (its second field) or an ip_mreqn (address and
 * ifindex). INADDR_ANY with no index resets it; an address not ours is EADDRNOTAVAIL. The virtual
 * network is the only interface, so any index names it.
 */
function setMulticastIf(t: DatagramOptionTarget, value: Buffer, isLocal: (addr: Ipv4Addr) => boolean): number {
  if (value.length < IN_ADDR_SIZE) return -Errno.EINVAL;
  let addr: Ipv4Addr;
  let ifindex = 0;
  if (value.length >= IP_MREQN_SIZE) {
    addr = value.readUInt32BE(4);
    ifindex = value.readInt32LE(8);
  } else if (value.length >= IP_MREQ_SIZE) addr = value.readUInt32BE(4);
  else addr = value.readUInt32BE(0);
  if (ifindex === 0 && addr !== 0 && !isLocal(addr)) return -Errno.EADDRNOTAVAIL;
  const r = t.sock.setOption('MULTICAST_IF', addr);
  if (r < 0 && r !== -Errno.ENOPROTOOPT) return r;
  t.kept.multicastIf = addr;
  return 0;
}
