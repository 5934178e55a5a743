/**
 * Neighbor discovery message codec (RFC 4861 §4): router solicitation and advertisement, neighbor
 * solicitation and advertisement, with their source/target link-layer address options (§4.6.1,
 * Ethernet: 6 bytes), the RA's MTU option (§4.6.4) and prefix information (§4.6.2). Zero-copy:
 * link-layer addresses are views into the message. `parseNdp` applies the checks of §6.1 and
 * §7.1 that need only the message and its IP header's addresses and hop limit, and returns 0 or
 * a negative `NdpParseError`; it never throws. The emitters write the ICMPv6 checksum.
 */
import { isLinkLocal6 } from '../addr.js';
import {
  setIcmpv6Checksum,
  ICMPV6_NEIGHBOR_ADVERT,
  ICMPV6_NEIGHBOR_SOLICIT,
  ICMPV6_ROUTER_ADVERT,
  ICMPV6_ROUTER_SOLICIT,
} from './icmpv6.js';

export const NDP_OPT_SOURCE_LLADDR = 1;
export const NDP_OPT_TARGET_LLADDR = 2;
export const NDP_OPT_PREFIX_INFO = 3;
export const NDP_OPT_MTU = 5;

// neighbor advertisement flags (byte 4)
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;

/** RFC 4861 §6.1/§7.1: ND messages arrive with hop limit 255 (never forwarded). */
export const NDP_HOP_LIMIT = 255;

export const NS_LEN = 24;
export const NA_LEN = 24;
export const RS_LEN = 8;
export const RA_LEN = 16;
/** One Ethernet link-layer address option. */
export const LLADDR_OPT_LEN = 8;

export const enum NdpParseError {
  Ok = 0,
  Truncated = -1,
  BadHopLimit = -2,
  BadCode = -3,
  BadOption = -4,
  MulticastTarget = -5,
  /** §7.1: an NS from the unspecified address must go to a solicited-node group and carry no SLLA. */
  BadUnspecifiedSource = -6,
  /** §7.1.2: a solicited NA sent to a multicast group. */
  SolicitedToMulticast = -7,
  /** §6.1.2: an RA from other than a link-local address. */
  BadRouterSource = -8,
  NotNdp = -9,
}

export function ndpParseErrorName(e: number): string {
  switch (e) {
    case NdpParseError.Truncated:
      return 'rx_nd_truncated';
    case NdpParseError.BadHopLimit:
      return 'rx_nd_bad_hop_limit';
    case NdpParseError.BadCode:
      return 'rx_nd_bad_code';
    case NdpParseError.BadOption:
      return 'rx_nd_bad_option';
    case NdpParseError.MulticastTarget:
      return 'rx_nd_multicast_target';
    case NdpParseError.BadUnspecifiedSource:
      return 'rx_nd_bad_unspecified_source';
    case NdpParseError.SolicitedToMulticast:
      return 'rx_nd_solicited_to_multicast';
    case NdpParseError.BadRouterSource:
      return 'rx_nd_bad_router_source';
    default:
      return 'rx_nd_error';
  }
}

/** One parsed ND message. Reused across packets: copy what you keep. */
export class NdpMessage {
  type = 0;
  /** NS/NA: the target address (32 hex digits); '' for RS/RA. */
  target = '';
  /** NA flags (R, S, O); RA: M/O flags byte. */
  flags = 0;
  /** Source link-layer address option (a view), or null. */
  sourceLinkAddr: Buffer | null = null;
  /** Target link-layer address option (a view), or null. */
  targetLinkAddr: Buffer | null = null;
  // router advertisement
  curHopLimit = 0;
  routerLifetime = 0;
  reachableTime = 0;
  retransTimer = 0;
  /** The MTU option's value, or 0. */
  mtu = 0;

  get router(): boolean {
    return (this.flags & NA_FLAG_ROUTER) !== 0;
  }
  get solicited(): boolean {
    return (this.flags & NA_FLAG_SOLICITED) !== 0;
  }
  get override(): boolean {
    return (this.flags & NA_FLAG_OVERRIDE) !== 0;
  }
}

