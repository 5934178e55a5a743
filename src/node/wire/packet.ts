/**
 * ZeroTier packet and fragment headers (protocol 1.x), as zero-copy views over a datagram.
 *
 * Packet: id/IV (8) · destination (5) · source (5) · flags (1) · MAC (8) · verb (1) · payload.
 * Fragment: id (8) · destination (5) · 0xff · (total << 4 | number) · hops · data.
 * The verb byte and payload are encrypted under ciphers 1 and 3; read them only after dearmor.
 */
import { readAddress, readAddressNumber, writeAddress } from './address.js';
import { fail, ok, type Parsed } from './bytes.js';

export const PACKET_IDX_IV = 0;
export const PACKET_IDX_DEST = 8;
export const PACKET_IDX_SOURCE = 13;
export const PACKET_IDX_FLAGS = 18;
export const PACKET_IDX_MAC = 19;
export const PACKET_IDX_VERB = 27;
export const PACKET_IDX_PAYLOAD = 28;
/** Smallest packet: a header and a verb byte. */
export const PACKET_MIN_LENGTH = 28;
/** Largest reassembled packet stock nodes handle (16 pieces of a 1444-byte UDP MTU, rounded). */
export const PACKET_MAX_LENGTH = 16 * 1444;

export const FRAGMENT_IDX_INDICATOR = 13;
export const FRAGMENT_INDICATOR = 0xff;
export const FRAGMENT_IDX_NUMBERS = 14;
export const FRAGMENT_IDX_HOPS = 15;
export const FRAGMENT_HEADER_LENGTH = 16;
/** Most pieces a packet can be sent in, the head included: the count field has 4 bits. */
export const MAX_FRAGMENTS = 15;
/** Default physical (UDP payload) MTU stock nodes use. */
export const DEFAULT_PHYSICAL_MTU = 1432;

export const FLAG_FRAGMENTED = 0x40;
export const FLAGS_CIPHER_MASK = 0x38;
export const FLAGS_HOPS_MASK = 0x07;
export const VERB_FLAG_COMPRESSED = 0x80;
export const VERB_MASK = 0x1f;
export const MAX_HOPS = 7;

export const Cipher = {
  POLY1305_NONE: 0,
  POLY1305_SALSA2012: 1,
  NONE: 2,
  AES_GMAC_SIV: 3,
} as const;

export const Verb = {
  NOP: 0x00,
  HELLO: 0x01,
  ERROR: 0x02,
  OK: 0x03,
  WHOIS: 0x04,
  RENDEZVOUS: 0x05,
  FRAME: 0x06,
  EXT_FRAME: 0x07,
  ECHO: 0x08,
  MULTICAST_LIKE: 0x09,
  NETWORK_CREDENTIALS: 0x0a,
  NETWORK_CONFIG_REQUEST: 0x0b,
  NETWORK_CONFIG: 0x0c,
  MULTICAST_GATHER: 0x0d,
  MULTICAST_FRAME: 0x0e,
  PUSH_DIRECT_PATHS: 0x10,
  ACK: 0x12,
  QOS_MEASUREMENT: 0x13,
  USER_MESSAGE: 0x14,
  REMOTE_TRACE: 0x15,
  PATH_NEGOTIATION_REQUEST: 0x16,
} as const;

const VERB_NAMES = new Map<number, string>(Object.entries(Verb).map(([k, v]) => [v, k]));

export function verbName(v: number): string {
  return VERB_NAMES.get(v) ?? `VERB_${v}`;
}

/** Is this datagram a (non-head) fragment? Head fragments are ordinary packets with flag 0x40. */
export function isFragment(datagram: Uint8Array): boolean {
  return datagram.length >= FRAGMENT_HEADER_LENGTH && datagram[FRAGMENT_IDX_INDICATOR] === FRAGMENT_INDICATOR;
}

/**
 * The destination address of a packet or fragment (both carry it at the same place), as a number;
 * null for a datagram too short to be either.
 */
export function datagramDestination(datagram: Uint8Array): number | null {
  return datagram.length >= FRAGMENT_HEADER_LENGTH ? readAddressNumber(datagram, PACKET_IDX_DEST) : null;
}

/** A view of one packet (or head fragment). The buffer is not copied. */
export class PacketView {
  private constructor(readonly buf: Buffer) {}

