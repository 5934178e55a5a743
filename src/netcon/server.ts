/**
 * The netcon server of one network: the RPC socket apps' libztintercept.so talks to, the table of
 * app sockets keyed by the inode of the app's end, and the hand-over of accepted connections.
 *
 * The RPC socket lives in a directory only this user can enter and is mode 0600; a peer of another
 * uid is refused. A malformed message closes that one connection (counted); nothing an app sends
 * can stop the server.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Errno, type NetStack, type TcpSocket } from '../netstack/index.js';
import type { NameService } from '../dns/index.js';
import { AppSocket, type AppSocketHooks, type AppSocketView } from './app-socket.js';
import { type EndedSocket, endedSocketCall } from './ended-socket.js';
import { DatagramCalls } from './datagram-calls.js';
import { FastPath, type FastPathOptions } from './fast-path.js';
import type { DnsRedirectOptions } from './dns-redirect.js';
import { type FdPlumbing, nativePlumbing } from './fd-plumbing.js';
import { describeListener, type KeptListener, type KeptListenerMeta, type ListenerKeeper, ListenerRestorer } from './kept-listeners.js';
import { isNameOp, nameCall } from './name-calls.js';
import { NetconCounters } from './netcon-counters.js';
import { checkSocketDir, removeStaleSocket } from './socket-dir.js';
import {
  decodeConnectFiller,
  decodeSocketRequest,
  decodeSockaddr,
  decodeSockopt,
  encodeAcceptRecord,
  encodeResponse,
  type Family,
  FLAG_FAST,
  FLAG_FILLED,
  FLAG_WAIT,
  IPPROTO_TCP,
  Kind,
  Op,
  RequestReader,
  RFLAG_FILLER,
  RFLAG_PENDING,
  type Request,
  SOCK_STREAM,
} from './protocol.js';
import type { Reply } from './reply.js';
import { openTcp, stackAddress, wireAddress, wireSockaddr } from './socket-family.js';
import { getOption, setOption, SO, SOL_SOCKET } from './sockopt.js';

export interface NetconServerOptions extends DnsRedirectOptions {
  plumbing?: FdPlumbing;
  /** Keeps listeners' ends across daemon restarts (none: listeners end with the daemon). */
  keeper?: ListenerKeeper;
  /** The network this server serves, recorded with kept listeners. */
  nwid?: string;
  /** Answers the name operations (RESOLVE, REVERSE, DNS_QUERY); none: they fail with EAGAIN. */
  names?: NameService;
  /** The same-daemon fast path (fast-path.ts); on by default. */
  fastPath?: FastPathOptions;
}

/** A connection handed to the app's listening socket that did not fit yet. */
interface PendingAccept {
  sock: AppSocket;
  appFd: number;
  record: Buffer;
}

const ACCEPT_RETRY_MIN_MS = 2;
const ACCEPT_RETRY_MAX_MS = 100;
/**
 * Finished connections whose app may still hold its fd, remembered so later calls on it answer
 * as the kernel does for a closed TCP socket (ENOTCONN, options, the last error) instead of
 * ENETDOWN. The daemon cannot see when such an fd is closed, so the oldest are forgotten first.
 */
const ENDED_LIMIT = 4096;
const EPROTONOSUPPORT = 93;

function errnoOf(e: unknown, fallback: number): number {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' && n > 0 ? n : fallback;
}

export class NetconServer {
  readonly counters = new NetconCounters();
  private server: net.Server | null = null;
  private readonly table = new Map<number, AppSocket>();
  private readonly ended = new Map<number, EndedSocket>();
  private readonly connections = new Set<net.Socket>();
  private readonly pendingAccepts = new Map<AppSocket, PendingAccept>();
  private readonly acceptRetry = new Map<AppSocket, { timer: NodeJS.Timeout; delay: number }>();
  private readonly plumbing: FdPlumbing;
  private readonly log: Logger;
  private readonly hooks: AppSocketHooks;
  private readonly keeper: ListenerKeeper | null;
  private readonly nwid: string;
  private readonly names: NameService | undefined;
  /** Listeners the keeper holds: inode → backlog. */
  private readonly keptInos = new Map<number, number>();
  /** Close without telling the keeper: the listeners are to outlive this process. */
  private keepOnClose = false;
  private readonly restorer = new ListenerRestorer((s, meta, r) => this.restored(s, meta, r));
  /** UDP, ping and raw ICMP sockets (datagram-calls.ts). */
  private readonly datagrams: DatagramCalls;
  /** Same-daemon connections joined in the kernel (fast-path.ts). */
  private readonly fast: FastPath;
  /** Listeners a previous daemon left with the keeper: the fast path does not take them. */
  private readonly adopted = new WeakSet<AppSocket>();