const UNSPECIFIED = '0'.repeat(32);

/**
 * Parses the ND message `msg` (the whole ICMPv6 message, checksum already checked) carried by a
 * packet from `src` to `dst` with `hopLimit`.
 */
export function parseNdp(msg: Buffer, src: string, dst: string, hopLimit: number, out: NdpMessage): number {
  if (msg.length < 4) return NdpParseError.Truncated;
  const type = msg[0]!;
  let fixed: number;
  switch (type) {
    case ICMPV6_ROUTER_SOLICIT:
      fixed = RS_LEN;
      break;
    case ICMPV6_ROUTER_ADVERT:
      fixed = RA_LEN;
      break;
    case ICMPV6_NEIGHBOR_SOLICIT:
      fixed = NS_LEN;
      break;
    case ICMPV6_NEIGHBOR_ADVERT:
      fixed = NA_LEN;
      break;
    default:
      return NdpParseError.NotNdp;
  }
  if (hopLimit !== NDP_HOP_LIMIT) return NdpParseError.BadHopLimit;
  if (msg[1] !== 0) return NdpParseError.BadCode;
  if (msg.length < fixed) return NdpParseError.Truncated;
  out.type = type;
  out.flags = 0;
  out.target = '';
  out.sourceLinkAddr = null;
  out.targetLinkAddr = null;
  out.curHopLimit = out.routerLifetime = out.reachableTime = out.retransTimer = out.mtu = 0;
  if (type === ICMPV6_NEIGHBOR_SOLICIT || type === ICMPV6_NEIGHBOR_ADVERT) {
    out.target = msg.toString('hex', 8, 24);
    if (out.target.startsWith('ff')) return NdpParseError.MulticastTarget;
    if (type === ICMPV6_NEIGHBOR_ADVERT) out.flags = msg[4]! & 0xe0;
  } else if (type === ICMPV6_ROUTER_ADVERT) {
    if (!isLinkLocal6(src)) return NdpParseError.BadRouterSource;
    out.curHopLimit = msg[4]!;
    out.flags = msg[5]!;
    out.routerLifetime = msg.readUInt16BE(6);
    out.reachableTime = msg.readUInt32BE(8);
    out.retransTimer = msg.readUInt32BE(12);
  }
  // options (§4.6): a zero length is invalid and drops the whole message
  for (let at = fixed; at < msg.length;) {
    if (at + 2 > msg.length) return NdpParseError.BadOption;
    const olen = msg[at + 1]! << 3;
    if (olen === 0 || at + olen > msg.length) return NdpParseError.BadOption;
    const otype = msg[at]!;
    if (otype === NDP_OPT_SOURCE_LLADDR && olen >= 8) out.sourceLinkAddr = msg.subarray(at + 2, at + 8);
    else if (otype === NDP_OPT_TARGET_LLADDR && olen >= 8) out.targetLinkAddr = msg.subarray(at + 2, at + 8);
    else if (otype === NDP_OPT_MTU && olen === 8 && type === ICMPV6_ROUTER_ADVERT) out.mtu = msg.readUInt32BE(at + 4);
    at += olen;
  }
  if (src === UNSPECIFIED) {
    if (type === ICMPV6_NEIGHBOR_SOLICIT && !dst.startsWith('ff0200000000000000000001ff')) return NdpParseError.BadUnspecifiedSource;
    if (out.sourceLinkAddr !== null) return NdpParseError.BadUnspecifiedSource;
  }
  if (type === ICMPV6_NEIGHBOR_ADVERT && out.solicited && dst.startsWith('ff')) return NdpParseError.SolicitedToMulticast;
  return NdpParseError.Ok;
}

function writeLinkAddrOption(buf: Buffer, off: number, type: number, mac: Uint8Array): void {
  buf[off] = type;
  buf[off + 1] = 1;
  for (let i = 0; i < 6; i++) buf[off + 2 + i] = mac[i]!;
}

/**
 * A neighbor solicitation for `target` at buf[off...], with a source link-layer address option
 * unless `sourceMac` is null (DAD probes from the unspecified address carry none). Returns its length.
 */
