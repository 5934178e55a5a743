/**
 * The same-daemon fast path: a TCP connection between two apps of this daemon uses no userspace
 * TCP at all. An app's TCP socket is its end of a Unix stream socketpair whose other end (the
 * daemon's end) the daemon normally joins to the stack. When an app connects to an address this
 * stack owns (its IPv4/IPv6 addresses, or its loopback) on a port where an app's listening socket
 * of this daemon listens, the daemon instead sends the connecting socket's daemon end to that
 * listener as the accepted connection and lets go of its own fd: the two apps' fds are then the
 * two ends of one kernel socketpair. No fd is replaced on either side (epoll registrations made
 * before connect stay valid), shutdown() and the reset of a close with unread data are the
 * kernel's own (a Unix stream socket closed with unread data gives its peer ECONNRESET).
 *
 * What the kernel socket cannot answer (names, TCP options, TCP_INFO) the daemon answers from a
 * small record per end (fast-path-socket.ts), keyed by the inode of each end: the client's app
 * end and the daemon end that became the accepted fd. The client's stack socket stays bound to
 * the connection's source address and an ephemeral port, so no stack connection can take the
 * same 4-tuple. The daemon holds no fd of the connection and cannot see it close: while records
 * exist, /proc/net/unix is read on a timer and the records whose inodes are gone are dropped
 * (unix-inodes.ts), freeing the port.
 *
 * Taken only when the library asks (FLAG_FAST: the app did not opt out with ZT_NC_FASTPATH=0,
 * and nothing it wrote waits in its end), the socket is fresh (never connected, nothing read
 * from it), the listener is an app's listening socket served since this daemon started (not one
 * a previous daemon left with the keeper) with no stack connections waiting for it, and its end
 * has room for the connection. Otherwise the connection goes through the stack as before.
 */
import type { Logger } from 'pino';
import {
  Errno,
  type IpAddr,
  IPV4_LOOPBACK,
  IPV6_ANY,
  IPV6_LOOPBACK,
  isLinkLocal6,
  isLoopback,
  isMulticast6,
  isUnspecified,
  type NetStack,
  type SocketAddress,
  unmapV4,
} from '../netstack/index.js';
import type { AppSocket } from './app-socket.js';
import { carryOptions, KEPT_OPTIONS } from './ended-socket.js';
import { FastPathSocket } from './fast-path-socket.js';
import type { FdPlumbing } from './fd-plumbing.js';
import type { NetconCounters } from './netcon-counters.js';
import { encodeAcceptRecord, type Request } from './protocol.js';
import type { Reply } from './reply.js';
import { inFamily, openTcp, V6ONLY, wireSockaddr } from './socket-family.js';
import { KeptOptions } from './sockopt.js';
import { liveUnixInodes } from './unix-inodes.js';

/** How often the records are checked against /proc/net/unix while any exist. */
export const FAST_PATH_SWEEP_MS = 1000;
/** Most fast-path connections with records at once; more go through the stack. */
export const FAST_PATH_LIMIT = 16384;

export interface FastPathOptions {
  /** false: every connection goes through the stack (default true). */
  enabled?: boolean;
  sweepMs?: number;
  limit?: number;
}

/** What the fast path asks of the netcon server. */
export interface FastPathHost {
  /** The listener may take a connection now (see the file comment). */
  mayTakeFastPath(listener: AppSocket): boolean;
  /** The client's socket now lives on as fast-path records: drop it from the socket table. */
  handedOff(client: AppSocket): void;
}

/** Both ends of one fast-path connection. */
interface FastConnection {
  client: FastPathSocket;
  server: FastPathSocket;
  /** Creation order: a sweep only judges connections older than its read of /proc/net/unix. */
  serial: number;
}

/** An address as the stack's tables hold it: IPv4 (v4-mapped ones too) as a number, IPv6 as a string. */
function wireForm(addr: IpAddr): IpAddr {
  return typeof addr === 'string' ? (unmapV4(addr) ?? addr) : addr;
}

/**
 * How well a listener bound to `local` matches a connection to `dst` (0: not at all), as the
 * stack ranks its listeners (tcp-layer.ts): its exact address, then an IPv4 wildcard, then a
 * dual-stack ::.
 */
function listenerRank(local: IpAddr, v6only: boolean, dst: IpAddr): number {
  if (local === dst) return 3;
  if (typeof dst === 'number') {
    if (local === 0) return 2;
    return local === IPV6_ANY && !v6only ? 1 : 0;
  }
  return local === IPV6_ANY ? 2 : 0;
}

