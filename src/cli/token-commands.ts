/**
 * ztnc-cli's `net token create|list|revoke` over the controller's join-token routes
 * (`/controller/network/<nwid>/token[/<id>]`). `create` prints the answer as JSON, secret included
 * (it is shown only then); `list` and `revoke` print `200 net token …` lines, or JSON with -j.
 */
import { checkNwid, CliError, controllerCall, type ConnectionSource } from './cli-client.js';
import { jsonDump } from './zerotier-cli-format.js';

type Json = Record<string, unknown>;

export interface NetTokenOptions {
  /** `--uses N`: members it may admit (0: unlimited). */
  uses?: number;
  /** `--expires <seconds | 30m | 12h | 7d | ISO date>`. */
  expires?: string;
  /** `--tags id=value,…` (repeatable). */
  tags: string[];
  /** `--ip A[,B]` (repeatable). */
  ips: string[];
  name?: string;
}

const TOKEN_ID_PATTERN = /^[0-9a-f]{16}$/i;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `--uses`: a count, 0 for unlimited. */
export function parseUses(text: string): number {
  if (!/^\d{1,7}$/.test(text)) throw new CliError(`--uses: ${JSON.stringify(text)} is not a count (0 = unlimited)`, 2);
  return Number(text);
}

/** `--expires`: seconds from now (`3600`, `30m`, `12h`, `7d`) or a date (`2027-01-31T12:00:00Z`). */
export function expiryField(text: string, now = Date.now()): { expiresIn: number } | { expiresAt: number } {
  const rel = /^(\d{1,10})([smhdw]?)$/.exec(text);
  if (rel) {
    const seconds = Number(rel[1]) * UNIT_SECONDS[rel[2] || 's']!;
    if (seconds <= 0) throw new CliError('--expires: must be in the future', 2);
    return { expiresIn: seconds };
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) {
    throw new CliError(
      `--expires: ${JSON.stringify(text)} is neither seconds (or 30m, 12h, 7d) nor an ISO date like 2027-01-31T12:00:00Z`,
      2,
    );
  }
  if (at <= now) throw new CliError(`--expires: ${text} is in the past`, 2);
  return { expiresAt: at };
}

function tagNumber(text: string, what: string): number {
  const v = /^0x[0-9a-f]{1,8}$/i.test(text) ? parseInt(text, 16) : /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(v) || v > 0xffffffff)
    throw new CliError(`--tags: ${what} ${JSON.stringify(text)} is not a number from 0 to 4294967295`, 2);
  return v;
}

/** `--tags 1000=1,1001=0x20` → `[[1000, 1], [1001, 32]]`. */
export function parseTags(items: readonly string[]): [number, number][] {
  const out: [number, number][] = [];
  for (const item of items.flatMap((s) => s.split(',')).filter((s) => s.length > 0)) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new CliError(`--tags: ${JSON.stringify(item)} must be <tag id>=<value>`, 2);
    out.push([tagNumber(item.slice(0, eq), 'tag id'), tagNumber(item.slice(eq + 1), 'value')]);
  }
  return out;
}

/** The POST body `net token create` sends. */
export function tokenCreateBody(o: NetTokenOptions, now = Date.now()): Json {
  const body: Json = {};
  if (o.uses !== undefined) body.uses = o.uses;
  if (o.expires !== undefined) Object.assign(body, expiryField(o.expires, now));
  const ips = o.ips.flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  if (ips.length > 0) body.ipAssignments = ips;
  const tags = parseTags(o.tags);
  if (tags.length > 0) body.tags = tags;
  if (o.name !== undefined) body.name = o.name;
  return body;
}

function tokenLine(t: Json): string {
  const uses = t.uses === 0 ? 'unlimited' : `${String(t.usesLeft)}/${String(t.uses)}`;
  const expires = typeof t.expiresAt === 'number' ? new Date(t.expiresAt).toISOString() : 'never';
  const state = t.revoked === true ? 'REVOKED' : t.usesLeft === 0 ? 'USED' : 'VALID';
  const name = typeof t.name === 'string' && t.name.length > 0 ? t.name : '-';
  return `200 net token ${String(t.id)} ${state} ${uses} ${expires} ${name}`;
}

export const NET_TOKEN_HEADER = '200 net token <id> <state> <uses left>/<uses> <expires> <name>';

/** Runs `net token <sub> …` (words after `token`); returns the lines to print. */
export async function runTokenCommand(c: ConnectionSource, words: readonly string[], o: NetTokenOptions, json: boolean): Promise<string[]> {
  const sub = words[0];
  const what = `net token ${sub ?? ''}`.trim();
  const args = (n: number, usage: string): void => {
    if (words.length - 1 !== n) throw new CliError(`usage: ztnc-cli net token ${usage}`, 2);
  };
  switch (sub) {
    case 'create': {
      args(1, 'create <network ID> [--uses N] [--expires T] [--tags id=value,…] [--ip A] [--name N]');
      const nwid = checkNwid(words[1]);
      return [jsonDump((await controllerCall(c, what, 'POST', `/controller/network/${nwid}/token`, tokenCreateBody(o))).body)];
    }
    case 'list': {
      args(1, 'list <network ID>');
      const list = (await controllerCall(c, what, 'GET', `/controller/network/${checkNwid(words[1])}/token`)).body;
      if (!Array.isArray(list)) throw new CliError(`${what}: the daemon's answer is not a list`);
      if (json) return [jsonDump(list)];
      return [NET_TOKEN_HEADER, ...list.map((t) => tokenLine(t as Json))];
    }
    case 'revoke': {
      args(2, 'revoke <network ID> <token ID>');
      const nwid = checkNwid(words[1]);
      if (!TOKEN_ID_PATTERN.test(words[2]!))
        throw new CliError(`${what}: invalid token id ${JSON.stringify(words[2])}: must be 16 hex digits`, 2);
      const t = (await controllerCall(c, what, 'DELETE', `/controller/network/${nwid}/token/${words[2]!.toLowerCase()}`)).body;
      return [json ? jsonDump(t) : '200 net token revoke OK'];
    }
    case undefined:
      throw new CliError('net token: missing subcommand (create, list, revoke)', 2);
    default:
      throw new CliError(`net token: unknown subcommand ${JSON.stringify(sub)} (create, list, revoke)`, 2);
  }
}
