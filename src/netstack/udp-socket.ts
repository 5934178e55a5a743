/**
 * One UDP socket (the UdpSocket of socket-api.ts): bind/connect and sendTo with per-datagram
 * options over what every datagram socket shares (datagram-socket.ts: queue, options, groups,
 * errors). Errors from ICMP reach connected sockets, and others with IP_RECVERR, as Linux.
 */
import { boundAccepts, IPV6_ANY, type IpAddr, type SocketAddress } from './addr.js';
import { DatagramSocketBase, isGroupAddress, isPort, UDP6_MAX_PAYLOAD, type DatagramPort } from './datagram-socket.js';
import { Errno } from './errno.js';
import type { DatagramSendOptions, UdpSocket } from './socket-api.js';

export { UDP_DEFAULT_RCVBUF, UDP_DEFAULT_SNDBUF } from './datagram-socket.js';

/** What a UDP socket may ask of its layer (udp.ts): the bind table and sending. */
export interface UdpPort extends DatagramPort {
  /** Binds `s` to addr:port (port 0 = ephemeral). Returns the port or a negative errno. */
  bind(s: UdpSocketImpl, addr: IpAddr, port: number): number;
  unbind(s: UdpSocketImpl, port: number): void;
  /** Sends one datagram from src:sport to dst:dport with the socket's IP options. Returns the byte count or a negative errno. */
  send(s: UdpSocketImpl, src: IpAddr, dst: IpAddr, dport: number, data: Uint8Array): number;
}

/** Largest datagram payload over IPv4: 65535 − 20 − 8. */
export const UDP_MAX_PAYLOAD = 65507;
const UDP_HEADER_LEN = 8;

export class UdpSocketImpl extends DatagramSocketBase implements UdpSocket {
  constructor(
    private readonly layer: UdpPort,
    family: 4 | 6 = 4,
  ) {
    super(layer, family);
  }

  bind(appAddr: IpAddr, port: number): number {
    if (this.closed) return -Errno.EBADF;
    if (!isPort(port)) return -Errno.EINVAL;
    const addr = this.wireAddress(appAddr);
    if (typeof addr === 'number' && addr < 0) return addr === -Errno.ENETUNREACH ? -Errno.EINVAL : addr;
    if (this.boundPort !== 0) return -Errno.EINVAL;
    if (addr !== 0 && addr !== IPV6_ANY && !this.layer.ip.isLocalAddress(addr) && !isGroupAddress(this.layer, addr))
      return -Errno.EADDRNOTAVAIL;
    const r = this.layer.bind(this, addr, port);
    if (r < 0) return r;
    this.boundAddr = addr;
    this.boundPort = r;
    return 0;
  }

  connect(addr: IpAddr, port: number): number {
    return this.associate(addr, port, true, true);
  }

  sendTo(data: Uint8Array, to?: SocketAddress, opts?: DatagramSendOptions): number {
    if (this.closed) return -Errno.EBADF;
    if (!(data instanceof Uint8Array)) return -Errno.EINVAL;
    let dst: IpAddr;
    let dport: number;
    if (to) {
      if (!isPort(to.port)) return -Errno.EINVAL;
      dst = this.wireAddress(to.addr);
      if (typeof dst === 'number' && dst < 0) return dst;
      dport = to.port;
    } else {
      if (!this.connected) return -Errno.EDESTADDRREQ;
      const e = this.takeError();
      if (e !== 0) return -e;
      dst = this.remoteAddr;
      dport = this.remotePort;
    }
    if (dport === 0) return -Errno.EINVAL;
    if (data.length > (typeof dst === 'number' ? UDP_MAX_PAYLOAD : UDP6_MAX_PAYLOAD) || data.length > this.sndbuf) return -Errno.EMSGSIZE;
    if (this.layer.isBroadcast(dst) && !this.broadcast) return -Errno.EACCES;
    if (this.boundPort === 0) {
      const r = this.bind(this.family === 4 ? 0 : IPV6_ANY, 0);
      if (r < 0) return r;
    }
    const src = this.prepareSend(dst, UDP_HEADER_LEN + data.length, opts);
    if (typeof src === 'number' && src < 0) return src;
    return this.layer.send(this, src, dst, dport, data);
  }

  localAddress(): SocketAddress | null {
    return this.boundPort === 0 ? null : { addr: this.presented(this.boundAddr), port: this.boundPort };
  }

  remoteAddress(): SocketAddress | null {
    return this.connected ? { addr: this.presented(this.remoteAddr), port: this.remotePort } : null;
  }

  close(): void {
    if (this.closed) return;
    if (this.boundPort !== 0) this.layer.unbind(this, this.boundPort);
    this.closeBase();
  }

  // ───────────────────────── from the layer ─────────────────────────

  /** Whether a datagram from src:sport to local address dst is for this socket. */
  accepts(src: IpAddr, sport: number, dst: IpAddr): boolean {
    if (this.closed) return false;
    if (this.boundAddr !== dst && !boundAccepts(this.boundAddr, this.v6only, dst)) return false;
    if (this.connected && (this.remoteAddr !== src || this.remotePort !== sport)) return false;
    return true;
  }
}
