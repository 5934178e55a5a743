/**
 * One UDP socket (the UdpSocket of socket-api.ts): bind/connect, sendTo, a receive queue bounded
 * by SO_RCVBUF whose overflow is a counted drop, SO_BROADCAST, and errors from ICMP for
 * connected sockets (reported once, on the next send or via takeError, as Linux).
 */
import type { Ipv4Addr, SocketAddress } from './addr.js';
import { Errno } from './errno.js';
import type { Counters } from './counters.js';
import type { UdpDatagram, UdpOptionName, UdpSocket, UdpSocketHandlers } from './socket-api.js';
import type { IpSender } from './transport.js';

/** What a UDP socket may ask of its layer (udp.ts): the bind table, sending, routing questions, counters. */
export interface UdpPort {
  readonly counters: Counters;
  readonly ip: Pick<IpSender, 'isLocalAddress' | 'sourceFor'>;
  /** True for the limited broadcast and the directed broadcasts of the stack's subnets. */
  isBroadcast(addr: Ipv4Addr): boolean;
  /** Binds `s` to addr:port (port 0 = ephemeral). Returns the port or a negative errno. */
  bind(s: UdpSocketImpl, addr: Ipv4Addr, port: number): number;
  unbind(s: UdpSocketImpl, port: number): void;
  /** Sends one datagram from src:sport to dst:dport. Returns the byte count or a negative errno. */
  send(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, data: Uint8Array): number;
}

export const UDP_DEFAULT_RCVBUF = 212_992;
export const UDP_DEFAULT_SNDBUF = 212_992;
/** Accounting overhead per queued datagram, so floods of empty datagrams are bounded too. */
const DATAGRAM_OVERHEAD = 256;
/** Largest datagram payload over IPv4: 65535 − 20 − 8. */
export const UDP_MAX_PAYLOAD = 65507;
const MAX_BUF = 16 << 20;

export class UdpSocketImpl implements UdpSocket {
  handlers: UdpSocketHandlers = {};
  boundAddr: Ipv4Addr = 0;
  boundPort = 0;
  remoteAddr: Ipv4Addr = 0;
  remotePort = 0;
  connected = false;
  reuseAddr = false;
  reusePort = false;
  private broadcast = false;
  private rcvbuf = UDP_DEFAULT_RCVBUF;
  private sndbuf = UDP_DEFAULT_SNDBUF;
  private queue: UdpDatagram[] = [];
  private head = 0;
  private queuedBytes = 0;
  private error = 0;
  private closed = false;
  /** Datagrams this socket dropped because its queue was full. */
  drops = 0;

  constructor(private readonly layer: UdpPort) {}

  get pendingDatagrams(): number {
    return this.queue.length - this.head;
  }

  bind(addr: Ipv4Addr, port: number): number {
    if (this.closed) return -Errno.EBADF;
    if (this.boundPort !== 0) return -Errno.EINVAL;
    if (!isPort(port) || !Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) return -Errno.EINVAL;
    if (addr !== 0 && !this.layer.ip.isLocalAddress(addr) && !this.layer.isBroadcast(addr)) return -Errno.EADDRNOTAVAIL;
    const r = this.layer.bind(this, addr >>> 0, port);
    if (r < 0) return r;
    this.boundAddr = addr >>> 0;
    this.boundPort = r;
    return 0;
  }

