/**
 * What the daemon attaches to one joined network: the network's stack, which lives from join to
 * leave, and the netcon RPC servers apps reach it through: the home's `sockets/<nwid>.sock`, and
 * the library's default locations when no one else serves them — `$XDG_RUNTIME_DIR/ztnc/<nwid>.sock`
 * when the runtime directory is this user's, and `/tmp/.ztnc_<nwid>/<nwid>.sock` (socket-path.ts).
 * A default location whose directory belongs to someone else, or that others could write, is not
 * served and is logged as an error naming it: the library refuses such a socket anyway.
 *
 * The node's Network builds its stack when the first config arrives and drops it when access is
 * refused; apps, however, may open sockets before the network is up and keep them across a
 * refusal, as they would on a kernel interface waiting for its address. So the Network is handed
 * a view of the attachment's stack whose close() only takes the interface down (connections failed
 * with ENETDOWN; addresses, routes and link output removed); the stack itself is closed on leave.
 */
import { rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ListenerKeeper } from '../netcon/kept-listeners.js';
import type { AppSocketView } from '../netcon/app-socket.js';
import { NetconServer } from '../netcon/server.js';
import { RpcSocketBusyError } from '../netcon/socket-dir.js';
import { netconDefaultSocketPaths, netconSocketPath } from '../netcon/socket-path.js';
import {
  type CongestionAlgo,
  createNetStack,
  Errno,
  errnoName,
  type InterfaceAddress,
  type IpAddr,
  type Ipv6Addr,
  type LinkOutput,
  type NetStack,
  type OutboundHandler,
  type PingOptions,
  type PingResult,
  type RandomSource,
  type Route,
  type Scheduler,
  type TcpSocket,
  type TransparentOrigin,
  type UdpSocket,
} from '../netstack/index.js';
import type { PingReply } from './local-api.js';
import type { NetworkNames } from './network-names.js';
import { TapPort } from './tap-port.js';

const NO_LINK = (): void => {};

/**
 * The longest a ping series waits for one reply before sending the next request (the reply may
 * still come within its own timeout): a lossy path costs count × this, not count × the timeout.
 */
export const PING_SPACING_MS = 200;

/**
 * `count` echo requests to `dst`, each sent when the one before has its answer or after
 * `spacingMs`, whichever comes first; resolves when every one has a reply or has timed out.
 */
export async function pingSeries(
  stack: NetStack,
  dst: IpAddr,
  count: number,
  timeoutMs: number,
  spacingMs = PING_SPACING_MS,
): Promise<PingReply[]> {
  const answers: Promise<PingReply>[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const answer = new Promise<PingReply>((resolve) =>
      stack.ping(dst, { timeoutMs }, (r) =>
        resolve(r.ok ? { seq, rttMs: Math.round(r.rttMs * 1000) / 1000, ttl: r.ttl } : { seq, error: errnoName(r.errno) }),
      ),
    );
    answers.push(answer);
    if (seq === count) break;
    let timer: NodeJS.Timeout | undefined;
    // unref'd: a series cut short by shutdown must not hold the process
    await Promise.race([answer, new Promise<void>((resolve) => (timer = setTimeout(resolve, spacingMs).unref()))]);
    clearTimeout(timer);
  }
  return Promise.all(answers);
}

/** The stack as the node's Network sees it: everything passes through except close(). */
class InterfaceView implements NetStack {
  /** The network's link input, given to the stack, or to the TAP in namespace mode. */
  private send: LinkOutput = NO_LINK;

  constructor(
    private readonly inner: NetStack,
    private readonly port: TapPort,
  ) {}

  /** Namespace mode on or off: the network's frames go to the TAP, or to the stack. */
  routeToTap(on: boolean): void {
    this.inner.setLinkOutput(on ? NO_LINK : this.send);
    this.port.setNetworkOutput(on ? this.send : NO_LINK);
  }

