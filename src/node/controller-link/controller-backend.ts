/**
 * The contract between the node and a network controller: the node hands over a member's
 * config request for a network this node controls, and learns which members' configs changed
 * so it can push fresh ones in-band. The node signs, chunks and sends the answer; the
 * controller only decides what the config says.
 *
 * ControllerNetworkConfig is plain data; `config-translation.ts` turns it into the NetworkConfig
 * the node signs (`../network/network-config.ts`).
 */

/** What the requesting node said about itself in the request's metadata dictionary. */
export interface ConfigRequestMetadata {
  majorVersion?: number;
  minorVersion?: number;
  revision?: number;
  protocolVersion?: number;
  /** Rules engine revision; absent or 0 means an old node that gets one ACCEPT rule. */
  rulesEngineRev?: number;
  /** A join token the member presents (ztnc's `ztnc.token` key): authorizes it when valid. */
  joinToken?: string;
}

export interface ConfigRequest {
  nwid: bigint;
  /** The member's full public identity string (`address:0:publickey`). */
  identity: string;
  address: bigint;
  metadata: ConfigRequestMetadata;
  /** Physical address the request came from (`ip/port`), when known. */
  fromAddress?: string;
}

/** One rule in the JSON shape of ZeroTier's controller API (`{"type":"ACTION_ACCEPT"}` …). */
export interface ControllerRule {
  type: string;
  not?: boolean;
  or?: boolean;
  [field: string]: unknown;
}

export interface ControllerRoute {
  /** CIDR, e.g. `10.147.17.0/24`. */
  target: string;
  via: string | null;
  flags: number;
  metric: number;
}

export const SPECIALIST_ACTIVE_BRIDGE = 0x0000020000000000n;

export interface ControllerNetworkConfig {
  nwid: bigint;
  /** Controller time of issue, ms. */
  timestamp: number;
  /** Maximum credential timestamp difference for certificates (ms). */
  credentialTimeMaxDelta: number;
  revision: number;
  issuedTo: bigint;
  name: string;
  private: boolean;
  enableBroadcast: boolean;
  /** Bridging open to every member (2016 `allowPassiveBridging`). */
  allowPassiveBridging: boolean;
  ndpEmulation: boolean;
  mtu: number;
  multicastLimit: number;
  routes: ControllerRoute[];
  /** The member's addresses as `ip/prefixbits`. */
  staticIps: string[];
  rules: ControllerRule[];
  /** Capabilities granted to this member: id and its rules. */
  capabilities: { id: number; rules: ControllerRule[] }[];
  /** Tags of this member: id → value. */
  tags: { id: number; value: number }[];
  /** Active bridges (and other specialists) as `address | flags`. */
  specialists: bigint[];
  dns: { domain: string; servers: string[] } | null;
  /**
   * The network's member names (ztnc's controller): one DNS label each and the member's managed
   * addresses as text. Absent: the config carries no names.
   */
  names?: { name: string; ips: string[] }[];
}

export type ConfigRequestResult = { ok: true; config: ControllerNetworkConfig } | { ok: false; error: 'ACCESS_DENIED' | 'NOT_FOUND' };

/** Which members need a fresh config: all online members of the network when `members` is absent. */
export interface ControllerChange {
  nwid: bigint;
  members?: bigint[];
  /** The network was deleted: every member is now cut off. */
  deleted?: boolean;
}

export interface NetworkControllerBackend {
  /** Answers one config request (the caller rate-limits duplicates). */
  request(req: ConfigRequest): ConfigRequestResult;
  /** Subscribes to config-affecting changes; returns the unsubscribe function. */
  onChange(listener: (change: ControllerChange) => void): () => void;
}
