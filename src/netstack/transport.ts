/**
 * The contract between the IP layers (IPv4, IPv6) and the transports above them (TCP, UDP, ICMP).
 *
 * Addresses are `IpAddr`: a number is IPv4, a string IPv6 (addr.ts). Each IP layer serves its own
 * family (`IpSender<Ipv4Addr>`, `IpSender<Ipv6Addr>`); the stack hands transports one sender for
 * both that picks the layer by `typeof dst`.
 *
 * Zero-copy sending: a transport builds its packet in a Buffer whose first `offset` bytes are
 * free headroom (at least HEADROOM), so the IP layer writes its IP and Ethernet headers in
 * place instead of copying the payload, and the link's owner may encapsulate the frame in place.
 * Both families build transport packets at the same offset: IPv4 writes its 20-byte header right
 * before it, IPv6 its 40 (so an IPv4 frame starts 20 bytes further into the buffer).
 */
import type { IpAddr } from './addr.js';
import { ETH_HEADER_LEN } from './wire/ethernet.js';

export const IPV4_HEADER_LEN = 20;
export const IPV6_HEADER_LEN = 40;
/**
 * Room left in front of the Ethernet header of an outgoing frame, for the link's owner to put its
 * own encapsulation there (an overlay's packet header) instead of copying the frame.
 */
export const LINK_HEADROOM = 32;
/** Headroom a transport leaves before its header: link room + Ethernet + the larger IP header (IPv6's 40). */
export const HEADROOM = LINK_HEADROOM + ETH_HEADER_LEN + IPV6_HEADER_LEN;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** The IP header length of `addr`'s family (the overhead between the path MTU and a transport's payload). */
export function ipHeaderLen(addr: IpAddr): number {
  return typeof addr === 'number' ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
}

export interface IpSendOptions {
  /**
   * Don't Fragment (TCP sets it for PMTU discovery). IPv6 never fragments on the way, so there it
   * means: refuse (-EMSGSIZE) rather than fragment at the source.
   */
  dontFragment?: boolean;
  /** TTL (IPv4) or hop limit (IPv6). */
  ttl?: number;
  /** TOS (IPv4) or traffic class (IPv6). */
  tos?: number;
  /** IPv6 flow label (20 bits); ignored by IPv4. */
  flowLabel?: number;
  /** Size the packet against the interface MTU, not a learned path MTU (IP_PMTUDISC_PROBE/INTERFACE). */
  ignorePathMtu?: boolean;
  /** IP_MULTICAST_LOOP: false keeps a multicast off our own joined sockets (default true). */
  multicastLoop?: boolean;
}

/**
 * What an IP layer offers a transport. `A` is the family it serves: Ipv4Layer is an
 * `IpSender<Ipv4Addr>`, Ipv6Layer an `IpSender<Ipv6Addr>`, the stack's dispatcher an
 * `IpSender<IpAddr>` (src and dst are always of one family).
 */
export interface IpSender<A extends IpAddr = IpAddr> {
  /**
   * Sends packet[offset, end) as the payload of one IP datagram (offset ≥ HEADROOM − LINK_HEADROOM
   * − ETH_HEADER_LEN − the family's header length). Returns 0, or a negative errno
   * (-ENETUNREACH no route, -EMSGSIZE too big with DF, -ENOBUFS queue full).
   * The transport must not reuse `packet` after the call.
   */
  send(protocol: number, src: A, dst: A, packet: Buffer, offset: number, opts?: IpSendOptions): number;
  /** Source address the stack would use to reach `dst`, or null when there is no route. */
  sourceFor(dst: A): A | null;
  /** Largest transport payload (bytes after the IP header) to `dst` without fragmenting (path MTU − 20 or − 40). */
  maxPayloadFor(dst: A): number;
  /** True when `addr` is one of this stack's own addresses (IPv4: including 127/8 and 0; IPv6: ::1, ::, owned prefixes). */
  isLocalAddress(addr: A): boolean;
  /**
   * An upper-layer reachability hint (RFC 4861 §7.3.1, BSD's ND6_HINT, Linux's dst_confirm): a
   * connection to `dst` is making forward progress, so the neighbor it goes through is reachable
   * without probing. IPv6 uses it to keep the neighbor cache entry REACHABLE; IPv4 has no use for it.
   */
  confirmReachable?(dst: A): void;
}

export interface IpReceiveInfo<A extends IpAddr = IpAddr> {
  src: A;
  dst: A;
  /** TTL (IPv4) or hop limit (IPv6). */
  ttl: number;
  /** TOS (IPv4) or traffic class (IPv6). */
  tos: number;
  /** IPv6 flow label (absent for IPv4). */
  flowLabel?: number;
  /**
   * True when dst was a group address: a broadcast (directed or limited) or a multicast group
   * (one of ours joined). Such packets never reach TCP, draw no echo reply and no ICMP error.
   */
  broadcast: boolean;
  /**
   * True when the packet went round this stack's own loopback: it never met a wire, so (as on
   * Linux's lo) its transport checksum is neither computed nor checked.
   */
  loopback?: boolean;
  /** The whole IP packet (header first) the payload is part of, for raw sockets. */
  packet?: Buffer;
}

/** What a transport offers the IP layers (one transport object serves both families). */
export interface TransportProtocol {
  readonly protocol: number;
  /**
   * A datagram for this protocol arrived (already reassembled, IP checksum checked).
   * `payload` is a view the transport may keep. Returns false when no socket wanted it, so the IP
   * layer can answer with ICMP port unreachable (UDP) — TCP answers closed ports with RST itself
   * and returns true.
   */
  receive(info: IpReceiveInfo, payload: Buffer): boolean;
  /**
   * An ICMP error quoted one of our packets: `quoted` is the original IP payload's first bytes
   * (at least 8). `nextHopMtu` is set for fragmentation-needed (IPv4) and packet too big (IPv6).
   * `offender` is the ICMP message's source (absent: the quoted packet's source, for errors the
   * stack raised itself). When src/dst are IPv6 addresses, type/code are ICMPv6's (1 destination
   * unreachable, 2 packet too big, 3 time exceeded, 4 parameter problem).
   */
  receiveIcmpError(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, nextHopMtu?: number, offender?: IpAddr): void;
}
