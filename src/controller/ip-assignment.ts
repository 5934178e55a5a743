/**
 * IP address management as stock controllers do it: IPv4 and IPv6 auto-assignment from pools
 * (only addresses inside a managed route count), and the two computed IPv6 schemes, rfc4193
 * (fd + network id + 9993 + member address, /88) and 6plane (fc + folded network id + member
 * address + ::1, /40).
 */
import { randomBytes } from 'node:crypto';
import { formatIpv4, formatIpv6 as formatIpv6Text, parseIpv4, parseIpv6 } from '../netstack/index.js';
import type { PoolObject, RouteObject } from './types.js';

export type IpValue = { family: 4; value: number } | { family: 6; value: bigint };
export type Cidr = IpValue & { bits: number };

const MASK128 = (1n << 128n) - 1n;

/** RFC 5952 text (what inet_ntop prints, as stock does). */
export function formatIpv6(v: bigint): string {
  return formatIpv6Text(v.toString(16).padStart(32, '0'));
}

export function parseIp(text: string): IpValue | null {
  if (typeof text !== 'string') return null;
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === null ? null : { family: 6, value: fromBytes([...v6]) };
}

export function formatIp(ip: IpValue): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}

/** `address/bits` with bits within the family's width. */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > (ip.family === 4 ? 32 : 128)) return null;
  return { ...ip, bits };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c)}/${c.bits}`;
}

export function cidrContains(c: Cidr, ip: IpValue): boolean {
  if (c.family !== ip.family) return false;
  if (c.family === 4) {
    const mask = c.bits === 0 ? 0 : (0xffffffff << (32 - c.bits)) >>> 0;
    return (c.value & mask) >>> 0 === ((ip.value as number) & mask) >>> 0;
  }
  const mask = c.bits === 0 ? 0n : (MASK128 << BigInt(128 - c.bits)) & MASK128;
  return (c.value & mask) === ((ip.value as bigint) & mask);
}

/** Longest prefix among the routes that contain `ip`, or -1 when none does. */
export function routedBits(ip: IpValue, routes: readonly RouteObject[]): number {
  let best = -1;
  for (const r of routes) {
    const c = parseCidr(r.target);
    if (c && cidrContains(c, ip) && c.bits > best) best = c.bits;
  }
  return best;
}

function bytesOf(v: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return out;
}

function fromBytes(b: readonly number[]): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x & 0xff);
  return v;
}

/** fd + 8-byte network id + 0x9993 + 5-byte member address, prefix /88. */
export function rfc4193Address(nwid: bigint, member: bigint): { ip: string; bits: 88 } {
  return { ip: formatIpv6(fromBytes([0xfd, ...bytesOf(nwid, 8), 0x99, 0x93, ...bytesOf(member, 5)])), bits: 88 };
}

/** fc + network id folded to 32 bits + 5-byte member address + zeros + 01, prefix /40. */
export function sixPlaneAddress(nwid: bigint, member: bigint): { ip: string; bits: 40 } {
  const folded = (nwid ^ (nwid >> 32n)) & 0xffffffffn;
  return { ip: formatIpv6(fromBytes([0xfc, ...bytesOf(folded, 4), ...bytesOf(member, 5), 0, 0, 0, 0, 0, 0x01])), bits: 40 };
}

/**
 * Picks a free IPv4 address from a pool for a member, as stock does: start at
 * (low 32 bits of the address) mod the range length, walk forward, skip .255 and anything
 * outside every managed route or already taken; give up after 1000 trials.
 */
export function pickIpv4(
  pool: PoolObject,
  routes: readonly RouteObject[],
  member: bigint,
  isTaken: (ip: string) => boolean,
): string | undefined {
  const start = parseIpv4(pool.ipRangeStart);
  const end = parseIpv4(pool.ipRangeEnd);
  if (start === null || end === null || end < start || start === 0) return undefined;
  const len = end - start;
  let counter = Number(member & 0xffffffffn);
  for (let k = start, trial = 0; k <= end && trial < 1000; k++, trial++) {
    const ip = len > 0 ? start + (counter % len) : start;
    counter = (counter + 1) >>> 0;
    if ((ip & 0xff) === 0xff) continue;
    const text = formatIpv4(ip);
    if (routedBits({ family: 4, value: ip }, routes) <= 0) continue;
    if (isTaken(text)) continue;
    return text;
  }
  return undefined;
}

function randomBig(bytes: number): bigint {
  return fromBytes([...randomBytes(bytes)]);
}

/**
 * Picks a free IPv6 address from a pool: the member's address in the low bits when the range is
 * wide enough (as stock does first), otherwise random addresses in the range; only addresses in
 * a managed IPv6 route count.
 */
export function pickIpv6(
  pool: PoolObject,
  routes: readonly RouteObject[],
  member: bigint,
  isTaken: (ip: string) => boolean,
): string | undefined {
  const s = parseIp(pool.ipRangeStart);
  const e = parseIp(pool.ipRangeEnd);
  if (!s || !e || s.family !== 6 || e.family !== 6 || e.value < s.value) return undefined;
  const low64 = (1n << 64n) - 1n;
  const sHi = s.value >> 64n;
  const sLo = s.value & low64;
  const eHi = e.value >> 64n;
  const eLo = e.value & low64;
  for (let trial = 0; trial < 1000; trial++) {
    let hi: bigint;
    let lo: bigint;
    if (trial === 0 && eLo > sLo && eLo - sLo >= 0xffffffffffn) {
      hi = sHi;
      lo = (sLo + member) & low64;
    } else {
      hi = sHi + (eHi > sHi ? randomBig(8) % (eHi - sHi) : 0n);
      lo = (sLo + (eLo > sLo ? randomBig(8) % (eLo - sLo) : 0n)) & low64;
    }
    const v: IpValue = { family: 6, value: (hi << 64n) | lo };
    if (routedBits(v, routes) <= 0) continue;
    const text = formatIp(v);
    if (isTaken(text)) continue;
    return text;
  }
  return undefined;
}
