/**
 * The controller's stored documents, in stock ZeroTier 1.14's JSON shape (apiVersion 4). The
 * store keeps them as JSON; counters the store owns (revisions, counts) are added on read.
 */

/** A rules-engine rule as the JSON API writes it: `type` plus the fields of that type. */
export interface RuleObject {
  type: string;
  not?: boolean;
  or?: boolean;
  [field: string]: unknown;
}

export interface RouteObject {
  target: string;
  via: string | null;
}

export interface PoolObject {
  ipRangeStart: string;
  ipRangeEnd: string;
}

export interface CapabilityObject {
  id: number;
  default: boolean;
  rules: RuleObject[];
}

export interface TagObject {
  id: number;
  default: number | null;
}

export interface DnsObject {
  domain: string;
  servers: string[];
}

export interface V6AssignMode {
  rfc4193: boolean;
  zt: boolean;
  '6plane': boolean;
}

/** A network's writable settings plus its creation time. */
export interface NetworkSettings {
  id: string;
  name: string;
  private: boolean;
  enableBroadcast: boolean;
  allowPassiveBridging: boolean;
  multicastLimit: number;
  mtu: number;
  v4AssignMode: { zt: boolean };
  v6AssignMode: V6AssignMode;
  routes: RouteObject[];
  ipAssignmentPools: PoolObject[];
  rules: RuleObject[];
  capabilities: CapabilityObject[];
  tags: TagObject[];
  /** Stock answers `[]` until DNS is set, then `{domain, servers}`. */
  dns: DnsObject | [];
  relays: { address: string; phyAddress: string | null }[];
  remoteTraceTarget: string | null;
  remoteTraceLevel: number;
  rulesSource: string;
  creationTime: number;
  /**
   * ztnc's own: a member (10-hex address) whose addresses the controller pushes to the other
   * members as their default routes (0.0.0.0/0 via its IPv4, ::/0 via its IPv6) — the network's
   * gateway (issue 19). Null (or absent, in documents stored before it existed): none.
   */
  defaultRouteVia?: string | null;
}

/** What answering a member's config request reads of its network. */
export interface NetworkConfigSource extends NetworkSettings {
  revision: number;
}

/** A network as read from the store. */
export interface NetworkRecord extends NetworkSettings {
  revision: number;
  memberRevisionCounter: number;
  authorizedMemberCount: number;
  totalMemberCount: number;
  lastModified: number;
}

export interface RecentLogEntry {
  ts: number;
  authorized: boolean;
  clientMajorVersion: number;
  clientMinorVersion: number;
  clientRevision: number;
  fromAddr: string | null;
}

export interface MemberSettings {
  address: string;
  nwid: string;
  authorized: boolean;
  activeBridge: boolean;
  noAutoAssignIps: boolean;
  ipAssignments: string[];
  capabilities: number[];
  tags: [number, number][];
  name: string;
  identity: string | null;
  creationTime: number;
  lastAuthorizedTime: number;
  lastDeauthorizedTime: number;
  lastAuthorizedCredentialType: string | null;
  lastAuthorizedCredential: string | null;
  authenticationExpiryTime: number;
  ssoExempt: boolean;
  remoteTraceTarget: string | null;
  remoteTraceLevel: number;
  vMajor: number;
  vMinor: number;
  vRev: number;
  vProto: number;
}

/**
 * What the controller last heard from a member. Kept beside the member, not in it, so requests
 * do not advance the member's revision (stock keeps this in memory).
 */
export interface MemberStatus {
  lastRequestTime: number;
  physicalAddr: string | null;
  /** Newest first, bounded. */
  recentLog: RecentLogEntry[];
}

/** A member as read from the store. */
export interface MemberRecord extends MemberSettings, MemberStatus {
  revision: number;
}

export function defaultNetworkSettings(id: string, now: number): NetworkSettings {
  return {
    id,
    name: '',
    private: true,
    enableBroadcast: true,
    allowPassiveBridging: false,
    multicastLimit: 32,
    mtu: 2800,
    v4AssignMode: { zt: false },
    v6AssignMode: { rfc4193: false, zt: false, '6plane': false },
    routes: [],
    ipAssignmentPools: [],
    rules: [{ type: 'ACTION_ACCEPT' }],
    capabilities: [],
    tags: [],
    dns: [],
    relays: [],
    remoteTraceTarget: null,
    remoteTraceLevel: 0,
    rulesSource: '',
    creationTime: now,
    defaultRouteVia: null,
  };
}

export function defaultMemberSettings(nwid: string, address: string, now: number): MemberSettings {
  return {
    address,
    nwid,
    authorized: false,
    activeBridge: false,
    noAutoAssignIps: false,
    ipAssignments: [],
    capabilities: [],
    tags: [],
    name: '',
    identity: null,
    creationTime: now,
    lastAuthorizedTime: 0,
    lastDeauthorizedTime: 0,
    lastAuthorizedCredentialType: null,
    lastAuthorizedCredential: null,
    authenticationExpiryTime: 0,
    ssoExempt: false,
    remoteTraceTarget: null,
    remoteTraceLevel: 0,
    vMajor: -1,
    vMinor: -1,
    vRev: -1,
    vProto: -1,
  };
}
