/**
 * ICMPv6 for one stack (RFC 4443): echo replies, the ping API over IPv6, errors sent about packets
 * we cannot take (RFC 4443 §2.4: never about an ICMPv6 error, nor about packets to a group — except
 * packet too big and parameter problem code 2 for option types 10xxxxxx —, nor from unspecified or
 * multicast sources; rate-limited by a token bucket as icmp.ts), and incoming errors handed to the
 * transport that sent the quoted packet (packet too big lowers the path MTU first, RFC 8201).
 * Neighbor discovery messages go to the IPv6 layer's `ndp`, MLD queries to its `mld`. Ping and raw
 * ICMPv6 sockets live in the family-6 IcmpSocketTable the stack hands in (`IcmpSocketHub`).
 */
import { isMulticast6, IPV6_ANY, IPV6_LOOPBACK, type Ipv6Addr } from './addr.js';
import type { Scheduler } from './clock.js';
import type { Counters } from './counters.js';
import { Errno } from './errno.js';
import type { IcmpSocket, IcmpSocketHub, IcmpSocketKind } from './icmp-socket.js';
import type { Ipv6ErrorReporter, Ipv6Layer } from './ipv6.js';
import { OwnPings } from './own-pings.js';
import type { RandomSource } from './random.js';
import type { PingOptions, PingResult } from './stack-api.js';
import { TokenBucket } from './token-bucket.js';
import { HEADROOM, IPPROTO_ICMPV6, type IpReceiveInfo, type TransportProtocol } from './transport.js';
import { pseudoHeaderSum6 } from './wire/checksum.js';
import {
  emitIcmpv6Echo,
  emitIcmpv6Error,
  ICMPV6_DEST_UNREACH,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER_LEN,
  ICMPV6_MAX_QUOTE,
  ICMPV6_MLD2_REPORT,
  ICMPV6_MLD_DONE,
  ICMPV6_MLD_QUERY,
  ICMPV6_MLD_REPORT,
  ICMPV6_NEIGHBOR_ADVERT,
  ICMPV6_NEIGHBOR_SOLICIT,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAM_PROBLEM,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERT,
  ICMPV6_ROUTER_SOLICIT,
  ICMPV6_TIME_EXCEEDED,
  icmpv6Errno,
  Icmpv6Message,
  icmpv6ParseErrorName,
  isIcmpv6Error,
  parseIcmpv6,
} from './wire/icmpv6.js';
import {
  Ipv6Chain,
  Ipv6Header,
  ipv6PseudoHeaderSumAt,
  isExtensionHeader,
  NH_ICMPV6,
  parseIpv6Quoted,
  PP_UNKNOWN_OPTION,
  walkIpv6Chain,
} from './wire/ipv6.js';

export interface Icmpv6LayerDeps {
  ip: Ipv6Layer;
  scheduler: Scheduler;
  random: RandomSource;
  counters: Counters;
  /** The family-6 ping/raw socket table (absent: no ICMPv6 sockets). */
  sockets?: IcmpSocketHub;
  /** Errors sent per second (token bucket), default 100 with a burst of 50, as ICMPv4. */
  errorRatePerSec?: number;
  errorBurst?: number;
}

export class Icmpv6Layer implements TransportProtocol, Ipv6ErrorReporter {
  readonly protocol = IPPROTO_ICMPV6;
  readonly counters: Counters;
  private readonly ip: Ipv6Layer;
  private readonly sockets: IcmpSocketHub | null;
  private readonly msg = new Icmpv6Message();
  private readonly inner = new Ipv6Header();
  private readonly innerChain = new Ipv6Chain();
  private readonly errHdr = new Ipv6Header();
  private readonly errChain = new Ipv6Chain();
  private readonly pings: OwnPings;
  private readonly errorTokens: TokenBucket;
  private closed = false;

