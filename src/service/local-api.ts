/**
 * The daemon's local JSON API (stock zerotier-one's subset): `/status`, `/network`,
 * `/network/<nwid>` (GET, POST = join or change settings, DELETE = leave), `/peer`,
 * `/peer/<address>`, `/moon`. The controller's routes are mounted beside these when enabled.
 */
import type { ApiRequest, ApiResponse, Router } from './http/router.js';
import { NWID_PATTERN } from './home.js';
import type { NetworkUserSettings } from './json-views.js';

type Json = Record<string, unknown>;

/** What the API needs from the running daemon. */
export interface LocalService {
  status(): Json;
  networks(): Json[];
  network(nwid: string): Json | null;
  /** Joins (if needed) and applies settings; an error text when the join is impossible. */
  join(nwid: string, settings: Partial<NetworkUserSettings>): Json | { error: string } | Promise<Json | { error: string }>;
  leave(nwid: string): boolean | Promise<boolean>;
  peers(): Json[];
  peer(address: string): Json | null;
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

function nwidParam(req: ApiRequest): string | null {
  const id = (req.params[0] ?? '').toLowerCase();
  return NWID_PATTERN.test(id) ? id : null;
}

export function mountLocalApi(router: Router, svc: LocalService): void {
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
      const r = await svc.join(id, settings);
      if ('error' in r && typeof r.error === 'string') return { status: 500, body: r };
      return { status: 200, body: r };
    })
    .add('DELETE', '/network/([^/]+)', async (req) => {
      const id = nwidParam(req);
      if (!id) return bad('network id must be 16 hex digits');
      return (await svc.leave(id)) ? { status: 200, body: { result: true } } : notFound(`network ${id} not joined`);
    })
    .add('GET', '/peer', () => ({ status: 200, body: svc.peers() }))
    .add('GET', '/peer/([^/]+)', (req) => {
      const addr = (req.params[0] ?? '').toLowerCase();
      if (!ADDRESS_PATTERN.test(addr)) return bad('peer address must be 10 hex digits');
      const p = svc.peer(addr);
      return p ? { status: 200, body: p } : notFound(`peer ${addr} not known`);
    })
    // moons are not supported: an empty list, as a node that orbits none
    .add('GET', '/moon', () => ({ status: 200, body: [] }));
}