  /** Checks the size and that it is not a fragment; the rest is read on demand. */
  static parse(datagram: Buffer): Parsed<PacketView> {
    if (datagram.length < PACKET_MIN_LENGTH) return fail(`packet too short (${datagram.length} bytes)`);
    if (datagram.length > PACKET_MAX_LENGTH) return fail(`packet too long (${datagram.length} bytes)`);
    if (datagram[FRAGMENT_IDX_INDICATOR] === FRAGMENT_INDICATOR) return fail('datagram is a fragment');
    return ok(new PacketView(datagram));
  }

  get length(): number {
    return this.buf.length;
  }
  get packetId(): bigint {
    return this.buf.readBigUInt64BE(PACKET_IDX_IV);
  }
  /** The 8 id bytes: OK/ERROR name a request by these on-wire bytes. */
  get packetIdBytes(): Buffer {
    return this.buf.subarray(PACKET_IDX_IV, PACKET_IDX_IV + 8);
  }
  get destination(): bigint {
    return readAddress(this.buf, PACKET_IDX_DEST);
  }
  get source(): bigint {
    return readAddress(this.buf, PACKET_IDX_SOURCE);
  }
  /** `destination` as a number (see readAddressNumber): compared on every packet, made without a bigint. */
  get destinationNumber(): number {
    return readAddressNumber(this.buf, PACKET_IDX_DEST);
  }
  /** `source` as a number. */
  get sourceNumber(): number {
    return readAddressNumber(this.buf, PACKET_IDX_SOURCE);
  }
  get flags(): number {
    return this.buf[PACKET_IDX_FLAGS]!;
  }
  get fragmented(): boolean {
    return (this.flags & FLAG_FRAGMENTED) !== 0;
  }
  get cipher(): number {
    return (this.flags & FLAGS_CIPHER_MASK) >> 3;
  }
  get hops(): number {
    return this.flags & FLAGS_HOPS_MASK;
  }
  /** Relays change only the hop bits, which the MAC does not cover. */
  set hops(n: number) {
    this.buf[PACKET_IDX_FLAGS] = (this.flags & ~FLAGS_HOPS_MASK) | (n & FLAGS_HOPS_MASK);
  }
  get mac(): Buffer {
    return this.buf.subarray(PACKET_IDX_MAC, PACKET_IDX_MAC + 8);
  }
  /** Meaningful only once the packet is in plaintext. */
  get verbByte(): number {
    return this.buf[PACKET_IDX_VERB]!;
  }
  get verb(): number {
    return this.verbByte & VERB_MASK;
  }
  get compressed(): boolean {
    return (this.verbByte & VERB_FLAG_COMPRESSED) !== 0;
  }
  get payload(): Buffer {
    return this.buf.subarray(PACKET_IDX_PAYLOAD);
  }
}

/** A packet id as its two 32-bit halves: how a sender counts ids without bigint arithmetic. */
export interface PacketIdHalves {
  high: number;
  low: number;
}

export interface PacketFields {
  packetId: bigint | PacketIdHalves;
  destination: bigint;
  source: bigint;
  cipher: number;
  hops?: number;
  verb: number;
  compressed?: boolean;
  /** Set when the armored packet will be split (the MAC covers this flag). */
  fragmented?: boolean;
}

/** Builds a plaintext packet with a zero MAC (the armor fills MAC and cipher text). */
export function buildPacket(f: PacketFields, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(PACKET_IDX_PAYLOAD + payload.length);
  writePacketHeader(b, f);
  b.set(payload, PACKET_IDX_PAYLOAD);
  return b;
}

/**
 * The same packet built without a copy: the header goes into the PACKET_IDX_PAYLOAD bytes right
 * before `payload` in its buffer, which the caller guarantees are free.
 */
export function packetAroundPayload(f: PacketFields, payload: Uint8Array): Buffer {
  const b = Buffer.from(payload.buffer, payload.byteOffset - PACKET_IDX_PAYLOAD, PACKET_IDX_PAYLOAD + payload.length);
  writePacketHeader(b, f);
  return b;
}

