/**
 * One app datagram socket (UDP, ICMP "ping" or raw ICMP): the stack's socket joined to the
 * daemon's end of the app's SOCK_SEQPACKET socketpair, one record per message (proto.h).
 *
 * App → stack: every readiness event reads the waiting records in batches (recvmmsg, one native
 * call per batch) and hands each datagram to the stack's sendTo inside one receive batch. A
 * record that is too short, of an unknown type or too long is a counted drop; so is a datagram the
 * stack refuses — except that a connected socket, or one with IP_RECVERR, gets the error back as
 * an ERROR record (the library cannot wait for a reply per datagram, so it reports the error on
 * the next call, as the kernel reports an asynchronous one).
 *
 * Stack → app: datagrams the stack queued are moved out at the end of the current task (so a
 * burst from one input batch travels in one sendmmsg), each as a DATA record with its source,
 * local address, TOS and TTL. The daemon's end's send buffer is the socket's SO_RCVBUF: what does
 * not fit is dropped and counted, as a full kernel receive queue drops, never queued here. ICMP
 * errors the stack reports become ERROR records; the stack's own pending error is cleared then,
 * so the app hears of each error once.
 *
 * End of the app's stream (every copy closed, or its end shut down without a SHUTDOWN(SHUT_WR)
 * call first) closes the stack's socket and forgets this one. After shutdown(SHUT_WR) the socket
 * still receives, so it lives on until its end reports POLLHUP (every copy closed).
 */
import type { Logger } from 'pino';
import {
  closeFd,
  fdWatcher,
  type FdWatcher,
  hungUp,
  isSystemError,
  recvRecords,
  sendRecords,
  setNonBlocking,
  setSendBuffer,
} from '../native/binding.js';
import {
  type DatagramSendOptions,
  Errno,
  errnoName,
  type IcmpErrorReport,
  inPrefix6,
  inSubnet,
  type InterfaceAddress,
  IPV6_ANY,
  type IpAddr,
  isIpv6,
  isLinkLocal6,
  type SocketAddress,
  type UdpDatagram,
  type UdpSocket,
  unmapV4,
} from '../netstack/index.js';
import type { DnsRedirect } from './dns-redirect.js';
import type { NetconCounters } from './netcon-counters.js';
import { decodeDgramHeader, DGF, DGRAM_HEADER, DgramType, encodeDataHeader, encodeDgramHeader, type Family, Kind } from './protocol.js';
import { inFamily, scopeOf } from './socket-family.js';
import type { DatagramKind } from './stack-datagram.js';

/** Records read per recvmmsg, and batches per readiness event (so one busy app cannot starve the loop). */
const READ_BATCH = 64;
const READ_ROUNDS = 8;
/** Records moved to the app per sendmmsg. */
const WRITE_BATCH = 256;
/** The start of an offending datagram an ERROR record quotes, at most (as Linux's ICMP quote). */
const ERROR_QUOTE_MAX = 576;
const DEFAULT_TTL = 64;
/**
 * After the app shut down its sending side, the end of stream is read and no event tells of the
 * final close (it raises POLLHUP, which a level-triggered watcher cannot wait for alone): looked
 * for this often instead, so the socket's port is let go.
 */
const HANGUP_CHECK_MS = 1000;

/** What every datagram socket of one server shares. */
export interface DatagramContext {
  readonly stack: {
    beginReceiveBatch(): void;
    endReceiveBatch(): void;
    addresses(): InterfaceAddress[];
  };
  readonly counters: NetconCounters;
  readonly log: Logger;
  /** Datagrams to port 53 answered by the daemon's resolver (SPEC §3), or null. */
  readonly dns: DnsRedirect | null;
  onGone(sock: DatagramSocket): void;
}

/** Options the stack does not hold, kept per socket (generic SOL_SOCKET flags Linux accepts on any socket). */
export class DatagramKeptOptions {
  keepalive = 0;
  dontRoute = 0;
  noCheck = 0;
  /** SO_LINGER: -1 off, else seconds. */
  linger = -1;
  /** IP_MULTICAST_IF's address (host order), 0 = the stack's choice. */
  multicastIf = 0;
  /** IPV6_MULTICAST_IF's interface index, 0 = the stack's choice (the network is the one interface). */
  multicastIf6 = 0;
  /** IPV6_MTU as set (the fragment size cap; 0 = the path MTU), reported by nothing but kept as set. */
  mtu6 = 0;
  /**
   * ICMP6_FILTER of a raw ICMPv6 socket (struct icmp6_filter, 256 bits, bit set = type blocked),
   * applied as messages go to the app; null = every type passes (Linux's default).
   */
  icmp6Filter: Buffer | null = null;
  /**
   * IP_RECVOPTS, IP_RETOPTS: remembered for getsockopt; no control message ever results, as the
   * stack's peers send no IP options it would keep (iputils ping sets IP_RETOPTS on every run).
   */
  recvOpts = 0;
  retOpts = 0;
}

