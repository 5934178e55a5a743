/**
 * A socket's option values (setsockopt/getsockopt as Linux validates and clamps them), kept as one
 * value so a listener hands its children a copy instead of field-by-field assignments.
 */
import { Errno } from '../errno.js';
import { DEFAULT_TTL } from '../ipv4.js';
import type { TcpOptionName } from '../socket-api.js';
import type { IpSendOptions } from '../transport.js';
import { CongestionAlgo, isCongestionAlgo } from './congestion/select.js';
import { DEFAULT_RCVBUF, DEFAULT_SNDBUF, MAX_BUF, MIN_BUF } from './constants.js';

/** What most segments are sent with: TCP always sets DF. Shared, never mutated. */
const PLAIN_SEND: IpSendOptions = { dontFragment: true };

export class TcpOptions {
  rcvBufSize = DEFAULT_RCVBUF;
  sndBufSize = DEFAULT_SNDBUF;
  nodelay = false;
  cork = false;
  keepalive = false;
  keepIdleMs = 7200_000;
  keepIntvlMs = 75_000;
  keepCnt = 9;
  /** SO_LINGER seconds, -1 = off. */
  lingerSec = -1;
  userTimeoutMs = 0;
  reuseAddr = false;
  reusePort = false;
  /** IPV6_V6ONLY (family-6 sockets): IPv6 only, no IPv4 through v4-mapped addresses. */
  v6only = false;
  /** TCP_MAXSEG, 0 = unset. */
  userMaxSeg = 0;
  congestion: CongestionAlgo = CongestionAlgo.Cubic;
  /** Loss detection with SACK: 1 = RACK-TLP (RFC 8985, the default), 0 = RFC 6675's DupThresh (Linux's tcp_recovery). */
  recovery = 1;
  /** Negotiate ECN (RFC 3168): 1 = yes, 0 = no (default). */
  ecn = 0;
  /** `sendOpts` with ECT(0) in the ECN field, for new data once ECN is on. */
  ectSendOpts: IpSendOptions = { dontFragment: true, tos: 2 };
  /** IP_TOS for outgoing packets (ECN bits clear: TCP sets ECT(0) itself, through `ectSendOpts`). */
  tos = 0;
  /** IP_TTL for outgoing packets, 0 = the IP layer's default. */
  ttl = 0;
  /** What every segment is sent with; replaced when TOS or TTL change. */
  sendOpts: IpSendOptions = PLAIN_SEND;

  /**
   * The options an accepted connection starts with: a copy of its listener's (IP_TOS and IP_TTL
   * included, as Linux copies them), except SO_REUSEPORT, which belongs to the listening socket.
   */
  forChild(): TcpOptions {
    const o = Object.assign(new TcpOptions(), this);
    o.reusePort = false;
    return o;
  }

  /** Validates and stores one option (`v` already an integer): 0, or a negative errno. */
  set(name: TcpOptionName, v: number): number {
    switch (name) {
      case 'NODELAY':
        this.nodelay = v !== 0;
        return 0;
      case 'CORK':
        this.cork = v !== 0;
        return 0;
      case 'KEEPALIVE':
        this.keepalive = v !== 0;
        return 0;
      case 'KEEPIDLE':
        if (v < 1 || v > 32767) return -Errno.EINVAL;
        this.keepIdleMs = v * 1000;
        return 0;
      case 'KEEPINTVL':
        if (v < 1 || v > 32767) return -Errno.EINVAL;
        this.keepIntvlMs = v * 1000;
        return 0;
      case 'KEEPCNT':
        if (v < 1 || v > 127) return -Errno.EINVAL;
        this.keepCnt = v;
        return 0;
      case 'LINGER':
        this.lingerSec = v < 0 ? -1 : v;
        return 0;
      case 'RCVBUF':
        if (v < 0) return -Errno.EINVAL;
        this.rcvBufSize = Math.max(MIN_BUF, Math.min(MAX_BUF, v));
        return 0;
      case 'SNDBUF':
        if (v < 0) return -Errno.EINVAL;
        this.sndBufSize = Math.max(MIN_BUF, Math.min(MAX_BUF, v));
        return 0;
      case 'USER_TIMEOUT':
        if (v < 0) return -Errno.EINVAL;
        this.userTimeoutMs = v;
        return 0;
      case 'REUSEADDR':
        this.reuseAddr = v !== 0;
        return 0;
      case 'V6ONLY':
        this.v6only = v !== 0;
        return 0;
      case 'REUSEPORT':
        this.reusePort = v !== 0;
        return 0;
      case 'MAXSEG':
        if (v !== 0 && (v < 88 || v > 65535)) return -Errno.EINVAL;
        this.userMaxSeg = v;
        return 0;
      case 'TOS':
        // As Linux does for TCP: the ECN bits are not the application's to set.
        this.tos = v & 0xfc;
        this.updateSendOpts();
        return 0;
      case 'TTL':
        if (v === -1) this.ttl = 0;
        else if (v < 1 || v > 255) return -Errno.EINVAL;
        else this.ttl = v;
        this.updateSendOpts();
        return 0;
      case 'CONGESTION':
        if (!isCongestionAlgo(v)) return -Errno.EINVAL;
        this.congestion = v;
        return 0;
      case 'RECOVERY':
        if (v !== 0 && v !== 1) return -Errno.EINVAL;
        this.recovery = v;
        return 0;
      case 'ECN':
        if (v !== 0 && v !== 1) return -Errno.EINVAL;
        this.ecn = v;
        return 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  /** One option's value, or -ENOPROTOOPT; `mss` is the connection's current MSS (TCP_MAXSEG). */
  get(name: TcpOptionName, mss: number): number {
    switch (name) {
      case 'NODELAY':
        return this.nodelay ? 1 : 0;
      case 'CORK':
        return this.cork ? 1 : 0;
      case 'KEEPALIVE':
        return this.keepalive ? 1 : 0;
      case 'KEEPIDLE':
        return Math.floor(this.keepIdleMs / 1000);
      case 'KEEPINTVL':
        return Math.floor(this.keepIntvlMs / 1000);
      case 'KEEPCNT':
        return this.keepCnt;
      case 'LINGER':
        return this.lingerSec;
      case 'RCVBUF':
        return this.rcvBufSize;
      case 'SNDBUF':
        return this.sndBufSize;
      case 'USER_TIMEOUT':
        return this.userTimeoutMs;
      case 'REUSEADDR':
        return this.reuseAddr ? 1 : 0;
      case 'REUSEPORT':
        return this.reusePort ? 1 : 0;
      case 'V6ONLY':
        return this.v6only ? 1 : 0;
      case 'MAXSEG':
        return this.userMaxSeg || mss;
      case 'CONGESTION':
        return this.congestion;
      case 'RECOVERY':
        return this.recovery;
      case 'ECN':
        return this.ecn;
      case 'TOS':
        return this.tos;
      case 'TTL':
        return this.ttl || DEFAULT_TTL;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  private updateSendOpts(): void {
    this.sendOpts =
      this.tos === 0 && this.ttl === 0 ? PLAIN_SEND : { dontFragment: true, tos: this.tos, ...(this.ttl !== 0 ? { ttl: this.ttl } : {}) };
    this.ectSendOpts = { dontFragment: true, tos: this.tos | 2, ...(this.ttl !== 0 ? { ttl: this.ttl } : {}) };
  }
}