  constructor(deps: Icmpv6LayerDeps) {
    this.ip = deps.ip;
    this.counters = deps.counters;
    this.sockets = deps.sockets ?? null;
    this.pings = new OwnPings(deps.scheduler, deps.counters, deps.random);
    this.sockets?.reserveEchoId(this.pings.id);
    this.errorTokens = new TokenBucket(deps.scheduler, deps.errorRatePerSec ?? 100, deps.errorBurst ?? 50);
    deps.ip.errors = this;
  }

  /** A ping or raw ICMPv6 socket. */
  socket(kind: IcmpSocketKind): IcmpSocket {
    if (!this.sockets) throw new Error('no ICMPv6 socket table');
    return this.sockets.socket(kind);
  }

  // ───────────────────────── receive ─────────────────────────

  receive(info: IpReceiveInfo, payload: Buffer): boolean {
    const c = this.counters;
    const m = this.msg;
    const v6 = info as IpReceiveInfo<Ipv6Addr>;
    const packet = info.packet;
    // the pseudo-header from the packet's own address bytes when we have them
    const ps = packet
      ? ipv6PseudoHeaderSumAt(packet, 0, NH_ICMPV6, payload.length)
      : pseudoHeaderSum6(v6.src, v6.dst, NH_ICMPV6, payload.length);
    const e = parseIcmpv6(payload, ps, m);
    if (e !== 0) {
      c.inc(icmpv6ParseErrorName(e));
      return true;
    }
    c.inc('rx_messages');
    const type = m.type;
    switch (type) {
      case ICMPV6_ECHO_REQUEST:
        this.answerEcho(v6, payload);
        break;
      case ICMPV6_ECHO_REPLY:
        this.echoReply(v6, payload, m.id, m.seq);
        break;
      case ICMPV6_ROUTER_SOLICIT:
      case ICMPV6_ROUTER_ADVERT:
      case ICMPV6_NEIGHBOR_SOLICIT:
      case ICMPV6_NEIGHBOR_ADVERT:
      case ICMPV6_REDIRECT:
        this.ip.ndp.receive(v6, payload);
        break;
      case ICMPV6_MLD_QUERY:
        this.ip.mld.queryIn(payload);
        break;
      case ICMPV6_MLD_REPORT:
      case ICMPV6_MLD_DONE:
      case ICMPV6_MLD2_REPORT:
        c.inc('rx_mld_report_ignored'); // other listeners' reports: a host has nothing to do
        break;
      default:
        if (isIcmpv6Error(type)) this.errorReceived(m, payload, v6.src);
        else c.inc('rx_unhandled_type');
    }
    // raw sockets see every ICMPv6 message, after the stack's own processing
    this.sockets?.deliverRaw(info, type, payload);
    return true;
  }

  private answerEcho(info: IpReceiveInfo<Ipv6Addr>, payload: Buffer): void {
    const c = this.counters;
    if (payload.length < ICMPV6_HEADER_LEN) {
      c.inc('rx_truncated');
      return;
    }
    c.inc('rx_echo_request');
    // RFC 4443 §4.2: a request to a group is answered from a unicast address of ours (Linux's default)
    const src = info.broadcast ? this.ip.sourceFor(info.src) : info.dst;
    if (src === null) {
      c.inc('tx_error');
      return;
    }
    const buf = Buffer.allocUnsafe(HEADROOM + payload.length);
    payload.copy(buf, HEADROOM);
    emitIcmpv6Echo(
      buf,
      HEADROOM,
      buf.length,
      ICMPV6_ECHO_REPLY,
      (payload[4]! << 8) | payload[5]!,
      (payload[6]! << 8) | payload[7]!,
      src,
      info.src,
    );
    const r = this.ip.send(IPPROTO_ICMPV6, src, info.src, buf, HEADROOM, { tos: info.tos, flowLabel: info.flowLabel ?? 0 });
    c.inc(r === 0 ? 'tx_echo_reply' : 'tx_error');
  }

