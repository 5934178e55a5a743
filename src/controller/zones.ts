/**
 * Zones: private controller networks made by `ztnc-cli zone create`, one subnet each, optionally
 * behind a gateway member that holds the subnet's lowest address and is the default route. A
 * zone is an ordinary network whose name is `zone:<name>`; everything else about it (subnet,
 * gateway) is read back from its routes, so the controller keeps no record of its own.
 *
 * Pure helpers: zone names, the host's routing tables (`/proc/net/route`, `/proc/net/ipv6_route`
 * text) as address ranges, the choice of a free subnet (the first free /24 of the private ranges,
 * in a fixed order, so the choice is deterministic and testable), the check of a given subnet,
 * and the network body a zone is created with.
 */
import { formatCidr, formatIp, parseCidr, type Cidr, type IpValue } from './ip-assignment.js';
import type { PoolObject, RouteObject } from './types.js';

/** A zone's network is named this prefix plus the zone's name. */
export const ZONE_NAME_PREFIX = 'zone:';
/** A DNS label in lower case: the zone's name may become part of member names. */
const ZONE_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Automatic subnets are this long. */
export const ZONE_AUTO_BITS = 24;
/**
 * Where automatic subnets come from, walked in order in /24 steps. 10.100.0.0/16 first: away from
 * 10.0.x and 10.1.x that home routers and VPNs favour, and from ZeroTier's own default pools
 * (10.147.17.0/24, 10.241.x, 10.242.x, …); then the rest of the RFC 1918 space.
 */
export const ZONE_SUBNET_RANGES: readonly string[] = ['10.100.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** A problem with a zone's name or subnet, said in one line. */
export class ZoneError extends Error {
  override readonly name = 'ZoneError';
}

/** An address range something already uses: a host route, another zone, another network's route or pool. */
export interface AddressClaim {
  family: 4 | 6;
  first: bigint;
  last: bigint;
  /** What holds it, for error messages: `zone bz1 (10.100.0.0/24)`, `host route 192.0.2.0/24 dev eth0`. */
  owner: string;
}

/** Why a zone name is refused, or null when it is fine. */
export function zoneNameProblem(name: string): string | null {
  if (ZONE_NAME_PATTERN.test(name)) return null;
  return `invalid zone name ${JSON.stringify(name)}: use lower-case letters, digits and '-' (1-63, not starting or ending with '-')`;
}

export function zoneNetworkName(zone: string): string {
  return `${ZONE_NAME_PREFIX}${zone}`;
}

/** The zone a network's name stands for, or null for a network that is not a zone. */
export function zoneNameOf(networkName: unknown): string | null {
  if (typeof networkName !== 'string' || !networkName.startsWith(ZONE_NAME_PREFIX)) return null;
  const zone = networkName.slice(ZONE_NAME_PREFIX.length);
  return zoneNameProblem(zone) === null ? zone : null;
}

function width(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/** The CIDR with its host bits cleared. */
export function networkOfCidr(c: Cidr): Cidr {
  const [first] = cidrRange(c);
  return (c.family === 4 ? { family: 4, value: Number(first), bits: c.bits } : { family: 6, value: first, bits: c.bits }) as Cidr;
}

/** First and last address of a CIDR, as integers. */
export function cidrRange(c: Cidr): [bigint, bigint] {
  const w = width(c.family);
  const size = 1n << BigInt(w - c.bits);
  const value = BigInt(c.value);
  const first = value - (value % size);
  return [first, first + size - 1n];
}

function ipValue(family: 4 | 6, v: bigint): IpValue {
  return family === 4 ? { family: 4, value: Number(v) } : { family: 6, value: v };
}

export function cidrClaim(c: Cidr, owner: string): AddressClaim {
  const [first, last] = cidrRange(c);
  return { family: c.family, first, last, owner };
}

function overlaps(a: { family: 4 | 6; first: bigint; last: bigint }, b: AddressClaim): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

function isPrivate(c: Cidr): boolean {
  const [first, last] = cidrRange(c);
  return PRIVATE_RANGES.some((text) => {
    const p = parseCidr(text)!;
    if (p.family !== c.family) return false;
    const [pf, pl] = cidrRange(p);
    return first >= pf && last <= pl;
  });
}

/** The route table's hex fields are the kernel's bytes printed as a little-endian word. */
function ipv4FromProcHex(hex: string): number | null {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return null;
  const le = parseInt(hex, 16);
  return (((le & 0xff) << 24) | (((le >>> 8) & 0xff) << 16) | (((le >>> 16) & 0xff) << 8) | ((le >>> 24) & 0xff)) >>> 0;
}

function prefixBits(mask: number): number | null {
  let bits = 0;
  while (bits < 32 && ((mask << bits) & 0x80000000) !== 0) bits++;
  return ((mask << bits) | 0) === 0 || bits === 32 ? bits : null;
}

/**
 * The host's IPv4 routes from `/proc/net/route` text, as claims. Default routes (/0) are left
 * out: they say where everything else goes, not which addresses are in use. Lines that do not
 * parse are skipped.
 */
export function parseIpv4Routes(text: string): AddressClaim[] {
  const out: AddressClaim[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = ipv4FromProcHex(f[1]!);
    const mask = ipv4FromProcHex(f[7]!);
    const bits = mask === null ? null : prefixBits(mask);
    if (dest === null || bits === null || bits === 0) continue;
    const c: Cidr = { family: 4, value: dest, bits };
    out.push(cidrClaim(c, `host route ${formatCidr(networkOfCidr(c))} dev ${f[0]}`));
  }
  return out;
}

/** The host's IPv6 routes from `/proc/net/ipv6_route` text, as claims (default routes left out). */
export function parseIpv6Routes(text: string): AddressClaim[] {
  const out: AddressClaim[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-fA-F]{32}$/.test(f[0]!) || !/^[0-9a-fA-F]{2}$/.test(f[1]!)) continue;
    const bits = parseInt(f[1]!, 16);
    if (bits === 0 || bits > 128) continue;
    const c: Cidr = { family: 6, value: BigInt(`0x${f[0]}`), bits };
    out.push(cidrClaim(c, `host route ${formatCidr(networkOfCidr(c))} dev ${f[9]}`));
  }
  return out;
}

