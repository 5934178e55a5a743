/**
 * The stack socket behind an app's datagram socket: a UDP socket, or an ICMP "ping" or raw ICMP
 * socket (ICMPv6 for family 6), all with the stack's UdpSocket interface (SPEC §1).
 */
import type { NetStack, UdpSocket } from '../netstack/index.js';
import type { Family } from './protocol.js';
import { openIcmp, openUdp } from './socket-family.js';

export type DatagramKind = 'udp' | 'ping' | 'raw';

export function openStackDatagram(stack: NetStack, kind: DatagramKind, family: Family): UdpSocket {
  return kind === 'udp' ? openUdp(stack, family) : openIcmp(stack, kind, family);
}