export class FastPath {
  readonly enabled: boolean;
  private readonly sweepMs: number;
  private readonly limit: number;
  /** App listeners by port. */
  private readonly listeners = new Map<number, Set<AppSocket>>();
  private readonly listenerPorts = new Map<AppSocket, number>();
  /** Both ends of every connection, by inode. */
  private readonly ends = new Map<number, { end: FastPathSocket; conn: FastConnection }>();
  private readonly conns = new Set<FastConnection>();
  private serial = 0;
  /** Spreads connections over SO_REUSEPORT listeners of equal rank. */
  private turn = 0;
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly stack: NetStack,
    private readonly plumbing: FdPlumbing,
    private readonly counters: NetconCounters,
    private readonly log: Logger,
    private readonly host: FastPathHost,
    opts: FastPathOptions = {},
  ) {
    this.enabled = opts.enabled ?? true;
    this.sweepMs = opts.sweepMs ?? FAST_PATH_SWEEP_MS;
    this.limit = opts.limit ?? FAST_PATH_LIMIT;
  }

  /** An app socket listens (again): connections to its port may take the fast path to it. */
  addListener(l: AppSocket): void {
    const port = l.tcp.localAddress()?.port ?? 0;
    if (port === 0 || this.listenerPorts.has(l)) return;
    let set = this.listeners.get(port);
    if (set === undefined) this.listeners.set(port, (set = new Set()));
    set.add(l);
    this.listenerPorts.set(l, port);
  }

  removeListener(l: AppSocket): void {
    const port = this.listenerPorts.get(l);
    if (port === undefined) return;
    this.listenerPorts.delete(l);
    const set = this.listeners.get(port);
    set?.delete(l);
    if (set?.size === 0) this.listeners.delete(port);
  }

  /** Fast-path connections with records (counters, tests). */
  get size(): number {
    return this.conns.size;
  }

  /** The call on a fast-path end `req.ino` names; undefined when it names none. */
  call(req: Request): Reply | undefined {
    return this.ends.get(req.ino)?.end.call(req);
  }

  /** A new socket has inode `ino`: an end that had it is gone (the kernel reuses only free inodes). */
  inodeReused(ino: number): void {
    const e = this.ends.get(ino);
    if (e !== undefined) this.endGone(e.end, e.conn);
  }

  /**
   * Joins `sock` (connecting to `to`, in its family's form) straight to an app listener of this
   * daemon; the reply to its CONNECT, or null to go through the stack.
   */
  connect(sock: AppSocket, to: SocketAddress, blocking: boolean): Reply | null {
    if (!this.enabled || !sock.untouched) return null;
    const dst = this.destination(sock, to.addr);
    if (dst === null) return null;
    const match = this.listenerFor(dst, to.port);
    if (match === null) return null;
    if (this.conns.size >= this.limit) return this.skip('full');
    if (!this.host.mayTakeFastPath(match.listener)) return this.skip('listenerBusy');
    const local = this.reserveSource(sock, dst, match.rank === 3);
    if (local === null) return this.skip('source');
    return this.handOver(sock, match.listener, local, { addr: dst, port: to.port }, blocking);
  }

  /** The destination in wire form if it can be a connection to this stack; null when not. */
  private destination(sock: AppSocket, addr: IpAddr): IpAddr | null {
    if (typeof addr === 'number') return addr === 0 || addr === 0xffffffff ? null : addr;
    const v4 = unmapV4(addr);
    if (v4 !== null) return sock.tcp.getOption(V6ONLY) === 1 ? null : v4 === 0 ? null : v4;
    // as the stack (Linux's tcp_v6_connect): :: means the loopback
    if (addr === IPV6_ANY) return IPV6_LOOPBACK;
    // link-local addresses carry a scope the records would have to keep: the stack takes those
    return isLinkLocal6(addr) || isMulticast6(addr) ? null : addr;
  }

  /** The app listener the stack would give a connection to dst:port, with its rank. */
  private listenerFor(dst: IpAddr, port: number): { listener: AppSocket; rank: number } | null {
    const set = this.listeners.get(port);
    if (set === undefined) return null;
    let best = 0;
    let tied: AppSocket[] = [];
    for (const l of set) {
      if (!l.listening) continue;
      const a = l.tcp.localAddress();
      if (a === null) continue;
      const rank = listenerRank(wireForm(a.addr), l.family === 6 && l.tcp.getOption(V6ONLY) === 1, dst);
      if (rank > best) {
        best = rank;
        tied = [l];
      } else if (rank === best && rank > 0) tied.push(l);
    }
    if (best === 0) return null;
    const listener = tied.length === 1 ? tied[0]! : tied[this.turn++ % tied.length]!;
    return { listener, rank: best };
  }

  /** An address of this stack (its own or its loopback) as the stack lists them. */
  private isOwn(dst: IpAddr): boolean {
    if (typeof dst === 'number' ? isLoopback(dst) : dst === IPV6_LOOPBACK) return true;
    return this.stack.addresses().some((a) => a.addr === dst);
  }

  /**
   * The client's source, wire form: the address it is bound to, or the one the stack would pick
   * (the destination itself, or the loopback's), with the port it holds or an ephemeral one it
   * is bound to now. Binding is also the test that an unlisted destination (an address of an
   * owned IPv6 prefix) is the stack's: bind refuses one that is not. Null: let the stack decide.
   */
  private reserveSource(sock: AppSocket, dst: IpAddr, dstIsListenersOwn: boolean): SocketAddress | null {
    const own = dstIsListenersOwn || this.isOwn(dst);
    const bound = sock.tcp.localAddress();
    if (bound !== null && bound.port !== 0) {
      if (!own) return null;
      const addr = wireForm(bound.addr);
      if (isUnspecified(addr)) return { addr: this.sourceFor(dst), port: bound.port };
      return typeof addr === typeof dst ? { addr, port: bound.port } : null;
    }
    const src = this.sourceFor(dst);
    if (sock.tcp.bind(inFamily(src, sock.family), 0) !== 0) return null;
    const port = sock.tcp.localAddress()?.port ?? 0;
    return port === 0 ? null : { addr: src, port };
  }

  private sourceFor(dst: IpAddr): IpAddr {
    if (typeof dst === 'number') return isLoopback(dst) ? IPV4_LOOPBACK : dst;
    return dst;
  }

  /**
   * Sends the client's daemon end to the listener as its accepted connection, then lets go of
   * it. The copy sent shares the open file with the daemon's fd, whose O_NONBLOCK Node set: it
   * is cleared before sending (an accepted socket is blocking unless accept4 asks otherwise, and
   * the app may have set its own flags by the time anything here runs again) and set again if
   * the connection does not go.
   */
  private handOver(sock: AppSocket, l: AppSocket, local: SocketAddress, peer: SocketAddress, blocking: boolean): Reply | null {
    let serverIno: number;
    let copy: number;
    try {
      serverIno = this.plumbing.inode(sock.fd);
      copy = this.plumbing.dup(sock.fd);
    } catch {
      return this.skip('dup');
    }
    const record = encodeAcceptRecord(wireSockaddr(local, l.family));
    let sent: number | null;
    try {
      this.plumbing.setNonBlocking(copy, false);
      sent = this.plumbing.sendFds(l.fd, record, [copy]);
    } catch {
      sent = null;
    }
    if (sent === null) {
      try {
        this.plumbing.setNonBlocking(copy, true);
      } catch {
        // The copy is closed next either way.
      }
      this.close(copy);
      return this.skip('listenerFull');
    }
    sock.handOff();
    this.close(copy);
    this.host.handedOff(sock);
    const serverHolder = carryOptions(
      l.tcp,
      openTcp(this.stack, l.family),
      KEPT_OPTIONS.filter((n) => n !== 'MAXSEG'),
    );
    const serverKept = new KeptOptions();
    serverKept.inheritFrom(l.kept);
    const conn: FastConnection = {
      client: new FastPathSocket(sock.ino, sock.family, local, peer, sock.tcp, sock.kept, blocking),
      server: new FastPathSocket(serverIno, l.family, peer, local, serverHolder, serverKept, true),
      serial: ++this.serial,
    };
    this.conns.add(conn);
    this.ends.set(conn.client.ino, { end: conn.client, conn });
    this.ends.set(conn.server.ino, { end: conn.server, conn });
    this.counters.inc('fastPath.connects');
    this.counters.inc('accepted');
    this.counters.fastPathOpen = this.conns.size;
    this.scheduleSweep();
    // A blocking connect returns at once; a non-blocking one answers EINPROGRESS as the kernel's
    // loopback does, and the end is writable at once, so POLLOUT and SO_ERROR 0 follow at once.
    return { result: blocking ? 0 : -Errno.EINPROGRESS };
  }

  private skip(reason: string): null {
    this.counters.inc(`fastPath.skipped.${reason}`);
    return null;
  }

  private close(fd: number): void {
    try {
      this.plumbing.close(fd);
    } catch {
      // Already closed.
    }
  }

  private scheduleSweep(): void {
    if (this.timer !== null || this.conns.size === 0) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  /** Drops the records of ends whose sockets no longer exist (see the file comment). */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const upTo = this.serial;
      this.counters.inc('fastPath.sweeps');
      const live = await liveUnixInodes();
      if (live === null) {
        this.log.debug('fast path: /proc/net/unix unreadable, records kept until the limit');
        return;
      }
      for (const conn of [...this.conns]) {
        if (conn.serial > upTo) continue;
        for (const end of [conn.client, conn.server]) if (!end.gone && !live.has(end.ino)) this.endGone(end, conn);
      }
    } finally {
      this.sweeping = false;
    }
  }

  private endGone(end: FastPathSocket, conn: FastConnection): void {
    end.gone = true;
    if (this.ends.get(end.ino)?.end === end) this.ends.delete(end.ino);
    if (!conn.client.gone || !conn.server.gone || !this.conns.delete(conn)) return;
    // The client's stack socket frees the port; the server's only held options.
    conn.client.holder.close();
    conn.server.holder.close();
    this.counters.inc('fastPath.closed');
    this.counters.fastPathOpen = this.conns.size;
    if (this.conns.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** The daemon stops: every record goes (the apps' connections stay; their calls get ENETDOWN). */
  closeAll(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const conn of this.conns) {
      conn.client.holder.close();
      conn.server.holder.close();
    }
    this.conns.clear();
    this.ends.clear();
    this.listeners.clear();
    this.listenerPorts.clear();
    this.counters.fastPathOpen = 0;
  }
}
