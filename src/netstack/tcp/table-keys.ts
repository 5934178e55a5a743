/**
 * How the TCP layer finds a segment's connection: the table key of a 4-tuple, the hash that spreads
 * SO_REUSEPORT connections over a group's listeners, and how well a listener's address matches a SYN.
 */
import { IPV6_ANY, type IpAddr } from '../addr.js';
import type { TcpConnection } from './tcp-connection.js';

/** The connection table's key of a 4-tuple (IPv4 as numbers, IPv6 as the 32-digit strings). */
export function connKey(laddr: IpAddr, lport: number, raddr: IpAddr, rport: number): string {
  if (typeof laddr === 'number' && typeof raddr === 'number') return `${raddr * 65536 + rport}:${laddr * 65536 + lport}`;
  return `${raddr}.${rport}/${laddr}.${lport}`;
}

/** A peer's hash for spreading SO_REUSEPORT connections. */
export function peerHash(addr: IpAddr, port: number): number {
  const a = typeof addr === 'number' ? addr : parseInt(addr.slice(24), 16) ^ parseInt(addr.slice(16, 24), 16);
  return (a ^ (port * 2654435761)) >>> 0;
}

/**
 * How well a listener bound to `local` matches a SYN to `addr` (0: not at all): its exact address,
 * then an IPv4 wildcard, then a dual-stack :: (as Linux prefers AF_INET sockets for IPv4).
 */
export function listenerRank(l: TcpConnection, addr: IpAddr): number {
  const local = l.localAddr;
  if (local === addr) return 3;
  if (typeof addr === 'number') {
    if (local === 0) return 2;
    return local === IPV6_ANY && !l.opts.v6only ? 1 : 0;
  }
  return local === IPV6_ANY ? 2 : 0;
}
