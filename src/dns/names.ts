/**
 * Name helpers: domains, reverse-lookup names (RFC 1035 §3.5
 * in-addr.arpa, RFC 3596 §2.5 ip6.arpa), and address text.
 */
import { parseIpv4, parseIpv6 } from '../netstack/index.js';
import { canonicalName } from './message.js';

/** An address as the resolver hands it out: 4 or 16 bytes in network order. */
export interface NameAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** A DNS domain as configured ("Example.COM." → "example.com"); '' when none. */
export function normalDomain(domain: string): string {
  return canonicalName(domain.trim().replace(/^\.+|\.+$/g, ''));
}

export function reverseName(a: NameAddress): string {
  if (a.family === 4) return `${a.bytes[3]}.${a.bytes[2]}.${a.bytes[1]}.${a.bytes[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    const b = a.bytes[i]!;
    nibbles.push((b & 0xf).toString(16), (b >>> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The address a reverse name stands for, or null when it is not a whole one. */
export function addressOfReverseName(name: string): NameAddress | null {
  const n = canonicalName(name);
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) < 256)) return null;
    return { family: 4, bytes: Uint8Array.from(parts.reverse().map(Number)) };
  }
  if (n.endsWith('.ip6.arpa')) {
    const parts = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return null;
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = (parseInt(parts[31 - 2 * i]!, 16) << 4) | parseInt(parts[30 - 2 * i]!, 16);
    return { family: 6, bytes };
  }
  return null;
}

export function isReverseName(name: string): boolean {
  const n = canonicalName(name);
  return n === 'in-addr.arpa' || n === 'ip6.arpa' || n.endsWith('.in-addr.arpa') || n.endsWith('.ip6.arpa');
}

export function addressKey(a: NameAddress): string {
  return `${a.family}:${Buffer.from(a.bytes).toString('hex')}`;
}

export function sameAddress(a: NameAddress, b: NameAddress): boolean {
  return a.family === b.family && Buffer.from(a.bytes).equals(Buffer.from(b.bytes));
}

/** Dotted-quad or colon text → bytes; null when it is neither. */
export function parseAddressText(text: string): NameAddress | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 4, bytes: Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff) };
  const v6 = parseIpv6(text);
  return v6 === null ? null : { family: 6, bytes: v6 };
}
