/**
 * ICMPv4 for one stack (RFC 792, RFC 1122 §3.2.2): echo replies, the ping API, ICMP errors sent
 * about packets we cannot deliver (rate-limited, never about errors, broadcasts or later
 * fragments), and incoming errors handed to the transport that sent the quoted packet (with the
 * path MTU lowered on fragmentation-needed).
 */
import { isLoopback, isMulticast, type Ipv4Addr } from './addr.js';
import type { Scheduler } from './clock.js';
import type { Counters } from './counters.js';
import { Errno } from './errno.js';
import type { Ipv4ErrorReporter, Ipv4Layer } from './ipv4.js';
import type { DatagramPort } from './datagram-socket.js';
import { IcmpSocketTable, type IcmpSocket, type IcmpSocketKind } from './icmp-socket.js';
import { OwnPings } from './own-pings.js';
import type { RandomSource } from './random.js';
import type { PingOptions, PingResult } from './stack-api.js';
import { TokenBucket } from './token-bucket.js';
import { HEADROOM, IPPROTO_ICMP, type IpReceiveInfo, type TransportProtocol } from './transport.js';
import {
  emitIcmpEcho,
  emitIcmpError,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_HEADER_LEN,
  ICMP_PARAM_PROBLEM,
  ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED,
  icmpErrno,
  IcmpMessage,
  icmpParseErrorName,
  isIcmpError,
  parseIcmp,
} from './wire/icmp.js';
import { Ipv4Header, parseIpv4Quoted } from './wire/ipv4.js';

/** Bytes of the offending datagram quoted in errors we send (header + data, within 576 total). */
const MAX_QUOTE = 576 - 20 - ICMP_HEADER_LEN;

export interface IcmpLayerDeps {
  ip: Ipv4Layer;
  scheduler: Scheduler;
  random: RandomSource;
  counters: Counters;
  /** What ping and raw sockets ask of the stack (interface questions and groups). */
  socketPort: Omit<DatagramPort, 'ip' | 'counters'>;
  /** Errors sent per second (token bucket), default 100 with a burst of 50. */
  errorRatePerSec?: number;
  errorBurst?: number;
}

export class IcmpLayer implements TransportProtocol, Ipv4ErrorReporter {
  readonly protocol = IPPROTO_ICMP;
  readonly counters: Counters;
  private readonly ip: Ipv4Layer;
  private readonly msg = new IcmpMessage();
  private readonly inner = new Ipv4Header();
  private readonly pings: OwnPings;
  private readonly errorTokens: TokenBucket;
  private closed = false;
  private readonly sockets: IcmpSocketTable;

  constructor(deps: IcmpLayerDeps) {
    this.ip = deps.ip;
    this.counters = deps.counters;
    this.pings = new OwnPings(deps.scheduler, deps.counters, deps.random);
    this.errorTokens = new TokenBucket(deps.scheduler, deps.errorRatePerSec ?? 100, deps.errorBurst ?? 50);
    this.sockets = new IcmpSocketTable({
      ip: this.ip,
      random: deps.random,
      port: { ...deps.socketPort, counters: deps.counters },
      reservedId: this.pings.id,
    });
  }

  /** A ping or raw ICMP socket. */
  socket(kind: IcmpSocketKind): IcmpSocket {
    return this.sockets.socket(kind);
  }

  // ───────────────────────── receive ─────────────────────────

  receive(info: IpReceiveInfo<Ipv4Addr>, payload: Buffer): boolean {
    const c = this.counters;
    const m = this.msg;
    const e = parseIcmp(payload, m);
    if (e !== 0) {
      c.inc(icmpParseErrorName(e));
      return true;
    }
    c.inc('rx_messages');
    const type = m.type;
    switch (type) {
      case ICMP_ECHO_REQUEST:
        this.answerEcho(info, payload);
        break;
      case ICMP_ECHO_REPLY:
        this.echoReply(info, payload, m.id, m.seq);
        break;
      default:
        if (isIcmpError(type)) this.errorReceived(m, payload, info.src);
        else c.inc('rx_unhandled_type');
    }
    // raw sockets see every ICMP packet, after the stack's own processing
    this.sockets.deliverRaw(info, type, payload);
    return true;
  }

