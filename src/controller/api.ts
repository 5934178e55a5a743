/**
 * ZeroTier's controller JSON API over the store: `/controller`, `/controller/network[/<nwid>]`,
 * `.../member[/<address>]`, `.../active`, and stock 1.12+'s `/unstable/controller/network` and
 * `/unstable/controller/network/<nwid>/member` (whole objects as `{data, meta}`). Creation of networks is limited to ids under this
 * controller's address; POST to `<address>______` or to `/controller/network` picks a free
 * random id. Errors are JSON `{error, field?}`: 400 for bad input (naming the field), 404 for an
 * unknown network or member.
 */
import type { Logger } from 'pino';
import type { ApiRequest, ApiResponse, Router } from '../service/http/router.js';
import { memberJson, networkJson } from './json-view.js';
import { applyMemberBody } from './member-input.js';
import { applyNetworkBody } from './network-input.js';
import { ControllerStore, IpConflictError } from './store.js';
import { defaultNetworkSettings, type MemberRecord } from './types.js';
import { FieldError, isZtAddress } from './validation.js';

export const CONTROLLER_API_VERSION = 4;
/** A member that asked for its config this recently counts as online. */
export const ONLINE_WINDOW_MS = 10 * 60_000;

export interface ControllerApiOptions {
  store: ControllerStore;
  /** This node's 10-digit address; network ids begin with it. */
  nodeAddress: string;
  logger?: Logger;
  now?: () => number;
}

const NWID_RE = /^[0-9a-f]{16}$/;

function badRequest(field: string, problem: string): ApiResponse {
  return { status: 400, body: { error: `${field}: ${problem}`, field, problem } };
}

function notFound(what: string): ApiResponse {
  return { status: 404, body: { error: `${what} not found` } };
}

export class ControllerApi {
  private readonly store: ControllerStore;
  private readonly nodeAddress: string;
  private readonly now: () => number;

  constructor(opts: ControllerApiOptions) {
    if (!isZtAddress(opts.nodeAddress))
      throw new Error(`controller node address ${JSON.stringify(opts.nodeAddress)} is not a ZeroTier address`);
    this.store = opts.store;
    this.nodeAddress = opts.nodeAddress;
    this.now = opts.now ?? Date.now;
  }

  mount(router: Router): void {
    const seg = '([^/]+)';
    const wrap = (h: (req: ApiRequest) => ApiResponse) => (req: ApiRequest) => this.guard(req, h);
    // The patterns below carry one `seg` capture per name the handler takes, so the captures are
    // there by construction.
    const onNetwork = (h: (nwid: string, req: ApiRequest) => ApiResponse) => wrap((r) => h(r.params[0]!, r));
    const onMember = (h: (nwid: string, id: string, req: ApiRequest) => ApiResponse) => wrap((r) => h(r.params[0]!, r.params[1]!, r));
    router
      .add(
        'GET',
        '/controller',
        wrap(() => this.getController()),
      )
      .add(
        'GET',
        '/controller/network',
        wrap(() => ({ status: 200, body: this.store.listNetworkIds() })),
      )
      .add(
        'POST',
        '/controller/network',
        wrap((r) => this.createRandom(r.body)),
      )
      .add(
        'PUT',
        '/controller/network',
        wrap((r) => this.createRandom(r.body)),
      )
      .add(
        'GET',
        `/controller/network/${seg}`,
        onNetwork((nwid) => this.getNetwork(nwid)),
      )
      .add(
        'POST',
        `/controller/network/${seg}`,
        onNetwork((nwid, r) => this.postNetwork(nwid, r.body)),
      )
      .add(
        'PUT',
        `/controller/network/${seg}`,
        onNetwork((nwid, r) => this.postNetwork(nwid, r.body)),
      )
      .add(
        'DELETE',
        `/controller/network/${seg}`,
        onNetwork((nwid) => this.deleteNetwork(nwid)),
      )
      .add(
        'GET',
        `/controller/network/${seg}/member`,
        onNetwork((nwid) => this.listMembers(nwid)),
      )
      .add(
        'GET',
        `/controller/network/${seg}/active`,
        onNetwork((nwid) => this.listActive(nwid)),
      )
      .add(
        'GET',
        `/controller/network/${seg}/member/${seg}`,
        onMember((nwid, id) => this.getMember(nwid, id)),
      )
      .add(
        'POST',
        `/controller/network/${seg}/member/${seg}`,
        onMember((nwid, id, r) => this.postMember(nwid, id, r.body)),
      )
      .add(
        'PUT',
        `/controller/network/${seg}/member/${seg}`,
        onMember((nwid, id, r) => this.postMember(nwid, id, r.body)),
      )
      .add(
        'DELETE',
        `/controller/network/${seg}/member/${seg}`,
        onMember((nwid, id) => this.deleteMember(nwid, id)),
      )
      // stock 1.12+'s whole lists in one answer, with counts beside them
      .add(
        'GET',
        '/unstable/controller/network',
        wrap(() => this.listNetworksWithMeta()),
      )
      .add(
        'GET',
        `/unstable/controller/network/${seg}/member`,
        onNetwork((nwid) => this.listMembersWithMeta(nwid)),
      );
  }

