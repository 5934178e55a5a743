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
