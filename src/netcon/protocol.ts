/**
 * The netcon RPC between libztintercept.so and the daemon (mirror of native/intercept/proto.h).
 *
 * Strictly request/response on a Unix stream connection, little-endian, length-prefixed:
 *   request:  u32 len | u8 version | u8 op | u16 flags | u64 ino | payload   (len counts from version)
 *   response: u32 len | u8 version | u8 op | u16 flags | i32 result | payload
 * `result` is >= 0 or a negative errno. A SOCKET response carries the app's end of a new socketpair
 * as SCM_RIGHTS. Accepted connections travel over the listening socket instead, one
 * ACCEPT_RECORD_SIZE-byte record (`encodeAcceptRecord`) with one fd per message, so concurrent
 * acceptors never split one. Every address on the wire is a SOCKADDR_SIZE-byte kernel sockaddr
 * (`decodeSockaddr`/`encodeSockaddr`, the one codec); datagram records carry raw address bytes.
 */
import { type IpAddr, type Ipv6Addr, readIpv6, writeIpv6 } from '../netstack/index.js';

export const PROTO_VERSION = 2;

/** Address families on the wire (Linux's AF_* values): SOCKET's domain, sockaddrs, the name operations. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const REQUEST_HEADER = 16;
export const RESPONSE_HEADER = 12;
/**
 * Largest frame either way, length prefix included: a 4096-byte DNS message (DNS_QUERY's query or
 * answer, the size resolvers commonly ask for with EDNS0) plus a request header.
 */
export const MAX_FRAME = 4096 + REQUEST_HEADER;
/** Largest payload of a request and of a response (the library sizes its buffers from these). */
export const MAX_REQUEST_PAYLOAD = MAX_FRAME - REQUEST_HEADER;
export const MAX_RESPONSE_PAYLOAD = MAX_FRAME - RESPONSE_HEADER;

export const Op = {
  SOCKET: 1,
  BIND: 2,
  LISTEN: 3,
  CONNECT: 4,
  GETSOCKNAME: 5,
  GETPEERNAME: 6,
  GETSOCKOPT: 7,
  SETSOCKOPT: 8,
  SHUTDOWN: 9,
  WHOIS: 10,
  /** Names (ino 0): family and name → addresses; see proto.h. */
  RESOLVE: 11,
  /** Address → name. */
  REVERSE: 12,
  /** One DNS query message → the answer message (the res_* family). */
  DNS_QUERY: 13,
} as const;
export type OpName = keyof typeof Op;

const opNames = new Map<number, OpName>((Object.entries(Op) as [OpName, number][]).map(([k, v]) => [v, k]));

export function opName(op: number): OpName | undefined {
  return opNames.get(op);
}

/** Request flag: answer once the connect attempt is resolved (CONNECT, GETSOCKOPT SO_ERROR). */
export const FLAG_WAIT = 0x1;
/** Request flag on CONNECT: the announced filler is written (its payload's count = bytes written). */
export const FLAG_FILLED = 0x2;
/** Request flag on CONNECT of a datagram socket: AF_UNSPEC, dissolve the association. */
export const FLAG_UNSPEC = 0x4;
/**
 * Request flag on CONNECT of a TCP socket: the daemon may join it straight to a listening app of its
 * own (the same-daemon fast path, fast-path.ts): the app did not opt out (ZT_NC_FASTPATH=0) and
 * nothing it wrote waits unread in its end.
 */
export const FLAG_FAST = 0x8;
/** Response flag on GETSOCKOPT(SO_ERROR) and CONNECT (EALREADY): a connect attempt is still in progress. */
export const RFLAG_PENDING = 0x1;

/**
 * Largest filler count a CONNECT may announce (proto.h ZT_CONNECT_FILLER_MAX): bytes the library
 * writes into the app's end of a non-blocking connect so that it is not writable until the outcome.
 */
export const CONNECT_FILLER_MAX = 1 << 20;

