/**
 * The socket-like API the stack offers to its users (the daemon's netcon RPC layer maps POSIX calls
 * onto it, tests and benchmarks use it directly).
 *
 * Conventions, as the kernel's syscalls: calls that can fail return a negative errno
 * (e.g. `-Errno.EAGAIN`); calls that move bytes return a count >= 0 or a negative errno.
 * Nothing here throws on bad input from a caller; it returns -EINVAL.
 * Events are plain callbacks in `handlers`, called from within stack processing; a handler may
 * call back into the socket (read, write, close) safely.
 */
import type { IpAddr, Ipv4Addr, Ipv6Addr, SocketAddress } from './addr.js';

export type TcpStateName =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** Options settable on a TCP socket; values are numbers as setsockopt would carry them. */
export type TcpOptionName =
  | 'NODELAY' // TCP_NODELAY: 0/1
  | 'CORK' // TCP_CORK: 0/1 (hold partial segments until uncorked or 200 ms)
  | 'KEEPALIVE' // SO_KEEPALIVE: 0/1
  | 'KEEPIDLE' // TCP_KEEPIDLE: seconds
  | 'KEEPINTVL' // TCP_KEEPINTVL: seconds
  | 'KEEPCNT' // TCP_KEEPCNT: probes
  | 'LINGER' // SO_LINGER: -1 off, else seconds (0 = abort on close)
  | 'RCVBUF' // SO_RCVBUF: bytes
  | 'SNDBUF' // SO_SNDBUF: bytes
  | 'USER_TIMEOUT' // TCP_USER_TIMEOUT: ms, 0 = default
  | 'REUSEADDR' // SO_REUSEADDR: 0/1
  | 'REUSEPORT' // SO_REUSEPORT: 0/1
  | 'MAXSEG' // TCP_MAXSEG: bytes
  | 'CONGESTION' // 0 = CUBIC (default), 1 = NewReno (Linux's 'reno'), 2 = BBR
  | 'ECN' // 0 (default) / 1: negotiate ECN (RFC 3168) on connect and accept, as Linux's net.ipv4.tcp_ecn; read at connection setup
  | 'RECOVERY' // loss detection with SACK, as Linux's net.ipv4.tcp_recovery: 1 = RACK-TLP (the layer's default), 0 = RFC 6675 DupThresh; read at connection setup
  | 'TOS' // IP_TOS: 0-255 (ECN bits masked), put on every outgoing packet
  | 'TTL' // IP_TTL: 1-255, -1 = default (64); IPV6_UNICAST_HOPS on a family-6 socket
  | 'V6ONLY'; // IPV6_V6ONLY (family-6 sockets): 0/1, only before bind/connect (else -EINVAL)

/** Where a connection's sender stands on loss (as Linux's tcpi_ca_state, without Disorder/CWR). */
export const TcpLossState = {
  /** No loss being repaired. */
  Open: 0,
  /** Fast recovery after duplicate ACKs or SACKs showed a loss (RFC 6675 / RFC 6582). */
  Recovery: 1,
  /** After a retransmission timeout (or a lowered path MTU): the whole flight is resent. */
  Loss: 2,
} as const;
export type TcpLossState = (typeof TcpLossState)[keyof typeof TcpLossState];

/** A connection's figures for diagnostics and TCP_INFO. Times in ms, windows and queues in bytes. */
/** BBR's model (Linux's struct tcp_bbr_info): what TCP_CC_INFO reports for a BBR connection. */
export interface BbrInfo {
  /** Bottleneck bandwidth estimate, bytes per second. */
  bw: number;
  /** Min RTT estimate, µs (0xffffffff before the first sample, as Linux). */
  minRttUs: number;
  /** Gains in Linux's fixed point (BBR_UNIT = 256: 739 is 2/ln 2, 320 is 5/4). */
  pacingGain: number;
  cwndGain: number;
}

