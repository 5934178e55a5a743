/** IPv4 addresses are unsigned 32-bit numbers in host order throughout the stack. */
export type Ipv4Addr = number;

export const IPV4_ANY: Ipv4Addr = 0;
export const IPV4_BROADCAST: Ipv4Addr = 0xffffffff;
export const IPV4_LOOPBACK: Ipv4Addr = 0x7f000001;

export interface SocketAddress {
  addr: Ipv4Addr;
  port: number;
}

/** Parses dotted-quad text; returns null when it is not exactly four decimal octets. */
export function parseIpv4(text: string): Ipv4Addr | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/**
 * Parses IPv6 text (RFC 4291 §2.2: groups, one `::`, an IPv4 tail such as `::ffff:1.2.3.4`) into
 * its 16 bytes, network order; null when it is not one.
 */
export function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return null;
  let head = text;
  let v4Tail: number | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    v4Tail = parseIpv4(text.slice(lastColon + 1));
    if (v4Tail === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  // split() always yields at least one piece, and two when there is one '::'.
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (v4Tail !== null) new DataView(bytes.buffer).setUint32(12, v4Tail);
  return bytes;
}

export function formatIpv4(addr: Ipv4Addr): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Netmask for a prefix length 0..32. */
export function prefixMask(prefixLen: number): number {
  return prefixLen <= 0 ? 0 : prefixLen >= 32 ? 0xffffffff : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function inSubnet(addr: Ipv4Addr, net: Ipv4Addr, prefixLen: number): boolean {
  const m = prefixMask(prefixLen);
  return (addr & m) >>> 0 === (net & m) >>> 0;
}

export function isLoopback(addr: Ipv4Addr): boolean {
  return addr >>> 24 === 127;
}

export function isMulticast(addr: Ipv4Addr): boolean {
  return addr >>> 28 === 0xe;
}

/** MAC addresses are 6-byte buffers; text form is lowercase colon-separated. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(text: string): Buffer | null {
  const m = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/i.exec(text);
  if (!m) return null;
  return Buffer.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
}