/** Response flag on CONNECT (EINPROGRESS): the announced filler is expected (proto.h ZT_RF_FILLER). */
export const RFLAG_FILLER = 0x2;

/**
 * Response flags on GETPEERNAME, GETSOCKOPT and SHUTDOWN of a fast-path socket (FLAG_FAST): the
 * kernel socket under the app's fd is the connection; the library completes the answer from it
 * (proto.h ZT_RF_KERNEL). RFLAG_SHUT_WR: this end had shut down writing before this call.
 */
export const RFLAG_KERNEL = 0x4;
export const RFLAG_SHUT_WR = 0x8;

/** WHOIS results. */
export const Kind = { TCP: 1, LISTENER: 2, UDP: 3, PING: 4, RAW_ICMP: 5 } as const;

/**
 * Datagram sockets (UDP, ping, raw ICMP): the app's end is a SOCK_SEQPACKET socketpair and every
 * message either way is one datagram after a DGRAM_HEADER-byte record header (proto.h):
 *   u8 type | u8 flags | u16 port | u8 tos | u8 ttl | u16 err | u32 info | u32 scope | addr[16] | local[16]
 * little-endian integers; addr and local are address bytes in network order: an AF_INET socket's
 * IPv4 address in the first 4 (the rest zero), an AF_INET6 socket's 16 (v4-mapped for IPv4).
 */
export const DGRAM_HEADER = 48;
/** Byte offsets of the record header's fields (the hot path writes and reads them in place). */
export const DgramOffset = { TYPE: 0, FLAGS: 1, PORT: 2, TOS: 4, TTL: 5, ERR: 6, INFO: 8, SCOPE: 12, ADDR: 16, LOCAL: 32 } as const;
export const DgramType = { DATA: 1, ERROR: 2 } as const;
/** Record flags (proto.h ZT_DGF_*). */
export const DGF = {
  TO: 0x01,
  TOS: 0x02,
  TTL: 0x04,
  SRC: 0x08,
  PKTINFO: 0x10,
  RECVTOS: 0x20,
  RECVTTL: 0x40,
  RECVERR: 0x80,
} as const;

/** An address family as the stack numbers it: 4 (AF_INET) or 6 (AF_INET6). */
export type Family = 4 | 6;

/** One datagram record's header (proto.h's layout); addresses in the stack's form for the socket's family. */
export interface DgramHeader {
  /** DgramType.DATA or DgramType.ERROR. */
  type: number;
  /** DGF bits. */
  flags: number;
  /** App → daemon: the destination port (DGF.TO); daemon → app: the source port, or ICMP type << 8 | code (ERROR). */
  port: number;
  /** App → daemon: the destination (DGF.TO); daemon → app: the source, or the ICMP sender (ERROR). */
  addr: IpAddr;
  /** App → daemon: the source asked for (DGF.SRC); daemon → app: the address it was sent to. */
  local: IpAddr;
  /** IP_TOS / IPV6_TCLASS. */
  tos: number;
  /** IP_TTL / IPV6_HOPLIMIT. */
  ttl: number;
  /** ERROR: the errno. */
  err: number;
  /** ERROR: ee_info (the next-hop MTU of a "too big" error). */
  info: number;
  /** sin6_scope_id of addr (0 for global addresses and on AF_INET sockets). */
  scope: number;
}

/**
 * Writes an address into a record's 16-byte address field: an IPv4 number in the first 4 bytes
 * (the rest zeroed), an IPv6 address in all 16.
 */
export function writeRecordAddress(addr: IpAddr, into: Buffer, offset: number): void {
  if (typeof addr === 'number') {
    // Plain writes, not fill(): this runs twice per datagram and fill() is a native call.
    into.writeUInt32BE(addr >>> 0, offset);
    into.writeUInt32LE(0, offset + 4);
    into.writeUInt32LE(0, offset + 8);
    into.writeUInt32LE(0, offset + 12);
  } else writeIpv6(addr, into, offset);
}

