/**
 * DNS message codec (RFC 1035 §4: header, question, resource records; §4.1.4 name compression;
 * RFC 6891 EDNS0's OPT pseudo-record). `parseDnsMessage` reads a whole message and returns it or a
 * negative `DnsParseError`; it never throws, whatever the bytes. `emitDnsMessage` writes one,
 * compressing names, and sets TC when the records do not fit the size limit (RFC 2181 §9).
 *
 * Records the resolver needs are decoded (A, AAAA, CNAME, PTR, NS, SOA, MX); any other type is carried
 * as its raw RDATA, which is exact for every type whose RDATA holds no compressed names (RFC 3597
 * forbids compression in new types).
 */

export const DNS_HEADER_LEN = 12;
/** The largest name on the wire (RFC 1035 §3.1) and the longest label. */
export const MAX_NAME_LEN = 255;
export const MAX_LABEL_LEN = 63;
/** A plain UDP message's limit without EDNS0 (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;

export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const DNS_CLASS_IN = 1;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

export const enum DnsParseError {
  Ok = 0,
  Truncated = -1,
  BadName = -2,
  BadPointer = -3,
  BadRecord = -4,
}

/** Counter name of a parse error (the callers count drops under these). */
export function dnsParseErrorName(e: number): string {
  switch (e) {
    case DnsParseError.Truncated:
      return 'dns_truncated';
    case DnsParseError.BadName:
      return 'dns_bad_name';
    case DnsParseError.BadPointer:
      return 'dns_bad_pointer';
    case DnsParseError.BadRecord:
      return 'dns_bad_record';
    default:
      return 'dns_error';
  }
}

export interface DnsQuestion {
  /** Dotted text without the final dot ('' is the root); a '.' or '\' inside a label is escaped with '\'. */
  name: string;
  type: number;
  class: number;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export type RecordData =
  | { kind: 'address'; bytes: Uint8Array } // A (4 bytes), AAAA (16 bytes)
  | { kind: 'name'; target: string } // CNAME, PTR, NS
  | { kind: 'soa'; soa: SoaData }
  | { kind: 'mx'; preference: number; exchange: string }
  | { kind: 'raw'; bytes: Uint8Array };

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RecordData;
}

/** EDNS0 as the OPT record carries it (RFC 6891 §6.1.3). */
export interface Edns {
  udpSize: number;
  extendedRcode: number;
  version: number;
  /** The DO bit and the rest of the flags field. */
  flags: number;
  /** The options, as their raw bytes. */
  options: Uint8Array;
}

export interface DnsMessage {
  id: number;
  /** QR: true for a response. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  /** AD and CD (RFC 4035), kept as they came. */
  authenticData: boolean;
  checkingDisabled: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  /** Additional records other than OPT. */
  additional: DnsRecord[];
  edns: Edns | null;
}

export function emptyMessage(id = 0): DnsMessage {
  return {
    id,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: false,
    recursionAvailable: false,
    authenticData: false,
    checkingDisabled: false,
    rcode: 0,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
    edns: null,
  };
}

// ------------------------------------------------------------------ header view

/** The fixed 12-byte header, read in place (callers that only need the id or counts use these). */
export function headerId(buf: Uint8Array): number {
  return buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : -1;
}

export function isResponse(buf: Uint8Array): boolean {
  return buf.length >= DNS_HEADER_LEN && (buf[2]! & 0x80) !== 0;
}

// ------------------------------------------------------------------ names

function escapeLabel(buf: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/** Splits dotted text into labels (undoing '\' escapes); null when a label is empty or too long, or the name too long. */
export function nameLabels(name: string): string[] | null {
  if (name === '' || name === '.') return [];
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  const labels: string[] = [];
  let cur = '';
  let wire = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i]!;
    } else if (ch === '.') {
      labels.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  labels.push(cur);
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL_LEN) return null;
    for (let i = 0; i < l.length; i++) if (l.charCodeAt(i) > 0xff) return null;
    wire += l.length + 1;
  }
  return wire > MAX_NAME_LEN ? null : labels;
}

