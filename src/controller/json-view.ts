/**
 * The JSON the API answers with: stock 1.14's shape (keys sorted, as its JSON library prints
 * them) plus the 2016 field names (clock, memberRevisionCounter, authorizedMemberCount,
 * memberRevision, recentLog, …) so tools of either era find what they read.
 */
import type { CapabilityObject, MemberRecord, NetworkRecord, RuleObject } from './types.js';

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/**
 * INTEGER_RANGE bounds are 64-bit; stored as decimal strings when a double cannot hold them, they
 * are answered as numbers, as stock does: bigints, which the API writes as exact digits.
 */
function ruleView(r: RuleObject): RuleObject {
  if (r.type !== 'INTEGER_RANGE') return r;
  const out: RuleObject = { ...r };
  for (const k of ['start', 'end'] as const) {
    const v = r[k];
    if (typeof v === 'string' && /^-?\d+$/.test(v)) out[k] = BigInt(v);
  }
  return out;
}

function capabilityView(c: CapabilityObject): CapabilityObject {
  return { ...c, rules: c.rules.map(ruleView) };
}

export function networkJson(n: NetworkRecord, now: number, activeMemberCount: number): Record<string, unknown> {
  return sortKeys({
    // stock 1.14
    authTokens: [null],
    authorizationEndpoint: '',
    capabilities: n.capabilities.map(capabilityView),
    clientId: '',
    creationTime: n.creationTime,
    // ztnc's own (types.ts)
    defaultRouteVia: n.defaultRouteVia ?? null,
    dns: n.dns,
    enableBroadcast: n.enableBroadcast,
    id: n.id,
    ipAssignmentPools: n.ipAssignmentPools,
    mtu: n.mtu,
    multicastLimit: n.multicastLimit,
    name: n.name,
    nwid: n.id,
    objtype: 'network',
    private: n.private,
    remoteTraceLevel: n.remoteTraceLevel,
    remoteTraceTarget: n.remoteTraceTarget,
    revision: n.revision,
    routes: n.routes,
    rules: n.rules.map(ruleView),
    rulesSource: n.rulesSource,
    ssoEnabled: false,
    tags: n.tags,
    v4AssignMode: n.v4AssignMode,
    v6AssignMode: n.v6AssignMode,
    // 2016 names
    activeMemberCount,
    allowPassiveBridging: n.allowPassiveBridging,
    authorizedMemberCount: n.authorizedMemberCount,
    clock: now,
    lastModified: n.lastModified,
    memberRevisionCounter: n.memberRevisionCounter,
    relays: n.relays,
    totalMemberCount: n.totalMemberCount,
  });
}

export function memberJson(m: MemberRecord, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    activeBridge: m.activeBridge,
    address: m.address,
    authenticationExpiryTime: m.authenticationExpiryTime,
    authorized: m.authorized,
    capabilities: m.capabilities,
    creationTime: m.creationTime,
    id: m.address,
    ipAssignments: m.ipAssignments,
    lastAuthorizedCredential: m.lastAuthorizedCredential,
    lastAuthorizedCredentialType: m.lastAuthorizedCredentialType,
    lastAuthorizedTime: m.lastAuthorizedTime,
    lastDeauthorizedTime: m.lastDeauthorizedTime,
    noAutoAssignIps: m.noAutoAssignIps,
    nwid: m.nwid,
    objtype: 'member',
    remoteTraceLevel: m.remoteTraceLevel,
    remoteTraceTarget: m.remoteTraceTarget,
    revision: m.revision,
    ssoExempt: m.ssoExempt,
    tags: m.tags,
    vMajor: m.vMajor,
    vMinor: m.vMinor,
    vProto: m.vProto,
    vRev: m.vRev,
    // 2016 names
    clock: now,
    memberRevision: m.revision,
    physicalAddr: m.physicalAddr,
    recentLog: m.recentLog,
  };
  // Stock shows identity and name only once known.
  if (m.identity !== null) out.identity = m.identity;
  if (m.name !== '') out.name = m.name;
  return sortKeys(out);
}
