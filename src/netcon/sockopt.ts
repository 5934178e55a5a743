/**
 * getsockopt/setsockopt as an app's TCP socket sees them, forwarded to the stack's options.
 * Option numbers, value sizes, clamping and errnos are Linux's. Options the stack does not have
 * answer as the kernel answers an unknown option — never a faked success. A few options whose
 * effect nobody can observe on the virtual network (KeptOptions) are validated and remembered
 * only, so programs that set them as a matter of course keep working.
 */
import {
  CONGESTION_NAMES,
  congestionAlgoByName,
  DELACK_MS,
  DUP_THRESH,
  Errno,
  INFINITE_SSTHRESH,
  type TcpInfo,
  TcpLossState,
  type TcpOptionName,
  type TcpSocket,
  type TcpStateName,
} from '../netstack/index.js';
import type { Family } from './protocol.js';
import { getTcpOption6, IPPROTO_IPV6, Ipv6KeptOptions, setTcpOption6 } from './sockopt6.js';

/** What the option calls need of a socket: the stack's TcpSocket, or a finished one's record. */
export type OptionHolder = Pick<TcpSocket, 'getOption' | 'setOption'>;

export const SOL_SOCKET = 1;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;

/** SOL_SOCKET options (TCP's and the datagram sockets' of dgram-sockopt.ts). */
export const SO = {
  REUSEADDR: 2,
  TYPE: 3,
  ERROR: 4,
  DONTROUTE: 5,
  BROADCAST: 6,
  SNDBUF: 7,
  RCVBUF: 8,
  KEEPALIVE: 9,
  NO_CHECK: 11,
  LINGER: 13,
  REUSEPORT: 15,
  BINDTODEVICE: 25,
  ACCEPTCONN: 30,
  SNDBUFFORCE: 32,
  RCVBUFFORCE: 33,
  PROTOCOL: 38,
  DOMAIN: 39,
} as const;

/** IPPROTO_IP options. */
export const IP = {
  TOS: 1,
  TTL: 2,
  HDRINCL: 3,
  RECVOPTS: 6,
  RETOPTS: 7,
  PKTINFO: 8,
  MTU_DISCOVER: 10,
  RECVERR: 11,
  RECVTTL: 12,
  RECVTOS: 13,
  MTU: 14,
  MULTICAST_IF: 32,
  MULTICAST_TTL: 33,
  MULTICAST_LOOP: 34,
  ADD_MEMBERSHIP: 35,
  DROP_MEMBERSHIP: 36,
} as const;

export const TCP = {
  NODELAY: 1,
  MAXSEG: 2,
  CORK: 3,
  KEEPIDLE: 4,
  KEEPINTVL: 5,
  KEEPCNT: 6,
  DEFER_ACCEPT: 9,
  INFO: 11,
  QUICKACK: 12,
  CONGESTION: 13,
  USER_TIMEOUT: 18,
  CC_INFO: 26,
  FASTOPEN: 23,
  FASTOPEN_CONNECT: 30,
} as const;

const SOCK_STREAM = 1;
const AF_INET = 2;
const AF_INET6 = 10;
/** Linux answers an unknown congestion control name with ENOENT. */
const ENOENT = 2;
/** SO_BINDTODEVICE with a name no interface has. */
const ENODEV = 19;
const IFNAMSIZ = 16;

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

/**
 * Options the kernel accepts whose effect cannot be seen on the virtual network, kept per socket
 * so getsockopt reports what was set:
 * - IP_RECVERR: on TCP only changes how ICMP errors are queued; the stack reports its errors
 *   through SO_ERROR and the stream's end either way.
 * - TCP_QUICKACK: the stack's delayed-ACK policy stays; only latency could differ.
 * - TCP_DEFER_ACCEPT: connections are handed to accept() at once instead of on their first data,
 *   which the kernel itself does once the deferral runs out.
 * - TCP_FASTOPEN, TCP_FASTOPEN_CONNECT: handshakes stay ordinary; peers fall back as they do with
 *   any server or path without Fast Open.
 */