export interface TcpInfo {
  state: TcpStateName;
  /** Congestion-control algorithm: 'cubic', 'newreno' or 'bbr'. */
  congestion: string;
  /** Payload bytes per full segment we send. */
  mss: number;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  /** Lowest RTT seen, 0 before the first sample. */
  minRtt: number;
  rttSamples: number;
  retransmits: number;
  fastRetransmits: number;
  rtoTimeouts: number;
  zeroWindowProbes: number;
  sndWnd: number;
  sndWscale: number;
  rcvWscale: number;
  /** The receive window we advertise now. */
  rcvWnd: number;
  rcvBuf: number;
  sndBuf: number;
  /** Bytes sent and not yet acknowledged. */
  unacked: number;
  /** Bytes in the send buffer (sent or not). */
  sendQueued: number;
  recvQueued: number;
  outOfOrderBytes: number;
  outOfOrderSegments: number;
  /** Bytes the peer reported holding by SACK. */
  sacked: number;
  /** 1 when timestamps were negotiated. */
  timestamps: number;
  /** 1 when SACK was negotiated. */
  sack: number;
  bytesSent: number;
  bytesAcked: number;
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  /** The sender's loss state. */
  inRecovery: TcpLossState;
  /** Times HyStart++ entered conservative slow start. */
  hystartCss: number;
  /**
   * Pacing rate, bytes per second: the algorithm's when it paces (BBR); otherwise what Linux
   * reports for an unpaced flow (tcp_update_pacing_rate: 200% of cwnd × MSS / SRTT in slow start,
   * 120% after), 0 before the first RTT sample.
   */
  pacingRate: number;
  /** The latest delivery-rate sample, bytes per second, and whether the application limited it. */
  deliveryRate: number;
  deliveryRateAppLimited: number;
  /** BBR's model as Linux's struct tcp_bbr_info gives it (TCP_CC_INFO); absent for the other algorithms. */
  bbr?: BbrInfo;
  /** 1 when window scaling was negotiated. */
  wscale: number;
  /** The MSS we advertise (0 when not connected). */
  advMss: number;
  /** The largest payload we expect per segment (0 when not connected). */
  rcvMss: number;
  /** Path MTU toward the peer (0 without a peer). */
  pmtu: number;
  /** RTO backoff exponent. */
  backoff: number;
  /** Retransmissions without progress so far. */
  retries: number;
  sinceLastReceiveMs: number;
  /** Listener: connections waiting for accept(), and the backlog. */
  acceptQueued: number;
  backlog: number;
}

export interface TcpSocketHandlers {
  /** Data, EOF or an error became readable. */
  onReadable?: () => void;
  /** Send buffer space became available after a write returned short or -EAGAIN. */
  onWritable?: () => void;
  /** An active open completed (ESTABLISHED). */
  onConnect?: () => void;
  /** A listening socket has a connection ready for accept(). */
  onAcceptable?: () => void;
  /** The connection failed or was reset; `errno` is positive (ECONNREFUSED, ETIMEDOUT, ECONNRESET…). */
  onError?: (errno: number) => void;
  /** The socket reached CLOSED (or TIME_WAIT handed off) and will emit nothing more. */
  onClose?: () => void;
}

export interface TcpSocket {
  handlers: TcpSocketHandlers;
  readonly state: TcpStateName;
  /**
   * 4: takes and reports IPv4 addresses (numbers; a string is -EAFNOSUPPORT). 6: IPv6 addresses
   * (strings) only; unless V6ONLY, IPv4 goes through v4-mapped ::ffff:a.b.c.d, as Linux.
   */
  readonly family: 4 | 6;

  /** Binds to a local address (0 = any) and port (0 = ephemeral). -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL. */
  bind(addr: IpAddr, port: number): number;
  /** Starts listening. Binds an ephemeral port first if unbound. */
  listen(backlog: number): number;
  /** Starts an active open: returns -EINPROGRESS (completion via onConnect/onError), or an immediate error. */
  connect(addr: IpAddr, port: number): number;
  /** Takes the next established connection from a listener's accept queue, or null. */
  accept(): TcpSocket | null;