function writePacketHeader(b: Buffer, f: PacketFields): void {
  const id = f.packetId;
  if (typeof id === 'bigint') b.writeBigUInt64BE(BigInt.asUintN(64, id), PACKET_IDX_IV);
  else {
    b.writeUInt32BE(id.high >>> 0, PACKET_IDX_IV);
    b.writeUInt32BE(id.low >>> 0, PACKET_IDX_IV + 4);
  }
  writeAddress(b, PACKET_IDX_DEST, f.destination);
  writeAddress(b, PACKET_IDX_SOURCE, f.source);
  b[PACKET_IDX_FLAGS] = (f.fragmented ? FLAG_FRAGMENTED : 0) | ((f.cipher & 7) << 3) | ((f.hops ?? 0) & FLAGS_HOPS_MASK);
  b.fill(0, PACKET_IDX_MAC, PACKET_IDX_VERB);
  b[PACKET_IDX_VERB] = (f.verb & VERB_MASK) | (f.compressed ? VERB_FLAG_COMPRESSED : 0);
}

/** A view of one non-head fragment. */
export class FragmentView {
  private constructor(readonly buf: Buffer) {}

  static parse(datagram: Buffer): Parsed<FragmentView> {
    if (datagram.length < FRAGMENT_HEADER_LENGTH) return fail(`fragment too short (${datagram.length} bytes)`);
    if (datagram[FRAGMENT_IDX_INDICATOR] !== FRAGMENT_INDICATOR) return fail('not a fragment');
    const v = new FragmentView(datagram);
    if (v.total < 2 || v.total > MAX_FRAGMENTS) return fail(`bad fragment count ${v.total}`);
    if (v.number < 1 || v.number >= v.total) return fail(`bad fragment number ${v.number} of ${v.total}`);
    if (datagram.length === FRAGMENT_HEADER_LENGTH) return fail('empty fragment');
    return ok(v);
  }

  get packetId(): bigint {
    return this.buf.readBigUInt64BE(0);
  }
  get destination(): bigint {
    return readAddress(this.buf, PACKET_IDX_DEST);
  }
  get total(): number {
    return this.buf[FRAGMENT_IDX_NUMBERS]! >> 4;
  }
  get number(): number {
    return this.buf[FRAGMENT_IDX_NUMBERS]! & 0x0f;
  }
  get hops(): number {
    return this.buf[FRAGMENT_IDX_HOPS]! & FLAGS_HOPS_MASK;
  }
  set hops(n: number) {
    this.buf[FRAGMENT_IDX_HOPS] = n & FLAGS_HOPS_MASK;
  }
  get data(): Buffer {
    return this.buf.subarray(FRAGMENT_HEADER_LENGTH);
  }
}

/**
 * Splits an armored packet into a head and fragments for a physical MTU, as stock does: the head
 * is the first `mtu` bytes with flag 0x40 set (set before armoring so the MAC covers it), each
 * fragment carries up to `mtu - 16` more bytes. Returns the packet itself when it fits, or null if
 * it would need more than MAX_FRAGMENTS pieces or lacks the fragmented flag (its MAC would then
 * not match what the receiver reassembles).
 */
export function fragmentPacket(packet: Buffer, mtu = DEFAULT_PHYSICAL_MTU): Buffer[] | null {
  if (packet.length <= mtu) return [packet];
  if ((packet[PACKET_IDX_FLAGS]! & FLAG_FRAGMENTED) === 0) return null;
  const per = mtu - FRAGMENT_HEADER_LENGTH;
  const rest = packet.length - mtu;
  const total = 1 + Math.ceil(rest / per);
  if (total > MAX_FRAGMENTS || per <= 0) return null;
  const out: Buffer[] = [packet.subarray(0, mtu)];
  for (let n = 1, at = mtu; n < total; n++, at += per) {
    const chunk = packet.subarray(at, Math.min(packet.length, at + per));
    const f = Buffer.allocUnsafe(FRAGMENT_HEADER_LENGTH + chunk.length);
    packet.copy(f, 0, 0, 13);
    f[FRAGMENT_IDX_INDICATOR] = FRAGMENT_INDICATOR;
    f[FRAGMENT_IDX_NUMBERS] = (total << 4) | n;
    f[FRAGMENT_IDX_HOPS] = packet[PACKET_IDX_FLAGS]! & FLAGS_HOPS_MASK;
    f.set(chunk, FRAGMENT_HEADER_LENGTH);
    out.push(f);
  }
  return out;
}