export class KeptOptions {
  recvErr = 0;
  /** Linux reports 1 (not in delayed-ACK "pingpong" mode) until told otherwise. */
  quickAck = 1;
  /** TCP_DEFER_ACCEPT as Linux keeps it: a number of SYN-ACK retransmissions. */
  deferAcceptRetrans = 0;
  fastOpenQueue = 0;
  fastOpenConnect = 0;
  /** The IPPROTO_IPV6 options of an AF_INET6 socket that only are remembered (sockopt6.ts). */
  readonly v6 = new Ipv6KeptOptions();

  /** What an accepted connection takes from its listener (Linux copies the inet flags and the ipv6 options). */
  inheritFrom(listener: KeptOptions): void {
    this.recvErr = listener.recvErr;
    this.v6.copyFrom(listener.v6);
  }
}

/** What the socket is doing, for the options that report state rather than settings. */
export interface SocketStateView {
  /** The app socket's family: AF_INET6 sockets have the IPPROTO_IPV6 level too. */
  readonly family: Family;
  listening: boolean;
  /** SO_ERROR: returns and clears the pending error. */
  takeError(): number;
  readonly kept: KeptOptions;
  /** The connection's figures for TCP_INFO (state 'CLOSED' once it has finished). */
  tcpInfo(): TcpInfo;
}

export type GetResult = Buffer | number;

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0, 0);
  return b;
}

/** Linux's TCP state numbers (include/net/tcp_states.h). */
const LINUX_TCP_STATE: Record<TcpStateName, number> = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  FIN_WAIT_1: 4,
  FIN_WAIT_2: 5,
  TIME_WAIT: 6,
  CLOSED: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
};

/** tcpi_options bits. */
const TCPI_OPT_TIMESTAMPS = 1;
const TCPI_OPT_SACK = 2;
const TCPI_OPT_WSCALE = 4;
/** tcpi_ca_state values. */
const TCP_CA_OPEN = 0;
const TCP_CA_DISORDER = 1;
const TCP_CA_RECOVERY = 3;
const TCP_CA_LOSS = 4;
const U32_MAX = 0xffffffff;

/**
 * struct tcp_info up to tcpi_total_rto_time (Linux 6.7 layout). The caller's optlen truncates
 * it, as the kernel does; programs built against older headers ask for less.
 */
export const TCP_INFO_SIZE = 248;

/** The figures of TcpInfo that are numbers. */
type TcpFigure = { [K in keyof TcpInfo]-?: TcpInfo[K] extends number ? K : never }[keyof TcpInfo];