  /** Copies as much of `data` as fits in the send buffer; returns the count, or -EAGAIN (no room), -EPIPE, -ENOTCONN. */
  write(data: Uint8Array): number;
  /** Free space in the send buffer. */
  writableBytes(): number;
  /**
   * Takes up to `maxBytes` of received data. Returns a Buffer with data, 0 at EOF (peer FIN and
   * everything read), or a negative errno (-EAGAIN when nothing is there yet, -ECONNRESET…).
   * Reading is what opens the receive window again.
   */
  read(maxBytes?: number): Buffer | number;
  /**
   * read() without joining: up to `maxBytes` of received data as the stack holds it, a list of
   * Buffers (for a gathered write), or the same 0 / negative errno as read().
   */
  readv(maxBytes: number): Buffer[] | number;
  /** Bytes ready to read. */
  readableBytes(): number;

  shutdown(how: number): number;
  /** close(2): graceful FIN after queued data; RST if unread data remains (as Linux); honours SO_LINGER 0. */
  close(): void;
  /** Sends RST and drops everything. */
  abort(): void;

  localAddress(): SocketAddress | null;
  remoteAddress(): SocketAddress | null;
  /** SO_ERROR: the pending error (positive errno) or 0; reading clears it. */
  takeError(): number;
  setOption(name: TcpOptionName, value: number): number;
  /** Returns the option value, or a negative errno. */
  getOption(name: TcpOptionName): number;
  /** Per-connection figures (cwnd, srtt, retransmits…) for diagnostics and TCP_INFO. */
  info(): TcpInfo;
}

export interface UdpDatagram {
  data: Buffer;
  from: SocketAddress;
  /** The local address it was sent to: our unicast address, a broadcast address or a multicast group (IP_PKTINFO). */
  to: IpAddr;
  /** The IP header's TOS byte and TTL (IP_RECVTOS, IP_RECVTTL). */
  tos: number;
  ttl: number;
}

/** Per-datagram overrides (sendmsg control messages IP_TOS, IP_TTL, IP_PKTINFO's source). */
export interface DatagramSendOptions {
  /** 0-255. */
  tos?: number;
  /** 1-255. */
  ttl?: number;
  /** Source address: one of the stack's own addresses (-EINVAL otherwise). */
  src?: IpAddr;
}

/** What an ICMP error tells a datagram socket (the content of Linux's sock_extended_err). */
export interface IcmpErrorReport {
  /** Positive: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EMSGSIZE… */
  errno: number;
  /** The ICMP message's source (our own address for errors the stack made itself, e.g. ARP failure). */
  offender: IpAddr;
  type: number;
  code: number;
  /** The next-hop MTU for fragmentation needed, else 0. */
  info: number;
  /** Where the offending datagram went (port 0 for ICMP). */
  dst: SocketAddress;
  /** The start of the offending datagram's payload: UDP data, or the ICMP message for ping/raw sockets. */
  payload: Buffer;
}

/** IP_MTU_DISCOVER values, as Linux's IP_PMTUDISC_*. */
export const PmtuDisc = {
  /** Never set DF; fragment above the interface MTU. */
  DONT: 0,
  /** DF when the datagram fits the path MTU, else fragment (the default, as Linux). */
  WANT: 1,
  /** Always DF; -EMSGSIZE above the path MTU. */
  DO: 2,
  /** Always DF; -EMSGSIZE above the interface MTU (learned path MTUs ignored). */
  PROBE: 3,
  /** No DF; fragment at the interface MTU, learned path MTUs ignored. */
  INTERFACE: 4,
  OMIT: 5,
} as const;

/**
 * Options of a datagram (UDP, ping or raw ICMP) socket; values as setsockopt carries them:
 * - BROADCAST, REUSEADDR, REUSEPORT, MULTICAST_LOOP, RECVERR: 0/1
 * - RCVBUF, SNDBUF: bytes (clamped to 2048..16 MiB)
 * - TOS: 0-255; TTL: 1-255, -1 = default (64); MULTICAST_TTL: 0-255, -1 = default (1)
 * - MULTICAST_IF: the source address for multicast (0 = the default)
 * - MTU_DISCOVER: a `PmtuDisc` value (default WANT)
 * - ICMP_FILTER: raw ICMP sockets only, a bit mask of ICMP types to drop (bit n = type n)
 */