export class DatagramSocket {
  /** DGF.PKTINFO | RECVTOS | RECVTTL | RECVERR: the control messages the app asked for. */
  recvFlags = 0;
  readonly kept = new DatagramKeptOptions();
  /** The app bound an address itself (getsockname shows the connected source only otherwise). */
  userBoundAddr = false;
  /** Connected to a resolver address the daemon answers for (SPEC §3): not the stack's connection. */
  private resolverPeer: SocketAddress | null = null;
  private shutRd = false;
  private shutWr = false;
  private readonly watcher: FdWatcher;
  private flushQueued = false;
  private hangupTimer: NodeJS.Timeout | null = null;
  private gone = false;
  private appGoneFlag = false;

  constructor(
    readonly ino: number,
    readonly kind: DatagramKind,
    /** The app socket's family: its stack socket's, and the form of every address in its records. */
    readonly family: Family,
    readonly sock: UdpSocket,
    /** The daemon's end of the seqpacket pair; owned (closed) by this socket. */
    readonly fd: number,
    private readonly ctx: DatagramContext,
  ) {
    setNonBlocking(fd, true);
    sock.handlers = {
      onReadable: () => this.toAppSoon(),
      onError: (report) => this.icmpError(report),
    };
    this.watcher = fdWatcher(fd, (readable, _writable, errno) => this.onEvent(readable, errno));
    this.watcher.start(true, false);
  }

  /** WHOIS's answer. */
  get whoisKind(): number {
    return this.kind === 'udp' ? Kind.UDP : this.kind === 'ping' ? Kind.PING : Kind.RAW_ICMP;
  }

  get appGone(): boolean {
    return this.appGoneFlag;
  }

  /** The connected peer (the stack's, or a resolver address the daemon answers for); null when none. */
  peer(): SocketAddress | null {
    return this.resolverPeer ?? this.sock.remoteAddress();
  }

  /** getsockname: as Linux, the source address a connection picked, and 0 again once dissolved. */
  localName(): { addr: IpAddr; port: number } {
    const l = this.sock.localAddress();
    let addr: IpAddr = inFamily(l?.addr ?? 0, this.family);
    const p = this.peer();
    if ((addr === 0 || addr === IPV6_ANY) && p !== null) addr = this.sourceFor(p.addr);
    // Linux's raw sockets report their protocol as the port (ICMP 1, ICMPv6 58).
    return { addr, port: this.kind === 'raw' ? (this.family === 6 ? 58 : 1) : (l?.port ?? 0) };
  }

  /** SO_RCVBUF: what may wait for the app is the daemon end's send buffer (the kernel doubles it, as SO_RCVBUF). */
  setAppQueue(bytes: number): void {
    try {
      setSendBuffer(this.fd, bytes);
    } catch {
      this.ctx.counters.inc('dgramBufferFailures');
    }
  }

  /** BIND. */
  bind(addr: IpAddr, port: number): number {
    const r = this.sock.bind(addr, port);
    if (r === 0 && addr !== 0 && addr !== IPV6_ANY) this.userBoundAddr = true;
    return r;
  }

  /** CONNECT to addr:port; `resolver`: the daemon answers for that address itself (SPEC §3). */
  connect(addr: IpAddr, port: number, resolver: boolean): number {
    if (resolver) {
      if (this.sock.remoteAddress() !== null) this.disconnectStack();
      if (this.sock.localAddress() === null) {
        const r = this.sock.bind(this.anyAddr, 0);
        if (r < 0) return r;
      }
      this.resolverPeer = { addr, port };
      return 0;
    }
    const r = this.sock.connect(addr, port);
    if (r === 0) this.resolverPeer = null;
    return r;
  }

