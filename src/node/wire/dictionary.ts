/**
 * ZeroTier's Dictionary: `key=value` lines joined by LF, ending at the first NUL. Values may be
 * binary; NUL, CR, LF, backslash and '=' are escaped as \0 \r \n \\ \e. Integers are hex (64-bit
 * values as 16 digits), booleans "1"/"0". Keys are unique in practice; lookups take the first.
 */
import { fail, ok, type Parsed } from './bytes.js';

export interface DictionaryEntry {
  key: string;
  value: Buffer;
}

const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const LF = 0x0a;
const CR = 0x0d;

export function escapeValue(value: Uint8Array): Buffer {
  let extra = 0;
  for (const c of value) if (c === 0 || c === CR || c === LF || c === BACKSLASH || c === EQUALS) extra++;
  const out = Buffer.allocUnsafe(value.length + extra);
  let j = 0;
  for (const c of value) {
    switch (c) {
      case 0:
        out[j++] = BACKSLASH;
        out[j++] = 0x30; // '0'
        break;
      case CR:
        out[j++] = BACKSLASH;
        out[j++] = 0x72; // 'r'
        break;
      case LF:
        out[j++] = BACKSLASH;
        out[j++] = 0x6e; // 'n'
        break;
      case BACKSLASH:
        out[j++] = BACKSLASH;
        out[j++] = BACKSLASH;
        break;
      case EQUALS:
        out[j++] = BACKSLASH;
        out[j++] = 0x65; // 'e'
        break;
      default:
        out[j++] = c;
    }
  }
  return out;
}

/** Undoes escaping; an unknown escape stands for the character itself, as stock reads it. */
export function unescapeValue(text: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let j = 0;
  let esc = false;
  for (const c of text) {
    if (esc) {
      esc = false;
      out[j++] = c === 0x72 ? CR : c === 0x6e ? LF : c === 0x30 ? 0 : c === 0x65 ? EQUALS : c;
    } else if (c === BACKSLASH) {
      esc = true;
    } else {
      out[j++] = c;
    }
  }
  return out.subarray(0, j);
}

/** 16 hex digits, as stock writes 64-bit integers. */
export function hexU64(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

export class Dictionary {
  readonly entries: DictionaryEntry[] = [];

  /** Parses the text form (bytes up to the first NUL). Lines without '=' are skipped. */
  static parse(bytes: Uint8Array, maxBytes = 1 << 20): Parsed<Dictionary> {
    if (bytes.length > maxBytes) return fail(`dictionary too large (${bytes.length} bytes)`);
    const src = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let end = src.indexOf(0);
    if (end < 0) end = src.length;
    const d = new Dictionary();
    let i = 0;
    while (i < end) {
      let eol = i;
      while (eol < end && src[eol] !== LF && src[eol] !== CR) eol++;
      const eq = src.indexOf(EQUALS, i);
      if (eq >= 0 && eq < eol) {
        const key = src.toString('latin1', i, eq);
        if (key.length > 0) d.entries.push({ key, value: unescapeValue(src.subarray(eq + 1, eol)) });
      }
      i = eol + 1;
    }
    return ok(d);
  }

  has(key: string): boolean {
    return this.entries.some((e) => e.key === key);
  }

  get(key: string): Buffer | undefined {
    for (const e of this.entries) if (e.key === key) return e.value;
    return undefined;
  }

  getString(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : v.toString('utf8');
  }

  /** A hex integer; undefined when absent or not hex. */
  getU64(key: string): bigint | undefined {
    const s = this.get(key)?.toString('latin1');
    if (s === undefined || !/^[0-9a-fA-F]{1,16}$/.test(s)) return undefined;
    return BigInt(`0x${s}`);
  }

  getBool(key: string): boolean | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const c = v[0];
    return c === 0x31 || c === 0x74 || c === 0x54; // '1', 't', 'T'
  }

  /** Appends an entry (does not replace an earlier one with the same key). */
  add(key: string, value: Uint8Array | string | bigint | boolean): this {
    let v: Buffer;
    if (typeof value === 'bigint') v = Buffer.from(hexU64(value), 'latin1');
    else if (typeof value === 'boolean') v = Buffer.from(value ? '1' : '0', 'latin1');
    else if (typeof value === 'string') v = Buffer.from(value, 'utf8');
    else v = Buffer.from(value);
    this.entries.push({ key, value: v });
    return this;
  }

  /** Replaces the first entry with this key, or appends. */
  set(key: string, value: Uint8Array | string | bigint | boolean): this {
    const at = this.entries.findIndex((e) => e.key === key);
    if (at < 0) return this.add(key, value);
    const tmp = new Dictionary().add(key, value);
    this.entries[at] = tmp.entries[0]!;
    return this;
  }

  /** The text form, without a trailing NUL. */
  encode(): Buffer {
    const parts: Buffer[] = [];
    this.entries.forEach((e, i) => {
      if (i > 0) parts.push(Buffer.from([LF]));
      parts.push(Buffer.from(`${e.key}=`, 'latin1'), escapeValue(e.value));
    });
    return Buffer.concat(parts);
  }
}
