/**
 * The gateway's sockets from foreign addresses (IP_TRANSPARENT, as a Linux proxy uses it): a TCP
 * connection or a connected UDP socket whose local end is a client's own address and port, so the
 * member it reaches sees the real client. Its flow is registered in TransparentFlows so that the
 * replies are let in; `release()` takes the registration out once the socket is done.
 * IPv4 only for now. Reached only through NetStack.transparentOrigin(), which netcon never calls.
 */
import type { Ipv4Addr } from './addr.js';
import { Errno } from './errno.js';
import type { TcpSocket, UdpSocket } from './socket-api.js';
import type { TransparentOrigin, TransparentSocket } from './stack-api.js';
import type { TcpConnection } from './tcp/tcp-connection.js';
import type { TcpLayer } from './tcp/tcp-layer.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './transport.js';
import type { TransparentFlows } from './transparent-flows.js';
import type { UdpLayer } from './udp.js';
import type { UdpSocketImpl } from './udp-socket.js';

function validEnd(addr: Ipv4Addr, port: number): boolean {
  return Number.isInteger(addr) && addr > 0 && addr < 0xffffffff && Number.isInteger(port) && port > 0 && port <= 65535;
}

export class StackTransparentOrigin implements TransparentOrigin {
  constructor(
    private readonly tcp: TcpLayer,
    private readonly udp: UdpLayer,
    private readonly flows: TransparentFlows,
  ) {}

  tcpConnect(from: Ipv4Addr, fromPort: number, to: Ipv4Addr, toPort: number): TransparentSocket<TcpSocket> | number {
    if (!validEnd(from, fromPort) || !validEnd(to, toPort)) return -Errno.EINVAL;
    const c = this.tcp.socket(4) as TcpConnection;
    const b = this.tcp.bindForeign(c, from >>> 0, fromPort);
    if (b < 0) {
      c.close();
      return b;
    }
    const release = this.flows.add(IPPROTO_TCP, from, fromPort, to, toPort);
    const r = c.connect(to >>> 0, toPort);
    if (r !== -Errno.EINPROGRESS && r !== 0) {
      release();
      c.abort();
      return r;
    }
    return { socket: c, release };
  }

  udpConnect(from: Ipv4Addr, fromPort: number, to: Ipv4Addr, toPort: number): TransparentSocket<UdpSocket> | number {
    if (!validEnd(from, fromPort) || !validEnd(to, toPort)) return -Errno.EINVAL;
    const s = this.udp.socket(4) as UdpSocketImpl;
    const port = this.udp.bind(s, from >>> 0, fromPort);
    if (port < 0) {
      s.close();
      return port;
    }
    s.boundAddr = from >>> 0;
    s.boundPort = port;
    const release = this.flows.add(IPPROTO_UDP, from, fromPort, to, toPort);
    const r = s.connect(to >>> 0, toPort);
    if (r < 0) {
      release();
      s.close();
      return r;
    }
    return { socket: s, release };
  }
}