/** ASCII lower case, as DNS compares names (RFC 4343). */
export function canonicalName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

interface NameRead {
  name: string;
  /** Where the bytes after the name (in the message, not at a pointer's target) begin. */
  end: number;
}

/**
 * Reads a possibly compressed name at `off`. Pointers must point before the name that holds them
 * (so no loop can form) and the name may not pass 255 bytes.
 */
function readName(buf: Uint8Array, off: number, limit: number): NameRead | number {
  let pos = off;
  let end = -1;
  let wire = 1;
  let name = '';
  // the lowest offset a pointer may target: strictly before every label read so far
  let floor = off;
  for (;;) {
    if (pos >= limit) return DnsParseError.Truncated;
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name, end };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= limit) return DnsParseError.Truncated;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= floor) return DnsParseError.BadPointer;
      if (end < 0) end = pos + 2;
      floor = target;
      pos = target;
      continue;
    }
    if (kind !== 0) return DnsParseError.BadName;
    if (pos + 1 + len > limit) return DnsParseError.Truncated;
    wire += len + 1;
    if (wire > MAX_NAME_LEN) return DnsParseError.BadName;
    name += (name.length > 0 ? '.' : '') + escapeLabel(buf, pos + 1, len);
    pos += 1 + len;
  }
}

// ------------------------------------------------------------------ parse