  get name(): string {
    return this.inner.name;
  }
  get mac(): Buffer {
    return this.inner.mac;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  setLinkOutput(send: LinkOutput): void {
    this.send = send;
    this.routeToTap(this.port.attached);
  }
  input(frame: Buffer): void {
    if (this.port.attached) return this.port.write(frame);
    // Frames read from the underlay in one event (a batch of datagrams) form one receive burst,
    // which ends as soon as that event's handler returns.
    if (!this.inBurst) {
      this.inBurst = true;
      this.inner.beginReceiveBatch();
      queueMicrotask(this.endBurst);
    }
    this.inner.input(frame);
  }
  private inBurst = false;
  private readonly endBurst = (): void => {
    this.inBurst = false;
    this.inner.endReceiveBatch();
  };
  beginReceiveBatch(): void {
    this.inner.beginReceiveBatch();
  }
  endReceiveBatch(): void {
    this.inner.endReceiveBatch();
  }
  addAddress(addr: IpAddr, prefixLen: number): void {
    this.inner.addAddress(addr, prefixLen);
  }
  removeAddress(addr: IpAddr): void {
    this.inner.removeAddress(addr);
  }
  /** The owned prefixes set through this view: the stack lists none, and they go when the interface does. */
  private readonly ownedPrefixes = new Map<string, { prefix: Ipv6Addr; prefixLen: number }>();
  addOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    this.inner.addOwnedPrefix(prefix, prefixLen);
    this.ownedPrefixes.set(`${prefix}/${prefixLen}`, { prefix, prefixLen });
  }
  removeOwnedPrefix(prefix: Ipv6Addr, prefixLen: number): void {
    this.inner.removeOwnedPrefix(prefix, prefixLen);
    this.ownedPrefixes.delete(`${prefix}/${prefixLen}`);
  }
  addresses(): InterfaceAddress[] {
    return this.inner.addresses();
  }
  addRoute(route: Route): void {
    this.inner.addRoute(route);
  }
  removeRoute(dest: IpAddr, prefixLen: number): void {
    this.inner.removeRoute(dest, prefixLen);
  }
  routes(): Route[] {
    return this.inner.routes();
  }
  setMtu(mtu: number): void {
    this.inner.setMtu(mtu);
  }
  tcpSocket(family?: 4 | 6): TcpSocket {
    return this.inner.tcpSocket(family);
  }
  udpSocket(family?: 4 | 6): UdpSocket {
    return this.inner.udpSocket(family);
  }
  icmpSocket(kind: 'ping' | 'raw', family?: 4 | 6): UdpSocket {
    return this.inner.icmpSocket(kind, family);
  }
  multicastGroups(): IpAddr[] {
    return this.inner.multicastGroups();
  }
  onMulticastGroupsChanged(listener: (groups: IpAddr[]) => void): () => void {
    return this.inner.onMulticastGroupsChanged(listener);
  }
  ping(dst: IpAddr, opts: PingOptions, done: (result: PingResult) => void): void {
    this.inner.ping(dst, opts, done);
  }
  counters(): Record<string, Record<string, number>> {
    return this.inner.counters();
  }
  transparentOrigin(): TransparentOrigin {
    return this.inner.transparentOrigin();
  }
  setOutbound(handler: OutboundHandler | null): void {
    this.inner.setOutbound(handler);
  }
  failConnections(errno: number): void {
    this.inner.failConnections(errno);
  }
  /**
   * Interface down: the network is gone for now (access refused, network deleted, left). Its
   * connections fail with ENETDOWN at once, so apps see a clear error instead of waiting out TCP's
   * retransmissions; listening and UDP sockets stay, for when the network comes back.
   */
  close(): void {
    this.inner.failConnections(Errno.ENETDOWN);
    for (const { prefix, prefixLen } of this.ownedPrefixes.values()) this.inner.removeOwnedPrefix(prefix, prefixLen);
    this.ownedPrefixes.clear();
    this.send = NO_LINK;
    this.port.setNetworkOutput(NO_LINK);
    takeDown(this.inner);
  }
}

function takeDown(stack: NetStack): void {
  stack.setLinkOutput(NO_LINK);
  for (const a of stack.addresses()) stack.removeAddress(a.addr);
  for (const r of stack.routes()) stack.removeRoute(r.dest, r.prefixLen);
}

export interface NetworkAttachmentOptions {
  nwid: string;
  mac: Buffer;
  scheduler: Scheduler;
  random: RandomSource;
  /** The daemon's home: the RPC socket is `<home>/sockets/<nwid>.sock`. */
  home: string;
  /** Also serve at the library's default paths when they are free (default true). */
  serveDefaultPath?: boolean;
  /** The default paths (default: netconDefaultSocketPaths of this process's environment). */
  defaultSocketPaths?: string[];
  /** Keeps apps' listeners across daemon restarts (none: they end with the daemon). */
  keeper?: ListenerKeeper;
  /** The network's resolver and port-53 redirect, made for its stack (none: name calls fail EAGAIN). */
  names?: (stack: NetStack) => NetworkNames;
  /** The same-daemon fast path for TCP (default on; local.conf `fastPath`). */
  fastPath?: boolean;
  /** Congestion control new TCP sockets start with (local.conf `tcpCongestion`; default the stack's). */
  tcpCongestion?: CongestionAlgo;
  logger: Logger;
}

export class NetworkAttachment {
  readonly nwid: string;
  readonly stack: NetStack;
  readonly socketPath: string;
  /** The first default-path socket this daemon serves, if any. */
  defaultSocketPath: string | null = null;
  /** Every default-path socket this daemon serves (runtime directory, /tmp). */
  readonly defaultSocketPaths: string[] = [];
  private readonly servers: NetconServer[] = [];
  /** The network's resolver and port-53 redirect, for every RPC server of the network. */
  readonly names: NetworkNames | null;
  private readonly log: Logger;
  private closed = false;
  /** Namespace mode's TAP (see tap-port.ts); unattached in library mode. */
  private readonly port: TapPort;
  /** The view the Network drives now (a new one with each stack it builds). */
  private view: InterfaceView | null = null;

