/**
 * ZeroTier's serialized InetAddress: type 0 (nil), 4 (IPv4 + port), 6 (IPv6 + port); types 1–3
 * are reserved forms stock nodes skip. In static IPs and routes the port field carries the prefix
 * length.
 */
import { formatIpv6, ipv6Bytes } from '../peer/endpoint.js';
import type { Reader, Writer } from './bytes.js';

export interface InetAddress {
  family: 4 | 6;
  /** Dotted quad or RFC 5952 text. */
  ip: string;
  /** Port, or prefix length where the address names a network. */
  port: number;
}

export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Four bytes of dotted-quad text, or null. */
export function ipv4Bytes(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

/** Reads one address; null for nil and for the reserved types (which are skipped). */
export function readInetAddress(r: Reader): InetAddress | null {
  const type = r.u8('address type');
  switch (type) {
    case 0:
      return null;
    case 1:
    case 2:
      r.bytes(6, 'reserved address');
      return null;
    case 3:
      r.bytes(r.u16('reserved address length'), 'reserved address');
      return null;
    case 4: {
      const ip = r.bytes(4, 'IPv4 address');
      const port = r.u16('port');
      return r.failed ? null : { family: 4, ip: formatIpv4(ip), port };
    }
    case 6: {
      const ip = r.bytes(16, 'IPv6 address');
      const port = r.u16('port');
      return r.failed ? null : { family: 6, ip: formatIpv6(ip), port };
    }
    default:
      r.fail(`unknown address type ${type}`);
      return null;
  }
}

/**
 * Writes one address (nil when null). An address whose text is not valid is written as nil, so
 * the output stays well-formed, and false is returned.
 */
export function writeInetAddress(w: Writer, a: InetAddress | null): boolean {
  if (a === null) {
    w.u8(0);
    return true;
  }
  const bytes = a.family === 4 ? ipv4Bytes(a.ip) : ipv6Bytes(a.ip);
  if (!bytes) {
    w.u8(0);
    return false;
  }
  w.u8(a.family === 4 ? 4 : 6)
    .bytes(bytes)
    .u16(a.port);
  return true;
}

export function formatInetAddress(a: InetAddress | null): string {
  if (!a) return 'nil';
  return `${a.ip}/${a.port}`;
}
