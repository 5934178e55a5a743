/**
 * What is left of an app's TCP connection once it has finished while the app still holds its fd
 * (see EndedSocket) and how it answers calls, and the options a connection keeps and carries
 * (KEPT_OPTIONS).
 */
import { DEFAULT_TTL, Errno, type SocketAddress, type TcpInfo, type TcpOptionName, type TcpSocket } from '../netstack/index.js';
import { decodeSockopt, type Family, FLAG_FILLED, Kind, Op, type Request } from './protocol.js';
import type { Reply } from './reply.js';
import { V6ONLY, wireAddress } from './socket-family.js';
import { getOption, type KeptOptions, type OptionHolder, setOption, type SocketStateView } from './sockopt.js';

/** The stack options of a connection that outlive it (and that a retried connect carries over). */
export const KEPT_OPTIONS: TcpOptionName[] = [
  'NODELAY',
  'CORK',
  'KEEPALIVE',
  'KEEPIDLE',
  'KEEPINTVL',
  'KEEPCNT',
  'LINGER',
  'RCVBUF',
  'SNDBUF',
  'USER_TIMEOUT',
  'REUSEADDR',
  'REUSEPORT',
  'MAXSEG',
  'CONGESTION',
  'TOS',
  'TTL',
  V6ONLY,
];

/** Copies `names` of the options set on `from` to `to` (a socket taking over from it); returns `to`. */
export function carryOptions(from: TcpSocket, to: TcpSocket, names: readonly TcpOptionName[]): TcpSocket {
  for (const name of names) {
    const v = from.getOption(name);
    // LINGER's "off" is -1; every other negative value is an errno.
    if (v >= 0 || (name === 'LINGER' && v === -1)) to.setOption(name, v);
  }
  return to;
}

/**
 * What connect() answers on an ended socket, as Linux's inet_stream_connect does on a closed TCP
 * socket: `was-connected` (the connection ran and ended) gives EISCONN; `failed` (a non-blocking
 * attempt failed) gives the pending error, or ECONNABORTED once SO_ERROR took it, and leaves the
 * socket `spent`. The kernel would start a fresh attempt on a spent socket; here its data end is
 * closed, so that attempt could carry no data: EBADFD says so instead of a connect that works
 * and a stream that does not.
 */
export type EndedConnect = 'was-connected' | 'failed' | 'spent';

/**
 * What is left of a finished connection whose app still holds its fd: its address, its last
 * error and its options, so later calls answer as on a closed kernel socket. Small on purpose
 * (no buffers): the daemon cannot tell when the app closes it.
 */
export class EndedSocket implements OptionHolder, SocketStateView {
  readonly listening = false;
  private readonly options = new Map<TcpOptionName, number>();
  /** The connection's last figures: a closed kernel socket still reports its counters. */
  private readonly info: TcpInfo;

  constructor(
    readonly local: SocketAddress,
    private error: number,
    tcp: TcpSocket,
    readonly kept: KeptOptions,
    readonly family: Family,
    private connectState: EndedConnect = 'was-connected',
  ) {
    for (const name of KEPT_OPTIONS) {
      const v = tcp.getOption(name);
      // LINGER's "off" is -1; every other negative value is an errno.
      if (v >= 0 || (name === 'LINGER' && v === -1)) this.options.set(name, v);
    }
    this.info = { ...tcp.info(), state: 'CLOSED' };
  }

  tcpInfo(): TcpInfo {
    return this.info;
  }

  takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  /** connect() on this socket: a negative errno (see EndedConnect). */
  connect(): number {
    switch (this.connectState) {
      case 'was-connected':
        return -Errno.EISCONN;
      case 'failed': {
        this.connectState = 'spent';
        const e = this.takeError();
        return e > 0 ? -e : -Errno.ECONNABORTED;
      }
      case 'spent':
        return -Errno.EBADFD;
    }
  }

  getOption(name: TcpOptionName): number {
    return this.options.get(name) ?? -Errno.ENOPROTOOPT;
  }

  setOption(name: TcpOptionName, value: number): number {
    if (!this.options.has(name)) return -Errno.ENOPROTOOPT;
    // V6ONLY is settable before bind only; a finished connection was bound.
    if (name === V6ONLY) return -Errno.EINVAL;
    // IPV6_UNICAST_HOPS takes 0 (sockopt6.ts checks its range), IP_TTL does not.
    if (name === 'TTL' && value !== -1 && (value < (this.family === 6 ? 0 : 1) || value > 255)) return -Errno.EINVAL;
    if (name === 'TOS') value &= 0xfc;
    if (name === 'TTL' && value === -1) value = DEFAULT_TTL;
    this.options.set(name, value);
    return 0;
  }
}

/** A call on a connection that has finished while the app still holds its fd. */
export function endedSocketCall(sock: EndedSocket, req: Request): Reply {
  switch (req.op) {
    case Op.WHOIS:
      return { result: Kind.TCP };
    case Op.GETSOCKNAME:
      return { result: 0, payload: wireAddress(sock.local, sock.family) };
    case Op.GETPEERNAME:
    case Op.SHUTDOWN:
      return { result: -Errno.ENOTCONN };
    case Op.GETSOCKOPT: {
      const o = decodeSockopt(req.payload);
      if (o === null) return { result: -Errno.EINVAL };
      const v = getOption(sock, sock, o.level, o.name);
      if (typeof v === 'number') return { result: v };
      const bytes = v.subarray(0, Math.min(v.length, o.len));
      return { result: bytes.length, payload: Buffer.from(bytes) };
    }
    case Op.SETSOCKOPT: {
      const o = decodeSockopt(req.payload);
      if (o === null || o.value.length !== o.len) return { result: -Errno.EINVAL };
      return { result: setOption(sock, sock, o.level, o.name, o.value) };
    }
    case Op.CONNECT:
      // The filler's report after the attempt has ended is no connect() of the app's.
      if ((req.flags & FLAG_FILLED) !== 0) return { result: 0 };
      return { result: sock.connect() };
    default:
      return { result: -Errno.EINVAL };
  }
}
