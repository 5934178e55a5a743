/** IPv4 addresses are unsigned 32-bit numbers in host order throughout the stack. */
export type Ipv4Addr = number;

export const IPV4_ANY: Ipv4Addr = 0;
export const IPV4_BROADCAST: Ipv4Addr = 0xffffffff;
export const IPV4_LOOPBACK: Ipv4Addr = 0x7f000001;

/**
 * A socket's address: IPv4 (number) on family-4 sockets, IPv6 (string, v4-mapped for IPv4 traffic)
 * on family-6 sockets. `flowinfo`/`scopeId` are sin6_flowinfo/sin6_scope_id (IPv6 only).
 */
export interface SocketAddress {
  addr: IpAddr;
  port: number;
  flowinfo?: number;
  scopeId?: number;
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

/**
 * IPv6 addresses inside the stack are their 16 bytes as 32 lowercase hex digits (network order),
 * e.g. `fd00000000000000000000000000000a`: a string, so `===`, Map keys and `typeof` work as they do
 * for IPv4's numbers, and reading one out of a packet is one `toString('hex')`. Text for people
 * (RFC 5952) comes from `formatIpv6`.
 */
export type Ipv6Addr = string;
/** An address of either family: a number is IPv4, a string IPv6. */
export type IpAddr = Ipv4Addr | Ipv6Addr;

export const IPV6_ANY: Ipv6Addr = '0'.repeat(32);
export const IPV6_LOOPBACK: Ipv6Addr = `${'0'.repeat(31)}1`;
/** ff02::1, all nodes on the link. */
export const IPV6_ALL_NODES: Ipv6Addr = `ff02${'0'.repeat(27)}1`;
/** ff02::2, all routers on the link. */
export const IPV6_ALL_ROUTERS: Ipv6Addr = `ff02${'0'.repeat(27)}2`;
const V4_MAPPED_PREFIX = `${'0'.repeat(20)}ffff`;

export function isIpv6(addr: IpAddr): addr is Ipv6Addr {
  return typeof addr === 'string';
}

/** The address at buf[off, off+16). */
export function readIpv6(buf: Buffer, off: number): Ipv6Addr {
  return buf.toString('hex', off, off + 16);
}

/** Writes `addr` into buf[off, off+16). */
export function writeIpv6(addr: Ipv6Addr, buf: Buffer, off: number): void {
  buf.write(addr, off, 16, 'hex');
}

export function ipv6FromBytes(bytes: Uint8Array): Ipv6Addr {
  return Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
}

export function ipv6ToBytes(addr: Ipv6Addr): Buffer {
  return Buffer.from(addr, 'hex');
}

/** Parses IPv6 text into the stack's form; null when it is not an IPv6 address. */
export function parseIpv6Addr(text: string): Ipv6Addr | null {
  const b = parseIpv6(text);
  return b ? ipv6FromBytes(b) : null;
}

/** RFC 5952 text: lowercase, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(addr: Ipv6Addr): string {
  const groups: number[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(addr.slice(i, i + 4), 16));
  if (addr.startsWith(V4_MAPPED_PREFIX)) return `::ffff:${formatIpv4(parseInt(addr.slice(24), 16) >>> 0)}`;
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** Either family's text form. */
export function formatIp(addr: IpAddr): string {
  return typeof addr === 'number' ? formatIpv4(addr) : formatIpv6(addr);
}

/** Either family from text (dotted quad → number, IPv6 text → string); null when neither. */
export function parseIp(text: string): IpAddr | null {
  return parseIpv4(text) ?? parseIpv6Addr(text);
}

/** ::ffff:a.b.c.d for an IPv4 address (what a dual-stack socket reports for an IPv4 peer). */
export function v4Mapped(addr: Ipv4Addr): Ipv6Addr {
  return V4_MAPPED_PREFIX + (addr >>> 0).toString(16).padStart(8, '0');
}

export function isV4Mapped(addr: Ipv6Addr): boolean {
  return addr.startsWith(V4_MAPPED_PREFIX);
}

/** The IPv4 address inside ::ffff:a.b.c.d, or null when `addr` is not v4-mapped. */
export function unmapV4(addr: Ipv6Addr): Ipv4Addr | null {
  return isV4Mapped(addr) ? parseInt(addr.slice(24), 16) >>> 0 : null;
}

/** True when the first `prefixLen` bits of `addr` and `net` agree. */
export function inPrefix6(addr: Ipv6Addr, net: Ipv6Addr, prefixLen: number): boolean {
  if (prefixLen <= 0) return true;
  const whole = Math.min(32, prefixLen >> 2);
  if (addr.slice(0, whole) !== net.slice(0, whole)) return false;
  const bits = prefixLen & 3;
  if (bits === 0 || whole >= 32) return true;
  const mask = (0xf << (4 - bits)) & 0xf;
  return (parseInt(addr[whole]!, 16) & mask) === (parseInt(net[whole]!, 16) & mask);
}

export function isMulticast6(addr: Ipv6Addr): boolean {
  return addr.startsWith('ff');
}

/** fe80::/10 */
export function isLinkLocal6(addr: Ipv6Addr): boolean {
  return addr.startsWith('fe8') || addr.startsWith('fe9') || addr.startsWith('fea') || addr.startsWith('feb');
}

/** The unspecified address of either family (0, ::): a socket bound to it takes any local address. */
export function isUnspecified(addr: IpAddr): boolean {
  return addr === 0 || addr === IPV6_ANY;
}

/**
 * Whether two sockets' local addresses overlap on one port (Linux's inet_rcv_saddr_equal and its
 * IPv6 twin): same family: equal or either the wildcard; IPv4 against IPv6: only a dual-stack ::
 * (one without V6ONLY) covers the IPv4 side.
 */
export function bindOverlap(a: IpAddr, aV6only: boolean, b: IpAddr, bV6only: boolean): boolean {
  if (typeof a === typeof b) return a === b || a === 0 || b === 0 || a === IPV6_ANY || b === IPV6_ANY;
  return typeof a === 'string' ? a === IPV6_ANY && !aV6only : b === IPV6_ANY && !bV6only;
}

/**
 * Whether a socket bound to wire address `bound` takes traffic to local address `dst`: its own
 * address, or the wildcard of dst's family (a dual-stack :: takes IPv4 too unless `v6only`).
 */
export function boundAccepts(bound: IpAddr, v6only: boolean, dst: IpAddr): boolean {
  if (bound === dst) return true;
  if (bound === 0) return typeof dst === 'number';
  return bound === IPV6_ANY && (typeof dst === 'string' || !v6only);
}

/** Either family's multicast test. */
export function isMulticastIp(addr: IpAddr): boolean {
  return typeof addr === 'number' ? addr >>> 28 === 0xe : addr.startsWith('ff');
}

/** True for a well-formed address of either family (an integer 0..2^32−1, or 32 lowercase hex digits). */
export function isIpAddr(addr: unknown): addr is IpAddr {
  if (typeof addr === 'number') return Number.isInteger(addr) && addr >= 0 && addr <= 0xffffffff;
  return typeof addr === 'string' && addr.length === 32 && /^[0-9a-f]{32}$/.test(addr);
}

/** ff02::1:ffXX:XXXX, the solicited-node group of `addr` (RFC 4291 §2.7.1). */
export function solicitedNode(addr: Ipv6Addr): Ipv6Addr {
  return `ff02${'0'.repeat(19)}1ff${addr.slice(26)}`;
}