/** A controller network as the JSON API answers it, the fields zones read. */
export interface NetworkView {
  id: string;
  name: string;
  routes: readonly RouteObject[];
  ipAssignmentPools: readonly PoolObject[];
}

/** What a network's routes and pools hold (default routes left out), named after the network or zone. */
export function networkClaims(n: NetworkView): AddressClaim[] {
  const zone = zoneNameOf(n.name);
  const out: AddressClaim[] = [];
  for (const r of n.routes) {
    const c = parseCidr(r.target);
    if (!c || c.bits === 0) continue;
    const target = formatCidr(networkOfCidr(c));
    out.push(cidrClaim(c, zone !== null ? `zone ${zone} (${target})` : `network ${n.id}${n.name ? ` "${n.name}"` : ''} (route ${target})`));
  }
  for (const p of n.ipAssignmentPools) {
    const s = parseCidr(`${p.ipRangeStart}/${p.ipRangeStart.includes(':') ? 128 : 32}`);
    const e = parseCidr(`${p.ipRangeEnd}/${p.ipRangeEnd.includes(':') ? 128 : 32}`);
    if (!s || !e || s.family !== e.family || BigInt(e.value) < BigInt(s.value)) continue;
    const range = `${p.ipRangeStart}-${p.ipRangeEnd}`;
    const owner = zone !== null ? `zone ${zone} (pool ${range})` : `network ${n.id}${n.name ? ` "${n.name}"` : ''} (pool ${range})`;
    out.push({ family: s.family, first: BigInt(s.value), last: BigInt(e.value), owner });
  }
  return out;
}

/**
 * The first /`bits` block of `ranges` (in order) that no claim overlaps. Throws ZoneError when
 * every block is taken.
 */
