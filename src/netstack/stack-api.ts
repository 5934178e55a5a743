/**
 * The public face of one network's stack, as the daemon (node, netcon, TAP attachment), tests and
 * benchmarks see it. `createNetStack` in ./index.ts builds one.
 */
import type { Ipv4Addr } from './addr.js';
import type { Scheduler } from './clock.js';
import type { RandomSource } from './random.js';
import type { TcpSocket, UdpSocket } from './socket-api.js';

export const DEFAULT_MTU = 2800;

export interface NetStackOptions {
  scheduler: Scheduler;
  /** Defaults to CryptoRandom; tests pass a SeededRandom. */
  random?: RandomSource;
  /** The interface's Ethernet address (6 bytes). */
  mac: Uint8Array;
  /** Link MTU (IP packet size), default 2800 as ZeroTier's. */
  mtu?: number;
  /** Label used in counters and diagnostics. */
  name?: string;
}

export interface InterfaceAddress {
  addr: Ipv4Addr;
  prefixLen: number;
}

export interface Route {
  dest: Ipv4Addr;
  prefixLen: number;
  /** null = on-link (directly reachable). */
  gateway: Ipv4Addr | null;
  metric: number;
}

export type PingResult = { ok: true; rttMs: number; ttl: number } | { ok: false; errno: number };

export interface PingOptions {
  /** ICMP data bytes (default 56). */
  size?: number;
  timeoutMs?: number;
  ttl?: number;
}

/**
 * Where the stack's outgoing frames go. The `headroom` bytes right before `frame` in its
 * ArrayBuffer belong to this frame and may be overwritten (an encapsulating link builds its own
 * header there instead of copying the frame); after the call the frame is the receiver's, which may
 * also overwrite it.
 */
export type LinkOutput = (frame: Buffer, headroom: number) => void;

export interface NetStack {
  readonly name: string;
  readonly mac: Buffer;
  readonly mtu: number;

  /** Frames leaving the stack go here (set by whoever owns the link: TAP, overlay, simulated link). */
  setLinkOutput(send: LinkOutput): void;
  /** A frame arrived from the link. The stack may keep `frame`. Never throws; bad frames are counted. */
  input(frame: Buffer): void;
  /**
   * Frames input between begin and end form one receive burst: the ACKs TCP owes only because two
   * full segments arrived are sent once, at end, per connection (what GRO gives Linux). ACKs that
   * matter sooner (out of order, holes filled, FIN, window updates) still go at once.
   */
  beginReceiveBatch(): void;
  endReceiveBatch(): void;

  /** Adds an address (the route to its subnet comes with it) and announces it with gratuitous ARP. */
  addAddress(addr: Ipv4Addr, prefixLen: number): void;
  removeAddress(addr: Ipv4Addr): void;
  addresses(): InterfaceAddress[];
  addRoute(route: Route): void;
  removeRoute(dest: Ipv4Addr, prefixLen: number): void;
  routes(): Route[];
  setMtu(mtu: number): void;

  tcpSocket(): TcpSocket;
  udpSocket(): UdpSocket;
  /**
   * An ICMP socket with the UdpSocket interface: 'ping' (SOCK_DGRAM/IPPROTO_ICMP: echo requests
   * with the socket's echo id, replies and errors for that id) or 'raw' (SOCK_RAW/IPPROTO_ICMP:
   * any ICMP message out, a copy of every ICMP packet received in, IP header included).
   */
  icmpSocket(kind: 'ping' | 'raw'): UdpSocket;
  /** The IPv4 multicast groups some socket has joined, lowest first. */
  multicastGroups(): Ipv4Addr[];
  /**
   * `listener` hears the whole set of groups each time it changes (a first join, a last leave).
   * Returns what stops it.
   */
  onMulticastGroupsChanged(listener: (groups: Ipv4Addr[]) => void): () => void;
  /** ICMP echo request; calls back once with the reply's RTT or an errno (ETIMEDOUT, EHOSTUNREACH…). */
  ping(dst: Ipv4Addr, opts: PingOptions, done: (result: PingResult) => void): void;

  /** Per-layer counters (link, arp, ipv4, icmp, udp, tcp) as plain objects. */
  counters(): Record<string, Record<string, number>>;
  /** Fails every TCP connection with `errno` (RST where synchronized); listeners and UDP sockets stay. */
  failConnections(errno: number): void;
  /** Aborts every socket and cancels every timer. */
  close(): void;
}