/** Reads a record's address field as the socket's family has it (a number for 4, 32 hex digits for 6). */
export function readRecordAddress(b: Buffer, offset: number, family: Family): IpAddr {
  return family === 4 ? b.readUInt32BE(offset) : readIpv6(b, offset);
}

/** Writes `h` as DGRAM_HEADER bytes at `offset` of `into` (a new Buffer when not given). */
export function encodeDgramHeader(h: DgramHeader, into: Buffer = Buffer.allocUnsafe(DGRAM_HEADER), offset = 0): Buffer {
  into[offset] = h.type;
  into[offset + 1] = h.flags;
  into.writeUInt16LE(h.port & 0xffff, offset + 2);
  into[offset + 4] = h.tos;
  into[offset + 5] = h.ttl;
  into.writeUInt16LE(h.err & 0xffff, offset + 6);
  into.writeUInt32LE(h.info >>> 0, offset + 8);
  into.writeUInt32LE(h.scope >>> 0, offset + 12);
  writeRecordAddress(h.addr, into, offset + DgramOffset.ADDR);
  writeRecordAddress(h.local, into, offset + DgramOffset.LOCAL);
  return into;
}

/**
 * A DATA record's header, daemon → app, written in place without a header object (the hot path:
 * one call per datagram into the batch's header buffer). `addr`/`local` as writeRecordAddress
 * takes them. `zeroed`: the 48 bytes are known to be zero already (a batch buffer from
 * Buffer.alloc), so the fields that stay zero are not written.
 */
export function encodeDataHeader(
  into: Buffer,
  offset: number,
  flags: number,
  port: number,
  addr: IpAddr,
  local: IpAddr,
  tos: number,
  ttl: number,
  scope: number,
  zeroed = false,
): void {
  // Whole words where fields share one (type, flags, port; tos, ttl, err = 0): fewer checked writes.
  into.writeUInt32LE((DgramType.DATA | (flags << 8) | ((port & 0xffff) << 16)) >>> 0, offset);
  into.writeUInt32LE((tos & 0xff) | ((ttl & 0xff) << 8), offset + 4);
  if (!zeroed) into.writeUInt32LE(0, offset + 8);
  if (scope !== 0 || !zeroed) into.writeUInt32LE(scope >>> 0, offset + 12);
  if (zeroed && typeof addr === 'number') into.writeUInt32BE(addr >>> 0, offset + DgramOffset.ADDR);
  else writeRecordAddress(addr, into, offset + DgramOffset.ADDR);
  if (zeroed && typeof local === 'number') into.writeUInt32BE(local >>> 0, offset + DgramOffset.LOCAL);
  else writeRecordAddress(local, into, offset + DgramOffset.LOCAL);
}

/**
 * The header of the record at `offset`, its addresses read for a socket of `family`; null when
 * fewer than DGRAM_HEADER bytes are there.
 */
export function decodeDgramHeader(b: Buffer, family: Family, offset = 0): DgramHeader | null {
  if (b.length - offset < DGRAM_HEADER) return null;
  return {
    type: b[offset]!,
    flags: b[offset + 1]!,
    port: b.readUInt16LE(offset + 2),
    tos: b[offset + 4]!,
    ttl: b[offset + 5]!,
    err: b.readUInt16LE(offset + 6),
    info: b.readUInt32LE(offset + 8),
    scope: b.readUInt32LE(offset + 12),
    addr: readRecordAddress(b, offset + DgramOffset.ADDR, family),
    local: readRecordAddress(b, offset + DgramOffset.LOCAL, family),
  };
}

/** Linux's socket types and the type flags SOCKET carries with them. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
const SOCK_TYPE_MASK = 0xf;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** SOCKET's payload size: u32 type with flags | i32 protocol | i32 domain. */
export const SOCKET_REQUEST_SIZE = 12;

