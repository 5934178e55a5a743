/**
 * The controller as the node sees it: answers a member's config request from the store
 * (authorization, IP assignment, the config's contents) and tells the node which members need
 * a fresh config after a change. Semantics follow stock EmbeddedNetworkController: public
 * networks authorize on first request; a stored identity that differs from the requester's is
 * refused; addresses outside every managed route are not given out.
 */
import type { Logger } from 'pino';
import {
  type ConfigRequest,
  type ConfigRequestResult,
  type ControllerChange,
  type ControllerNetworkConfig,
  type ControllerRule,
  type NetworkControllerBackend,
  SPECIALIST_ACTIVE_BRIDGE,
} from '../node/index.js';
import type { JoinTokens, TokenCheck, TokenRefusal } from './join-tokens.js';
import { formatIp, parseIp, pickIpv4, pickIpv6, rfc4193Address, routedBits, sixPlaneAddress } from './ip-assignment.js';
import { DefaultRoutes } from './default-route.js';
import { MemberNames } from './member-names.js';
import type { ControllerStore, StoreChange } from './store.js';
import type { MemberSettings, NetworkConfigSource } from './types.js';

/** Stock's default credential window (30 minutes). */
export const CREDENTIAL_TIME_MAX_DELTA_MS = 30 * 60_000;
const MAX_STATIC_IPS = 32;

export interface ControllerBackendOptions {
  store: ControllerStore;
  /** Join tokens members may present; without, a presented token is ignored. */
  tokens?: JoinTokens;
  nodeAddress: string;
  logger?: Logger;
  now?: () => number;
}

function hex(v: bigint, digits: number): string {
  return v.toString(16).padStart(digits, '0');
}

export class ControllerBackend implements NetworkControllerBackend {
  private readonly store: ControllerStore;
  private readonly now: () => number;
  private readonly nodeAddress: bigint;
  private readonly names: MemberNames;
  private readonly defaultRoutes: DefaultRoutes;
  /** The store change being delivered, and whether it altered its network's names. */
  private lastChange: StoreChange | null = null;
  private lastChangeAltersNames = false;
  /** …and whether it altered its network's default routes (the gateway member's addresses). */
  private lastChangeAltersDefaultRoutes = false;

