/**
 * Listening sockets that outlive the daemon: what netcon tells a ListenerKeeper about each one
 * (the keeper holds a duplicate of the daemon's end, so the app's end stays open across a
 * restart) and how a new daemon puts a kept listener back on its stack.
 *
 * Only listeners are kept. An established connection's state lives in the stack's memory and ends
 * with the process; a socket that is bound but not listening is not kept either (the next call on
 * it after a restart fails with ENETDOWN).
 */
import { Errno, formatIp, type IpAddr, isIpv6, parseIp, type TcpOptionName, type TcpSocket } from '../netstack/index.js';
import type { AppSocket } from './app-socket.js';
import type { Family } from './protocol.js';
import { inFamily, V6ONLY } from './socket-family.js';
import type { KeptOptions } from './sockopt.js';

/**
 * Everything needed to serve a listener again; JSON-safe. Version 2 has the family and the
 * address as text (formatIp); version 1 records (IPv4 only, the address a number) still parse.
 */
export interface KeptListenerMeta {
  v: 2;
  /** The app socket's family: the stack socket made again is of this family. */
  family: Family;
  /** The network (16 hex digits; '' when the server has none, as in tests). */
  nwid: string;
  /** The RPC socket the app reached the daemon through: the same server takes it back. */
  socket: string;
  /** Inode of the app's end: the key the library names the socket by. */
  ino: number;
  /** The bound address as text: dotted quad for family 4, IPv6 text (v4-mapped ones too) for 6. */
  addr: string;
  port: number;
  backlog: number;
  options: Partial<Record<TcpOptionName, number>>;
  recvErr: number;
  deferAcceptRetrans: number;
}

export interface KeptListener {
  meta: KeptListenerMeta;
  /** A descriptor of the daemon's end (this process owns it). */
  fd: number;
}

/** Where the daemon keeps its listeners' ends across restarts (see src/service/fd-keeper-client.ts). */
export interface ListenerKeeper {
  /** Keeps a duplicate of `daemonFd` (the caller keeps its own) with its metadata. */
  keep(meta: KeptListenerMeta, daemonFd: number): void;
  /** The listener ended (the app closed it, or its network was left): the keeper lets it go. */
  drop(socket: string, ino: number): void;
  /** The kept listeners of one RPC socket, handed over once (the caller owns the fds). */
  claim(socket: string): KeptListener[];
}

/** Options a listener's accepted connections take from it, worth carrying across a restart. */
const LISTENER_OPTIONS: TcpOptionName[] = [
  'REUSEADDR',
  'REUSEPORT',
  'NODELAY',
  'KEEPALIVE',
  'KEEPIDLE',
  'KEEPINTVL',
  'KEEPCNT',
  'LINGER',
  'RCVBUF',
  'SNDBUF',
  'USER_TIMEOUT',
  'MAXSEG',
  'CONGESTION',
  'TOS',
  'TTL',
  V6ONLY,
];

export function describeListener(
  where: { nwid: string; socket: string },
  ino: number,
  tcp: TcpSocket,
  family: Family,
  backlog: number,
  kept: KeptOptions,
): KeptListenerMeta {
  const local = tcp.localAddress() ?? { addr: 0, port: 0 };
  const options: Partial<Record<TcpOptionName, number>> = {};
  for (const name of LISTENER_OPTIONS) {
    const v = tcp.getOption(name);
    if (v >= 0 || (name === 'LINGER' && v === -1)) options[name] = v;
  }
  return {
    v: 2,
    family,
    nwid: where.nwid,
    socket: where.socket,
    ino,
    addr: formatIp(inFamily(local.addr, family)),
    port: local.port,
    backlog,
    options,
    recvErr: kept.recvErr,
    deferAcceptRetrans: kept.deferAcceptRetrans,
  };
}

