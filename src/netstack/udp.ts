/**
 * UDP for one stack (RFC 768, RFC 1122 §4.1): the bind table with randomised ephemeral ports,
 * demultiplexing to sockets (connected sockets first, then the most specific local address;
 * broadcasts and multicasts to every matching socket), checksums, and ICMP errors passed to the
 * socket that sent the quoted datagram (connected ones always, others with IP_RECVERR).
 */
import { bindOverlap, isMulticastIp, type IpAddr, type Ipv4Addr } from './addr.js';
import type { Counters } from './counters.js';
import { Errno } from './errno.js';
import type { MulticastGroups } from './multicast-groups.js';
import type { RandomSource } from './random.js';
import { PmtuDisc, type UdpSocket } from './socket-api.js';
import { HEADROOM, IPPROTO_UDP, type IpReceiveInfo, type IpSender, type TransportProtocol } from './transport.js';
import { emitUdp, parseUdp, UDP_HEADER_LEN, UdpHeader, udpParseErrorName } from './wire/udp.js';
import { type UdpPort, UdpSocketImpl } from './udp-socket.js';
import { ERROR_QUOTE_MAX } from './datagram-socket.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, icmpErrno } from './wire/icmp.js';
import { ICMPV6_PACKET_TOO_BIG, icmpv6Errno } from './wire/icmpv6.js';

export const UDP_EPHEMERAL_LOW = 32768;
export const UDP_EPHEMERAL_HIGH = 60999;
export { UDP_MAX_PAYLOAD } from './udp-socket.js';

export interface UdpLayerDeps {
  ip: IpSender<IpAddr>;
  random: RandomSource;
  counters: Counters;
  /** The interface's questions (broadcast, own address, first address, MTU) and the stack's groups. */
  iface: Pick<UdpPort, 'isBroadcast' | 'isOwnAddress' | 'primaryAddress' | 'linkMaxPayload'>;
  groups: MulticastGroups;
}

export class UdpLayer implements TransportProtocol, UdpPort {
  readonly protocol = IPPROTO_UDP;
  readonly counters: Counters;
  readonly ip: IpSender<IpAddr>;
  readonly groups: MulticastGroups;
  private readonly random: RandomSource;
  private readonly iface: UdpLayerDeps['iface'];
  private readonly ports = new Map<number, UdpSocketImpl[]>();
  private readonly hdr = new UdpHeader();

  constructor(deps: UdpLayerDeps) {
    this.ip = deps.ip;
    this.random = deps.random;
    this.counters = deps.counters;
    this.iface = deps.iface;
    this.groups = deps.groups;
  }

  socket(family: 4 | 6 = 4): UdpSocket {
    return new UdpSocketImpl(this, family);
  }

  isBroadcast(addr: IpAddr): boolean {
    return typeof addr === 'number' && this.iface.isBroadcast(addr);
  }

  isOwnAddress(addr: Ipv4Addr): boolean {
    return this.iface.isOwnAddress(addr);
  }

  primaryAddress(): Ipv4Addr | null {
    return this.iface.primaryAddress();
  }

  linkMaxPayload(): number {
    return this.iface.linkMaxPayload();
  }

  // ───────────────────────── bind table ─────────────────────────

  /** Binds `s` to addr:port (port 0 = ephemeral). Returns the port or a negative errno. */
  bind(s: UdpSocketImpl, addr: IpAddr, port: number): number {
    if (port === 0) {
      const p = this.ephemeral(s, addr);
      if (p < 0) return p;
      port = p;
    } else if (!this.canBind(s, addr, port)) return -Errno.EADDRINUSE;
    let list = this.ports.get(port);
    if (!list) this.ports.set(port, (list = []));
    list.push(s);
    return port;
  }

  unbind(s: UdpSocketImpl, port: number): void {
    const list = this.ports.get(port);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(port);
  }

  private canBind(s: UdpSocketImpl, addr: IpAddr, port: number): boolean {
    const list = this.ports.get(port);
    if (!list) return true;
    for (const o of list) {
      if (!bindOverlap(addr, s.v6only, o.boundAddr, o.v6only)) continue;
      const shared = (s.reuseAddr && o.reuseAddr) || (s.reusePort && o.reusePort);
      if (!shared) return false;
    }
    return true;
  }

  private ephemeral(s: UdpSocketImpl, addr: IpAddr): number {
    const span = UDP_EPHEMERAL_HIGH - UDP_EPHEMERAL_LOW + 1;
    const start = this.random.u32() % span;
    for (let i = 0; i < span; i++) {
      const port = UDP_EPHEMERAL_LOW + ((start + i) % span);
      if (!this.ports.has(port)) return port;
    }
    // every port has a socket: take one whose sockets do not overlap this address (the other family)
    for (let i = 0; i < span; i++) {
      const port = UDP_EPHEMERAL_LOW + ((start + i) % span);
      if (this.canBind(s, addr, port)) return port;
    }
    this.counters.inc('ephemeral_exhausted');
    return -Errno.EADDRINUSE;
  }

  // ───────────────────────── send ─────────────────────────