  private answerEcho(info: IpReceiveInfo<Ipv4Addr>, payload: Buffer): void {
    const c = this.counters;
    if (info.broadcast) {
      c.inc('rx_echo_broadcast_ignored');
      return;
    }
    c.inc('rx_echo_request');
    const buf = Buffer.allocUnsafe(HEADROOM + payload.length);
    payload.copy(buf, HEADROOM);
    emitIcmpEcho(buf, HEADROOM, buf.length, ICMP_ECHO_REPLY, (payload[4]! << 8) | payload[5]!, (payload[6]! << 8) | payload[7]!);
    const r = this.ip.send(IPPROTO_ICMP, info.dst, info.src, buf, HEADROOM);
    c.inc(r === 0 ? 'tx_echo_reply' : 'tx_error');
  }

  private echoReply(info: IpReceiveInfo<Ipv4Addr>, payload: Buffer, id: number, seq: number): void {
    if (!this.pings.waiting(id, seq)) {
      if (!this.sockets.echoReply(info, id, payload)) this.counters.inc('rx_echo_reply_unmatched');
      return;
    }
    this.counters.inc('rx_echo_reply');
    this.pings.replied(seq, info.ttl);
  }

  /** An error quoting one of our datagrams: hand it to the transport that sent it. */
  private errorReceived(m: IcmpMessage, payload: Buffer, offender: Ipv4Addr): void {
    const c = this.counters;
    if (m.type === ICMP_SOURCE_QUENCH) {
      c.inc('rx_source_quench_ignored'); // deprecated, RFC 6633
      return;
    }
    if (m.type !== ICMP_DEST_UNREACH && m.type !== ICMP_TIME_EXCEEDED && m.type !== ICMP_PARAM_PROBLEM) {
      c.inc('rx_unhandled_type');
      return;
    }
    const quote = payload.subarray(ICMP_HEADER_LEN);
    const q = this.inner;
    // the quoted datagram is usually cut short after 8 bytes of its payload
    if (parseIpv4Quoted(quote, q) !== 0 || quote.length < q.headerLen + 8) {
      c.inc('rx_error_bad_quote');
      return;
    }
    const ihl = q.headerLen;
    if (!this.ip.isLocalAddress(q.src) || q.src === 0) {
      c.inc('rx_error_not_ours');
      return;
    }
    const quoted = quote.subarray(ihl);
    let mtu: number | undefined;
    if (m.type === ICMP_DEST_UNREACH && m.code === ICMP_FRAG_NEEDED) {
      // routers from before RFC 1191 leave the MTU field zero: guess the next plateau down
      mtu = m.nextHopMtu >= 68 ? m.nextHopMtu : plateauBelow(q.totalLen);
      if (mtu >= 68 && this.ip.lowerPathMtu(q.dst, mtu)) c.inc('rx_frag_needed_pmtu_lowered');
      else c.inc('rx_frag_needed_ignored');
    }
    c.inc('rx_errors');
    const t = this.ip.transport(q.protocol);
    if (!t) {
      c.inc('rx_error_no_transport');
      return;
    }
    t.receiveIcmpError(m.type, m.code, q.src, q.dst, quoted, mtu, offender);
  }

  /** An error about one of our own ICMP messages: a ping() or a ping/raw socket's. */
  receiveIcmpError(
    type: number,
    code: number,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    quoted: Buffer,
    nextHopMtu?: number,
    offender?: Ipv4Addr,
  ): void {
    if (quoted.length < 8) return;
    const id = (quoted[4]! << 8) | quoted[5]!;
    const seq = (quoted[6]! << 8) | quoted[7]!;
    if (quoted[0] !== ICMP_ECHO_REQUEST || !this.pings.waiting(id, seq)) {
      this.sockets.error(type, code, src, dst, quoted, nextHopMtu ?? 0, offender ?? src);
      return;
    }
    this.counters.inc('ping_error');
    this.pings.failed(seq, icmpErrno(type, code) || Errno.EHOSTUNREACH);
  }