  private echoReply(info: IpReceiveInfo<Ipv6Addr>, payload: Buffer, id: number, seq: number): void {
    if (!this.pings.waiting(id, seq)) {
      if (!this.sockets?.echoReply(info, id, payload)) this.counters.inc('rx_echo_reply_unmatched');
      return;
    }
    this.counters.inc('rx_echo_reply');
    this.pings.replied(seq, info.ttl);
  }

  /** An error quoting one of our packets: hand it to the transport that sent it. */
  private errorReceived(m: Icmpv6Message, payload: Buffer, offender: Ipv6Addr): void {
    const c = this.counters;
    if (
      m.type !== ICMPV6_DEST_UNREACH &&
      m.type !== ICMPV6_PACKET_TOO_BIG &&
      m.type !== ICMPV6_TIME_EXCEEDED &&
      m.type !== ICMPV6_PARAM_PROBLEM
    ) {
      c.inc('rx_unknown_error_type');
      return;
    }
    const quote = payload.subarray(ICMPV6_HEADER_LEN);
    const q = this.inner;
    if (parseIpv6Quoted(quote, q) !== 0) {
      c.inc('rx_error_bad_quote');
      return;
    }
    if (!this.ip.isLocalAddress(q.src) || q.src === IPV6_ANY) {
      c.inc('rx_error_not_ours');
      return;
    }
    let mtu: number | undefined;
    if (m.type === ICMPV6_PACKET_TOO_BIG) {
      mtu = m.param;
      if (this.ip.lowerPathMtu(q.dst, mtu)) c.inc('rx_packet_too_big_pmtu_lowered');
      else c.inc('rx_packet_too_big_ignored');
      // RFC 8201 §4: never below 1280
      mtu = Math.max(1280, Math.min(mtu, this.ip.linkMtu));
    }
    // the quoted packet's upper-layer header, past any extension headers (and a first fragment's)
    const qc = this.innerChain;
    const end = Math.min(quote.length, q.totalLen);
    walkIpv6Chain(quote, 40, end, q.nextHeader, 6, qc, true, true);
    if (isExtensionHeader(qc.protocol) || qc.offset + 8 > end) {
      c.inc('rx_error_short_quote');
      return;
    }
    c.inc('rx_errors');
    const t = this.ip.transport(qc.protocol);
    if (!t) {
      c.inc('rx_error_no_transport');
      return;
    }
    t.receiveIcmpError(m.type, m.code, q.src, q.dst, quote.subarray(qc.offset, end), mtu, offender);
  }

  /** An error about one of our own ICMPv6 messages: a ping() or a ping/raw socket's. */
  receiveIcmpError(
    type: number,
    code: number,
    src: string | number,
    dst: string | number,
    quoted: Buffer,
    nextHopMtu?: number,
    offender?: string | number,
  ): void {
    if (quoted.length < 8 || typeof src !== 'string' || typeof dst !== 'string') return;
    const id = (quoted[4]! << 8) | quoted[5]!;
    const seq = (quoted[6]! << 8) | quoted[7]!;
    if (quoted[0] !== ICMPV6_ECHO_REQUEST || !this.pings.waiting(id, seq)) {
      this.sockets?.error(type, code, src, dst, quoted, nextHopMtu ?? 0, offender ?? src);
      return;
    }
    this.counters.inc('ping_error');
    this.pings.failed(seq, icmpv6Errno(type, code) || Errno.EHOSTUNREACH);
  }

  // ───────────────────────── errors we send ─────────────────────────

