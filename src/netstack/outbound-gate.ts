/**
 * Outbound flows at a gateway member (the libslirp/passt model): TCP and UDP packets from members
 * to destinations beyond the network (no on-link route of ours covers them) are terminated here,
 * in this stack, and handed to the daemon, which carries them out through host sockets.
 *
 * - TCP: a member's SYN to dst:port makes (once) a listener bound to that foreign dst:port, which
 *   outranks any wildcard listener of the programs under the library; the connections it accepts
 *   go to the handler with dst:port as their local end. Later packets to dst:port are let in while
 *   that listener exists; anything else to a foreign address is not.
 * - UDP: a member's first datagram to dst:port makes a socket bound to dst:port and connected to
 *   the member (TransparentOrigin), handed to the handler; the datagram and the flow's later ones
 *   reach it through the usual demux.
 * - ICMP: a member's echo request is handed to the handler's `echo` with a way to answer it (an
 *   echo reply from the destination, sent by this stack); other ICMP beyond the network is dropped.
 * The handler's policy is asked first; a refused flow draws ICMP "administratively prohibited".
 */
import type { Ipv4Addr } from './addr.js';
import type { Counters } from './counters.js';
import type { OutboundAdmission } from './ipv4.js';
import type { OutboundHandler, TransparentOrigin } from './stack-api.js';
import type { TcpConnection } from './tcp/tcp-connection.js';
import type { TcpLayer } from './tcp/tcp-layer.js';
import { HEADROOM, IPPROTO_ICMP, IPPROTO_TCP } from './transport.js';
import { checksum } from './wire/checksum.js';
import { emitIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from './wire/icmp.js';
import { TCP_ACK, TCP_SYN } from './wire/tcp.js';

/** What the gate sends its echo replies with (the stack's IPv4 layer). */
export interface OutboundIpSender {
  send(protocol: number, src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, offset: number): number;
}

/** At most this many foreign dst:port listeners at once; further destinations are refused. */
export const MAX_OUTBOUND_LISTENERS = 4096;

export type OutboundVerdict = 'accept' | 'taken' | 'deny' | 'drop';

export class OutboundGate implements OutboundAdmission {
  private readonly listeners = new Map<string, TcpConnection>();

  constructor(
    private readonly handler: OutboundHandler,
    private readonly tcp: TcpLayer,
    private readonly origin: TransparentOrigin,
    private readonly counters: Counters,
    private readonly ip: OutboundIpSender,
  ) {}

  /** A TCP/UDP packet from member `src` to the foreign `dst`, transport header at `l4`. */
  admit(protocol: number, src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, l4: number): OutboundVerdict {
    if (packet.length < l4 + (protocol === IPPROTO_TCP ? 14 : 8)) return 'drop';
    if (protocol === IPPROTO_ICMP) return this.echo(src, dst, packet, l4);
    const sport = packet.readUInt16BE(l4);
    const dport = packet.readUInt16BE(l4 + 2);
    if (dport === 0) return 'drop';
    if (protocol === IPPROTO_TCP) {
      const key = `${dst}.${dport}`;
      const flags = packet[l4 + 13]!;
      const opening = (flags & TCP_SYN) !== 0 && (flags & TCP_ACK) === 0;
      // packets of connections already accepted pass; each new connection asks the policy
      if (this.listeners.has(key)) return !opening || this.handler.allow('tcp', src, sport, dst, dport) ? 'accept' : 'deny';
      if (!opening) return 'drop';
      if (!this.handler.allow('tcp', src, sport, dst, dport)) return 'deny';
      if (this.listeners.size >= MAX_OUTBOUND_LISTENERS) {
        this.counters.inc('outbound_listeners_full');
        return 'deny';
      }
      const l = this.tcp.socket(4) as TcpConnection;
      if (this.tcp.bindForeign(l, dst, dport) < 0 || l.listen(128) < 0) {
        l.close();
        this.counters.inc('outbound_listen_failed');
        return 'deny';
      }
      l.handlers.onAcceptable = () => {
        for (let c = l.accept(); c; c = l.accept()) this.handler.tcp(c);
      };
      this.listeners.set(key, l);
      return 'accept';
    }
    if (!this.handler.allow('udp', src, sport, dst, dport)) return 'deny';
    const flow = this.origin.udpConnect(dst, dport, src, sport);
    if (typeof flow === 'number') return 'drop';
    this.handler.udp(flow);
    return 'accept';
  }

  /** An ICMP message from member `src` to the foreign `dst`: echo requests go to the handler. */
  private echo(src: Ipv4Addr, dst: Ipv4Addr, packet: Buffer, l4: number): OutboundVerdict {
    const end = packet.readUInt16BE(2); // the IPv4 total length: the link may have padded the frame
    if (end > packet.length || end < l4 + 8 || packet[l4] !== ICMP_ECHO_REQUEST || packet[l4 + 1] !== 0) return 'drop';
    if (checksum(packet, l4, end) !== 0) return 'drop';
    const id = packet.readUInt16BE(l4 + 4);
    if (!this.handler.echo || !this.handler.allow('icmp', src, id, dst, 0)) return 'deny';
    const seq = packet.readUInt16BE(l4 + 6);
    const data = Buffer.from(packet.subarray(l4 + 8, end)); // the frame's buffer is not kept
    this.handler.echo(src, dst, id, seq, data, (replySeq, replyData) => {
      const len = 8 + replyData.length;
      const buf = Buffer.allocUnsafe(HEADROOM + len);
      buf.fill(0, HEADROOM, HEADROOM + 8);
      replyData.copy(buf, HEADROOM + 8);
      emitIcmpEcho(buf, HEADROOM, HEADROOM + len, ICMP_ECHO_REPLY, id, replySeq);
      if (this.ip.send(IPPROTO_ICMP, dst, src, buf, HEADROOM) === 0) this.counters.inc('tx_outbound_echo_reply');
    });
    return 'taken';
  }

  /** Closes every outbound listener (their accepted connections stay with the handler). */
  close(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }
}