  private guard(req: ApiRequest, h: (req: ApiRequest) => ApiResponse): ApiResponse {
    try {
      return h(req);
    } catch (e) {
      if (e instanceof FieldError) return badRequest(e.field, e.problem);
      if (e instanceof IpConflictError) return badRequest('ipAssignments', e.message);
      throw e;
    }
  }

  private nwidParam(raw: string): string {
    const nwid = raw.toLowerCase();
    if (!NWID_RE.test(nwid)) throw new FieldError('nwid', `${JSON.stringify(raw)} is not a 16-digit hex network id`);
    return nwid;
  }

  private addressParam(raw: string): string {
    const a = raw.toLowerCase();
    if (!isZtAddress(a)) throw new FieldError('address', `${JSON.stringify(raw)} is not a 10-digit hex ZeroTier address`);
    return a;
  }

  private activeCount(nwid: string): number {
    return this.store.membersRequestingSince(nwid, this.now() - ONLINE_WINDOW_MS).length;
  }

  private networkResponse(nwid: string): ApiResponse {
    const n = this.store.getNetwork(nwid);
    if (!n) return notFound(`network ${nwid}`);
    return { status: 200, body: networkJson(n, this.now(), this.activeCount(nwid)) };
  }

  private getController(): ApiResponse {
    return {
      status: 200,
      body: {
        controller: true,
        apiVersion: CONTROLLER_API_VERSION,
        clock: this.now(),
        databaseReady: true,
        instanceId: this.store.instanceId,
      },
    };
  }

  private getNetwork(raw: string): ApiResponse {
    return this.networkResponse(this.nwidParam(raw));
  }

  private createRandom(body: unknown): ApiResponse {
    const now = this.now();
    // Validate against defaults first so a bad body allocates nothing.
    applyNetworkBody(defaultNetworkSettings('0000000000000000', now), body);
    const rec = this.store.createNetworkWithRandomId(this.nodeAddress, (id) => applyNetworkBody(defaultNetworkSettings(id, now), body));
    if (!rec) return { status: 503, body: { error: 'no free network id left under this controller' } };
    return { status: 200, body: networkJson(rec, now, 0) };
  }

  private postNetwork(raw: string, body: unknown): ApiResponse {
    const lower = raw.toLowerCase();
    if (/^[0-9a-f]{10}______$/.test(lower)) {
      if (lower.slice(0, 10) !== this.nodeAddress)
        throw new FieldError('nwid', `${raw} does not begin with this controller's address ${this.nodeAddress}`);
      return this.createRandom(body);
    }
    const nwid = this.nwidParam(raw);
    const exists = this.store.hasNetwork(nwid);
    if (!exists && nwid.slice(0, 10) !== this.nodeAddress) {
      throw new FieldError('nwid', `${nwid} is not a network of this controller (ids begin with ${this.nodeAddress})`);
    }
    const now = this.now();
    this.store.putNetwork(nwid, (current) => applyNetworkBody(current ?? defaultNetworkSettings(nwid, now), body));
    return this.networkResponse(nwid);
  }

