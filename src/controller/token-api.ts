/**
 * The join-token routes of the controller API (ztnc's own, beside stock's `/controller`):
 * `POST|GET /controller/network/<nwid>/token` (issue, list) and
 * `DELETE /controller/network/<nwid>/token/<id>` (revoke). Bad bodies are 400s naming the field;
 * an unknown network or token is a 404. The secret is answered once, by the POST.
 */
import type { ApiRequest, ApiResponse, Router } from '../service/http/router.js';
import { formatIp, parseIp } from './ip-assignment.js';
import { type JoinTokens, type JoinTokenSettings, tokenJson } from './join-tokens.js';
import { FieldError, isObject, wantArray, wantInt, wantString } from './validation.js';

const NWID_RE = /^[0-9a-f]{16}$/;
const TOKEN_ID_RE = /^[0-9a-f]{16}$/;
/** Longest expiry accepted through `expiresIn`: ten years. */
const MAX_EXPIRES_IN_S = 10 * 365 * 86_400;
const MAX_USES = 1_000_000;

function notFound(what: string): ApiResponse {
  return { status: 404, body: { error: `${what} not found` } };
}

function nwidParam(raw: string): string {
  const nwid = raw.toLowerCase();
  if (!NWID_RE.test(nwid)) throw new FieldError('nwid', `${JSON.stringify(raw)} is not a 16-digit hex network id`);
  return nwid;
}

/** A create body (every field optional) checked and turned into settings; throws FieldError. */
export function parseTokenBody(body: unknown, now: number): JoinTokenSettings {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) throw new FieldError('body', 'must be a JSON object');
  const b = body;
  const out: JoinTokenSettings = { name: '', uses: 1, expiresAt: null, ipAssignments: [], tags: [] };
  if (b.name !== undefined) out.name = wantString(b.name, 'name', 255);
  if (b.uses !== undefined) out.uses = wantInt(b.uses, 'uses', 0, MAX_USES);
  if (b.expiresAt !== undefined && b.expiresIn !== undefined) throw new FieldError('expiresIn', 'give expiresAt or expiresIn, not both');
  if (b.expiresAt !== undefined && b.expiresAt !== null) {
    out.expiresAt = wantInt(b.expiresAt, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
    if (out.expiresAt <= now) throw new FieldError('expiresAt', 'must be in the future (ms since the epoch)');
  }
  if (b.expiresIn !== undefined && b.expiresIn !== null)
    out.expiresAt = now + 1000 * wantInt(b.expiresIn, 'expiresIn', 1, MAX_EXPIRES_IN_S);
  if (b.ipAssignments !== undefined) {
    out.ipAssignments = wantArray(b.ipAssignments, 'ipAssignments', 32).map((v, i) => {
      const ip = parseIp(wantString(v, `ipAssignments[${i}]`, 64));
      if (!ip) throw new FieldError(`ipAssignments[${i}]`, `${JSON.stringify(v)} is not an IPv4 or IPv6 address`);
      return formatIp(ip);
    });
    if (new Set(out.ipAssignments).size !== out.ipAssignments.length) throw new FieldError('ipAssignments', 'lists an address twice');
  }
  if (b.tags !== undefined) {
    const byId = new Map<number, number>();
    wantArray(b.tags, 'tags', 128).forEach((t, i) => {
      if (!Array.isArray(t) || t.length !== 2) throw new FieldError(`tags[${i}]`, 'must be [id, value]');
      byId.set(wantInt(t[0], `tags[${i}][0]`, 0, 0xffffffff), wantInt(t[1], `tags[${i}][1]`, 0, 0xffffffff));
    });
    out.tags = [...byId.entries()].sort((a, c) => a[0] - c[0]);
  }
  return out;
}

export function mountTokenApi(router: Router, tokens: JoinTokens, now: () => number): void {
  const seg = '([^/]+)';
  const guard = (h: (r: ApiRequest) => ApiResponse) => (r: ApiRequest) => {
    try {
      return h(r);
    } catch (e) {
      if (e instanceof FieldError) return { status: 400, body: { error: e.message, field: e.field, problem: e.problem } };
      throw e;
    }
  };
  router
    .add(
      'POST',
      `/controller/network/${seg}/token`,
      guard((r) => {
        const nwid = nwidParam(r.params[0]!);
        const made = tokens.create(nwid, parseTokenBody(r.body, now()));
        return made ? { status: 200, body: tokenJson(made.record, made.token) } : notFound(`network ${nwid}`);
      }),
    )
    .add(
      'GET',
      `/controller/network/${seg}/token`,
      guard((r) => {
        const nwid = nwidParam(r.params[0]!);
        if (!tokens.hasNetwork(nwid)) return notFound(`network ${nwid}`);
        return { status: 200, body: tokens.list(nwid).map((t) => tokenJson(t)) };
      }),
    )
    .add(
      'DELETE',
      `/controller/network/${seg}/token/${seg}`,
      guard((r) => {
        const nwid = nwidParam(r.params[0]!);
        const id = r.params[1]!.toLowerCase();
        if (!TOKEN_ID_RE.test(id)) throw new FieldError('id', `${JSON.stringify(r.params[1])} is not a 16-digit hex token id`);
        if (!tokens.hasNetwork(nwid)) return notFound(`network ${nwid}`);
        const t = tokens.revoke(nwid, id);
        return t ? { status: 200, body: tokenJson(t) } : notFound(`token ${id} of network ${nwid}`);
      }),
    );
}
