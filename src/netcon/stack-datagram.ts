/**
 * What an app's datagram socket needs of the stack (SPEC §2's UdpSocket, for UDP, ICMP "ping" and
 * raw ICMP alike) and how one is opened. The contract is narrowed here to what netcon calls, so
 * this side reads the same whether the stack reports ICMP errors as a plain errno or as a full
 * IcmpErrorReport, and whether it has ICMP sockets yet.
 */
import type { Ipv4Addr, NetStack, SocketAddress } from '../netstack/index.js';

export type DatagramKind = 'udp' | 'ping' | 'raw';

/** sock_extended_err's content for one ICMP error (SPEC §2 IcmpErrorReport). */
export interface IcmpErrorInfo {
  errno: number;
  offender: Ipv4Addr;
  type: number;
  code: number;
  info: number;
  dst: SocketAddress;
  payload: Buffer;
}

/** Per-datagram overrides from sendmsg's control messages. */
export interface DatagramSendOverrides {
  tos?: number;
  ttl?: number;
  src?: Ipv4Addr;
}

/** A datagram as the stack queues it; `to`, `tos` and `ttl` as SPEC §2 adds them. */
export interface StackDatagram {
  data: Buffer;
  from: SocketAddress;
  to?: Ipv4Addr;
  tos?: number;
  ttl?: number;
}

export interface StackDatagramSocket {
  handlers: {
    onReadable?: () => void;
    onError?: (report: IcmpErrorInfo | number) => void;
  };
  bind(addr: Ipv4Addr, port: number): number;
  connect(addr: Ipv4Addr, port: number): number;
  sendTo(data: Uint8Array, to?: SocketAddress, opts?: DatagramSendOverrides): number;
  recv(): StackDatagram | null;
  readonly pendingDatagrams: number;
  takeError(): number;
  setOption(name: string, value: number): number;
  getOption(name: string): number;
  localAddress(): SocketAddress | null;
  remoteAddress(): SocketAddress | null;
  close(): void;
  joinGroup?(group: Ipv4Addr, iface: Ipv4Addr): number;
  leaveGroup?(group: Ipv4Addr, iface: Ipv4Addr): number;
  pathMtu?(): number;
}

interface StackWithIcmp {
  icmpSocket?: (kind: 'ping' | 'raw') => unknown;
}

/** A new stack socket of `kind`, or null when the stack cannot make one (no ICMP sockets). */
export function openStackDatagram(stack: NetStack, kind: DatagramKind): StackDatagramSocket | null {
  if (kind === 'udp') return stack.udpSocket() as unknown as StackDatagramSocket;
  const icmp = (stack as unknown as StackWithIcmp).icmpSocket;
  if (typeof icmp !== 'function') return null;
  return icmp.call(stack, kind) as StackDatagramSocket;
}

/** An ICMP error as reported by the stack, in full (an errno alone leaves the rest unknown). */
export function icmpErrorInfo(report: IcmpErrorInfo | number): IcmpErrorInfo {
  if (typeof report !== 'number') return report;
  return { errno: report, offender: 0, type: 0, code: 0, info: 0, dst: { addr: 0, port: 0 }, payload: Buffer.alloc(0) };
}
