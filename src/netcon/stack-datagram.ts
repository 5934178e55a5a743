/**
 * The stack socket behind an app's datagram socket: a UDP socket, or an ICMP "ping" or raw ICMP
 * socket, all with the stack's UdpSocket interface (SPEC §2).
 */
import type { NetStack, UdpSocket } from '../netstack/index.js';

export type DatagramKind = 'udp' | 'ping' | 'raw';

export function openStackDatagram(stack: NetStack, kind: DatagramKind): UdpSocket {
  return kind === 'udp' ? stack.udpSocket() : stack.icmpSocket(kind);
}