/** A figure for the encoding: absent, negative or non-finite ones count as 0. */
function field(info: Partial<TcpInfo>, key: TcpFigure): number {
  const v = info[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function u32(v: number): number {
  return v >= U32_MAX ? U32_MAX : Math.floor(v) >>> 0;
}

/** Segments for a byte count, as Linux counts packets (a partial segment counts as one). */
function segments(bytes: number, mss: number): number {
  return bytes <= 0 ? 0 : Math.ceil(bytes / Math.max(1, mss));
}

/** tcpi_ca_state for the stack's loss state; Disorder when SACKs arrived outside recovery. */
function caState(info: Partial<TcpInfo>): number {
  switch (info.inRecovery) {
    case TcpLossState.Loss:
      return TCP_CA_LOSS;
    case TcpLossState.Recovery:
      return TCP_CA_RECOVERY;
    default:
      return field(info, 'sacked') > 0 ? TCP_CA_DISORDER : TCP_CA_OPEN;
  }
}

/**
 * TCP_INFO: the stack's figures in Linux's struct tcp_info; what the stack does not know is 0
 * (as are figures missing from `info`).
 */
export function encodeTcpInfo(info: Partial<TcpInfo>): Buffer {
  const b = Buffer.alloc(TCP_INFO_SIZE);
  const state = info.state ?? 'CLOSED';
  const listening = state === 'LISTEN';
  const mss = field(info, 'mss');
  const put32 = (off: number, v: number): void => {
    b.writeUInt32LE(u32(v), off);
  };
  const put64 = (off: number, v: number): void => {
    b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(v))), off);
  };
  b[0] = LINUX_TCP_STATE[state] ?? LINUX_TCP_STATE.CLOSED;
  // max_pacing_rate: unlimited, as Linux reports by default (SO_MAX_PACING_RATE is not offered).
  b.writeBigUInt64LE(0xffffffffffffffffn, 112);
  put32(88, DUP_THRESH); // tcpi_reordering
  put32(80, mss > 0 ? Math.max(1, Math.floor(field(info, 'cwnd') / mss)) : 0);
  if (listening) {
    // As Linux: a listener reports its accept queue and backlog in unacked/sacked, and no more.
    put32(24, field(info, 'acceptQueued'));
    put32(28, field(info, 'backlog'));
    return b;
  }
  b[1] = caState(info);
  b[2] = Math.min(255, field(info, 'retries'));
  b[3] = 0; // tcpi_probes: zero-window and keepalive probes in flight are not tracked
  b[4] = Math.min(255, field(info, 'backoff'));
  b[5] =
    (field(info, 'timestamps') ? TCPI_OPT_TIMESTAMPS : 0) |
    (field(info, 'sack') ? TCPI_OPT_SACK : 0) |
    (field(info, 'wscale') ? TCPI_OPT_WSCALE : 0);
  if (field(info, 'wscale')) b[6] = (field(info, 'sndWscale') & 0xf) | ((field(info, 'rcvWscale') & 0xf) << 4);
  // b[7]: delivery_rate_app_limited (bit 0), fastopen_client_fail: 0
  b[7] = field(info, 'deliveryRateAppLimited') ? 1 : 0;
  const connected = state !== 'CLOSED';
  put32(8, field(info, 'rto') * 1000);
  put32(12, connected ? DELACK_MS * 1000 : 0); // tcpi_ato
  put32(16, mss);
  put32(20, field(info, 'rcvMss'));
  put32(24, segments(field(info, 'unacked'), mss));
  put32(28, segments(field(info, 'sacked'), mss));
  // 32 lost, 36 retrans (in flight), 40 fackets: not tracked
  // 44 last_data_sent, 48 last_ack_sent (never kept by Linux either)
  put32(52, connected ? field(info, 'sinceLastReceiveMs') : 0); // last_data_recv
  put32(56, connected ? field(info, 'sinceLastReceiveMs') : 0); // last_ack_recv
  put32(60, field(info, 'pmtu'));
  // 64 rcv_ssthresh: not tracked
  // The stack measures RTT in whole milliseconds: a sample below that is still a sample, and
  // Linux's rtt 0 means "none yet".
  const measured = field(info, 'rttSamples') > 0;
  put32(68, measured ? Math.max(1, field(info, 'srtt') * 1000) : 0);
  put32(72, field(info, 'rttvar') * 1000);
  const ssthresh = field(info, 'ssthresh');
  put32(76, ssthresh === 0 || ssthresh >= INFINITE_SSTHRESH ? INFINITE_SSTHRESH : Math.floor(ssthresh / Math.max(1, mss)));
  put32(84, field(info, 'advMss'));
  // 92 rcv_rtt: not tracked
  put32(96, field(info, 'rcvWnd'));
  put32(100, field(info, 'retransmits'));
  put64(104, field(info, 'pacingRate')); // 0 when the algorithm does not pace
  put64(120, field(info, 'bytesAcked'));
  put64(128, field(info, 'bytesReceived'));
  put32(136, field(info, 'segsOut'));
  put32(140, field(info, 'segsIn'));
  put32(144, Math.max(0, field(info, 'sendQueued') - field(info, 'unacked'))); // notsent_bytes
  put32(148, measured ? Math.max(1, field(info, 'minRtt') * 1000) : U32_MAX);
  put64(160, field(info, 'deliveryRate'));
  // 152 data_segs_in, 156 data_segs_out, 168 busy_time, 176 rwnd_limited,
  // 184 sndbuf_limited, 192 delivered, 196 delivered_ce: not tracked
  put64(200, field(info, 'bytesSent'));
  // 208 bytes_retrans, 216 dsack_dups, 220 reord_seen, 224 rcv_ooopack: not tracked
  put32(228, field(info, 'sndWnd'));
  put32(232, field(info, 'rcvWnd'));
  // 236 rehash
  b.writeUInt16LE(Math.min(0xffff, field(info, 'rtoTimeouts')), 240); // total_rto
  // 242 total_rto_recoveries, 244 total_rto_time: not tracked
  return b;
}

