/**
 * The local API's secret: `authtoken.secret`, made on first start with mode 0600 (like
 * zerotier-one's), and the check of a request's token against it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_LENGTH = 24;

export class AuthTokenError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'AuthTokenError';
  }
}

function newToken(): string {
  const bytes = randomBytes(TOKEN_LENGTH);
  let out = '';
  for (const b of bytes) out += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
  return out;
}

/** Reads the token file, creating it (0600) when absent. An existing empty file is an error. */
export function loadOrCreateAuthToken(file: string): string {
  try {
    const fd = openSync(file, 'wx', 0o600);
    const token = newToken();
    try {
      writeSync(fd, token);
    } finally {
      closeSync(fd);
    }
    chmodSync(file, 0o600);
    return token;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'EEXIST') throw new AuthTokenError(file, `cannot be created (${err.code ?? err.message})`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new AuthTokenError(file, `cannot be read (${err.code ?? err.message})`);
  }
  const token = text.trim();
  if (token.length === 0) throw new AuthTokenError(file, 'is empty');
  return token;
}

/** The token a request presents: `X-ZT1-Auth`, `Authorization: Bearer`, or `?auth=`. */
export function presentedToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers['x-zt1-auth'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authz = req.headers.authorization;
  if (typeof authz === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (m) return m[1];
  }
  const q = query.get('auth');
  if (q !== null && q.length > 0) return q;
  return undefined;
}

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
