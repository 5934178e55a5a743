/**
 * The daemon's local JSON API (stock zerotier-one's subset): `/status`, `/network`,
 * `/network/<nwid>` (GET, POST = join or change settings, DELETE = leave), `/peer`,
 * `/peer/<address>`, `/moon`; and ztnc's own `POST /network/<nwid>/ping` (ICMP echo from the
 * network's stack, as `ping` would from a kernel interface); and the web UI's files at `/app/…`
 * (`web-ui.ts`), where stock serves its static files. The controller's routes are mounted beside
 * these when enabled.
 */
import {
  formatIp,
  isLoopback,
  isMulticast,
  isMulticast6,
  isV4Mapped,
  IPV4_ANY,
  IPV4_BROADCAST,
  IPV6_ANY,
  IPV6_LOOPBACK,
  parseIp,
  type IpAddr,
} from '../netstack/index.js';
import type { ApiRequest, ApiResponse, Router } from './http/router.js';
import { NWID_PATTERN } from './home.js';
import type { NetworkUserSettings } from './json-views.js';
import { defaultWebUiDir, mountWebUi } from './web-ui.js';
import { isJoinTokenText } from './network-settings.js';

type Json = Record<string, unknown>;

/** A ping series asked for through the API. */
export interface PingRequest {
  /** Dotted-quad IPv4 address, in canonical form. */
  address: string;
  count: number;
  timeoutMs: number;
}

/** One echo request's outcome: its reply's round trip, or the error (ETIMEDOUT, EHOSTUNREACH…). */
export type PingReply = { seq: number; rttMs: number; ttl: number } | { seq: number; error: string };

export interface PingReport {
  address: string;
  transmitted: number;
  received: number;
  /** Round-trip times of the replies, in the order sent. */
  rttMs: number[];
  /** Every request, in order. */
  replies: PingReply[];
}

/** A report, or why the network cannot ping (404: not joined, 409: no address yet). */
export type PingAnswer = { status: 200; report: PingReport } | { status: 404 | 409; error: string };

export const PING_DEFAULT_COUNT = 3;
export const PING_MAX_COUNT = 100;
export const PING_DEFAULT_TIMEOUT_MS = 2000;
/** Keeps the longest series well within a client's patience (ztnc-cli waits 60 s). */
export const PING_MAX_TIMEOUT_MS = 20_000;

/** What the API needs from the running daemon. */
export interface LocalService {
  status(): Json;
  networks(): Json[];
  network(nwid: string): Json | null;
  /** Joins (if needed) and applies settings (and a join token); an error text when the join is impossible. */
  join(nwid: string, settings: Partial<NetworkUserSettings>, token?: string): Json | { error: string } | Promise<Json | { error: string }>;
  leave(nwid: string): boolean | Promise<boolean>;
  peers(): Json[];
  peer(address: string): Json | null;
  /** ICMP echo requests from the network's stack to `req.address`. */
  ping(nwid: string, req: PingRequest): Promise<PingAnswer>;
}

const ADDRESS_PATTERN = /^[0-9a-f]{10}$/;
const SETTING_KEYS = ['allowManaged', 'allowGlobal', 'allowDefault', 'allowDNS'] as const;

function bad(error: string): ApiResponse {
  return { status: 400, body: { error } };
}

function notFound(error: string): ApiResponse {
  return { status: 404, body: { error } };
}

/** The allow* settings in a join/settings body; read-only fields stock echoes back are ignored. */
export function parseNetworkSettings(body: unknown): Partial<NetworkUserSettings> | string {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  const out: Partial<NetworkUserSettings> = {};
  for (const k of SETTING_KEYS) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v === 'boolean') out[k] = v;
    else if (v === 0 || v === 1) out[k] = v === 1;
    else return `${k}: must be true or false`;
  }
  return out;
}

function intField(b: Record<string, unknown>, key: string, min: number, max: number, dflt: number): number | string {
  const v = b[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return `${key}: must be an integer from ${min} to ${max}`;
  return v;
}

/** The join token of a join body (`"token": "…"`, ztnc's own field); an error text when unusable. */
export function parseJoinToken(body: unknown): string | undefined | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const t = (body as Record<string, unknown>).token;
  if (t === undefined || t === null || t === '') return undefined;
  if (typeof t !== 'string' || !isJoinTokenText(t))
    return { error: 'token: must be printable text without spaces, at most 256 characters' };
  return t;
}

