/**
 * getsockopt/setsockopt as an app's TCP socket sees them, forwarded to the stack's options.
 * Option numbers are Linux's. Options the stack does not have answer ENOPROTOOPT — never a faked
 * success.
 */
import { Errno } from '../netstack/errno.js';
import type { TcpOptionName, TcpSocket } from '../netstack/socket-api.js';

/** What the option calls need of a socket: the stack's TcpSocket, or a finished one's record. */
export type OptionHolder = Pick<TcpSocket, 'getOption' | 'setOption'>;

export const SOL_SOCKET = 1;
export const IPPROTO_TCP = 6;

export const SO = {
  REUSEADDR: 2,
  TYPE: 3,
  ERROR: 4,
  SNDBUF: 7,
  RCVBUF: 8,
  KEEPALIVE: 9,
  LINGER: 13,
  REUSEPORT: 15,
  ACCEPTCONN: 30,
  PROTOCOL: 38,
  DOMAIN: 39,
} as const;

export const TCP = {
  NODELAY: 1,
  MAXSEG: 2,
  CORK: 3,
  KEEPIDLE: 4,
  KEEPINTVL: 5,
  KEEPCNT: 6,
  CONGESTION: 13,
  USER_TIMEOUT: 18,
} as const;

const SOCK_STREAM = 1;
const AF_INET = 2;
/** Linux answers an unknown congestion control name with ENOENT. */
const ENOENT = 2;

const intOptions = new Map<string, TcpOptionName>([
  [`${SOL_SOCKET}:${SO.REUSEADDR}`, 'REUSEADDR'],
  [`${SOL_SOCKET}:${SO.REUSEPORT}`, 'REUSEPORT'],
  [`${SOL_SOCKET}:${SO.KEEPALIVE}`, 'KEEPALIVE'],
  [`${SOL_SOCKET}:${SO.SNDBUF}`, 'SNDBUF'],
  [`${SOL_SOCKET}:${SO.RCVBUF}`, 'RCVBUF'],
  [`${IPPROTO_TCP}:${TCP.NODELAY}`, 'NODELAY'],
  [`${IPPROTO_TCP}:${TCP.MAXSEG}`, 'MAXSEG'],
  [`${IPPROTO_TCP}:${TCP.CORK}`, 'CORK'],
  [`${IPPROTO_TCP}:${TCP.KEEPIDLE}`, 'KEEPIDLE'],
  [`${IPPROTO_TCP}:${TCP.KEEPINTVL}`, 'KEEPINTVL'],
  [`${IPPROTO_TCP}:${TCP.KEEPCNT}`, 'KEEPCNT'],
  [`${IPPROTO_TCP}:${TCP.USER_TIMEOUT}`, 'USER_TIMEOUT'],
]);

const congestionNames = ['cubic', 'reno'];

/** What the socket is doing, for the options that report state rather than settings. */
export interface SocketStateView {
  listening: boolean;
  /** SO_ERROR: returns and clears the pending error. */
  takeError(): number;
}

export type GetResult = Buffer | number;

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0, 0);
  return b;
}

/** getsockopt: the value's bytes (not yet truncated to the app's buffer), or a negative errno. */
export function getOption(tcp: OptionHolder, view: SocketStateView, level: number, name: number): GetResult {
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO.TYPE:
        return int32(SOCK_STREAM);
      case SO.DOMAIN:
        return int32(AF_INET);
      case SO.PROTOCOL:
        return int32(IPPROTO_TCP);
      case SO.ERROR:
        return int32(view.takeError());
      case SO.ACCEPTCONN:
        return int32(view.listening ? 1 : 0);
      case SO.LINGER: {
        const v = tcp.getOption('LINGER');
        if (v < -1) return v;
        const b = Buffer.alloc(8);
        b.writeInt32LE(v >= 0 ? 1 : 0, 0);
        b.writeInt32LE(v >= 0 ? v : 0, 4);
        return b;
      }
    }
  }
  if (level === IPPROTO_TCP && name === TCP.CONGESTION) {
    const v = tcp.getOption('CONGESTION');
    if (v < 0) return v;
    const b = Buffer.alloc(16);
    b.write(congestionNames[v] ?? 'cubic', 'latin1');
    return b;
  }
  const opt = intOptions.get(`${level}:${name}`);
  if (opt === undefined) return -Errno.ENOPROTOOPT;
  const v = tcp.getOption(opt);
  return v < 0 ? v : int32(v);
}

/** setsockopt: 0 or a negative errno. */
export function setOption(tcp: OptionHolder, level: number, name: number, value: Buffer): number {
  if (level === SOL_SOCKET && name === SO.LINGER) {
    if (value.length < 8) return -Errno.EINVAL;
    const on = value.readInt32LE(0);
    const secs = value.readInt32LE(4);
    return tcp.setOption('LINGER', on ? Math.max(0, secs) : -1);
  }
  if (level === IPPROTO_TCP && name === TCP.CONGESTION) {
    const text = value.toString('latin1').replace(/\0.*$/s, '');
    const v = congestionNames.indexOf(text);
    return v < 0 ? -ENOENT : tcp.setOption('CONGESTION', v);
  }
  const opt = intOptions.get(`${level}:${name}`);
  if (opt === undefined) return -Errno.ENOPROTOOPT;
  if (value.length < 4) return -Errno.EINVAL;
  return tcp.setOption(opt, value.readInt32LE(0));
}
