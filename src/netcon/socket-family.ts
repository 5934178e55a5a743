/**
 * Addresses at netcon's edge, for an app socket of one family (SPEC §1 and §3): the wire's
 * sockaddrs against the stack's addresses. A family-4 socket takes and reports numbers; a family-6
 * socket takes and reports Ipv6Addr strings, IPv4 peers and sources as v4-mapped addresses (as
 * the stack reports them on a dual-stack socket). Also the stack's family-aware socket
 * constructors, so the rest of netcon names a family once.
 */
import {
  Errno,
  IPV6_ANY,
  type IpAddr,
  isIpv6,
  type NetStack,
  type SocketAddress,
  type TcpOptionName,
  type TcpSocket,
  type UdpOptionName,
  type UdpSocket,
  unmapV4,
  v4Mapped,
} from '../netstack/index.js';
import { encodeSockaddr, type Family, type Sockaddr } from './protocol.js';

/** The stack's IPV6_V6ONLY option name (SPEC §1: TCP and datagram sockets, 0/1, before bind only). */
export const V6ONLY = 'V6ONLY' satisfies TcpOptionName & UdpOptionName;

export function openTcp(stack: NetStack, family: Family): TcpSocket {
  return stack.tcpSocket(family);
}

export function openUdp(stack: NetStack, family: Family): UdpSocket {
  return stack.udpSocket(family);
}

export function openIcmp(stack: NetStack, kind: 'ping' | 'raw', family: Family): UdpSocket {
  return stack.icmpSocket(kind, family);
}

/** `addr` in the form a socket of `family` uses: 4 → a number (0 when not v4-mapped), 6 → an Ipv6Addr (IPv4 v4-mapped, 0 → ::). */
export function inFamily(addr: IpAddr, family: Family): IpAddr {
  if (family === 4) return isIpv6(addr) ? (unmapV4(addr) ?? 0) : addr;
  if (isIpv6(addr)) return addr;
  return addr === 0 ? IPV6_ANY : v4Mapped(addr);
}

/**
 * The stack address a sockaddr from the app names, for a socket of `family`; -EAFNOSUPPORT when
 * the sockaddr is of the other family (the library checks this first, as the kernel does).
 */
export function stackAddress(sa: Sockaddr, family: Family): SocketAddress | number {
  if (sa.family !== family) return -Errno.EAFNOSUPPORT;
  const a: SocketAddress = { addr: sa.addr, port: sa.port };
  if (sa.flowinfo !== 0) a.flowinfo = sa.flowinfo;
  if (sa.scopeId !== 0) a.scopeId = sa.scopeId;
  return a;
}

/** A getsockname/getpeername/accept answer: `a` (null: unbound, the family's any address) as a sockaddr of `family`. */
export function wireSockaddr(a: { addr: IpAddr; port: number; flowinfo?: number; scopeId?: number } | null, family: Family): Sockaddr {
  const six = family === 6;
  return {
    family,
    addr: inFamily(a?.addr ?? 0, family),
    port: a?.port ?? 0,
    flowinfo: six ? (a?.flowinfo ?? 0) : 0,
    scopeId: six ? (a?.scopeId ?? 0) : 0,
  };
}

/** wireSockaddr's bytes (SOCKADDR_SIZE), the payload of GETSOCKNAME and GETPEERNAME. */
export function wireAddress(a: { addr: IpAddr; port: number; flowinfo?: number; scopeId?: number } | null, family: Family): Buffer {
  return encodeSockaddr(wireSockaddr(a, family));
}

/** A stack address's sin6_scope_id (SPEC §1: SocketAddress.scopeId), 0 when it has none. */
export function scopeOf(a: SocketAddress): number {
  return a.scopeId ?? 0;
}