  /** Sends one datagram from src:(s's port) to dst:dport with s's IP options. Returns the byte count or a negative errno. */
  send(s: UdpSocketImpl, src: IpAddr, dst: IpAddr, dport: number, data: Uint8Array): number {
    const len = data.length;
    const buf = Buffer.allocUnsafe(HEADROOM + UDP_HEADER_LEN + len);
    buf.set(data, HEADROOM + UDP_HEADER_LEN);
    emitUdp(buf, HEADROOM, buf.length, s.boundPort, dport, src, dst);
    const r = this.ip.send(IPPROTO_UDP, src, dst, buf, HEADROOM, s.ipOpts);
    if (r < 0) {
      this.counters.inc('tx_error');
      return r;
    }
    this.counters.inc('tx_datagrams');
    return len;
  }

  // ───────────────────────── receive ─────────────────────────

  receive(info: IpReceiveInfo, payload: Buffer): boolean {
    const c = this.counters;
    const h = this.hdr;
    const src = info.src;
    const dst = info.dst;
    const broadcast = info.broadcast;
    const e = parseUdp(payload, h, src, dst);
    if (e !== 0) {
      c.inc(udpParseErrorName(e));
      return true; // a damaged datagram draws no port unreachable
    }
    const sport = h.srcPort;
    const dport = h.dstPort;
    const data = payload.subarray(UDP_HEADER_LEN, h.length);
    const list = this.ports.get(dport);
    // `broadcast` covers multicasts to groups we joined too (IPv4 let nothing else in)
    const multicast = broadcast && isMulticastIp(dst);
    if (!list || list.length === 0) {
      c.inc(multicast ? 'rx_multicast_no_socket' : broadcast ? 'rx_broadcast_no_socket' : 'rx_no_socket');
      return broadcast;
    }
    if (broadcast) {
      // every matching socket gets a copy; for a multicast, those bound to the port (address 0 or
      // the group) while some socket of this stack is a member — Linux's default IP_MULTICAST_ALL
      let n = 0;
      for (const s of [...list]) {
        if (s.accepts(src, sport, dst)) {
          s.enqueue(data, src, sport, dst, info.tos, info.ttl);
          n++;
        }
      }
      if (n > 0) c.inc(multicast ? 'rx_multicast_datagrams' : 'rx_broadcast_datagrams');
      else c.inc(multicast ? 'rx_multicast_no_socket' : 'rx_broadcast_no_socket');
      return true;
    }
    let best: UdpSocketImpl | null = null;
    let bestScore = -1;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!s.accepts(src, sport, dst)) continue;
      const score = this.score(s, dst);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (!best) {
      c.inc('rx_no_socket');
      return false;
    }
    c.inc('rx_datagrams');
    best.enqueue(data, src, sport, dst, info.tos, info.ttl);
    return true;
  }

  /**
   * An ICMP error about a datagram we sent from src:sport to dst:dport: the socket that would
   * receive the reply hears it when connected to dst:dport, or with IP_RECVERR set (as Linux's
   * __udp4_lib_err). Fragmentation needed is no error for sockets with IP_PMTUDISC_DONT.
   */
  receiveIcmpError(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, nextHopMtu?: number, offender?: IpAddr): void {
    const c = this.counters;
    if (quoted.length < UDP_HEADER_LEN) return;
    const sport = (quoted[0]! << 8) | quoted[1]!;
    const dport = (quoted[2]! << 8) | quoted[3]!;
    const v6 = typeof src === 'string';
    const errno = v6 ? icmpv6Errno(type, code) : icmpErrno(type, code);
    const list = this.ports.get(sport);
    if (!list || errno === 0) {
      c.inc('icmp_no_socket');
      return;
    }
    let best: UdpSocketImpl | null = null;
    let bestScore = -1;
    for (const s of list) {
      if (!s.accepts(dst, dport, src)) continue;
      const score = this.score(s, src);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    if (!best || !best.hearsErrors()) {
      c.inc('icmp_unconnected_ignored');
      return;
    }
    const fragNeeded = v6 ? type === ICMPV6_PACKET_TOO_BIG : type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED;
    if (fragNeeded && best.pmtuDisc === PmtuDisc.DONT) {
      c.inc('icmp_frag_needed_ignored');
      return;
    }
    c.inc('icmp_error_to_socket');
    best.icmpError({
      errno,
      offender: offender ?? src,
      type,
      code,
      info: fragNeeded ? (nextHopMtu ?? 0) : 0,
      dst: { addr: dst, port: dport },
      payload: Buffer.from(quoted.subarray(UDP_HEADER_LEN, ERROR_QUOTE_MAX)),
    });
  }

  /**
   * How well socket `s` (which accepts it) fits a datagram to local address `dst`: connected
   * first, then a specific address, then (as Linux's compute_score) a socket of the datagram's
   * own family over a dual-stack one.
   */
  private score(s: UdpSocketImpl, dst: IpAddr): number {
    let score = s.connected ? 4 : 0;
    if (s.boundAddr === dst) score += 2;
    if (typeof dst === 'number' ? s.family === 4 : true) score += 1;
    return score;
  }

  /** Sockets bound, for diagnostics and tests. */
  socketCount(): number {
    let n = 0;
    for (const l of this.ports.values()) n += l.length;
    return n;
  }

  close(): void {
    for (const l of [...this.ports.values()]) for (const s of [...l]) s.close();
    this.ports.clear();
  }
}
