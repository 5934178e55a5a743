/**
 * ZeroTier's IPv6 NDP emulation, as stock ZeroTier One 1.14 does it in node/Switch.cpp
 * `onLocalEthernet`: the member addresses of the two computed IPv6 schemes embed the member's
 * ZeroTier address, so a neighbor solicitation for one needs no answer from the network — the
 * MAC follows from the address (MAC(address, nwid)). When the network's config enables it
 * (flag ENABLE_IPV6_NDP_EMULATION) and our stack multicasts a neighbor solicitation whose target
 * lies in one of our assigned schemes, the advertisement is made here and handed back to the
 * stack; the solicitation is not sent.
 *
 *   rfc4193  fdNN:NNNN:NNNN:NNNN:NN99:93DD:DDDD:DDDD / 88   (one /128 per member)
 *   6plane   fcXX:XXXX:XXDD:DDDD:DDDD:####:####:#### / 40   (one /80 per member; XX = the
 *            network id's low 32 bits XOR its high 32 bits)
 *
 * The advertisement is stock's byte for byte: 72 bytes of IPv6 (payload 32, hop limit 255), from
 * the solicited target to the assigned address of the matching scheme (not the solicitation's
 * source), flags solicited + override, and the target link-layer address option. Stock checks
 * only the next header (ICMPv6, no extension headers) and the ICMPv6 type, not the rest.
 */
import { parseIpv6 } from '../../netstack/index.js';
import type { InetAddress } from '../wire/inet-address.js';
import { macIntForMember, writeMac } from './network-mac.js';

/** The IPv6 header, the ICMPv6 header and the target: what stock reads of a solicitation. */
const MIN_SOLICITATION = 40 + 8 + 16;
const ICMPV6 = 0x3a;
const NEIGHBOR_SOLICITATION = 0x87;
const NEIGHBOR_ADVERTISEMENT = 0x88;
/** The advertisement's length: IPv6 header + 32 bytes of ICMPv6 (header, target, option). */
export const EMULATED_ADVERTISEMENT_LENGTH = 72;

export interface EmulatedAdvertisement {
  /** The MAC of the member the target belongs to: the advertisement's Ethernet source. */
  peerMac: bigint;
  /** The IPv6 packet (no Ethernet header). */
  packet: Buffer;
}

/** The low 32 bits of the network id XOR its high 32 bits, as 6plane embeds it. */
function foldedNetworkId(nwid: bigint): number {
  return Number((nwid ^ (nwid >> 32n)) & 0xffffffffn);
}

/** How many leading bytes a target shares with `mine` to embed a member: 11 (rfc4193), 5 (6plane), 0 (neither). */
function schemePrefix(bits: number, mine: Uint8Array, folded: number): number {
  if (bits === 88 && mine[0] === 0xfd && mine[9] === 0x99 && mine[10] === 0x93) return 11;
  if (bits === 40 && mine[0] === 0xfc && readU32(mine, 1) === folded) return 5;
  return 0;
}

/**
 * The member address a solicited target embeds, and our address of that scheme, or null when no
 * assigned address of ours matches the target's prefix (stock walks the static IPs in order and
 * takes the first match).
 */
function embeddedMember(nwid: bigint, staticIps: readonly InetAddress[], target: Uint8Array): { member: bigint; mine: Uint8Array } | null {
  const folded = foldedNetworkId(nwid);
  for (const sip of staticIps) {
    if (sip.family !== 6) continue;
    const mine = parseIpv6(sip.ip);
    if (mine === null) continue;
    const prefix = schemePrefix(sip.port, mine, folded);
    if (prefix === 0) continue;
    if (!sameBytes(target, mine, prefix)) continue;
    let member = 0n;
    for (let i = prefix; i < prefix + 5; i++) member = (member << 8n) | BigInt(target[i]!);
    return { member, mine };
  }
  return null;
}

/**
 * The advertisement answering `ipv6` (an IPv6 packet our stack multicasts on network `nwid`, where
 * we are `self` and the config assigns `staticIps`), or null when stock would send the packet on:
 * not a neighbor solicitation, no scheme of ours matches, or the target is our own (duplicate
 * address detection) or embeds the null address.
 */
export function emulateNeighborAdvertisement(
  nwid: bigint,
  self: bigint,
  staticIps: readonly InetAddress[],
  ipv6: Uint8Array,
): EmulatedAdvertisement | null {
  if (ipv6.length < MIN_SOLICITATION || ipv6[6] !== ICMPV6 || ipv6[40] !== NEIGHBOR_SOLICITATION) return null;
  const target = ipv6.subarray(48, 64);
  const found = embeddedMember(nwid, staticIps, target);
  if (found === null || found.member === 0n || found.member === self) return null;
  const peerMac = macIntForMember(found.member, nwid);
  const adv = Buffer.alloc(EMULATED_ADVERTISEMENT_LENGTH);
  adv[0] = 0x60;
  adv[5] = 0x20; // payload length 32
  adv[6] = ICMPV6;
  adv[7] = 0xff; // hop limit 255, as NDP requires
  adv.set(target, 8);
  adv.set(found.mine, 24);
  adv[40] = NEIGHBOR_ADVERTISEMENT;
  adv[44] = 0x60; // solicited, override
  adv.set(target, 48);
  adv[64] = 0x02; // target link-layer address option, 1 × 8 bytes
  adv[65] = 0x01;
  writeMac(adv, 66, peerMac);
  adv.writeUInt16BE(icmpv6Checksum(adv), 42);
  return { peerMac, packet: adv };
}

/** The ICMPv6 checksum of the advertisement: source, destination, length 32, next header 58, then the 32 bytes. */
function icmpv6Checksum(adv: Buffer): number {
  let sum = 32 + ICMPV6;
  for (let i = 8; i < 40; i += 2) sum += adv.readUInt16BE(i);
  for (let i = 40; i < 72; i += 2) sum += adv.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