  constructor(private readonly opts: NetworkAttachmentOptions) {
    this.nwid = opts.nwid;
    this.log = opts.logger;
    this.stack = createNetStack({
      scheduler: opts.scheduler,
      random: opts.random,
      mac: opts.mac,
      name: `zt-${opts.nwid}`,
      tcpCongestion: opts.tcpCongestion,
    });
    this.stack.setLinkOutput(NO_LINK);
    this.socketPath = netconSocketPath(opts.nwid, { home: opts.home });
    this.names = opts.names?.(this.stack) ?? null;
    this.port = new TapPort(opts.logger);
  }

  /** The view the node's Network drives (see the module comment). */
  interfaceView(): NetStack {
    this.view = new InterfaceView(this.stack, this.port);
    return this.view;
  }

  /** 'namespace' while a TAP serves the network, else 'library' (its userspace stack). */
  get mode(): 'library' | 'namespace' {
    return this.port.attached ? 'namespace' : 'library';
  }

  /** Stock's portDeviceName: the TAP's name in namespace mode, else the home's RPC socket. */
  get portDeviceName(): string {
    return this.port.name ?? this.socketPath;
  }

  /**
   * Namespace mode: the network's frames go to and from the TAP `fd` (owned from now on) instead
   * of the userspace stack, which keeps its addresses (they name the network's ARP and
   * solicited-node groups) but neither hears nor sends a frame. Throws if a TAP is attached.
   */
  attachTap(fd: number, name: string, onError: (message: string) => void): void {
    this.port.attach(fd, name, (message) => {
      this.view?.routeToTap(false);
      onError(message);
    });
    this.view?.routeToTap(true);
    this.log.info({ nwid: this.nwid, tap: name }, 'network served through a namespace TAP');
  }

  /** Back to library mode; the TAP fd is closed. */
  detachTap(): void {
    if (!this.port.attached) return;
    this.port.close();
    this.view?.routeToTap(false);
    this.log.info({ nwid: this.nwid }, 'namespace TAP detached');
  }

  tapStats(): ReturnType<TapPort['stats']> {
    return this.port.stats();
  }

  /** Starts the home's RPC socket (an error when it cannot be served) and, where free, the default ones. */
  async start(): Promise<void> {
    const serverOpts = {
      keeper: this.opts.keeper,
      nwid: this.nwid,
      fastPath: { enabled: this.opts.fastPath ?? true },
      ...(this.names ?? {}),
    };
    const own = new NetconServer(this.stack, this.socketPath, this.log, serverOpts);
    await own.start();
    this.servers.push(own);
    if (this.opts.serveDefaultPath === false) return;
    for (const path of this.opts.defaultSocketPaths ?? netconDefaultSocketPaths(this.nwid)) {
      const shared = new NetconServer(this.stack, path, this.log, serverOpts);
      try {
        await shared.start();
        this.servers.push(shared);
        this.defaultSocketPaths.push(path);
        this.defaultSocketPath ??= path;
      } catch (e) {
        const reason = (e as Error).message;
        if (e instanceof RpcSocketBusyError) this.log.info({ nwid: this.nwid, socket: path, reason }, 'default socket path not served');
        else this.log.error({ nwid: this.nwid, socket: path, reason }, `default socket path ${path} refused: ${reason}`);
      }
    }
  }

  /** Apps' sockets on this network (all RPC servers). */
  appSocketCount(): number {
    return this.servers.reduce((n, s) => n + s.socketCount(), 0);
  }

  /** Apps' TCP sockets on this network (all RPC servers), and their datagram sockets' number. */
  *tcpSockets(): Generator<AppSocketView> {
    for (const s of this.servers) yield* s.tcpSockets();
  }
  datagramSocketCount(): number {
    return this.servers.reduce((n, s) => n + s.datagramSocketCount(), 0);
  }

  /** RPC counters of every server, summed. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.servers) {
      for (const [k, v] of Object.entries(s.counters.snapshot())) {
        if (typeof v === 'number') out[k] = (out[k] ?? 0) + v;
      }
    }
    if (this.names) Object.assign(out, this.names.names.countersSnapshot());
    return out;
  }

  /**
   * Stops the RPC servers: every app socket is torn down and its connection reset.
   * `keepListeners` (daemon stop): the keeper goes on holding apps' listeners for the next daemon.
   */
  async closeServers(opts: { keepListeners?: boolean } = {}): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map((s) => s.close(opts).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'netcon close failed'))),
    );
    for (const path of this.defaultSocketPaths.splice(0)) {
      try {
        rmdirSync(dirname(path));
      } catch {
        // not empty (other networks' sockets) or already gone
      }
    }
    this.defaultSocketPath = null;
  }

  /** Closes the servers and the stack (leave, shutdown). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.detachTap();
    await this.closeServers();
    this.stack.close();
  }
}