export function emitNeighborSolicitation(
  buf: Buffer,
  off: number,
  target: string,
  sourceMac: Uint8Array | null,
  src: string,
  dst: string,
): number {
  const len = NS_LEN + (sourceMac ? LLADDR_OPT_LEN : 0);
  buf[off] = ICMPV6_NEIGHBOR_SOLICIT;
  buf[off + 1] = 0;
  buf.fill(0, off + 4, off + 8);
  buf.write(target, off + 8, 16, 'hex');
  if (sourceMac) writeLinkAddrOption(buf, off + NS_LEN, NDP_OPT_SOURCE_LLADDR, sourceMac);
  setIcmpv6Checksum(buf, off, off + len, src, dst);
  return len;
}

/** A neighbor advertisement for `target` with `flags` (NA_FLAG_*) and a target link-layer address option. Returns its length. */
export function emitNeighborAdvertisement(
  buf: Buffer,
  off: number,
  target: string,
  flags: number,
  targetMac: Uint8Array | null,
  src: string,
  dst: string,
): number {
  const len = NA_LEN + (targetMac ? LLADDR_OPT_LEN : 0);
  buf[off] = ICMPV6_NEIGHBOR_ADVERT;
  buf[off + 1] = 0;
  buf[off + 4] = flags & 0xe0;
  buf.fill(0, off + 5, off + 8);
  buf.write(target, off + 8, 16, 'hex');
  if (targetMac) writeLinkAddrOption(buf, off + NA_LEN, NDP_OPT_TARGET_LLADDR, targetMac);
  setIcmpv6Checksum(buf, off, off + len, src, dst);
  return len;
}

/** A router solicitation (with a source link-layer address option unless null). Returns its length. */
export function emitRouterSolicitation(buf: Buffer, off: number, sourceMac: Uint8Array | null, src: string, dst: string): number {
  const len = RS_LEN + (sourceMac ? LLADDR_OPT_LEN : 0);
  buf[off] = ICMPV6_ROUTER_SOLICIT;
  buf[off + 1] = 0;
  buf.fill(0, off + 4, off + 8);
  if (sourceMac) writeLinkAddrOption(buf, off + RS_LEN, NDP_OPT_SOURCE_LLADDR, sourceMac);
  setIcmpv6Checksum(buf, off, off + len, src, dst);
  return len;
}

export interface RouterAdvertisementFields {
  curHopLimit: number;
  flags: number;
  routerLifetime: number;
  reachableTime: number;
  retransTimer: number;
  sourceMac: Uint8Array | null;
  /** 0 = no MTU option. */
  mtu: number;
}

/** Bytes a router advertisement with these options takes. */
export function routerAdvertisementLen(f: RouterAdvertisementFields): number {
  return RA_LEN + (f.sourceMac ? LLADDR_OPT_LEN : 0) + (f.mtu > 0 ? 8 : 0);
}

/** A router advertisement at buf[off...] (no prefix options: addresses come from the network's configuration). Returns its length. */
export function emitRouterAdvertisement(buf: Buffer, off: number, f: RouterAdvertisementFields, src: string, dst: string): number {
  const len = routerAdvertisementLen(f);
  buf[off] = ICMPV6_ROUTER_ADVERT;
  buf[off + 1] = 0;
  buf[off + 4] = f.curHopLimit;
  buf[off + 5] = f.flags;
  buf.writeUInt16BE(f.routerLifetime, off + 6);
  buf.writeUInt32BE(f.reachableTime >>> 0, off + 8);
  buf.writeUInt32BE(f.retransTimer >>> 0, off + 12);
  let at = off + RA_LEN;
  if (f.sourceMac) {
    writeLinkAddrOption(buf, at, NDP_OPT_SOURCE_LLADDR, f.sourceMac);
    at += LLADDR_OPT_LEN;
  }
  if (f.mtu > 0) {
    buf[at] = NDP_OPT_MTU;
    buf[at + 1] = 1;
    buf.writeUInt16BE(0, at + 2);
    buf.writeUInt32BE(f.mtu >>> 0, at + 4);
  }
  setIcmpv6Checksum(buf, off, off + len, src, dst);
  return len;
}
