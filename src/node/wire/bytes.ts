/**
 * Bounds-checked big-endian reading and writing for the ZeroTier codecs.
 *
 * `Reader` never throws: a read past the end returns zeros and records the failure, so a parser
 * reads a whole structure and checks `failed` once. Byte fields are `subarray` views (zero-copy);
 * callers copy what they keep beyond the packet's life.
 */

import { readAddress, writeAddress } from './address.js';

/** Result of parsing untrusted bytes: a value, or the reason it was rejected. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: string): Parsed<T> {
  return { ok: false, error };
}

const EMPTY = Buffer.alloc(0);

export class Reader {
  pos: number;
  /** First failure (what was being read), or null. */
  failed: string | null = null;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return Math.max(0, this.end - this.pos);
  }

  /** Claims n bytes; on overrun marks the reader failed and returns -1. */
  private take(n: number, what: string): number {
    if (this.failed !== null) return -1;
    if (!Number.isInteger(n) || n < 0 || this.pos + n > this.end) {
      this.failed = `truncated: ${what}`;
      this.pos = this.end;
      return -1;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  fail(reason: string): void {
    if (this.failed === null) this.failed = reason;
  }

  u8(what = 'u8'): number {
    const at = this.take(1, what);
    return at < 0 ? 0 : this.buf[at]!;
  }

  u16(what = 'u16'): number {
    const at = this.take(2, what);
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }

  u32(what = 'u32'): number {
    const at = this.take(4, what);
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }

  u64(what = 'u64'): bigint {
    const at = this.take(8, what);
    return at < 0 ? 0n : this.buf.readBigUInt64BE(at);
  }

  /** A 40-bit ZeroTier address. */
  address(what = 'address'): bigint {
    const at = this.take(5, what);
    return at < 0 ? 0n : readAddress(this.buf, at);
  }

  /** A 48-bit MAC address. */
  mac(what = 'mac'): bigint {
    const at = this.take(6, what);
    if (at < 0) return 0n;
    return (BigInt(this.buf.readUInt16BE(at)) << 32n) | BigInt(this.buf.readUInt32BE(at + 2));
  }

  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.take(n, what);
    return at < 0 ? EMPTY : this.buf.subarray(at, at + n);
  }

  rest(): Buffer {
    if (this.failed !== null) return EMPTY;
    const b = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return b;
  }

  /** Bytes from `start` to the current position (for signed portions). */
  since(start: number): Buffer {
    return this.buf.subarray(start, this.pos);
  }
}

/** Growable big-endian writer. */
export class Writer {
  private buf: Buffer;
  length = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initial));
  }

  /** Reserves n bytes and returns where they start (may replace `buf`: read it after calling). */
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.buf[at] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, at);
    return this;
  }

  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }

  u64(v: bigint): this {
    const at = this.room(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), at);
    return this;
  }

  address(v: bigint): this {
    writeAddress(this.buf, this.room(5), v);
    return this;
  }

  mac(v: bigint): this {
    const at = this.room(6);
    this.buf.writeUInt16BE(Number((v >> 32n) & 0xffffn), at);
    this.buf.writeUInt32BE(Number(v & 0xffffffffn), at + 2);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }

  zeros(n: number): this {
    const at = this.room(n);
    this.buf.fill(0, at, this.length);
    return this;
  }

  /** Overwrites a u16 written earlier (length prefixes). */
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
