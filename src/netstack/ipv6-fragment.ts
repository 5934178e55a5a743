/**
 * Fragmentation of our own IPv6 datagrams (RFC 8200 §4.5): the payload cut into pieces of at most
 * the path MTU, each a packet of its own with a fragment header (8-byte aligned offsets, M set but
 * on the last). We add no extension headers of our own to large packets, so the unfragmentable
 * part is the fixed header alone.
 */
import type { Ipv6Addr } from './addr.js';
import { HEADROOM, IPV6_HEADER_LEN } from './transport.js';
import { emitFragmentHeader, emitIpv6Header, FRAGMENT_HEADER_LEN, NH_FRAGMENT } from './wire/ipv6.js';

export interface FragmentFields {
  protocol: number;
  src: Ipv6Addr;
  dst: Ipv6Addr;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** The fragment identification (random per datagram, RFC 7739). */
  id: number;
}

/**
 * The fragments of packet[offset, end) for a path MTU of `mtu` (at least 1280): buffers with
 * HEADROOM − 40 bytes of headroom before each fragment's IPv6 header (as a transport's packet).
 */
export function fragmentDatagram(packet: Buffer, offset: number, mtu: number, f: FragmentFields): Buffer[] {
  const payloadLen = packet.length - offset;
  const maxData = (mtu - IPV6_HEADER_LEN - FRAGMENT_HEADER_LEN) & ~7;
  const out: Buffer[] = [];
  for (let at = 0; at < payloadLen; at += maxData) {
    const n = Math.min(maxData, payloadLen - at);
    const more = at + n < payloadLen;
    const b = Buffer.allocUnsafe(HEADROOM + FRAGMENT_HEADER_LEN + n);
    packet.copy(b, HEADROOM + FRAGMENT_HEADER_LEN, offset + at, offset + at + n);
    emitIpv6Header(
      b,
      HEADROOM - IPV6_HEADER_LEN,
      f.trafficClass,
      f.flowLabel,
      FRAGMENT_HEADER_LEN + n,
      NH_FRAGMENT,
      f.hopLimit,
      f.src,
      f.dst,
    );
    emitFragmentHeader(b, HEADROOM, f.protocol, at, more, f.id);
    out.push(b);
  }
  return out;
}