export type UdpOptionName =
  | 'BROADCAST'
  | 'RCVBUF'
  | 'SNDBUF'
  | 'REUSEADDR'
  | 'REUSEPORT'
  | 'TOS'
  | 'TTL'
  | 'MULTICAST_TTL'
  | 'MULTICAST_LOOP'
  | 'MULTICAST_IF'
  | 'MTU_DISCOVER'
  | 'RECVERR'
  | 'ICMP_FILTER'
  | 'V6ONLY'; // IPV6_V6ONLY (family-6 sockets): 0/1, only before bind/connect (else -EINVAL)

export interface UdpSocketHandlers {
  onReadable?: () => void;
  /** An ICMP error for this socket: connected sockets always, others only with RECVERR set. */
  onError?: (report: IcmpErrorReport) => void;
}

/** The most groups one socket may join (Linux's IP_MAX_MEMBERSHIPS default, 20). */
export const MAX_MEMBERSHIPS = 20;

/**
 * A datagram socket: UDP (`NetStack.udpSocket()`), or ICMP (`NetStack.icmpSocket('ping' | 'raw')`)
 * with the same interface. For ping sockets the "port" is the echo id; raw sockets ignore ports.
 */
export interface UdpSocket {
  handlers: UdpSocketHandlers;
  /**
   * 4: IPv4 addresses (numbers). 6: IPv6 addresses (strings) only; IPv4 traffic appears v4-mapped
   * and v4-mapped destinations send IPv4 (-ENETUNREACH under V6ONLY). On a family-6 socket TOS is
   * IPV6_TCLASS, TTL IPV6_UNICAST_HOPS, MULTICAST_TTL IPV6_MULTICAST_HOPS.
   */
  readonly family: 4 | 6;
  bind(addr: IpAddr, port: number): number;
  /** Sets the default destination and filters received datagrams to it; addr 0 disconnects. */
  connect(addr: IpAddr, port: number): number;
  /** Sends one datagram (to the connected peer when `to` is omitted); returns bytes sent or -errno. */
  sendTo(data: Uint8Array, to?: SocketAddress, opts?: DatagramSendOptions): number;
  /** Next datagram, or null when none is queued. */
  recv(): UdpDatagram | null;
  readonly pendingDatagrams: number;
  takeError(): number;
  setOption(name: UdpOptionName, value: number): number;
  getOption(name: UdpOptionName): number;
  /** IP_ADD_MEMBERSHIP: 0, -EINVAL (not multicast), -EADDRINUSE (joined), -ENOBUFS (20 already), -ENODEV (iface not ours). */
  joinGroup(group: Ipv4Addr, iface: Ipv4Addr): number;
  /** IP_DROP_MEMBERSHIP: 0, -EADDRNOTAVAIL (not joined), -ENODEV (iface not ours). */
  leaveGroup(group: Ipv4Addr, iface: Ipv4Addr): number;
  /** IPV6_JOIN_GROUP (family-6 sockets): the same errno rules as joinGroup (-EINVAL on a family-4 socket). */
  joinGroup6(group: Ipv6Addr): number;
  /** IPV6_LEAVE_GROUP. */
  leaveGroup6(group: Ipv6Addr): number;
  /** IP_MTU: the path MTU toward the connected peer; -ENOTCONN when not connected. */
  pathMtu(): number;
  /**
   * ICMP6_FILTER (raw ICMPv6 sockets; others -ENOPROTOOPT): Linux's struct icmp6_filter as eight
   * 32-bit words; bit (type & 31) of word (type >> 5) set blocks ICMPv6 type `type`. Default: none blocked.
   */
  setIcmp6Filter(words: readonly number[]): number;
  /** The ICMP6_FILTER words, or -ENOPROTOOPT. */
  getIcmp6Filter(): number[] | number;
  localAddress(): SocketAddress | null;
  remoteAddress(): SocketAddress | null;
  close(): void;
}
