/**
 * The public face of one network's stack, as the daemon (node, netcon, TAP attachment), tests and
 * benchmarks see it. `createNetStack` in ./index.ts builds one.
 */
import type { IpAddr, Ipv4Addr, Ipv6Addr } from './addr.js';
import type { Scheduler } from './clock.js';
import type { RandomSource } from './random.js';
import type { TcpSocket, UdpSocket } from './socket-api.js';
import type { CongestionAlgo } from './tcp/congestion/select.js';

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
  /** Congestion control new TCP sockets start with (TcpLayer's `congestion`; default CUBIC). */
  tcpCongestion?: CongestionAlgo;
}

/** One of the interface's addresses: IPv4 (number) or IPv6 (string, prefix 0..128). */
export interface InterfaceAddress {
  addr: IpAddr;
  prefixLen: number;
}

/** An IPv4 address of the interface (what interface.ts keeps). */
export interface Ipv4InterfaceAddress extends InterfaceAddress {
  addr: Ipv4Addr;
}

/** An IPv4 route (what routing.ts keeps). */
export interface Ipv4Route extends Route {
  dest: Ipv4Addr;
  gateway: Ipv4Addr | null;
}

/** A route of either family (dest and gateway of one family). */
export interface Route {
  dest: IpAddr;
  prefixLen: number;
  /** null = on-link (directly reachable). */
  gateway: IpAddr | null;
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

/** A gateway's socket from a foreign address and what takes its flow's registration out (call once it is closed). */
export interface TransparentSocket<S> {
  socket: S;
  release(): void;
}

/**
 * For a gateway member only (never reachable through netcon): sockets whose local end is a
 * client's own address and port, not one of the stack's (IP_TRANSPARENT). The packets of exactly
 * that flow coming back are let in. IPv4. Each returns the socket or a negative errno.
 */
export interface TransparentOrigin {
  /** A TCP connection from `from:fromPort` to `to:toPort`, started (connect() under way). */
  tcpConnect(from: Ipv4Addr, fromPort: number, to: Ipv4Addr, toPort: number): TransparentSocket<TcpSocket> | number;
  /** A UDP socket bound to `from:fromPort` and connected to `to:toPort`. */
  udpConnect(from: Ipv4Addr, fromPort: number, to: Ipv4Addr, toPort: number): TransparentSocket<UdpSocket> | number;
}

/**
 * A gateway's outbound flows (outbound-gate.ts): members' TCP connections and UDP flows to
 * destinations beyond the network, terminated in the gateway's stack and carried out by the daemon.
 */
export interface OutboundHandler {
  /**
   * Policy: may member `from:fromPort` open a flow to `to:toPort`? Asked per new flow (and per
   * packet of a TCP destination in use). For ICMP echo the "port" is the echo id (toPort 0).
   */
  allow(protocol: 'tcp' | 'udp' | 'icmp', from: Ipv4Addr, fromPort: number, to: Ipv4Addr, toPort: number): boolean;
  /**
   * A member's ICMP echo request to `to` (allowed by the policy): `reply(data)` sends the member an
   * echo reply from `to` with the request's id and `seq` (data: what follows the 8-byte header).
   * Absent: echo requests beyond the network are refused.
   */
  echo?(from: Ipv4Addr, to: Ipv4Addr, id: number, seq: number, data: Buffer, reply: (seq: number, data: Buffer) => void): void;
  /** A member's connection, accepted; its local end is the destination it asked for. */
  tcp(socket: TcpSocket): void;
  /** A member's UDP flow: a socket bound to the destination and connected to the member; release() after closing it. */
  udp(flow: TransparentSocket<UdpSocket>): void;
}

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

  /**
   * Adds an address (the route to its subnet comes with it). IPv4: announced with gratuitous ARP.
   * IPv6 (prefix 0..128): usable at once (optimistic DAD, RFC 4429); the first one also gives the
   * stack its fe80:: link-local address from the MAC.
   */
  addAddress(addr: IpAddr, prefixLen: number): void;
  removeAddress(addr: IpAddr): void;
  /**
   * IPv6: every address in prefix/prefixLen is the stack's own (ZeroTier's 6plane /80): it is
   * accepted as a destination, usable as a source and bindable. No-op until the stack has IPv6.
   */
  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void;
  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void;
  addresses(): InterfaceAddress[];
  addRoute(route: Route): void;
  removeRoute(dest: IpAddr, prefixLen: number): void;
  routes(): Route[];
  setMtu(mtu: number): void;

  /** A TCP socket of `family` (default 4; 6 also carries IPv4 as ::ffff:a.b.c.d unless V6ONLY). */
  tcpSocket(family?: 4 | 6): TcpSocket;
  /** A UDP socket of `family` (default 4). */
  udpSocket(family?: 4 | 6): UdpSocket;
  /**
   * An ICMP socket with the UdpSocket interface: 'ping' (SOCK_DGRAM/IPPROTO_ICMP: echo requests
   * with the socket's echo id, replies and errors for that id) or 'raw' (SOCK_RAW/IPPROTO_ICMP:
   * any ICMP message out, a copy of every ICMP packet received in, IP header included). Family 6:
   * ICMPv6 (echo request 128; raw ICMPv6 messages come without an IP header and the stack computes
   * the checksums of those sent).
   */
  icmpSocket(kind: 'ping' | 'raw', family?: 4 | 6): UdpSocket;
  /**
   * The multicast groups the stack listens to: IPv4 groups some socket joined, lowest first, then
   * IPv6 groups (solicited-node groups of its addresses, ff02::1, sockets' joins).
   */
  multicastGroups(): IpAddr[];
  /**
   * `listener` hears the whole set of groups each time it changes (a first join, a last leave).
   * Returns what stops it.
   */
  onMulticastGroupsChanged(listener: (groups: IpAddr[]) => void): () => void;
  /** ICMP (or ICMPv6) echo request; calls back once with the reply's RTT or an errno (ETIMEDOUT, EHOSTUNREACH…). */
  ping(dst: IpAddr, opts: PingOptions, done: (result: PingResult) => void): void;

  /** Outbound flows to destinations beyond the network go to `handler` (null: none, the default). */
  setOutbound(handler: OutboundHandler | null): void;
  /** The gateway's sockets from foreign addresses (transparent-origin.ts). */
  transparentOrigin(): TransparentOrigin;

  /** Per-layer counters (link, arp, ipv4, icmp, udp, tcp) as plain objects. */
  counters(): Record<string, Record<string, number>>;
  /** Fails every TCP connection with `errno` (RST where synchronized); listeners and UDP sockets stay. */
  failConnections(errno: number): void;
  /** Aborts every socket and cancels every timer. */
  close(): void;
}
