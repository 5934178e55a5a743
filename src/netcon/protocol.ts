/**
 * The netcon RPC between libztintercept.so and the daemon (mirror of native/intercept/proto.h).
 *
 * Strictly request/response on a Unix stream connection, little-endian, length-prefixed:
 *   request:  u32 len | u8 version | u8 op | u16 flags | u64 ino | payload   (len counts from version)
 *   response: u32 len | u8 version | u8 op | u16 flags | i32 result | payload
 * `result` is >= 0 or a negative errno. A SOCKET response carries the app's end of a new socketpair
 * as SCM_RIGHTS. Accepted connections travel over the listening socket instead, one 8-byte
 * record (`encodeAcceptRecord`) with one fd per message, so concurrent acceptors never split one.
 */

export const PROTO_VERSION = 1;
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
/** Response flag on GETSOCKOPT(SO_ERROR) and CONNECT (EALREADY): a connect attempt is still in progress. */
export const RFLAG_PENDING = 0x1;

/**
 * Largest filler count a CONNECT may announce (proto.h ZT_CONNECT_FILLER_MAX): bytes the library
 * writes into the app's end of a non-blocking connect so that it is not writable until the outcome.
 */
export const CONNECT_FILLER_MAX = 1 << 20;

/** Response flag on CONNECT (EINPROGRESS): the announced filler is expected (proto.h ZT_RF_FILLER). */
export const RFLAG_FILLER = 0x2;

/** WHOIS results. */
export const Kind = { TCP: 1, LISTENER: 2, UDP: 3, PING: 4, RAW_ICMP: 5 } as const;

/**
 * Datagram sockets (UDP, ping, raw ICMP): the app's end is a SOCK_SEQPACKET socketpair and every
 * message either way is one datagram after a DGRAM_HEADER-byte record header (proto.h has the
 * layout: u8 type | u8 flags | u16 port | u32 addr | u32 local | u8 tos | u8 ttl | u16 err).
 */
export const DGRAM_HEADER = 16;
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

/** One datagram record's header (proto.h's layout); addresses in host order. */
export interface DgramHeader {
  /** DgramType.DATA or DgramType.ERROR. */
  type: number;
  /** DGF bits. */
  flags: number;
  /** App → daemon: the destination port (DGF.TO); daemon → app: the source port, or ICMP type << 8 | code (ERROR). */
  port: number;
  /** App → daemon: the destination (DGF.TO); daemon → app: the source, or the ICMP sender (ERROR). */
  addr: number;
  /** App → daemon: the source asked for (DGF.SRC); daemon → app: the address it was sent to, or ee_info (ERROR). */
  local: number;
  tos: number;
  ttl: number;
  /** ERROR: the errno. */
  err: number;
}

/** Writes `h` as DGRAM_HEADER bytes at `offset` of `into` (a new Buffer when not given). */
export function encodeDgramHeader(h: DgramHeader, into: Buffer = Buffer.allocUnsafe(DGRAM_HEADER), offset = 0): Buffer {
  into[offset] = h.type;
  into[offset + 1] = h.flags;
  into.writeUInt16LE(h.port & 0xffff, offset + 2);
  into.writeUInt32LE(h.addr >>> 0, offset + 4);
  into.writeUInt32LE(h.local >>> 0, offset + 8);
  into[offset + 12] = h.tos;
  into[offset + 13] = h.ttl;
  into.writeUInt16LE(h.err & 0xffff, offset + 14);
  return into;
}

/** The header of the record at `offset`; null when fewer than DGRAM_HEADER bytes are there. */
export function decodeDgramHeader(b: Uint8Array, offset = 0): DgramHeader | null {
  if (b.length - offset < DGRAM_HEADER) return null;
  const v = new DataView(b.buffer, b.byteOffset + offset, DGRAM_HEADER);
  return {
    type: v.getUint8(0),
    flags: v.getUint8(1),
    port: v.getUint16(2, true),
    addr: v.getUint32(4, true),
    local: v.getUint32(8, true),
    tos: v.getUint8(12),
    ttl: v.getUint8(13),
    err: v.getUint16(14, true),
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

/** SOCKET's payload: the socket type (flags masked off) and the protocol (0 when not sent). */
export function decodeSocketRequest(p: Buffer): { type: number; protocol: number } {
  // An empty payload (or 0) is what clients from before datagram sockets sent for TCP.
  const type = p.length >= 4 ? p.readUInt32LE(0) & SOCK_TYPE_MASK : 0;
  const protocol = p.length >= 8 ? p.readInt32LE(4) : 0;
  return { type: type === 0 ? SOCK_STREAM : type, protocol };
}

export const ACCEPT_RECORD_SIZE = 8;
export const ACCEPT_MAGIC = 0x41;

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

/** IPv4 address (host order) and port, as BIND/CONNECT carry them and name replies return them. */
export function encodeAddress(addr: number, port: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32LE(addr >>> 0, 0);
  b.writeUInt16LE(port, 4);
  return b;
}

export function decodeAddress(p: Buffer): { addr: number; port: number } | null {
  if (p.length < 6) return null;
  return { addr: p.readUInt32LE(0), port: p.readUInt16LE(4) };
}

/** CONNECT's optional filler count after the address: 0 when absent, null when out of range. */
export function decodeConnectFiller(p: Buffer): number | null {
  if (p.length < 10) return 0;
  const n = p.readUInt32LE(6);
  return n <= CONNECT_FILLER_MAX ? n : null;
}

export function encodeAcceptRecord(addr: number, port: number): Buffer {
  const b = Buffer.alloc(ACCEPT_RECORD_SIZE);
  b[0] = ACCEPT_MAGIC;
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(addr >>> 0, 4);
  return b;
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

/** Address families of the name operations (Linux's AF_* values). */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
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