/** Size of Linux's struct tcp_bbr_info, what TCP_CC_INFO gives for BBR. */
export const TCP_BBR_INFO_SIZE = 20;

/**
 * TCP_CC_INFO as Linux's do_tcp_getsockopt answers it: the algorithm's get_info — struct
 * tcp_bbr_info for BBR (bw as two 32-bit halves, bytes/s; min RTT µs; gains << 8) — and nothing
 * (length 0, success) for CUBIC and Reno, which have none.
 */
export function encodeCcInfo(info: Partial<TcpInfo>): Buffer {
  const bbr = info.bbr;
  if (!bbr) return Buffer.alloc(0);
  const b = Buffer.alloc(TCP_BBR_INFO_SIZE);
  const bw = BigInt(Math.max(0, Math.floor(bbr.bw)));
  b.writeUInt32LE(Number(bw & 0xffffffffn), 0);
  b.writeUInt32LE(Number((bw >> 32n) & 0xffffffffn), 4);
  b.writeUInt32LE(u32(bbr.minRttUs), 8);
  b.writeUInt32LE(u32(bbr.pacingGain), 12);
  b.writeUInt32LE(u32(bbr.cwndGain), 16);
  return b;
}

/** Linux keeps TCP_DEFER_ACCEPT seconds as SYN-ACK retransmissions (1 s initial RTO, 120 s cap). */
function secondsToRetrans(seconds: number): number {
  if (seconds <= 0) return 0;
  let timeout = 1;
  let period = timeout;
  let res = 1;
  while (seconds > period && res < 255) {
    res++;
    timeout = Math.min(timeout * 2, 120);
    period += timeout;
  }
  return res;
}

function retransToSeconds(retrans: number): number {
  if (retrans <= 0) return 0;
  let timeout = 1;
  let period = timeout;
  for (let i = 1; i < retrans; i++) {
    timeout = Math.min(timeout * 2, 120);
    period += timeout;
  }
  return period;
}

/** An IP-level option's value: an int, or one byte when shorter (Linux's do_ip_setsockopt). */
function ipValue(value: Buffer): number {
  if (value.length >= 4) return value.readInt32LE(0);
  if (value.length >= 1) return value[0]!;
  return 0;
}

/** getsockopt: the value's bytes (not yet truncated to the app's buffer), or a negative errno. */
export function getOption(tcp: OptionHolder, view: SocketStateView, level: number, name: number): GetResult {
  if (level === IPPROTO_IP) {
    switch (name) {
      case IP.TOS:
      case IP.TTL: {
        const v = tcp.getOption(name === IP.TOS ? 'TOS' : 'TTL');
        return v < 0 ? v : int32(v);
      }
      case IP.RECVERR:
        return int32(view.kept.recvErr);
      default:
        return -Errno.ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_TCP) {
    switch (name) {
      case TCP.INFO:
        return encodeTcpInfo(view.tcpInfo());
      case TCP.CC_INFO:
        return encodeCcInfo(view.tcpInfo());
      case TCP.QUICKACK:
        return int32(view.kept.quickAck);
      case TCP.DEFER_ACCEPT:
        return int32(retransToSeconds(view.kept.deferAcceptRetrans));
      case TCP.FASTOPEN:
        return int32(view.kept.fastOpenQueue);
      case TCP.FASTOPEN_CONNECT:
        return int32(view.kept.fastOpenConnect);
    }
  }
  if (level === IPPROTO_IPV6 && view.family === 6) return getTcpOption6(tcp, view, name);
  // Linux's ip_getsockopt answers a level it does not know with EOPNOTSUPP (IPV6_* on AF_INET),
  // ipv6_getsockopt with ENOPROTOOPT.
  if (level !== SOL_SOCKET && level !== IPPROTO_TCP) return view.family === 6 ? -Errno.ENOPROTOOPT : -Errno.EOPNOTSUPP;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO.BINDTODEVICE:
        // Never bound to a device (see setOption): Linux answers with an empty name.
        return Buffer.alloc(0);
      case SO.TYPE:
        return int32(SOCK_STREAM);
      case SO.DOMAIN:
        return int32(view.family === 6 ? AF_INET6 : AF_INET);
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
    b.write(CONGESTION_NAMES[v] ?? 'cubic', 'latin1');
    return b;
  }
  const opt = intOptions.get(`${level}:${name}`);
  if (opt === undefined) return -Errno.ENOPROTOOPT;
  const v = tcp.getOption(opt);
  return v < 0 ? v : int32(v);
}