/** A ping body: `address` (required), `count` and `timeoutMs`; an error naming the field. */
export function parsePingBody(body: unknown): PingRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object with an address';
  const b = body as Record<string, unknown>;
  if (b.address === undefined) return 'address: required (an IPv4 or IPv6 address on the network)';
  if (typeof b.address !== 'string') return 'address: must be a string holding an IPv4 or IPv6 address';
  const addr = parseIp(b.address);
  if (addr === null) return `address: ${JSON.stringify(b.address.slice(0, 40))} is not an IPv4 address or an IPv6 address`;
  if (!isUnicastOnNetwork(addr)) return `address: ${b.address} is not a unicast address on a network`;
  const count = intField(b, 'count', 1, PING_MAX_COUNT, PING_DEFAULT_COUNT);
  if (typeof count === 'string') return count;
  const timeoutMs = intField(b, 'timeoutMs', 1, PING_MAX_TIMEOUT_MS, PING_DEFAULT_TIMEOUT_MS);
  if (typeof timeoutMs === 'string') return timeoutMs;
  return { address: formatIp(addr), count, timeoutMs };
}

/** Not the unspecified, broadcast, loopback or a multicast address (of either family). */
function isUnicastOnNetwork(addr: IpAddr): boolean {
  if (typeof addr === 'string') return addr !== IPV6_ANY && addr !== IPV6_LOOPBACK && !isMulticast6(addr) && !isV4Mapped(addr);
  return addr !== IPV4_ANY && addr !== IPV4_BROADCAST && !isLoopback(addr) && !isMulticast(addr);
}

function nwidParam(req: ApiRequest): string | null {
  const id = (req.params[0] ?? '').toLowerCase();
  return NWID_PATTERN.test(id) ? id : null;
}

/** `webUiDir`: where the web UI's built files are (tests give their own). */
export function mountLocalApi(router: Router, svc: LocalService, webUiDir: string = defaultWebUiDir()): void {
  mountWebUi(router, webUiDir);
  router
    .add('GET', '/status', () => ({ status: 200, body: svc.status() }))
    .add('GET', '/network', () => ({ status: 200, body: svc.networks() }))
    .add('GET', '/network/([^/]+)', (req) => {
      const id = nwidParam(req);
      if (!id) return bad('network id must be 16 hex digits');
      const n = svc.network(id);
      return n ? { status: 200, body: n } : notFound(`network ${id} not joined`);
    })
    .add('POST', '/network/([^/]+)', async (req) => {
      const id = nwidParam(req);
      if (!id) return bad('network id must be 16 hex digits');
      const settings = parseNetworkSettings(req.body);
      if (typeof settings === 'string') return bad(settings);
      const token = parseJoinToken(req.body);
      if (typeof token === 'object') return bad(token.error);
      const r = await svc.join(id, settings, token);
      if ('error' in r && typeof r.error === 'string') return { status: 500, body: r };
      return { status: 200, body: r };
    })
    .add('DELETE', '/network/([^/]+)', async (req) => {
      const id = nwidParam(req);
      if (!id) return bad('network id must be 16 hex digits');
      return (await svc.leave(id)) ? { status: 200, body: { result: true } } : notFound(`network ${id} not joined`);
    })
    .add('POST', '/network/([^/]+)/ping', async (req) => {
      const id = nwidParam(req);
      if (!id) return bad('network id must be 16 hex digits');
      const ping = parsePingBody(req.body);
      if (typeof ping === 'string') return bad(ping);
      const r = await svc.ping(id, ping);
      return r.status === 200 ? { status: 200, body: r.report } : { status: r.status, body: { error: r.error } };
    })
    .add('GET', '/peer', () => ({ status: 200, body: svc.peers() }))
    .add('GET', '/peer/([^/]+)', (req) => {
      const addr = (req.params[0] ?? '').toLowerCase();
      if (!ADDRESS_PATTERN.test(addr)) return bad('peer address must be 10 hex digits');
      const p = svc.peer(addr);
      return p ? { status: 200, body: p } : notFound(`peer ${addr} not known`);
    })
    // a service without moons answers as a node that orbits none (the daemon mounts moons.ts before this)
    .add('GET', '/moon', () => ({ status: 200, body: [] }));
}