  /** CONNECT to AF_UNSPEC: the association is dissolved. */
  disconnect(): number {
    this.resolverPeer = null;
    this.disconnectStack();
    return 0;
  }

  /** The family's any address, as the stack socket takes it. */
  private get anyAddr(): IpAddr {
    return this.family === 6 ? IPV6_ANY : 0;
  }

  /** Dissolves the stack socket's association (connect to the any address, as AF_UNSPEC does). */
  private disconnectStack(): void {
    this.sock.connect(this.anyAddr, 0);
  }

  /** SHUTDOWN: Linux records the directions even on an unconnected socket, and answers ENOTCONN there. */
  shutdown(how: number): number {
    if (how !== 0 && how !== 1 && how !== 2) return -Errno.EINVAL;
    if (how === 0 || how === 2) this.shutRd = true;
    if (how === 1 || how === 2) this.shutWr = true;
    return this.peer() === null ? -Errno.ENOTCONN : 0;
  }

  // ───────────────────────── app → stack ─────────────────────────

  private onEvent(readable: boolean, errno: number): void {
    if (this.gone) return;
    if (errno !== 0) {
      this.appGoneFlag = true;
      this.teardown();
      return;
    }
    if (readable) this.fromApp();
  }

  private fromApp(): void {
    const { stack, counters } = this.ctx;
    stack.beginReceiveBatch();
    try {
      for (let round = 0; round < READ_ROUNDS && !this.gone; round++) {
        let got;
        try {
          got = recvRecords(this.fd, READ_BATCH);
        } catch (e) {
          this.ctx.log.debug({ ino: this.ino, err: (e as Error).message }, 'datagram app end read failed');
          this.appGoneFlag = true;
          this.teardown();
          return;
        }
        if (got === null) return;
        if (got.truncated > 0) counters.dgramDrop('oversized', got.truncated);
        if (got.empty > 0) counters.dgramDrop('malformed', got.empty);
        const { data, lengths } = got;
        let off = 0;
        for (let i = 0; i < lengths.length && !this.gone; i++) {
          const len = lengths[i]!;
          this.sendRecord(data.subarray(off, off + len));
          off += len;
        }
        if (got.eof) {
          this.appEnded();
          return;
        }
        if (lengths.length + got.truncated + got.empty < READ_BATCH) return;
      }
    } finally {
      stack.endReceiveBatch();
    }
  }

  /** One record from the app: a datagram to send. */
  private sendRecord(rec: Buffer): void {
    const { counters } = this.ctx;
    const h = decodeDgramHeader(rec, this.family);
    if (h === null || h.type !== DgramType.DATA) {
      counters.dgramDrop('malformed');
      return;
    }
    counters.datagramsFromApps++;
    const payload = rec.subarray(DGRAM_HEADER);
    counters.bytesFromApps += payload.length;
    if (this.shutWr) {
      // The library refuses sends after shutdown(SHUT_WR); a record that still comes is dropped.
      counters.dgramDrop('shutdown');
      return;
    }
    let to: SocketAddress | undefined;
    if ((h.flags & DGF.TO) !== 0) to = this.destination(h.addr, h.port, h.scope);
    else if (this.resolverPeer !== null) to = this.resolverPeer;
    if (to !== undefined && this.kind === 'udp' && this.wantsResolver(to)) {
      this.askResolver(payload, to);
      return;
    }
    let opts: DatagramSendOptions | undefined;
    if ((h.flags & (DGF.TOS | DGF.TTL | DGF.SRC)) !== 0) {
      opts = {};
      if ((h.flags & DGF.TOS) !== 0) opts.tos = h.tos;
      if ((h.flags & DGF.TTL) !== 0) opts.ttl = h.ttl;
      if ((h.flags & DGF.SRC) !== 0) opts.src = h.local;
    }
    const r = opts === undefined ? this.sock.sendTo(payload, to) : this.sock.sendTo(payload, to, opts);
    if (r < 0) this.sendFailed(-r, to);
  }

  /**
   * The stack refused a datagram. There is no reply per datagram, so it is a counted drop; a
   * connected socket or one with IP_RECVERR also gets the error as a record (its next call fails).
   */
  private sendFailed(errno: number, to: SocketAddress | undefined): void {
    this.ctx.counters.dgramDrop(`send.${errnoName(errno)}`);
    if (errno === Errno.EAGAIN) return;
    if (this.peer() === null && (this.recvFlags & DGF.RECVERR) === 0) return;
    this.sock.takeError();
    this.deliverError({ errno, offender: 0, type: 0, code: 0, info: 0, dst: to ?? this.peer() ?? { addr: 0, port: 0 }, payload: EMPTY });
  }