/** setsockopt: 0 or a negative errno. */
export function setOption(tcp: OptionHolder, view: SocketStateView, level: number, name: number, value: Buffer): number {
  if (level === IPPROTO_IP) {
    switch (name) {
      case IP.TOS:
        return tcp.setOption('TOS', ipValue(value) & 0xff);
      case IP.TTL:
        return tcp.setOption('TTL', ipValue(value));
      case IP.RECVERR:
        view.kept.recvErr = ipValue(value) !== 0 ? 1 : 0;
        return 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }
  if (level === IPPROTO_IPV6 && view.family === 6) return setTcpOption6(tcp, view, name, value);
  if (level === SOL_SOCKET && name === SO.BINDTODEVICE) return setBindToDevice(value);
  if (level === IPPROTO_TCP) {
    const kept = keptTcpOption(view, name, value);
    if (kept !== null) return kept;
  }
  if (level === SOL_SOCKET && name === SO.LINGER) {
    if (value.length < 8) return -Errno.EINVAL;
    const on = value.readInt32LE(0);
    const secs = value.readInt32LE(4);
    return tcp.setOption('LINGER', on ? Math.max(0, secs) : -1);
  }
  if (level === IPPROTO_TCP && name === TCP.CONGESTION) {
    const text = value.toString('latin1').replace(/\0.*$/s, '');
    const v = congestionAlgoByName(text);
    return v === undefined ? -ENOENT : tcp.setOption('CONGESTION', v);
  }
  const opt = intOptions.get(`${level}:${name}`);
  if (opt === undefined) return -Errno.ENOPROTOOPT;
  if (value.length < 4) return -Errno.EINVAL;
  return tcp.setOption(opt, value.readInt32LE(0));
}

/** The TCP options kept without effect (KeptOptions): 0 or a negative errno, null for others. */
function keptTcpOption(view: SocketStateView, name: number, value: Buffer): number | null {
  switch (name) {
    case TCP.INFO:
      return -Errno.ENOPROTOOPT;
    case TCP.QUICKACK:
    case TCP.DEFER_ACCEPT:
    case TCP.FASTOPEN:
    case TCP.FASTOPEN_CONNECT:
      break;
    default:
      return null;
  }
  if (value.length < 4) return -Errno.EINVAL;
  const v = value.readInt32LE(0);
  const kept = view.kept;
  switch (name) {
    case TCP.QUICKACK:
      kept.quickAck = v !== 0 ? 1 : 0;
      return 0;
    case TCP.DEFER_ACCEPT:
      kept.deferAcceptRetrans = secondsToRetrans(v);
      return 0;
    case TCP.FASTOPEN: {
      const state = view.tcpInfo().state;
      if (v < 0 || (state !== 'CLOSED' && state !== 'LISTEN')) return -Errno.EINVAL;
      kept.fastOpenQueue = v;
      return 0;
    }
    default: {
      // TCP_FASTOPEN_CONNECT
      if (v !== 0 && v !== 1) return -Errno.EINVAL;
      if (view.tcpInfo().state !== 'CLOSED') return -Errno.EINVAL;
      kept.fastOpenConnect = v;
      return 0;
    }
  }
}

/**
 * setsockopt(SO_BINDTODEVICE), for every kind of socket: the virtual network's interface has no
 * name the app could know, so binding to any device would not be honoured; only "no device" (an
 * empty name) is accepted.
 */
export function setBindToDevice(value: Buffer): number {
  const text = value
    .subarray(0, Math.min(value.length, IFNAMSIZ - 1))
    .toString('latin1')
    .replace(/\0.*$/s, '');
  return text === '' ? 0 : -ENODEV;
}