  // ───────────────────────── errors we send ─────────────────────────

  sendError(type: number, code: number, packet: Buffer, h: Ipv4Header, nextHopMtu = 0): void {
    const c = this.counters;
    // RFC 1122 §3.2.2: never about an ICMP error, a broadcast/multicast, a non-initial fragment,
    // or a source that does not name a single host
    if (h.fragOffset !== 0 || h.src === 0 || h.src === 0xffffffff || isMulticast(h.src) || isMulticast(h.dst) || h.dst === 0xffffffff) {
      c.inc('tx_error_suppressed');
      return;
    }
    if (h.protocol === IPPROTO_ICMP) {
      const t = packet.length > h.headerLen ? packet[h.headerLen]! : 0xff;
      if (isIcmpError(t) || (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHO_REPLY)) {
        c.inc('tx_error_suppressed');
        return;
      }
    }
    if (!this.errorTokens.take()) {
      c.inc('tx_error_rate_limited');
      return;
    }
    const quoteLen = Math.min(h.totalLen, MAX_QUOTE, packet.length);
    const buf = Buffer.allocUnsafe(HEADROOM + ICMP_HEADER_LEN + quoteLen);
    packet.copy(buf, HEADROOM + ICMP_HEADER_LEN, 0, quoteLen);
    emitIcmpError(buf, HEADROOM, buf.length, type, code, nextHopMtu);
    // from the address the packet was sent to (or the best one towards its sender)
    const src = this.ip.isLocalAddress(h.dst) && h.dst !== 0 && !isLoopback(h.dst) ? h.dst : (this.ip.sourceFor(h.src) ?? 0);
    const r = this.ip.send(IPPROTO_ICMP, src, h.src, buf, HEADROOM);
    if (r !== 0) c.inc('tx_error');
    else c.inc(type === ICMP_DEST_UNREACH ? 'tx_dest_unreach' : type === ICMP_TIME_EXCEEDED ? 'tx_time_exceeded' : 'tx_other_error');
  }

  // ───────────────────────── ping ─────────────────────────

  ping(dst: Ipv4Addr, opts: PingOptions, done: (r: PingResult) => void): void {
    const size = opts.size ?? 56;
    const timeoutMs = opts.timeoutMs ?? 1000;
    if (this.closed || !Number.isInteger(size) || size < 0 || size > 65507 || !(timeoutMs >= 0)) {
      this.pings.failLater(done, Errno.EINVAL);
      return;
    }
    const seq = this.pings.begin(timeoutMs, done);
    if (seq === null) return;
    const buf = Buffer.allocUnsafe(HEADROOM + ICMP_HEADER_LEN + size);
    // data as ping(8) sends it: a recognisable rising byte pattern
    for (let i = 0; i < size; i++) buf[HEADROOM + ICMP_HEADER_LEN + i] = (i + 8) & 0xff;
    emitIcmpEcho(buf, HEADROOM, buf.length, ICMP_ECHO_REQUEST, this.pings.id, seq);
    this.counters.inc('tx_echo_request');
    const src = this.ip.sourceFor(dst) ?? 0;
    const r = this.ip.send(IPPROTO_ICMP, src, dst, buf, HEADROOM, opts.ttl !== undefined ? { ttl: opts.ttl } : undefined);
    // reported after the call returns, as every other outcome
    if (r < 0) this.pings.failed(seq, -r, true);
  }

  get pendingPings(): number {
    return this.pings.size;
  }

  /** Cancels every ping; their callers hear ENETDOWN. */
  close(): void {
    this.closed = true;
    this.sockets.close();
    this.pings.close();
  }
}

/** RFC 1191 §7 MTU plateaus. */
const PLATEAUS = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/** The largest plateau below `len` (at least 68). */
export function plateauBelow(len: number): number {
  for (const p of PLATEAUS) if (p < len) return p;
  return 68;
}