/**
 * SOCKET's payload: the socket type (flags masked off; 0 means SOCK_STREAM), the protocol and
 * the family its domain names. Null when the payload is short (the library always sends all
 * three); `family` null when the domain is neither AF_INET nor AF_INET6 (EAFNOSUPPORT).
 */
export function decodeSocketRequest(p: Buffer): { type: number; protocol: number; family: Family | null } | null {
  if (p.length < SOCKET_REQUEST_SIZE) return null;
  const type = p.readUInt32LE(0) & SOCK_TYPE_MASK;
  const domain = p.readInt32LE(8);
  const family = domain === AF_INET ? 4 : domain === AF_INET6 ? 6 : null;
  return { type: type === 0 ? SOCK_STREAM : type, protocol: p.readInt32LE(4), family };
}

export function encodeSocketRequest(type: number, protocol: number, family: Family): Buffer {
  const b = Buffer.alloc(SOCKET_REQUEST_SIZE);
  b.writeUInt32LE(type >>> 0, 0);
  b.writeInt32LE(protocol, 4);
  b.writeInt32LE(family === 4 ? AF_INET : AF_INET6, 8);
  return b;
}

export interface Request {
  op: number;
  flags: number;
  /** Inode of the app's end of the socket concerned (0 when none). */
  ino: number;
  payload: Buffer;
}

export type ReadResult = { request: Request } | { error: string } | null;

/**
 * Splits a connection's byte stream into requests. A frame that cannot be valid (bad length,
 * version or op) is reported once as an error: the connection is then beyond repair.
 */
