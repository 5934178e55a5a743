/**
 * The one IP sender the transports see: each call goes to the IPv4 layer or the IPv6 layer by the
 * family of its address (`typeof dst`: a number is IPv4, a string IPv6), so TCP, UDP and the ICMP
 * sockets serve both families through one `IpSender<IpAddr>`. Until an IPv6 layer is attached,
 * IPv6 destinations have no route.
 */
import { IPV6_ANY, type IpAddr, type Ipv4Addr, type Ipv6Addr } from './addr.js';
import { Errno } from './errno.js';
import { IPV6_HEADER_LEN, type IpSender, type IpSendOptions } from './transport.js';

/** IPv6's minimum link MTU (RFC 8200 §5). */
const IPV6_MIN_MTU = 1280;

export class IpDispatcher implements IpSender<IpAddr> {
  /** The IPv6 layer, once the stack has one. */
  v6: IpSender<Ipv6Addr> | null = null;

  constructor(readonly v4: IpSender<Ipv4Addr>) {}

  send(protocol: number, src: IpAddr, dst: IpAddr, packet: Buffer, offset: number, opts?: IpSendOptions): number {
    if (typeof dst === 'number') {
      if (typeof src !== 'number') return -Errno.EAFNOSUPPORT;
      return this.v4.send(protocol, src, dst, packet, offset, opts);
    }
    if (typeof src !== 'string') return -Errno.EAFNOSUPPORT;
    return this.v6 ? this.v6.send(protocol, src, dst, packet, offset, opts) : -Errno.ENETUNREACH;
  }

  sourceFor(dst: IpAddr): IpAddr | null {
    if (typeof dst === 'number') return this.v4.sourceFor(dst);
    return this.v6 ? this.v6.sourceFor(dst) : null;
  }

  maxPayloadFor(dst: IpAddr): number {
    if (typeof dst === 'number') return this.v4.maxPayloadFor(dst);
    return this.v6 ? this.v6.maxPayloadFor(dst) : IPV6_MIN_MTU - IPV6_HEADER_LEN;
  }

  isLocalAddress(addr: IpAddr): boolean {
    if (typeof addr === 'number') return this.v4.isLocalAddress(addr);
    return this.v6 ? this.v6.isLocalAddress(addr) : addr === IPV6_ANY;
  }
}