  constructor(
    readonly stack: NetStack,
    readonly socketPath: string,
    logger: Logger,
    opts: NetconServerOptions = {},
  ) {
    this.plumbing = opts.plumbing ?? nativePlumbing;
    this.keeper = opts.keeper ?? null;
    this.nwid = opts.nwid ?? '';
    this.names = opts.names;
    this.log = logger.child({ module: 'netcon', stack: stack.name });
    this.datagrams = new DatagramCalls(stack, this.plumbing, this.counters, this.log, opts);
    this.hooks = {
      onGone: (s) => this.forget(s),
      onAcceptable: (s) => this.handOver(s),
    };
    this.fast = new FastPath(
      stack,
      this.plumbing,
      this.counters,
      this.log,
      {
        mayTakeFastPath: (l) => !this.adopted.has(l) && !this.pendingAccepts.has(l) && !this.acceptRetry.has(l),
        handedOff: (s) => {
          this.table.delete(s.ino);
          this.counters.socketsOpen = this.table.size;
        },
      },
      opts.fastPath,
    );
  }

  /**
   * Creates the socket directory (0700) if needed and starts serving. Throws RpcSocketDirError
   * when the directory cannot be trusted (see checkSocketDir), RpcSocketBusyError when another
   * daemon serves the path.
   */
  async start(): Promise<void> {
    checkSocketDir(dirname(this.socketPath));
    await removeStaleSocket(this.socketPath);
    const server = net.createServer((conn) => this.onConnection(conn));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err: err.message }, 'rpc socket error'));
    chmodSync(this.socketPath, 0o600);
    this.server = server;
    this.log.info({ socket: this.socketPath }, 'netcon serving');
    if (this.keeper) this.adoptKept(this.keeper.claim(this.socketPath));
  }

  /**
   * Stops serving, drops every app socket (their TCP connections are aborted). `keepListeners`:
   * the keeper goes on holding the listeners' ends for the next daemon (stop, restart); otherwise
   * they are let go and the apps' accept() sees the end (leave).
   */
  async close(opts: { keepListeners?: boolean } = {}): Promise<void> {
    const server = this.server;
    this.server = null;
    this.keepOnClose = opts.keepListeners === true;
    this.restorer.stop();
    for (const c of this.connections) c.destroy();
    this.ended.clear();
    this.fast.closeAll();
    this.datagrams.closeAll();
    for (const s of [...this.table.values()]) {
      s.tcp.abort();
      s.teardown(false);
    }
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.socketPath);
    } catch {
      // Already gone.
    }
  }

  /** Sockets currently known by inode (diagnostics and tests). */
  socketCount(): number {
    return this.table.size + this.datagrams.size;
  }

  /** Apps' TCP sockets, and how many datagram sockets (read when /metrics is scraped). */
  tcpSockets(): IterableIterator<AppSocketView> {
    return this.table.values();
  }
  datagramSocketCount(): number {
    return this.datagrams.size;
  }

  private onConnection(conn: net.Socket): void {
    const fd = this.plumbing.socketFd(conn);
    let uid: number;
    try {
      if (fd === undefined) throw new Error('no fd');
      uid = this.plumbing.peerUid(fd);
    } catch {
      conn.destroy();
      this.counters.inc('rejectedPeers');
      return;
    }
    const myUid = process.getuid?.();
    if (myUid !== undefined && uid !== myUid) {
      this.log.warn({ uid }, 'rpc peer of another user refused');
      this.counters.inc('rejectedPeers');
      conn.destroy();
      return;
    }
    this.connections.add(conn);
    const reader = new RequestReader();
    let busy = false;
    const pump = (): void => {
      while (!busy && !conn.destroyed) {
        const next = reader.next();
        if (next === null) return;
        if ('error' in next) {
          this.log.warn({ error: next.error }, 'malformed rpc, closing the connection');
          this.counters.inc('malformedRpc');
          conn.destroy();
          return;
        }
        const req = next.request;
        this.counters.rpc(req.op);
        let out: Reply | Promise<Reply>;
        try {
          out = this.dispatch(req);
        } catch (e) {
          this.log.error({ err: (e as Error).message, op: req.op }, 'rpc handler failed');
          this.counters.inc('handlerFailures');
          out = { result: -errnoOf(e, Errno.EINVAL) };
        }
        if (out instanceof Promise) {
          busy = true;
          out.then(
            (r) => {
              busy = false;
              this.reply(conn, fd, req, r);
              pump();
            },
            () => {
              busy = false;
              this.reply(conn, fd, req, { result: -Errno.EINVAL });
              pump();
            },
          );
          return;
        }
        this.reply(conn, fd, req, out);
      }
    };
    conn.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      pump();
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => this.connections.delete(conn));
  }

  private reply(conn: net.Socket, fd: number, req: Request, r: Reply): void {
    const fds = r.fds ?? [];
    if (r.result < 0) this.counters.error(r.result);
    try {
      if (conn.destroyed) return;
      const frame = encodeResponse(req.op, r.flags ?? 0, r.result, r.payload);
      let sent: number | null = null;
      try {
        sent = this.plumbing.sendFds(fd, frame, fds);
      } catch {
        sent = null;
      }
      if (sent !== frame.length) {
        // The client is synchronous, so a full or broken socket means it is gone or hostile.
        this.counters.inc('replyFailures');
        conn.destroy();
      }
    } finally {
      for (const f of fds) this.safeClose(f);
    }
  }

  private safeClose(fd: number): void {
    try {
      this.plumbing.close(fd);
    } catch {
      // Already closed.
    }
  }

  private dispatch(req: Request): Reply | Promise<Reply> {
    if (isNameOp(req.op)) return nameCall(this.names, req);
    if (req.op === Op.SOCKET) return this.newSocket(req);
    const datagram = this.datagrams.handle(req);
    if (datagram !== undefined) return datagram;
    const sock = this.table.get(req.ino);
    if (sock === undefined) {
      const f = this.fast.call(req);
      if (f !== undefined) return f;
      const e = this.ended.get(req.ino);
      if (e !== undefined) return endedSocketCall(e, req);
    }
    if (req.op === Op.WHOIS) {
      if (sock === undefined || sock.state === 'closed') return { result: -Errno.EBADF };
      // a kept listener waiting for its address is still the app's listening socket
      return { result: sock.listening || this.restorer.has(sock.ino) ? Kind.LISTENER : Kind.TCP };
    }
    // An inode we do not know: a socket from before a daemon restart.
    if (sock === undefined) return { result: -Errno.ENETDOWN };
    switch (req.op) {
      case Op.BIND: {
        const sa = decodeSockaddr(req.payload);
        if (sa === null) return { result: -Errno.EINVAL };
        const a = stackAddress(sa, sock.family);
        if (typeof a === 'number') return { result: a };
        if (sock.state !== 'idle' || sock.tcp.localAddress()?.port) return { result: -Errno.EINVAL };
        return { result: sock.tcp.bind(a.addr, a.port) };
      }
      case Op.LISTEN: {
        if (req.payload.length < 4) return { result: -Errno.EINVAL };
        const backlog = req.payload.readInt32LE(0);
        const r = sock.listen(backlog);
        if (r === 0) {
          this.fast.addListener(sock);
          this.keepListener(sock, backlog);
          this.handOver(sock);
        }
        return { result: r };
      }
      case Op.CONNECT:
        return this.connect(sock, req);
      case Op.GETSOCKNAME:
        return { result: 0, payload: wireAddress(sock.localName(), sock.family) };
      case Op.GETPEERNAME: {
        const a = sock.state === 'connected' ? sock.tcp.remoteAddress() : null;
        if (a === null) return { result: -Errno.ENOTCONN };
        return { result: 0, payload: wireAddress(a, sock.family) };
      }
      case Op.GETSOCKOPT:
        return this.getsockopt(sock, req);
      case Op.SETSOCKOPT: {
        const o = decodeSockopt(req.payload);
        if (o === null || o.value.length !== o.len) return { result: -Errno.EINVAL };
        const r = setOption(sock.tcp, sock, o.level, o.name, o.value);
        if (r === 0 && sock.listening && this.keptInos.has(sock.ino)) this.keepListener(sock, this.keptInos.get(sock.ino)!, true);
        return { result: r };
      }
      case Op.SHUTDOWN: {
        if (req.payload.length < 4) return { result: -Errno.EINVAL };
        return { result: sock.shutdown(req.payload.readInt32LE(0)) };
      }
      default:
        return { result: -Errno.EOPNOTSUPP };
    }
  }

  private newSocket(req: Request): Reply {
    const r = decodeSocketRequest(req.payload);
    if (r === null) return { result: -Errno.EINVAL };
    const { type, protocol, family } = r;
    if (family === null) return { result: -Errno.EAFNOSUPPORT };
    if (type !== SOCK_STREAM) return this.datagrams.open(type, protocol, family);
    if (protocol !== 0 && protocol !== IPPROTO_TCP) return { result: -EPROTONOSUPPORT };
    let pair: [number, number];
    try {
      pair = this.plumbing.socketpair();
    } catch (e) {
      return { result: -errnoOf(e, Errno.ENOBUFS) };
    }
    const [appFd, daemonFd] = pair;
    let ino: number;
    try {
      ino = this.plumbing.inode(appFd);
    } catch (e) {
      this.safeClose(appFd);
      this.safeClose(daemonFd);
      return { result: -errnoOf(e, Errno.EBADF) };
    }
    this.register(new AppSocket(ino, openTcp(this.stack, family), daemonFd, this.hooks, this.counters, this.log, family));
    const payload = Buffer.alloc(8);
    payload.writeBigUInt64LE(BigInt(ino), 0);
    return { result: 0, payload, fds: [appFd] };
  }

  private register(s: AppSocket): void {
    this.ended.delete(s.ino);
    this.fast.inodeReused(s.ino);
    this.table.set(s.ino, s);
    this.counters.socketsOpen = this.table.size;
  }

  private forget(s: AppSocket): void {
    this.fast.removeListener(s);
    if (this.keptInos.delete(s.ino) && !this.keepOnClose) this.keeper?.drop(this.socketPath, s.ino);
    if (this.table.get(s.ino) === s) {
      this.table.delete(s.ino);
      if (!s.appGone && this.server !== null) {
        this.ended.set(s.ino, s.ended());
        if (this.ended.size > ENDED_LIMIT) this.ended.delete(this.ended.keys().next().value!);
      }
    }
    this.counters.socketsOpen = this.table.size;
    const p = this.pendingAccepts.get(s);
    if (p) {
      this.pendingAccepts.delete(s);
      this.safeClose(p.appFd);
      p.sock.tcp.abort();
      p.sock.teardown(false);
    }
    const t = this.acceptRetry.get(s);
    if (t) {
      clearTimeout(t.timer);
      this.acceptRetry.delete(s);
    }
  }

  private async connect(sock: AppSocket, req: Request): Promise<Reply> {
    const sa = decodeSockaddr(req.payload);
    const filler = decodeConnectFiller(req.payload);
    if (filler === null) return { result: -Errno.EINVAL };
    // The library has written the filler it announced (see AppSocket); nothing else changes.
    if ((req.flags & FLAG_FILLED) !== 0) {
      sock.fillerWritten(filler);
      return { result: 0 };
    }
    if (sa === null) return { result: -Errno.EINVAL };
    const a = stackAddress(sa, sock.family);
    if (typeof a === 'number') return { result: a };
    const wait = (req.flags & FLAG_WAIT) !== 0;
    if ((req.flags & FLAG_FAST) !== 0) {
      const fast = this.fast.connect(sock, a, wait);
      if (fast !== null) return fast;
    }
    const r = sock.connect(a.addr, a.port, () => openTcp(this.stack, sock.family), wait, wait ? 0 : filler);
    // A repeat connect while the first is under way: the app did not wait for POLLOUT, or saw it
    // early (no connect filler), so the library asks again with WAIT and gets the outcome.
    if (r === -Errno.EALREADY && !wait) return { result: r, flags: RFLAG_PENDING };
    if (r === -Errno.EINPROGRESS && !wait && filler > 0) return { result: r, flags: RFLAG_FILLER };
    if ((r !== -Errno.EINPROGRESS && r !== -Errno.EALREADY) || !wait) return { result: r };
    await sock.whenConnectResolved();
    if (sock.state === 'connected') {
      sock.markConnectReported();
      return { result: 0 };
    }
    // A failed non-blocking attempt (this was its repeat connect) has ended the socket: the
    // record it left answers, as a connect after the kernel's POLLERR would.
    const ended = this.endedAfterWait(sock, req);
    if (ended !== undefined) return { result: ended.connect() };
    const err = sock.takeError();
    return { result: err > 0 ? -err : -Errno.ECONNABORTED };
  }

  /** The record a socket left if it ended while a request on it waited for its connect. */
  private endedAfterWait(sock: AppSocket, req: Request): EndedSocket | undefined {
    return sock.state === 'closed' ? this.ended.get(req.ino) : undefined;
  }

  private async getsockopt(sock: AppSocket, req: Request): Promise<Reply> {
    const o = decodeSockopt(req.payload);
    if (o === null) return { result: -Errno.EINVAL };
    if (o.level === SOL_SOCKET && o.name === SO.ERROR && sock.state === 'connecting') {
      if ((req.flags & FLAG_WAIT) === 0) return { result: 4, flags: RFLAG_PENDING, payload: Buffer.alloc(4) };
      await sock.whenConnectResolved();
      const ended = this.endedAfterWait(sock, req);
      if (ended !== undefined) return endedSocketCall(ended, req);
    }
    const v = getOption(sock.tcp, sock, o.level, o.name);
    if (typeof v === 'number') return { result: v };
    const bytes = v.subarray(0, Math.min(v.length, o.len));
    return { result: bytes.length, payload: Buffer.from(bytes) };
  }

  /** Moves connections waiting in a listener's accept queue to the app, one fd per message. */
  private handOver(l: AppSocket): void {
    while (l.state === 'listening') {
      let p = this.pendingAccepts.get(l);
      if (p === undefined) {
        const c: TcpSocket | null = l.tcp.accept();
        if (c === null) return;
        const made = this.prepareAccepted(c, l);
        if (made === null) continue;
        p = made;
      }
      let sent: number | null;
      try {
        sent = this.plumbing.sendFds(l.fd, p.record, [p.appFd]);
      } catch {
        // The app's listening end is gone; its own teardown follows.
        this.pendingAccepts.delete(l);
        this.safeClose(p.appFd);
        p.sock.tcp.abort();
        p.sock.teardown(false);
        return;
      }
      if (sent === null) {
        // The app is not accepting fast enough: keep this one and let the stack's backlog fill.
        this.pendingAccepts.set(l, p);
        this.counters.inc('acceptsDeferred');
        this.scheduleHandOver(l);
        return;
      }
      this.pendingAccepts.delete(l);
      this.acceptRetry.delete(l);
      this.safeClose(p.appFd);
      this.counters.inc('accepted');
    }
  }

  private prepareAccepted(c: TcpSocket, listener: AppSocket): PendingAccept | null {
    let pair: [number, number];
    let ino: number;
    try {
      pair = this.plumbing.socketpair();
    } catch {
      this.counters.inc('acceptFailures');
      c.abort();
      return null;
    }
    try {
      ino = this.plumbing.inode(pair[0]);
    } catch {
      this.counters.inc('acceptFailures');
      this.safeClose(pair[0]);
      this.safeClose(pair[1]);
      c.abort();
      return null;
    }
    const family: Family = listener.family;
    const sock = new AppSocket(ino, c, pair[1], this.hooks, this.counters, this.log, family, true);
    sock.kept.inheritFrom(listener.kept);
    this.register(sock);
    return { sock, appFd: pair[0], record: encodeAcceptRecord(wireSockaddr(c.remoteAddress(), family)) };
  }

  private scheduleHandOver(l: AppSocket): void {
    const prev = this.acceptRetry.get(l);
    if (prev) clearTimeout(prev.timer);
    const delay = prev ? Math.min(prev.delay * 2, ACCEPT_RETRY_MAX_MS) : ACCEPT_RETRY_MIN_MS;
    const timer = setTimeout(() => this.handOver(l), delay);
    timer.unref();
    this.acceptRetry.set(l, { timer, delay });
  }

  /**
   * A listener is up: its end goes to the keeper so it outlives this process. Again when its
   * backlog or (`again`) its options change: the keeper keeps the latest.
   */
  private keepListener(sock: AppSocket, backlog: number, again = false): void {
    if (this.keeper === null || (!again && this.keptInos.get(sock.ino) === backlog)) return;
    try {
      this.keeper.keep(
        describeListener({ nwid: this.nwid, socket: this.socketPath }, sock.ino, sock.tcp, sock.family, backlog, sock.kept),
        sock.fd,
      );
      this.keptInos.set(sock.ino, backlog);
    } catch (e) {
      this.log.warn({ ino: sock.ino, err: (e as Error).message }, 'listener not kept: it ends with this daemon');
    }
  }

  /** Listeners a previous daemon left with the keeper: served again on this stack. */
  private adoptKept(list: KeptListener[]): void {
    for (const kept of list) {
      const family = kept.meta.family;
      const sock = new AppSocket(kept.meta.ino, openTcp(this.stack, family), kept.fd, this.hooks, this.counters, this.log, family);
      this.register(sock);
      this.adopted.add(sock);
      this.keptInos.set(sock.ino, kept.meta.backlog);
      this.restorer.restore(sock, kept.meta);
    }
  }

  private restored(sock: AppSocket, meta: KeptListenerMeta, r: number): void {
    if (r === 0) {
      this.counters.inc('listenersRestored');
      this.log.info({ ino: sock.ino, port: meta.port }, 'kept listener served again');
      this.handOver(sock);
      return;
    }
    // Let it go: the app's accept() sees the end, as when a daemon without a keeper stops.
    this.log.warn({ ino: sock.ino, port: meta.port, errno: -r }, 'kept listener cannot be served again: let go');
    sock.teardown(false);
  }
}