class Cursor {
  pos: number;
  err: number = DnsParseError.Ok;
  constructor(
    readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  need(n: number): boolean {
    if (this.err !== 0) return false;
    if (this.pos + n > this.buf.length) {
      this.err = DnsParseError.Truncated;
      return false;
    }
    return true;
  }
  u16(): number {
    if (!this.need(2)) return 0;
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(): number {
    if (!this.need(4)) return 0;
    const b = this.buf;
    const v = ((b[this.pos]! << 24) | (b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }
  name(limit = this.buf.length): string {
    if (this.err !== 0) return '';
    const r = readName(this.buf, this.pos, limit);
    if (typeof r === 'number') {
      this.err = r;
      return '';
    }
    this.pos = r.end;
    return r.name;
  }
}

function readRecordData(c: Cursor, type: number, rdlen: number): RecordData | null {
  const start = c.pos;
  const end = start + rdlen;
  if (!c.need(rdlen)) return null;
  let data: RecordData;
  switch (type) {
    case DnsType.A:
    case DnsType.AAAA:
      if (rdlen !== (type === DnsType.A ? 4 : 16)) {
        c.err = DnsParseError.BadRecord;
        return null;
      }
      data = { kind: 'address', bytes: c.buf.slice(start, end) };
      c.pos = end;
      return data;
    case DnsType.CNAME:
    case DnsType.PTR:
    case DnsType.NS: {
      const target = c.name(end);
      if (c.err !== 0) return null;
      data = { kind: 'name', target };
      break;
    }
    case DnsType.SOA: {
      const mname = c.name(end);
      const rname = c.name(end);
      if (c.err !== 0) return null;
      if (c.pos + 20 > end) {
        c.err = DnsParseError.BadRecord;
        return null;
      }
      const soa: SoaData = { mname, rname, serial: c.u32(), refresh: c.u32(), retry: c.u32(), expire: c.u32(), minimum: c.u32() };
      data = { kind: 'soa', soa };
      break;
    }
    case DnsType.MX: {
      const preference = c.u16();
      const exchange = c.name(end);
      if (c.err !== 0) return null;
      data = { kind: 'mx', preference, exchange };
      break;
    }
    default:
      data = { kind: 'raw', bytes: c.buf.slice(start, end) };
      c.pos = end;
      return data;
  }
  if (c.pos !== end) {
    c.err = DnsParseError.BadRecord;
    return null;
  }
  return data;
}

/** Parses a whole message. Returns the message or a negative DnsParseError; never throws. */
export function parseDnsMessage(buf: Uint8Array): DnsMessage | number {
  if (buf.length < DNS_HEADER_LEN) return DnsParseError.Truncated;
  const c = new Cursor(buf, 0);
  const m = emptyMessage(c.u16());
  const flags = c.u16();
  m.response = (flags & 0x8000) !== 0;
  m.opcode = (flags >>> 11) & 0xf;
  m.authoritative = (flags & 0x0400) !== 0;
  m.truncated = (flags & 0x0200) !== 0;
  m.recursionDesired = (flags & 0x0100) !== 0;
  m.recursionAvailable = (flags & 0x0080) !== 0;
  m.authenticData = (flags & 0x0020) !== 0;
  m.checkingDisabled = (flags & 0x0010) !== 0;
  m.rcode = flags & 0xf;
  const qd = c.u16();
  const an = c.u16();
  const ns = c.u16();
  const ar = c.u16();
  for (let i = 0; i < qd; i++) {
    const name = c.name();
    const type = c.u16();
    const klass = c.u16();
    if (c.err !== 0) return c.err;
    m.questions.push({ name, type, class: klass });
  }
  const sections: [number, DnsRecord[]][] = [
    [an, m.answers],
    [ns, m.authority],
    [ar, m.additional],
  ];
  for (const [count, into] of sections) {
    for (let i = 0; i < count; i++) {
      const name = c.name();
      const type = c.u16();
      const klass = c.u16();
      const ttl = c.u32();
      const rdlen = c.u16();
      if (c.err !== 0) return c.err;
      if (type === DnsType.OPT && into === m.additional) {
        // RFC 6891 §6.1.1: one OPT, owner the root; a second one is a format error
        if (m.edns !== null || name !== '') return DnsParseError.BadRecord;
        if (!c.need(rdlen)) return c.err;
        m.edns = {
          udpSize: klass,
          extendedRcode: ttl >>> 24,
          version: (ttl >>> 16) & 0xff,
          flags: ttl & 0xffff,
          options: buf.slice(c.pos, c.pos + rdlen),
        };
        c.pos += rdlen;
        continue;
      }
      const data = readRecordData(c, type, rdlen);
      if (data === null) return c.err !== 0 ? c.err : DnsParseError.BadRecord;
      into.push({ name, type, class: klass, ttl, data });
    }
  }
  return m;
}

/** The id and first question of a message, read without parsing the records (FORMERR replies, matching). */
export function parseQuestionOnly(buf: Uint8Array): { id: number; flags: number; question: DnsQuestion | null } | number {
  if (buf.length < DNS_HEADER_LEN) return DnsParseError.Truncated;
  const id = (buf[0]! << 8) | buf[1]!;
  const flags = (buf[2]! << 8) | buf[3]!;
  const qd = (buf[4]! << 8) | buf[5]!;
  if (qd === 0) return { id, flags, question: null };
  const c = new Cursor(buf, DNS_HEADER_LEN);
  const name = c.name();
  const type = c.u16();
  const klass = c.u16();
  if (c.err !== 0) return c.err;
  return { id, flags, question: { name, type, class: klass } };
}

// ------------------------------------------------------------------ emit

/** Grows as needed; names are compressed against earlier ones (offsets below 0x4000). */
class Writer {
  buf = Buffer.alloc(512);
  len = 0;
  private readonly suffixes = new Map<string, number>();

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** False when the name is not valid text (nothing is written then). */
  name(name: string, compress = true): boolean {
    const labels = nameLabels(name);
    if (labels === null) return false;
    for (let i = 0; i < labels.length; i++) {
      const key = canonicalName(labels.slice(i).join('.'));
      const at = compress ? this.suffixes.get(key) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return true;
      }
      if (compress && this.len < 0x4000) this.suffixes.set(key, this.len);
      const l = labels[i]!;
      this.u8(l.length);
      this.bytes(Buffer.from(l, 'latin1'));
    }
    this.u8(0);
    return true;
  }
}

function writeRecord(w: Writer, r: DnsRecord): boolean {
  if (!w.name(r.name)) return false;
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl);
  const lenAt = w.len;
  w.u16(0);
  const d = r.data;
  switch (d.kind) {
    case 'address':
    case 'raw':
      w.bytes(d.bytes);
      break;
    case 'name':
      if (!w.name(d.target)) return false;
      break;
    case 'mx':
      w.u16(d.preference);
      if (!w.name(d.exchange)) return false;
      break;
    case 'soa':
      if (!w.name(d.soa.mname) || !w.name(d.soa.rname)) return false;
      w.u32(d.soa.serial);
      w.u32(d.soa.refresh);
      w.u32(d.soa.retry);
      w.u32(d.soa.expire);
      w.u32(d.soa.minimum);
      break;
  }
  const rdlen = w.len - lenAt - 2;
  if (rdlen > 0xffff) return false;
  w.buf.writeUInt16BE(rdlen, lenAt);
  return true;
}

/**
 * Writes a message. With `maxLen`, records that would pass it are left out and TC is set (the
 * question and OPT always stay). A record whose name is not valid text is left out. Never throws.
 */
export function emitDnsMessage(m: DnsMessage, maxLen = 65535): Buffer {
  const w = new Writer();
  w.u16(m.id);
  w.u16(0); // flags, written last (TC may change)
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  let qd = 0;
  for (const q of m.questions) {
    const at = w.len;
    if (!w.name(q.name)) {
      w.len = at;
      continue;
    }
    w.u16(q.type);
    w.u16(q.class);
    qd++;
  }
  const optLen = m.edns ? 11 + m.edns.options.length : 0;
  let truncated = m.truncated;
  const counts = [0, 0, 0];
  const sections = [m.answers, m.authority, m.additional];
  for (let s = 0; s < 3 && !truncated; s++) {
    for (const r of sections[s]!) {
      const at = w.len;
      if (!writeRecord(w, r)) {
        w.len = at;
        continue;
      }
      if (w.len + optLen > maxLen) {
        w.len = at;
        // a missing additional record is no truncation (RFC 2181 §9)
        if (s < 2) truncated = true;
        break;
      }
      counts[s]!++;
    }
  }
  let ar = counts[2]!;
  if (m.edns) {
    const e = m.edns;
    w.u8(0);
    w.u16(DnsType.OPT);
    w.u16(e.udpSize);
    w.u32(((e.extendedRcode & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.flags & 0xffff));
    w.u16(e.options.length);
    w.bytes(e.options);
    ar++;
  }
  const flags =
    (m.response ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.authoritative ? 0x0400 : 0) |
    (truncated ? 0x0200 : 0) |
    (m.recursionDesired ? 0x0100 : 0) |
    (m.recursionAvailable ? 0x0080 : 0) |
    (m.authenticData ? 0x0020 : 0) |
    (m.checkingDisabled ? 0x0010 : 0) |
    (m.rcode & 0xf);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(qd, 4);
  w.buf.writeUInt16BE(counts[0]!, 6);
  w.buf.writeUInt16BE(counts[1]!, 8);
  w.buf.writeUInt16BE(ar, 10);
  return Buffer.from(w.buf.subarray(0, w.len));
}

/** A minimal query for one name and type (RD set, as a stub resolver sends). */
export function buildQuery(id: number, name: string, type: number, edns = true): Buffer {
  const m = emptyMessage(id);
  m.recursionDesired = true;
  m.questions.push({ name, type, class: DNS_CLASS_IN });
  if (edns) m.edns = { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: new Uint8Array(0) };
  return emitDnsMessage(m);
}