/** Checks metadata that came from the keeper; null when it is not a listener record. */
export function parseKeptMeta(m: unknown): KeptListenerMeta | null {
  if (typeof m !== 'object' || m === null) return null;
  const r = m as Record<string, unknown>;
  const int = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if ((r.v !== 1 && r.v !== 2) || typeof r.nwid !== 'string' || typeof r.socket !== 'string') return null;
  if (!int(r.ino, Number.MAX_SAFE_INTEGER) || !int(r.port, 65535) || !int(r.backlog, 1 << 20)) return null;
  if (typeof r.options !== 'object' || r.options === null) return null;
  const family: Family | null = r.v === 1 ? 4 : r.family === 4 || r.family === 6 ? r.family : null;
  if (family === null) return null;
  let addr: IpAddr | null;
  if (r.v === 1) addr = int(r.addr, 0xffffffff) ? (r.addr as number) : null;
  else addr = typeof r.addr === 'string' ? parseIp(r.addr) : null;
  // The text must be of the family's own form (IPv4 on a family-6 socket is v4-mapped text).
  if (addr === null || isIpv6(addr) !== (family === 6)) return null;
  return {
    v: 2,
    family,
    nwid: r.nwid,
    socket: r.socket,
    ino: r.ino as number,
    addr: formatIp(addr),
    port: r.port as number,
    backlog: r.backlog as number,
    options: r.options as Partial<Record<TcpOptionName, number>>,
    recvErr: int(r.recvErr, 1) ? (r.recvErr as number) : 0,
    deferAcceptRetrans: int(r.deferAcceptRetrans, 255) ? (r.deferAcceptRetrans as number) : 0,
  };
}

/**
 * Sets the kept options on `tcp` and binds it as the metadata says; the caller then listens.
 * EADDRNOTAVAIL means the network has not given the stack its address yet (the caller tries
 * again); other errors are final.
 */
function rebindListener(tcp: TcpSocket, meta: KeptListenerMeta, kept: KeptOptions): number {
  for (const [name, v] of Object.entries(meta.options)) {
    if (typeof v === 'number') tcp.setOption(name as TcpOptionName, v);
  }
  kept.recvErr = meta.recvErr;
  kept.deferAcceptRetrans = meta.deferAcceptRetrans;
  if (tcp.localAddress()?.port === meta.port && meta.port !== 0) return 0;
  // parseKeptMeta checked the text: it is of the family's own form, as the stack socket takes it.
  return tcp.bind(parseIp(meta.addr) ?? 0, meta.port);
}

/** rebindListener's answer that is worth trying again once the stack has its addresses. */
const REBIND_LATER = -Errno.EADDRNOTAVAIL;

/** How long a kept listener waits for the network to give the stack its address back. */
const REBIND_WAIT_MS = 120_000;
const REBIND_RETRY_MS = 250;

/**
 * Kept listeners taken back by a new server, put back to listening on its stack; those bound to
 * an address the stack does not have yet try again until it comes (or REBIND_WAIT_MS passes).
 * `done` gets each one's outcome: 0 (listening) or the negative errno that made it give up.
 */
export class ListenerRestorer {
  private readonly waiting = new Map<number, { sock: AppSocket; meta: KeptListenerMeta; until: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly done: (sock: AppSocket, meta: KeptListenerMeta, result: number) => void) {}

  restore(sock: AppSocket, meta: KeptListenerMeta): void {
    this.waiting.set(sock.ino, { sock, meta, until: Date.now() + REBIND_WAIT_MS });
    this.retry();
    if (this.waiting.size > 0 && this.timer === null) {
      this.timer = setInterval(() => this.retry(), REBIND_RETRY_MS);
      this.timer.unref();
    }
  }

  /** Still waiting for its address: the app's listening socket all the same. */
  has(ino: number): boolean {
    return this.waiting.has(ino);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.waiting.clear();
  }

  private retry(): void {
    for (const [ino, item] of this.waiting) {
      const { sock, meta } = item;
      if (sock.state !== 'idle') {
        this.waiting.delete(ino);
        continue;
      }
      let r = rebindListener(sock.tcp, meta, sock.kept);
      if (r === REBIND_LATER && Date.now() < item.until) continue;
      this.waiting.delete(ino);
      if (r === 0) r = sock.listen(meta.backlog);
      this.done(sock, meta, r);
    }
    if (this.waiting.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}
