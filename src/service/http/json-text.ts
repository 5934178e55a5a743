/**
 * JSON text with exact 64-bit integers, as stock zerotier-one's JSON library writes them: a
 * bigint is written as its bare digits (`"planetWorldId":1706756347787900461`), never rounded
 * through a double; and reading keeps an integer literal that a double cannot hold exactly as a
 * bigint. Everything else is what JSON.stringify / JSON.parse do.
 */
import { randomBytes } from 'node:crypto';

/** JSON text of `value`; bigints become bare digits. `indent` as JSON.stringify's third argument. */
export function stringifyJson(value: unknown, indent?: number): string {
  const marks: string[] = [];
  let nonce = '';
  // Each bigint becomes a placeholder string — NUL, a random nonce, its index, NUL — replaced by
  // its digits afterwards. JSON.stringify escapes NUL, so only a string holding that escape and
  // this call's nonce could look the same.
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      if (nonce === '') nonce = randomBytes(8).toString('hex');
      marks.push(v.toString());
      return `\u0000${nonce}${marks.length - 1}\u0000`;
    },
    indent,
  ) as string | undefined;
  if (text === undefined) return 'null';
  if (marks.length === 0) return text;
  return text.replace(new RegExp(`"\\\\u0000${nonce}(\\d+)\\\\u0000"`, 'g'), (_m, i: string) => marks[Number(i)]!);
}

/** An integer literal longer than this many digits may not survive a double. */
const SAFE_DIGITS = 15;
const LONG_INTEGER = /\d{16,}/;
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

/**
 * Parses JSON text; integer literals beyond Number.MAX_SAFE_INTEGER become bigints. Syntax errors
 * throw SyntaxError with JSON.parse's message.
 */
export function parseJson(text: string): unknown {
  const fast = JSON.parse(text) as unknown;
  // no long digit run anywhere: every number came through exactly
  if (!LONG_INTEGER.test(text)) return fast;
  return new LosslessReader(text).document();
}

/** A reader for text JSON.parse has already accepted: syntax is known good, only values matter. */
class LosslessReader {
  private at = 0;
  constructor(private readonly text: string) {}

  document(): unknown {
    return this.value();
  }

  private skipSpace(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at]!)) this.at++;
  }

  private value(): unknown {
    this.skipSpace();
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't') return this.word('true', true);
    if (c === 'f') return this.word('false', false);
    if (c === 'n') return this.word('null', null);
    return this.number();
  }

  private word<T>(w: string, v: T): T {
    this.at += w.length;
    return v;
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const key = this.string();
      this.skipSpace();
      this.at++; // ':'
      const v = this.value();
      // as JSON.parse: a "__proto__" key is an own property, not the prototype
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      if (this.text[this.at++] === '}') return out;
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.at++;
    this.skipSpace();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      if (this.text[this.at++] === ']') return out;
    }
  }

  private string(): string {
    const start = this.at;
    this.at++;
    while (this.text[this.at] !== '"') this.at += this.text[this.at] === '\\' ? 2 : 1;
    this.at++;
    return JSON.parse(this.text.slice(start, this.at)) as string;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    const lit = m![0];
    this.at += lit.length;
    const n = Number(lit);
    const digits = lit.replace('-', '').length;
    if (m![1] === undefined && m![2] === undefined && digits > SAFE_DIGITS && !Number.isSafeInteger(n)) return BigInt(lit);
    return n;
  }
}