export class RequestReader {
  private buf: Buffer = Buffer.alloc(0);
  private broken = false;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  next(): ReadResult {
    if (this.broken || this.buf.length < 4) return null;
    const len = this.buf.readUInt32LE(0);
    if (len < REQUEST_HEADER - 4 || len + 4 > MAX_FRAME) return this.fail(`frame length ${len} out of range`);
    if (this.buf.length < 4 + len) return null;
    const version = this.buf[4]!;
    if (version !== PROTO_VERSION) return this.fail(`protocol version ${version}, expected ${PROTO_VERSION}`);
    const op = this.buf[5]!;
    if (!opNames.has(op)) return this.fail(`unknown op ${op}`);
    const inoBig = this.buf.readBigUInt64LE(8);
    if (inoBig > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail('inode out of range');
    const request: Request = {
      op,
      flags: this.buf.readUInt16LE(6),
      ino: Number(inoBig),
      payload: Buffer.from(this.buf.subarray(REQUEST_HEADER, 4 + len)),
    };
    this.buf = this.buf.subarray(4 + len);
    return { request };
  }

  private fail(error: string): ReadResult {
    this.broken = true;
    return { error };
  }
}

export function encodeRequest(op: number, flags: number, ino: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(REQUEST_HEADER + payload.length);
  b.writeUInt32LE(REQUEST_HEADER - 4 + payload.length, 0);
  b[4] = PROTO_VERSION;
  b[5] = op;
  b.writeUInt16LE(flags, 6);
  b.writeBigUInt64LE(BigInt(ino), 8);
  b.set(payload, REQUEST_HEADER);
  return b;
}

export function encodeResponse(op: number, flags: number, result: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(RESPONSE_HEADER + payload.length);
  b.writeUInt32LE(RESPONSE_HEADER - 4 + payload.length, 0);
  b[4] = PROTO_VERSION;
  b[5] = op;
  b.writeUInt16LE(flags, 6);
  b.writeInt32LE(result, 8);
  b.set(payload, RESPONSE_HEADER);
  return b;
}

export interface Response {
  op: number;
  flags: number;
  result: number;
  payload: Buffer;
}

/** Decodes one whole response frame (tests and tools); null when it is not one. */
export function decodeResponse(b: Buffer): Response | null {
  if (b.length < RESPONSE_HEADER) return null;
  const len = b.readUInt32LE(0);
  if (len + 4 !== b.length || b[4] !== PROTO_VERSION) return null;
  return { op: b[5]!, flags: b.readUInt16LE(6), result: b.readInt32LE(8), payload: b.subarray(RESPONSE_HEADER) };
}

/** The size of every address on the wire (proto.h ZT_SOCKADDR): a sockaddr_in or sockaddr_in6, zero-padded. */
export const SOCKADDR_SIZE = 28;

/** An address as a sockaddr carries it: IPv4 as a number, IPv6 as 32 hex digits (v4-mapped ones too). */
export interface Sockaddr {
  family: Family;
  addr: IpAddr;
  port: number;
  /** sin6_flowinfo (0 for AF_INET). */
  flowinfo: number;
  /** sin6_scope_id (0 for AF_INET). */
  scopeId: number;
}

/**
 * The sockaddr at `offset` (the kernel's layout: u16 family in host order, u16 port big-endian,
 * then sin_addr, or sin6_flowinfo big-endian, sin6_addr and sin6_scope_id in host order). Null
 * when fewer than SOCKADDR_SIZE bytes are there or the family is neither AF_INET nor AF_INET6.
 */
export function decodeSockaddr(b: Buffer, offset = 0): Sockaddr | null {
  if (offset < 0 || b.length - offset < SOCKADDR_SIZE) return null;
  const family = b.readUInt16LE(offset);
  const port = b.readUInt16BE(offset + 2);
  if (family === AF_INET) return { family: 4, addr: b.readUInt32BE(offset + 4), port, flowinfo: 0, scopeId: 0 };
  if (family !== AF_INET6) return null;
  return {
    family: 6,
    addr: readIpv6(b, offset + 8),
    port,
    flowinfo: b.readUInt32BE(offset + 4),
    scopeId: b.readUInt32LE(offset + 24),
  };
}

/** The family a sockaddr at `offset` names (AF_* as on the wire), or -1 when it is too short to tell. */
export function sockaddrFamily(b: Buffer, offset = 0): number {
  return b.length - offset >= 2 ? b.readUInt16LE(offset) : -1;
}

/**
 * Writes a sockaddr of `family` (SOCKADDR_SIZE bytes, zero-padded) at `offset` of `into` (a new
 * Buffer when not given). `addr` must be of that family: a number for 4, an Ipv6Addr for 6.
 */
export function encodeSockaddr(
  a: { family: Family; addr: IpAddr; port: number; flowinfo?: number; scopeId?: number },
  into: Buffer = Buffer.alloc(SOCKADDR_SIZE),
  offset = 0,
): Buffer {
  into.fill(0, offset, offset + SOCKADDR_SIZE);
  into.writeUInt16BE(a.port & 0xffff, offset + 2);
  if (a.family === 4) {
    if (typeof a.addr !== 'number') throw new TypeError('an AF_INET sockaddr takes an IPv4 address');
    into.writeUInt16LE(AF_INET, offset);
    into.writeUInt32BE(a.addr >>> 0, offset + 4);
    return into;
  }
  if (typeof a.addr !== 'string') throw new TypeError('an AF_INET6 sockaddr takes an IPv6 address');
  into.writeUInt16LE(AF_INET6, offset);
  into.writeUInt32BE((a.flowinfo ?? 0) >>> 0, offset + 4);
  writeIpv6(a.addr as Ipv6Addr, into, offset + 8);
  into.writeUInt32LE((a.scopeId ?? 0) >>> 0, offset + 24);
  return into;
}

/** CONNECT's optional filler count after the sockaddr: 0 when absent, null when out of range. */
export function decodeConnectFiller(p: Buffer): number | null {
  if (p.length < SOCKADDR_SIZE + 4) return 0;
  const n = p.readUInt32LE(SOCKADDR_SIZE);
  return n <= CONNECT_FILLER_MAX ? n : null;
}

/** The record sent with each accepted connection: u8 ACCEPT_MAGIC | u8 0 | u16 0 | the peer's sockaddr. */
export const ACCEPT_RECORD_SIZE = 4 + SOCKADDR_SIZE;
export const ACCEPT_MAGIC = 0x41;

/** An accept record naming the peer in the listener's family. */
export function encodeAcceptRecord(peer: { family: Family; addr: IpAddr; port: number; flowinfo?: number; scopeId?: number }): Buffer {
  const b = Buffer.alloc(ACCEPT_RECORD_SIZE);
  b[0] = ACCEPT_MAGIC;
  encodeSockaddr(peer, b, 4);
  return b;
}

/** The peer an accept record names; null when it is not one. */
export function decodeAcceptRecord(b: Buffer): Sockaddr | null {
  if (b.length !== ACCEPT_RECORD_SIZE || b[0] !== ACCEPT_MAGIC) return null;
  return decodeSockaddr(b, 4);
}

export interface SockoptRequest {
  level: number;
  name: number;
  /** getsockopt: the app's buffer size; setsockopt: the value's size. */
  len: number;
  value: Buffer;
}

export function decodeSockopt(p: Buffer): SockoptRequest | null {
  if (p.length < 12) return null;
  const len = p.readUInt32LE(8);
  return { level: p.readInt32LE(0), name: p.readInt32LE(4), len, value: p.subarray(12, 12 + Math.min(len, p.length - 12)) };
}

/** Bytes per address in a RESOLVE reply: u8 family and 16 address bytes (IPv4 in the first 4). */
export const RESOLVE_ADDRESS_SIZE = 17;

/** RESOLVE's request: u8 family, then the name (no NUL). Null when the family or name cannot be one. */
export function decodeResolveRequest(p: Buffer): { family: number; name: string } | null {
  if (p.length < 2) return null;
  const family = p[0]!;
  if (family !== AF_UNSPEC && family !== AF_INET && family !== AF_INET6) return null;
  const name = p.subarray(1);
  if (name.includes(0)) return null;
  return { family, name: name.toString('latin1') };
}

/**
 * RESOLVE's reply payload: u8 n, the canonical name (n bytes), then per address u8 family and 16
 * bytes. As many addresses as fit in `maxPayload` are written; `count` says how many.
 */
export function encodeResolveReply(
  canonical: string,
  addrs: ReadonlyArray<{ family: 4 | 6; bytes: Uint8Array }>,
  maxPayload = MAX_RESPONSE_PAYLOAD,
): { payload: Buffer; count: number } {
  const name = Buffer.from(canonical, 'latin1').subarray(0, 255);
  const room = Math.max(0, Math.floor((maxPayload - 1 - name.length) / RESOLVE_ADDRESS_SIZE));
  const list = addrs.slice(0, room);
  const b = Buffer.alloc(1 + name.length + list.length * RESOLVE_ADDRESS_SIZE);
  b[0] = name.length;
  name.copy(b, 1);
  let off = 1 + name.length;
  for (const a of list) {
    b[off] = a.family === 4 ? AF_INET : AF_INET6;
    b.set(a.bytes.subarray(0, a.family === 4 ? 4 : 16), off + 1);
    off += RESOLVE_ADDRESS_SIZE;
  }
  return { payload: b, count: list.length };
}

/** REVERSE's request: u8 family (AF_INET or AF_INET6), then 4 or 16 address bytes. */
export function decodeReverseRequest(p: Buffer): { family: 4 | 6; bytes: Uint8Array } | null {
  if (p.length < 1) return null;
  if (p[0] === AF_INET && p.length === 5) return { family: 4, bytes: Uint8Array.from(p.subarray(1)) };
  if (p[0] === AF_INET6 && p.length === 17) return { family: 6, bytes: Uint8Array.from(p.subarray(1)) };
  return null;
}