  sendError(type: number, code: number, param: number, packet: Buffer, evenMulticast = false): void {
    const c = this.counters;
    const h = this.errHdr;
    if (parseIpv6Quoted(packet, h) !== 0) return;
    // RFC 4443 §2.4(e): not from an address that names no single host, not to a group (with the
    // packet too big / option exceptions)
    if (
      h.src === IPV6_ANY ||
      isMulticast6(h.src) ||
      (isMulticast6(h.dst) &&
        !(type === ICMPV6_PACKET_TOO_BIG || (evenMulticast && type === ICMPV6_PARAM_PROBLEM && code === PP_UNKNOWN_OPTION)))
    ) {
      c.inc('tx_error_suppressed');
      return;
    }
    // never about an ICMPv6 error or a redirect (§2.4(e.1)), nor an ICMPv6 message cut short
    const ch = this.errChain;
    const end = Math.min(packet.length, h.totalLen);
    walkIpv6Chain(packet, 40, end, h.nextHeader, 6, ch, false, true);
    if (ch.protocol === NH_ICMPV6) {
      const t = ch.offset < end ? packet[ch.offset]! : 0;
      if (ch.offset >= end || isIcmpv6Error(t) || t === ICMPV6_REDIRECT) {
        c.inc('tx_error_suppressed');
        return;
      }
    }
    if (!this.errorTokens.take()) {
      c.inc('tx_error_rate_limited');
      return;
    }
    const quoteLen = Math.min(end, ICMPV6_MAX_QUOTE);
    // from the address the packet was sent to when that was ours, else the best one towards its sender
    const src = !isMulticast6(h.dst) && h.dst !== IPV6_LOOPBACK && this.ip.isLocalAddress(h.dst) ? h.dst : this.ip.sourceFor(h.src);
    if (src === null) {
      c.inc('tx_error_no_source');
      return;
    }
    const buf = Buffer.allocUnsafe(HEADROOM + ICMPV6_HEADER_LEN + quoteLen);
    packet.copy(buf, HEADROOM + ICMPV6_HEADER_LEN, 0, quoteLen);
    emitIcmpv6Error(buf, HEADROOM, buf.length, type, code, param, src, h.src);
    const r = this.ip.send(IPPROTO_ICMPV6, src, h.src, buf, HEADROOM);
    if (r !== 0) c.inc('tx_error');
    else c.inc(ERROR_COUNTER[type] ?? 'tx_other_error');
  }

  // ───────────────────────── ping ─────────────────────────

  ping(dst: Ipv6Addr, opts: PingOptions, done: (r: PingResult) => void): void {
    const size = opts.size ?? 56;
    const timeoutMs = opts.timeoutMs ?? 1000;
    if (this.closed || !Number.isInteger(size) || size < 0 || size > 65527 || !(timeoutMs >= 0)) {
      this.pings.failLater(done, Errno.EINVAL);
      return;
    }
    const src = this.ip.sourceFor(dst);
    if (src === null) {
      this.pings.failLater(done, Errno.ENETUNREACH);
      return;
    }
    const seq = this.pings.begin(timeoutMs, done);
    if (seq === null) return;
    const buf = Buffer.allocUnsafe(HEADROOM + ICMPV6_HEADER_LEN + size);
    for (let i = 0; i < size; i++) buf[HEADROOM + ICMPV6_HEADER_LEN + i] = (i + 8) & 0xff;
    emitIcmpv6Echo(buf, HEADROOM, buf.length, ICMPV6_ECHO_REQUEST, this.pings.id, seq, src, dst);
    this.counters.inc('tx_echo_request');
    const r = this.ip.send(IPPROTO_ICMPV6, src, dst, buf, HEADROOM, opts.ttl !== undefined ? { ttl: opts.ttl } : undefined);
    if (r < 0) this.pings.failed(seq, -r, true);
  }

  get pendingPings(): number {
    return this.pings.size;
  }

  /** Cancels every ping (their callers hear ENETDOWN) and closes the sockets. */
  close(): void {
    this.closed = true;
    this.sockets?.close();
    this.pings.close();
  }
}

const ERROR_COUNTER: Record<number, string> = {
  [ICMPV6_DEST_UNREACH]: 'tx_dest_unreach',
  [ICMPV6_PACKET_TOO_BIG]: 'tx_packet_too_big',
  [ICMPV6_TIME_EXCEEDED]: 'tx_time_exceeded',
  [ICMPV6_PARAM_PROBLEM]: 'tx_param_problem',
};