  private deleteNetwork(raw: string): ApiResponse {
    const nwid = this.nwidParam(raw);
    const active = this.store.hasNetwork(nwid) ? this.activeCount(nwid) : 0;
    const before = this.store.deleteNetwork(nwid);
    if (!before) return notFound(`network ${nwid}`);
    return { status: 200, body: networkJson(before, this.now(), active) };
  }

  private listMembers(raw: string): ApiResponse {
    const nwid = this.nwidParam(raw);
    if (!this.store.hasNetwork(nwid)) return notFound(`network ${nwid}`);
    return { status: 200, body: this.store.memberRevisions(nwid) };
  }

  /** `{data: [network + meta {totalMemberCount, authorizedMemberCount}], meta: {networkCount}}`, as stock 1.14. */
  private listNetworksWithMeta(): ApiResponse {
    const now = this.now();
    const data: Record<string, unknown>[] = [];
    for (const nwid of this.store.listNetworkIds()) {
      const n = this.store.getNetwork(nwid);
      if (!n) continue; // deleted meanwhile
      const meta = { authorizedMemberCount: n.authorizedMemberCount, totalMemberCount: n.totalMemberCount };
      data.push({ ...networkJson(n, now, this.activeCount(nwid)), meta });
    }
    return { status: 200, body: { data, meta: { networkCount: data.length } } };
  }

  /** `{data: [member], meta: {totalCount, authorizedCount}}`, as stock 1.14. */
  private listMembersWithMeta(raw: string): ApiResponse {
    const nwid = this.nwidParam(raw);
    if (!this.store.hasNetwork(nwid)) return notFound(`network ${nwid}`);
    const now = this.now();
    const data = this.store.listMembers(nwid).map((m) => memberJson(m, now));
    const authorizedCount = data.filter((m) => m.authorized === true).length;
    return { status: 200, body: { data, meta: { authorizedCount, totalCount: data.length } } };
  }

  private listActive(raw: string): ApiResponse {
    const nwid = this.nwidParam(raw);
    if (!this.store.hasNetwork(nwid)) return notFound(`network ${nwid}`);
    const out: Record<string, unknown> = {};
    for (const m of this.store.membersRequestingSince(nwid, this.now() - ONLINE_WINDOW_MS)) {
      out[m.address] = {
        lastRequestTime: m.lastRequestTime,
        physicalAddr: m.physicalAddr,
        authorized: m.authorized,
        vMajor: m.vMajor,
        vMinor: m.vMinor,
        vRev: m.vRev,
        vProto: m.vProto,
      };
    }
    return { status: 200, body: out };
  }

  private memberResponse(m: MemberRecord): ApiResponse {
    return { status: 200, body: memberJson(m, this.now()) };
  }

  private getMember(rawNwid: string, rawAddr: string): ApiResponse {
    const nwid = this.nwidParam(rawNwid);
    const address = this.addressParam(rawAddr);
    const m = this.store.getMember(nwid, address);
    return m ? this.memberResponse(m) : notFound(`member ${address} of network ${nwid}`);
  }

  private postMember(rawNwid: string, rawAddr: string, body: unknown): ApiResponse {
    const nwid = this.nwidParam(rawNwid);
    const address = this.addressParam(rawAddr);
    const now = this.now();
    const m = this.store.updateMember(nwid, address, (member) => applyMemberBody(member, body, now));
    return m ? this.memberResponse(m) : notFound(`network ${nwid}`);
  }

  private deleteMember(rawNwid: string, rawAddr: string): ApiResponse {
    const nwid = this.nwidParam(rawNwid);
    const address = this.addressParam(rawAddr);
    const m = this.store.deleteMember(nwid, address);
    return m ? this.memberResponse(m) : notFound(`member ${address} of network ${nwid}`);
  }
}
