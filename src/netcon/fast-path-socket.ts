/**
 * One end of a same-daemon fast-path connection (see fast-path.ts) as the daemon answers for it:
 * the two apps' fds are the two ends of one kernel Unix stream socket, so the daemon holds no fd
 * of it and only answers the calls a TCP socket has beyond read and write (names, options,
 * TCP_INFO, connect, shutdown) as the kernel does for an established loopback connection.
 */
import {
  Errno,
  INFINITE_SSTHRESH,
  SHUT_RD,
  SHUT_RDWR,
  type SocketAddress,
  type TcpInfo,
  type TcpOptionName,
  type TcpSocket,
} from '../netstack/index.js';
import { decodeSockopt, type Family, FLAG_FILLED, Kind, Op, type Request, RFLAG_KERNEL, RFLAG_SHUT_WR } from './protocol.js';
import type { Reply } from './reply.js';
import { V6ONLY, wireAddress } from './socket-family.js';
import { getOption, type KeptOptions, type OptionHolder, setOption, type SocketStateView } from './sockopt.js';

/** The stack's loopback MTU: the path of a connection between two of its own addresses. */
const LOOPBACK_MTU = 65535;
/** IP + TCP headers with the timestamp option, which the stack always offers. */
const HEADERS = { 4: 20 + 20 + 12, 6: 40 + 20 + 12 } as const;
/** The window scale the stack would agree on a loopback connection (Linux's for its buffers). */
const WSCALE = 7;

/**
 * The options of a connected socket: a stack socket that never carries data holds their values
 * (so clamping and errnos are the stack's), and IPV6_V6ONLY is fixed once connected, as the
 * kernel's (EINVAL).
 */
class ConnectedOptions implements OptionHolder {
  constructor(readonly tcp: TcpSocket) {}
  getOption(name: TcpOptionName): number {
    return this.tcp.getOption(name);
  }
  setOption(name: TcpOptionName, value: number): number {
    if (name === V6ONLY) return -Errno.EINVAL;
    return this.tcp.setOption(name, value);
  }
}

export class FastPathSocket implements SocketStateView {
  readonly listening = false;
  private readonly options: ConnectedOptions;
  /** The sweep saw this end's inode gone: every fd of it is closed. */
  gone = false;
  /** The app shut this end down for writing (what tells TCP's CLOSED from CLOSE_WAIT, fastpath.c). */
  private shutWr = false;

  constructor(
    /** The inode of this end's kernel socket (what the library's requests name). */
    readonly ino: number,
    readonly family: Family,
    /** getsockname and getpeername, in the stack's form for `family`. */
    readonly local: SocketAddress,
    readonly peer: SocketAddress,
    /** A stack socket that holds this end's options (the client's also holds its port). */
    readonly holder: TcpSocket,
    readonly kept: KeptOptions,
    /**
     * The app has been told its connect succeeded (kernel: SS_CONNECTED). A non-blocking connect
     * answers EINPROGRESS, so the next connect() returns 0 once, then EISCONN, as the kernel's.
     */
    private connectReported: boolean,
  ) {
    this.options = new ConnectedOptions(holder);
  }

  /** SO_ERROR: the kernel socket's own errors are the app's to read; none is pending here. */
  takeError(): number {
    return 0;
  }

  /** TCP_INFO of an established loopback connection that has had nothing to resend. */
  tcpInfo(): TcpInfo {
    const mss = LOOPBACK_MTU - HEADERS[this.family];
    const sndBuf = Math.max(0, this.holder.getOption('SNDBUF'));
    const rcvBuf = Math.max(0, this.holder.getOption('RCVBUF'));
    const congestion = this.holder.info().congestion;
    return {
      state: 'ESTABLISHED',
      congestion,
      mss,
      cwnd: 10 * mss,
      ssthresh: INFINITE_SSTHRESH,
      srtt: 0,
      rttvar: 0,
      rto: 200,
      minRtt: 0,
      rttSamples: 1,
      retransmits: 0,
      fastRetransmits: 0,
      rtoTimeouts: 0,
      zeroWindowProbes: 0,
      sndWnd: rcvBuf,
      sndWscale: WSCALE,
      rcvWscale: WSCALE,
      rcvWnd: rcvBuf,
      rcvBuf,
      sndBuf,
      unacked: 0,
      sendQueued: 0,
      recvQueued: 0,
      outOfOrderBytes: 0,
      outOfOrderSegments: 0,
      sacked: 0,
      timestamps: 1,
      sack: 1,
      bytesSent: 0,
      bytesAcked: 0,
      bytesReceived: 0,
      segsOut: 0,
      segsIn: 0,
      inRecovery: 0,
      hystartCss: 0,
      pacingRate: 0,
      deliveryRate: 0,
      deliveryRateAppLimited: 1,
      wscale: 1,
      advMss: mss,
      rcvMss: mss,
      pmtu: LOOPBACK_MTU,
      backoff: 0,
      retries: 0,
      sinceLastReceiveMs: 0,
      acceptQueued: 0,
      backlog: 0,
    };
  }

  /** connect() on the connected socket (see connectReported). */
  connect(): number {
    if (this.connectReported) return -Errno.EISCONN;
    this.connectReported = true;
    return 0;
  }

  /** Flags telling the library to complete an answer from the kernel socket (RFLAG_KERNEL). */
  private get kernelFlags(): number {
    return RFLAG_KERNEL | (this.shutWr ? RFLAG_SHUT_WR : 0);
  }

  /** A call on this end; the library does the shutdown itself on its fd once this says 0. */
  call(req: Request): Reply {
    switch (req.op) {
      case Op.WHOIS:
        return { result: Kind.TCP };
      case Op.GETSOCKNAME:
        return { result: 0, payload: wireAddress(this.local, this.family) };
      case Op.GETPEERNAME:
        return { result: 0, payload: wireAddress(this.peer, this.family), flags: this.kernelFlags };
      case Op.GETSOCKOPT: {
        const o = decodeSockopt(req.payload);
        if (o === null) return { result: -Errno.EINVAL };
        const v = getOption(this.options, this, o.level, o.name);
        if (typeof v === 'number') return { result: v };
        const bytes = v.subarray(0, Math.min(v.length, o.len));
        return { result: bytes.length, payload: Buffer.from(bytes), flags: this.kernelFlags };
      }
      case Op.SETSOCKOPT: {
        const o = decodeSockopt(req.payload);
        if (o === null || o.value.length !== o.len) return { result: -Errno.EINVAL };
        return { result: setOption(this.options, this, o.level, o.name, o.value) };
      }
      case Op.SHUTDOWN: {
        if (req.payload.length < 4) return { result: -Errno.EINVAL };
        const how = req.payload.readInt32LE(0);
        if (how < SHUT_RD || how > SHUT_RDWR) return { result: -Errno.EINVAL };
        const flags = this.kernelFlags;
        if (how !== SHUT_RD) this.shutWr = true;
        return { result: 0, flags };
      }
      case Op.CONNECT:
        // A filler report belongs to no connect() of the app's (none is asked for on this path).
        if ((req.flags & FLAG_FILLED) !== 0) return { result: 0 };
        return { result: this.connect() };
      case Op.BIND:
      case Op.LISTEN:
        // The kernel's answer for a connected TCP socket.
        return { result: -Errno.EINVAL };
      default:
        return { result: -Errno.EOPNOTSUPP };
    }
  }
}