  /** A record's destination as the stack takes it (the family's form; sin6_scope_id when given). */
  private destination(addr: IpAddr, port: number, scope: number): SocketAddress {
    return this.family === 6 && scope !== 0 ? { addr, port, scopeId: scope } : { addr, port };
  }

  /** The daemon's resolver answers this destination (IPv4 resolver addresses, v4-mapped on a family-6 socket). */
  wantsResolver(to: { addr: IpAddr; port: number }): boolean {
    const dns = this.ctx.dns;
    if (dns === null) return false;
    const v4 = isIpv6(to.addr) ? unmapV4(to.addr) : to.addr;
    return v4 !== null && dns.wants(v4, to.port);
  }

  private askResolver(query: Buffer, server: SocketAddress): void {
    const dns = this.ctx.dns!;
    // The query is a view of the batch just read: the resolver gets its own copy.
    const pending = dns.answer(Buffer.from(query));
    if (pending === null) {
      this.ctx.counters.dgramDrop('dnsBusy');
      return;
    }
    if (this.sock.localAddress() === null) this.sock.bind(this.anyAddr, 0);
    this.ctx.counters.inc('dnsRedirected');
    pending.then(
      (answer) => {
        if (answer === null) {
          this.ctx.counters.dgramDrop('dnsUnanswered');
          return;
        }
        if (this.gone) return;
        this.deliver([{ data: answer, from: server, to: this.sourceFor(server.addr), tos: 0, ttl: DEFAULT_TTL }]);
      },
      () => this.ctx.counters.dgramDrop('dnsUnanswered'),
    );
  }

  private appEnded(): void {
    if (this.shutWr && !hungUp(this.fd)) {
      // shutdown(SHUT_WR) on the app's end: it still receives, so the socket stays until it closes.
      this.watcher.stop();
      this.hangupTimer = setInterval(() => {
        if (hungUp(this.fd)) {
          this.appGoneFlag = true;
          this.teardown();
        }
      }, HANGUP_CHECK_MS);
      this.hangupTimer.unref();
      return;
    }
    this.appGoneFlag = true;
    this.teardown();
  }

  // ───────────────────────── stack → app ─────────────────────────