export function chooseZoneSubnet(
  claims: readonly AddressClaim[],
  ranges: readonly string[] = ZONE_SUBNET_RANGES,
  bits = ZONE_AUTO_BITS,
): Cidr {
  for (const text of ranges) {
    const r = parseCidr(text);
    if (!r || r.bits > bits) throw new Error(`zone range ${text} is not a CIDR of /${bits} or wider`);
    const [first, last] = cidrRange(r);
    const step = 1n << BigInt(width(r.family) - bits);
    const relevant = claims.filter((c) => overlaps({ family: r.family, first, last }, c));
    for (let at = first; at <= last; at += step) {
      const block = { family: r.family, first: at, last: at + step - 1n };
      const clash = relevant.find((c) => overlaps(block, c));
      if (!clash) return { ...ipValue(r.family, at), bits } as Cidr;
      // skip past the claim at once: a /8 host route would otherwise cost 65536 steps
      if (clash.last > at) at = clash.last - ((clash.last - first) % step);
    }
  }
  throw new ZoneError(`no free /${bits} subnet left in ${ranges.join(', ')}: every one overlaps a zone, a network or a host route`);
}

/**
 * A subnet given with `--subnet`: a private (RFC 1918 or fc00::/7) CIDR with room for a gateway
 * and members (IPv4 /8 to /30, IPv6 /8 to /126), host bits cleared, that overlaps no claim.
 * Throws ZoneError naming what it clashes with.
 */
export function checkZoneSubnet(text: string, claims: readonly AddressClaim[]): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new ZoneError(`--subnet: ${JSON.stringify(text)} is not an IPv4 or IPv6 CIDR (like 10.100.7.0/24) or "auto"`);
  const c = networkOfCidr(parsed);
  const maxBits = c.family === 4 ? 30 : 126;
  if (c.bits < 8 || c.bits > maxBits) throw new ZoneError(`--subnet: ${text}: the prefix must be /8 to /${maxBits}`);
  if (!isPrivate(c)) {
    throw new ZoneError(`--subnet: ${text} is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7)`);
  }
  const [first, last] = cidrRange(c);
  const clash = claims.find((k) => overlaps({ family: c.family, first, last }, k));
  if (clash) throw new ZoneError(`--subnet: ${formatCidr(c)} overlaps ${clash.owner}`);
  return c;
}

/** The gateway's address in a zone: the subnet's lowest usable one (.1, ::1). */
export function zoneGatewayIp(subnet: Cidr): string {
  return formatIp(ipValue(subnet.family, cidrRange(subnet)[0] + 1n));
}

/**
 * The body `POST /controller/network` gets for a zone: private, the subnet routed, a pool of the
 * subnet's addresses but the lowest (kept for the gateway, now or later) and the highest IPv4
 * one (broadcast), and with a gateway the default route (0.0.0.0/0 or ::/0) via its address.
 */
export function zoneNetworkBody(zone: string, subnet: Cidr, gatewayIp: string | null): Record<string, unknown> {
  const [first, last] = cidrRange(subnet);
  const poolLast = subnet.family === 4 ? last - 1n : last;
  const routes: RouteObject[] = [{ target: formatCidr(subnet), via: null }];
  if (gatewayIp !== null) routes.push({ target: subnet.family === 4 ? '0.0.0.0/0' : '::/0', via: gatewayIp });
  const body: Record<string, unknown> = {
    name: zoneNetworkName(zone),
    private: true,
    routes,
    ipAssignmentPools: [
      { ipRangeStart: formatIp(ipValue(subnet.family, first + 2n)), ipRangeEnd: formatIp(ipValue(subnet.family, poolLast)) },
    ],
  };
  if (subnet.family === 4) body.v4AssignMode = { zt: true };
  else body.v6AssignMode = { zt: true, rfc4193: false, '6plane': false };
  return body;
}

/** A zone read back from its network: the subnet is its first route without a gateway, the gateway the default route's. */
export interface ZoneInfo {
  zone: string;
  nwid: string;
  subnet: string | null;
  gatewayIp: string | null;
}

export function zoneInfoOf(n: NetworkView): ZoneInfo | null {
  const zone = zoneNameOf(n.name);
  if (zone === null) return null;
  const subnet = n.routes.find((r) => r.via === null && parseCidr(r.target)?.bits !== 0);
  const gateway = n.routes.find((r) => r.via !== null && parseCidr(r.target)?.bits === 0);
  return { zone, nwid: n.id, subnet: subnet?.target ?? null, gatewayIp: gateway?.via ?? null };
}