  constructor(private readonly opts: ControllerBackendOptions) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.nodeAddress = BigInt(`0x${opts.nodeAddress}`);
    this.names = new MemberNames(this.store, (msg, fields) => this.opts.logger?.warn(fields, msg));
    this.defaultRoutes = new DefaultRoutes(this.store);
    // first among the store's listeners, so the names are current when a change is passed on
    this.store.onChange((c) => {
      this.lastChange = c;
      this.lastChangeAltersNames = this.names.apply(c);
      this.lastChangeAltersDefaultRoutes = this.defaultRoutes.apply(c);
    });
  }

  onChange(listener: (change: ControllerChange) => void): () => void {
    return this.store.onChange((c) => {
      const nwid = BigInt(`0x${c.nwid}`);
      if (c.kind === 'network') listener(c.deleted ? { nwid, deleted: true } : { nwid });
      // a member's name, addresses or authorization are in every member's config (and the gateway's
      // addresses in every default route): all are pushed
      else if (this.lastChange === c && (this.lastChangeAltersNames || this.lastChangeAltersDefaultRoutes)) listener({ nwid });
      else listener({ nwid, members: [BigInt(`0x${c.address}`)] });
    });
  }

  request(req: ConfigRequest): ConfigRequestResult {
    // the member update and the request log commit together: one transaction per request
    return this.store.transaction(() => this.answer(req));
  }

  private answer(req: ConfigRequest): ConfigRequestResult {
    if (req.nwid >> 24n !== this.nodeAddress) return { ok: false, error: 'NOT_FOUND' };
    const nwid = hex(req.nwid, 16);
    const address = hex(req.address, 10);
    if (!req.identity.startsWith(`${address}:`)) return { ok: false, error: 'ACCESS_DENIED' };
    const network = this.store.getNetworkSettings(nwid);
    if (!network) return { ok: false, error: 'NOT_FOUND' };
    const now = this.now();

    let identityClash = false;
    let staticIps: string[] = [];
    let tokenOutcome = null as TokenCheck | TokenRefusal | null;
    const member = this.store.updateMember(nwid, address, (m, created) => {
      if (m.identity !== null && m.identity !== req.identity) {
        identityClash = true;
        return;
      }
      m.identity = req.identity;
      // a token only matters to a member not yet admitted: an admitted one resending it is left alone
      if (!m.authorized && req.metadata.joinToken !== undefined) tokenOutcome = this.presentToken(nwid, m, req.metadata.joinToken, now);
      if (!network.private && !m.authorized) {
        m.authorized = true;
        m.lastAuthorizedTime = now;
        m.lastAuthorizedCredentialType = 'public';
        m.lastAuthorizedCredential = null;
      }
      if (!m.authorized) return;
      const md = req.metadata;
      m.vMajor = md.majorVersion ?? 0;
      m.vMinor = md.minorVersion ?? 0;
      m.vRev = md.revision ?? 0;
      m.vProto = md.protocolVersion ?? 0;
      if (created) this.addDefaultGrants(m, network);
      staticIps = this.assignIps(nwid, network, m, req.address);
    });
    if (!member) return { ok: false, error: 'NOT_FOUND' };
    if (tokenOutcome !== null) this.countToken(nwid, address, tokenOutcome);
    this.store.recordRequest(nwid, address, {
      ts: now,
      authorized: member.authorized && !identityClash,
      clientMajorVersion: req.metadata.majorVersion ?? -1,
      clientMinorVersion: req.metadata.minorVersion ?? -1,
      clientRevision: req.metadata.revision ?? -1,
      fromAddr: req.fromAddress ?? null,
    });
    if (identityClash) {
      this.opts.logger?.warn({ nwid, address }, 'config request with an identity other than the stored one refused');
      return { ok: false, error: 'ACCESS_DENIED' };
    }
    if (!member.authorized) return { ok: false, error: 'ACCESS_DENIED' };
    return { ok: true, config: this.buildConfig(network, member, req, staticIps, now) };
  }

  /**
   * A join token presented by a member not yet authorized: when it admits, the member is
   * authorized and given the token's addresses (those no other member holds) and tags, and one use
   * is spent in this request's transaction. A member the API de-authorized is not let back in by a
   * token (deleting the member record forgets that).
   */
  private presentToken(nwid: string, m: MemberSettings, presented: string, now: number): TokenCheck | TokenRefusal {
    const tokens = this.opts.tokens;
    if (!tokens) return 'unknown';
    if (m.lastDeauthorizedTime > 0) return 'member_deauthorized';
    const check = tokens.consume(nwid, presented);
    if (!check.ok) return check;
    const t = check.token;
    m.authorized = true;
    m.lastAuthorizedTime = now;
    m.lastAuthorizedCredentialType = 'token';
    m.lastAuthorizedCredential = t.id;
    const held = this.store.assignedIps(nwid);
    for (const ip of t.ipAssignments) {
      const holder = held.get(ip);
      if (holder !== undefined && holder !== m.address) {
        this.opts.logger?.warn({ nwid, address: m.address, ip, holder, token: t.id }, 'join token address already held: not given');
      } else if (!m.ipAssignments.includes(ip)) m.ipAssignments.push(ip);
    }
    for (const [id, value] of t.tags) {
      const tags: [number, number][] = m.tags.filter(([tid]) => tid !== id);
      tags.push([id, value]);
      m.tags = tags.sort((a, b) => a[0] - b[0]);
    }
    return check;
  }

  private countToken(nwid: string, address: string, outcome: TokenCheck | TokenRefusal): void {
    this.opts.tokens?.count(outcome);
    if (typeof outcome !== 'string' && outcome.ok) {
      this.opts.logger?.info({ nwid, address, token: outcome.token.id }, 'member authorized by join token');
    } else {
      const reason = typeof outcome === 'string' ? outcome : outcome.reason;
      this.opts.logger?.warn({ nwid, address, reason }, 'join token refused: member stays unauthorized');
    }
  }

  /** Default capabilities and tags are given to new members, as stock does. */
  private addDefaultGrants(m: MemberSettings, network: NetworkConfigSource): void {
    for (const cap of network.capabilities) if (cap.default && !m.capabilities.includes(cap.id)) m.capabilities.push(cap.id);
    for (const tag of network.tags) {
      if (tag.default !== null && !m.tags.some(([id]) => id === tag.id)) m.tags.push([tag.id, tag.default]);
    }
  }

  /** The member's addresses for this config (`ip/bits`); new pool addresses are stored on `m`. */
  private assignIps(nwid: string, network: NetworkConfigSource, m: MemberSettings, addr: bigint): string[] {
    const out: string[] = [];
    const nwidBig = BigInt(`0x${nwid}`);
    if (!m.noAutoAssignIps) {
      if (network.v6AssignMode.rfc4193) {
        const a = rfc4193Address(nwidBig, addr);
        out.push(`${a.ip}/${a.bits}`);
      }
      if (network.v6AssignMode['6plane']) {
        const a = sixPlaneAddress(nwidBig, addr);
        out.push(`${a.ip}/${a.bits}`);
      }
    }
    let haveV4 = false;
    let haveV6 = false;
    for (const text of m.ipAssignments) {
      const ip = parseIp(text);
      if (!ip) continue;
      const bits = routedBits(ip, network.routes);
      if (bits < 0) continue;
      out.push(`${formatIp(ip)}/${bits}`);
      if (ip.family === 4) haveV4 = true;
      else haveV6 = true;
    }
    if (m.noAutoAssignIps) return out.slice(0, MAX_STATIC_IPS);
    const taken = (ip: string): boolean => m.ipAssignments.includes(ip) || this.store.isIpAssigned(nwid, ip);
    const claim = (ip: string | undefined): boolean => {
      if (ip === undefined) return false;
      m.ipAssignments.push(ip);
      const parsed = parseIp(ip);
      if (parsed) out.push(`${ip}/${routedBits(parsed, network.routes)}`);
      return true;
    };
    if (network.v6AssignMode.zt && !haveV6) {
      for (const pool of network.ipAssignmentPools) if (claim(pickIpv6(pool, network.routes, addr, taken))) break;
    }
    if (network.v4AssignMode.zt && !haveV4) {
      for (const pool of network.ipAssignmentPools) if (claim(pickIpv4(pool, network.routes, addr, taken))) break;
    }
    return out.slice(0, MAX_STATIC_IPS);
  }

  private buildConfig(
    network: NetworkConfigSource,
    member: MemberSettings,
    req: ConfigRequest,
    staticIps: string[],
    now: number,
  ): ControllerNetworkConfig {
    const oldNode = (req.metadata.rulesEngineRev ?? 0) <= 0;
    const rules: ControllerRule[] = oldNode ? [{ type: 'ACTION_ACCEPT' }] : network.rules;
    const capsById = new Map(network.capabilities.map((c) => [c.id, c]));
    const capabilities = oldNode
      ? []
      : member.capabilities.flatMap((id) => {
          const c = capsById.get(id);
          return c ? [{ id, rules: c.rules as ControllerRule[] }] : [];
        });
    const tags = oldNode ? [] : member.tags.map(([id, value]) => ({ id, value })).sort((a, b) => a.id - b.id);
    const specialists = this.store.activeBridges(network.id).map((a) => BigInt(`0x${a}`) | SPECIALIST_ACTIVE_BRIDGE);
    const ndp = !member.noAutoAssignIps && (network.v6AssignMode.rfc4193 || network.v6AssignMode['6plane']);
    return {
      nwid: req.nwid,
      timestamp: now,
      credentialTimeMaxDelta: CREDENTIAL_TIME_MAX_DELTA_MS,
      revision: network.revision,
      issuedTo: req.address,
      name: network.name,
      private: network.private,
      enableBroadcast: network.enableBroadcast,
      allowPassiveBridging: network.allowPassiveBridging,
      ndpEmulation: ndp,
      mtu: network.mtu,
      multicastLimit: network.multicastLimit,
      routes: [...network.routes, ...this.defaultRoutes.routesFor(network.id, member.address)].map((r) => ({
        target: r.target,
        via: r.via,
        flags: 0,
        metric: 0,
      })),
      staticIps,
      rules,
      capabilities,
      tags,
      specialists,
      dns: Array.isArray(network.dns) ? null : network.dns,
      names: this.names.list(network.id),
    };
  }
}