  connect(addr: Ipv4Addr, port: number): number {
    if (this.closed) return -Errno.EBADF;
    if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff || !isPort(port)) return -Errno.EINVAL;
    if (addr === 0) {
      this.connected = false;
      this.remoteAddr = 0;
      this.remotePort = 0;
      return 0;
    }
    if (port === 0) return -Errno.EINVAL;
    if (this.layer.isBroadcast(addr) && !this.broadcast) return -Errno.EACCES;
    if (this.layer.ip.sourceFor(addr) === null) return -Errno.ENETUNREACH;
    if (this.boundPort === 0) {
      const r = this.bind(0, 0);
      if (r < 0) return r;
    }
    this.remoteAddr = addr >>> 0;
    this.remotePort = port;
    this.connected = true;
    return 0;
  }

  sendTo(data: Uint8Array, to?: SocketAddress): number {
    if (this.closed) return -Errno.EBADF;
    if (!(data instanceof Uint8Array)) return -Errno.EINVAL;
    let dst: Ipv4Addr;
    let dport: number;
    if (to) {
      if (!Number.isInteger(to.addr) || to.addr < 0 || to.addr > 0xffffffff || !isPort(to.port)) return -Errno.EINVAL;
      dst = to.addr >>> 0;
      dport = to.port;
    } else {
      if (!this.connected) return -Errno.EDESTADDRREQ;
      if (this.error !== 0) return -this.takeError();
      dst = this.remoteAddr;
      dport = this.remotePort;
    }
    if (dport === 0) return -Errno.EINVAL;
    if (data.length > UDP_MAX_PAYLOAD || data.length > this.sndbuf) return -Errno.EMSGSIZE;
    if (this.layer.isBroadcast(dst) && !this.broadcast) return -Errno.EACCES;
    if (this.boundPort === 0) {
      const r = this.bind(0, 0);
      if (r < 0) return r;
    }
    const src = this.boundAddr !== 0 && !this.layer.isBroadcast(this.boundAddr) ? this.boundAddr : this.layer.ip.sourceFor(dst);
    if (src === null) return -Errno.ENETUNREACH;
    return this.layer.send(src, this.boundPort, dst, dport, data);
  }

  recv(): UdpDatagram | null {
    if (this.head >= this.queue.length) return null;
    const d = this.queue[this.head]!;
    this.queue[this.head] = EMPTY_DATAGRAM;
    this.head++;
    this.queuedBytes -= d.data.length + DATAGRAM_OVERHEAD;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  setOption(name: UdpOptionName, value: number): number {
    if (!Number.isFinite(value)) return -Errno.EINVAL;
    switch (name) {
      case 'BROADCAST':
        this.broadcast = value !== 0;
        return 0;
      case 'RCVBUF':
        this.rcvbuf = clampBuf(value);
        return 0;
      case 'SNDBUF':
        this.sndbuf = clampBuf(value);
        return 0;
      case 'REUSEADDR':
        this.reuseAddr = value !== 0;
        return 0;
      case 'REUSEPORT':
        this.reusePort = value !== 0;
        return 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  getOption(name: UdpOptionName): number {
    switch (name) {
      case 'BROADCAST':
        return this.broadcast ? 1 : 0;
      case 'RCVBUF':
        return this.rcvbuf;
      case 'SNDBUF':
        return this.sndbuf;
      case 'REUSEADDR':
        return this.reuseAddr ? 1 : 0;
      case 'REUSEPORT':
        return this.reusePort ? 1 : 0;
      default:
        return -Errno.ENOPROTOOPT;
    }
  }

  localAddress(): SocketAddress | null {
    return this.boundPort === 0 ? null : { addr: this.boundAddr, port: this.boundPort };
  }

  remoteAddress(): SocketAddress | null {
    return this.connected ? { addr: this.remoteAddr, port: this.remotePort } : null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.boundPort !== 0) this.layer.unbind(this, this.boundPort);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.handlers = {};
  }

  // ───────────────────────── from the layer ─────────────────────────

  /** Whether a datagram from src:sport to local address dst is for this socket. */
  accepts(src: Ipv4Addr, sport: number, dst: Ipv4Addr): boolean {
    if (this.closed) return false;
    if (this.boundAddr !== 0 && this.boundAddr !== dst) return false;
    if (this.connected && (this.remoteAddr !== src || this.remotePort !== sport)) return false;
    return true;
  }

  enqueue(data: Buffer, src: Ipv4Addr, sport: number): void {
    const cost = data.length + DATAGRAM_OVERHEAD;
    if (this.queuedBytes + cost > this.rcvbuf) {
      this.drops++;
      this.layer.counters.inc('rx_queue_full');
      return;
    }
    this.queue.push({ data, from: { addr: src, port: sport } });
    this.queuedBytes += cost;
    this.emit(this.handlers.onReadable);
  }

  icmpError(errno: number): void {
    this.error = errno;
    const h = this.handlers.onError;
    if (h) {
      try {
        h(errno);
      } catch {
        this.layer.counters.inc('handler_exception');
      }
    }
  }

  private emit(h: (() => void) | undefined): void {
    if (!h) return;
    try {
      h();
    } catch {
      this.layer.counters.inc('handler_exception');
    }
  }
}

const EMPTY_DATAGRAM: UdpDatagram = { data: Buffer.alloc(0), from: { addr: 0, port: 0 } };

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function clampBuf(v: number): number {
  return Math.max(2048, Math.min(MAX_BUF, Math.floor(v)));
}