  /** Datagrams queued in one task go to the app together. */
  private toAppSoon(): void {
    if (this.flushQueued || this.gone) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.toApp();
    });
  }

  /** Moves every datagram the stack holds for this socket to the app (what does not fit is dropped). */
  toApp(): void {
    const batch: UdpDatagram[] = [];
    while (!this.gone) {
      const resolver = this.resolverPeer;
      for (let d = this.sock.recv(); d !== null; d = batch.length < WRITE_BATCH ? this.sock.recv() : null) {
        // A socket connected to a resolver address takes datagrams from there only (as a connected socket).
        if (resolver !== null && (d.from.addr !== resolver.addr || d.from.port !== resolver.port)) {
          this.ctx.counters.dgramDrop('notFromPeer');
          continue;
        }
        batch.push(d);
        if (batch.length >= WRITE_BATCH) break;
      }
      if (batch.length === 0) return;
      this.deliver(batch);
      batch.length = 0;
    }
  }

  /** Sends DATA records for `list` to the app in one sendmmsg. */
  private deliver(list: UdpDatagram[]): void {
    if (this.kept.icmp6Filter !== null) list = this.icmp6Filtered(list, this.kept.icmp6Filter);
    if (list.length === 0) return;
    // Zeroed once for the batch: encodeDataHeader then skips the fields that stay zero.
    const headers = Buffer.alloc(DGRAM_HEADER * list.length);
    const parts: Buffer[] = new Array<Buffer>(list.length * 2);
    const flags = this.recvFlags & (DGF.PKTINFO | DGF.RECVTOS | DGF.RECVTTL);
    const family = this.family;
    let bytes = 0;
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      const off = i * DGRAM_HEADER;
      encodeDataHeader(
        headers,
        off,
        flags,
        d.from.port,
        inFamily(d.from.addr, family),
        inFamily(d.to, family),
        d.tos,
        d.ttl,
        scopeOf(d.from),
        true,
      );
      parts[i * 2] = headers.subarray(off, off + DGRAM_HEADER);
      parts[i * 2 + 1] = d.data;
      bytes += d.data.length;
    }
    const sent = this.send(parts, list.length);
    const { counters } = this.ctx;
    counters.datagramsToApps += sent.delivered;
    if (sent.delivered === list.length) counters.bytesToApps += bytes;
    if (sent.full > 0) counters.dgramDrop('appFull', sent.full);
    if (sent.tooBig > 0) counters.dgramDrop('appTooBig', sent.tooBig);
  }

  /** ICMP6_FILTER: messages of a blocked type never reach the app (the first byte of an ICMPv6 message is its type). */
  private icmp6Filtered(list: UdpDatagram[], filter: Buffer): UdpDatagram[] {
    const out = list.filter((d) => d.data.length === 0 || (filter[d.data[0]! >> 3]! & (1 << (d.data[0]! & 7))) === 0);
    if (out.length < list.length) this.ctx.counters.dgramDrop('icmp6Filter', list.length - out.length);
    return out;
  }

  /** sendRecords with the drop rules: a full end drops the rest, a gone app ends the socket. */
  private send(parts: Buffer[], count: number): { delivered: number; full: number; tooBig: number } {
    try {
      const [consumed, tooBig] = sendRecords(this.fd, parts, 2);
      return { delivered: consumed - tooBig, full: count - consumed, tooBig };
    } catch (e) {
      const errno = isSystemError(e) ? e.errno : Errno.EPIPE;
      // shutdown(SHUT_RD) on the app's end refuses our sends while the app lives on.
      if (errno === Errno.EPIPE && this.shutRd) return { delivered: 0, full: 0, tooBig: 0 };
      this.appGoneFlag = true;
      this.teardown();
      return { delivered: 0, full: 0, tooBig: 0 };
    }
  }

  private icmpError(report: IcmpErrorReport): void {
    if (this.gone) return;
    // Datagrams that arrived before the error go first.
    this.toApp();
    // The app hears of this error through the record: the stack's pending copy would fail a later send.
    this.sock.takeError();
    this.deliverError(report);
  }

  private deliverError(report: IcmpErrorReport): void {
    const header = encodeDgramHeader({
      type: DgramType.ERROR,
      flags: this.recvFlags & DGF.RECVERR,
      port: ((report.type & 0xff) << 8) | (report.code & 0xff),
      addr: inFamily(report.offender, this.family),
      local: 0,
      tos: 0,
      ttl: 0,
      err: report.errno,
      info: report.info,
      scope: 0,
    });
    const quote = report.payload.length > ERROR_QUOTE_MAX ? report.payload.subarray(0, ERROR_QUOTE_MAX) : report.payload;
    const sent = this.send([header, quote], 1);
    if (sent.delivered === 1) this.ctx.counters.inc('dgramErrorsToApps');
    else this.ctx.counters.dgramDrop('errorAppFull');
  }

  /**
   * The address this stack sends from toward `dst`, in this socket's family: for IPv4 (v4-mapped
   * too) one on its subnet, else its first; for IPv6 one whose prefix holds `dst`, else its first
   * that is not link-local.
   */
  private sourceFor(dst: IpAddr): IpAddr {
    const list = this.ctx.stack.addresses();
    const v4 = isIpv6(dst) ? unmapV4(dst) : dst;
    if (v4 !== null) {
      const own = list.filter((a): a is { addr: number; prefixLen: number } => !isIpv6(a.addr));
      return inFamily((own.find((a) => inSubnet(v4, a.addr, a.prefixLen)) ?? own[0])?.addr ?? 0, this.family);
    }
    const six = list.filter((a): a is { addr: string; prefixLen: number } => isIpv6(a.addr));
    return (
      (six.find((a) => inPrefix6(dst as string, a.addr, a.prefixLen)) ?? six.find((a) => !isLinkLocal6(a.addr)) ?? six[0])?.addr ?? IPV6_ANY
    );
  }

  /** Ends this socket: the stack's socket is closed and the app's end let go. */
  teardown(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.hangupTimer !== null) clearInterval(this.hangupTimer);
    this.watcher.close();
    try {
      closeFd(this.fd);
    } catch {
      // already closed
    }
    this.sock.close();
    this.ctx.onGone(this);
  }
}

const EMPTY = Buffer.alloc(0);
