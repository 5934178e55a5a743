/**
 * The contract between the IPv4 layer and the transports above it (TCP, UDP, ICMP echo).
 *
 * Zero-copy sending: a transport builds its packet in a Buffer whose first `offset` bytes are
 * free headroom (at least HEADROOM), so the IP layer writes the IPv4 and Ethernet headers in
 * place instead of copying the payload, and the link's owner may encapsulate the frame in place.
 */
import type { Ipv4Addr } from './addr.js';
import { ETH_HEADER_LEN } from './wire/ethernet.js';

export const IPV4_HEADER_LEN = 20;
/**
 * Room left in front of the Ethernet header of an outgoing frame, for the link's owner to put its
 * own encapsulation there (an overlay's packet header) instead of copying the frame.
 */
export const LINK_HEADROOM = 32;
/** Headroom a transport leaves before its header: link room + Ethernet + IPv4 without options. */
export const HEADROOM = LINK_HEADROOM + ETH_HEADER_LEN + IPV4_HEADER_LEN;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface IpSendOptions {
  /** Don't Fragment (TCP sets it for PMTU discovery). */
  dontFragment?: boolean;
  ttl?: number;
  tos?: number;
  /** Size the packet against the interface MTU, not a learned path MTU (IP_PMTUDISC_PROBE/INTERFACE). */
  ignorePathMtu?: boolean;
  /** IP_MULTICAST_LOOP: false keeps a multicast off our own joined sockets (default true). */
  multicastLoop?: boolean;
}

/** What the IPv4 layer offers a transport. */
export interface IpSender {
  /**
   * Sends packet[offset, end) as the payload of one IPv4 datagram. Returns 0, or a negative errno
   * (-ENETUNREACH no route, -EMSGSIZE too big with DF, -ENOBUFS queue full).
   * The transport must not reuse `packet` after the call.
   */
  send(protocol: number, src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number;
  /** Source address the stack would use to reach `dst`, or null when there is no route. */
  sourceFor(dst: Ipv4Addr): Ipv4Addr | null;
  /** Largest transport payload (bytes after the IPv4 header) to `dst` without fragmenting (path MTU − 20). */
  maxPayloadFor(dst: Ipv4Addr): number;
  /** True when `addr` is one of this stack's own addresses (including 127/8 and 0). */
  isLocalAddress(addr: Ipv4Addr): boolean;
}

export interface IpReceiveInfo {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  ttl: number;
  tos: number;
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

/** What a transport offers the IPv4 layer. */
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
   * (at least 8). `nextHopMtu` is set for fragmentation-needed. `offender` is the ICMP message's
   * source (absent: the quoted packet's source, for errors the stack raised itself).
   */
  receiveIcmpError(
    type: number,
    code: number,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    quoted: Buffer,
    nextHopMtu?: number,
    offender?: Ipv4Addr,
  ): void;
}
