/**
 * The API's JSON as the page reads it (stock 1.14's shapes: src/controller/json-view.ts,
 * src/service/json-views.ts; join tokens as in the project's contract). Only what the pages use.
 */

export interface Pool {
  ipRangeStart: string;
  ipRangeEnd: string;
}

export interface Route {
  target: string;
  via: string | null;
}

export interface V6AssignMode {
  rfc4193: boolean;
  '6plane': boolean;
  zt: boolean;
}

export interface Dns {
  domain: string;
  servers: string[];
}

export interface ControllerNetwork {
  id: string;
  name: string;
  private: boolean;
  enableBroadcast: boolean;
  mtu: number;
  multicastLimit: number;
  v4AssignMode: { zt: boolean };
  v6AssignMode: V6AssignMode;
  ipAssignmentPools: Pool[];
  routes: Route[];
  /** `[]` until DNS is set, as stock answers. */
  dns: Dns | [];
  rules: unknown[];
  creationTime: number;
  authorizedMemberCount: number;
  totalMemberCount: number;
  activeMemberCount: number;
}

export interface RecentLogEntry {
  ts: number;
  authorized: boolean;
  fromAddr: string | null;
}

export interface Member {
  id: string;
  address: string;
  nwid: string;
  name?: string;
  authorized: boolean;
  ipAssignments: string[];
  noAutoAssignIps: boolean;
  vMajor: number;
  vMinor: number;
  vRev: number;
  physicalAddr: string | null;
  recentLog: RecentLogEntry[];
  creationTime: number;
  lastAuthorizedTime: number;
}

export interface PeerPath {
  address: string;
  active: boolean;
  expired: boolean;
  preferred: boolean;
  lastReceive: number;
}

export interface Peer {
  address: string;
  role: string;
  latency: number;
  version: string;
  paths: PeerPath[];
}

export interface NodeStatus {
  address: string;
  online: boolean;
  version: string;
  clock: number;
  planetWorldId: number;
  config: { settings: { primaryPort: number; listeningOn: string[] } };
}

export interface JoinedNetwork {
  id: string;
  name: string;
  status: string;
  type: string;
  assignedAddresses: string[];
  mtu: number;
}

export interface JoinToken {
  id: string;
  /** Only in the answer to its creation. */
  token?: string;
  nwid: string;
  name: string;
  uses: number;
  usesLeft: number;
  expiresAt: number | null;
  createdAt: number;
  ipAssignments: string[];
  revoked: boolean;
}
