/**
 * Physical (underlay) UDP endpoints: what a path points at. Kept as text addresses so the same
 * type serves real UDP sockets and the in-memory switchboard.
 */
import { isIP } from 'node:net';

export interface Endpoint {
  family: 4 | 6;
  /** Canonical text: dotted quad, or RFC 5952 lowercase IPv6. */
  ip: string;
  port: number;
}

/** Builds an endpoint from text; returns null when the address or port is not valid. */
export function endpoint(ip: string, port: number): Endpoint | null {
  const fam = isIP(ip);
  if (fam === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (fam === 4) return { family: 4, ip, port };
  return { family: 6, ip: canonicalIpv6(ip), port };
}

/** A stable map key for an endpoint. */
export function endpointKey(ep: Endpoint): string {
  return ep.family === 4 ? `${ep.ip}/${ep.port}` : `[${ep.ip}]/${ep.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.ip === b.ip;
}

export function formatEndpoint(ep: Endpoint): string {
  return endpointKey(ep);
}

/** The 16 bytes of an IPv6 text address (with IPv4-mapped tails), or null. */
export function ipv6Bytes(text: string): Buffer | null {
  if (isIP(text) !== 6) return null;
  let head = text;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    for (const p of v4[1]!.split('.')) tail.push(Number(p));
    head = text.slice(0, text.length - v4[1]!.length) + '0:0';
  }
  const [l, r] = head.includes('::') ? head.split('::') : [head, undefined];
  const left = l ? l.split(':').filter((s) => s.length > 0) : [];
  const right = r !== undefined && r.length > 0 ? r.split(':') : [];
  const groups = r === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}

/** RFC 5952 text of 16 IPv6 bytes. */
export function formatIpv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function canonicalIpv6(text: string): string {
  const b = ipv6Bytes(text);
  return b ? formatIpv6(b) : text.toLowerCase();
}

/** Loopback (127/8, ::1) — stock nodes never use these as paths. */
export function isLoopbackEndpoint(ep: Endpoint): boolean {
  if (ep.family === 4) return ep.ip.startsWith('127.');
  return ep.ip === '::1' || ep.ip.startsWith('::ffff:127.');
}

/** Link-local (169.254/16, fe80::/10), also refused by stock nodes. */
export function isLinkLocalEndpoint(ep: Endpoint): boolean {
  if (ep.family === 4) return ep.ip.startsWith('169.254.');
  return /^fe[89ab][0-9a-f]:/.test(ep.ip);
}

/** Unspecified, multicast or broadcast: never a valid path target. */
export function isUnusableEndpoint(ep: Endpoint): boolean {
  if (ep.family === 4) {
    const first = Number(ep.ip.split('.')[0]);
    return ep.ip === '0.0.0.0' || ep.ip === '255.255.255.255' || (first >= 224 && first <= 239);
  }
  return ep.ip === '::' || ep.ip.startsWith('ff');
}
