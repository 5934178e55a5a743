/**
 * The local API's JSON shapes, as stock zerotier-one 1.14 answers `/status`, `/network[/<id>]`
 * and `/peer[/<address>]`. Fields with no meaning here keep stock's neutral values so tools written
 * for stock keep working. Times are wall-clock milliseconds, as stock gives them. 64-bit values
 * (planet id and timestamp, config revision) are bigints, which the API writes as exact digits.
 */
import {
  endpointKey,
  formatAddress,
  formatNetworkId,
  type InetAddress,
  macToBytes,
  type Network,
  NetworkConfigFlag,
  NetworkType,
  type Node,
  type Peer,
  SOFTWARE_VERSION,
} from '../node/index.js';
import { formatMac } from '../netstack/index.js';

export const VERSION_TEXT = SOFTWARE_VERSION.join('.');

/** Per-network user settings (`ztnc-cli set`), as stock's allow* flags. */
export interface NetworkUserSettings {
  allowManaged: boolean;
  allowGlobal: boolean;
  allowDefault: boolean;
  allowDNS: boolean;
}

export function defaultNetworkUserSettings(): NetworkUserSettings {
  return { allowManaged: true, allowGlobal: false, allowDefault: false, allowDNS: false };
}

export interface StatusContext {
  node: Node;
  homeDir: string;
  primaryPort: number;
  bind: string[];
  listeningOn: string[];
  online: boolean;
}

export function statusJson(c: StatusContext): Record<string, unknown> {
  return {
    address: c.node.hex,
    clock: Date.now(),
    config: {
      settings: {
        allowSecondaryPort: false,
        allowTcpFallbackRelay: false,
        bind: c.bind,
        forceTcpRelay: false,
        homeDir: c.homeDir,
        listeningOn: c.listeningOn,
        portMappingEnabled: false,
        primaryPort: c.primaryPort,
        secondaryPort: 0,
        softwareUpdate: 'disable',
        softwareUpdateChannel: 'release',
        surfaceAddresses: c.listeningOn,
        tertiaryPort: 0,
      },
    },
    online: c.online,
    // 64-bit: bigints, written as exact digits (a stock planet id does not fit a double)
    planetWorldId: c.node.planet.id,
    planetWorldTimestamp: c.node.planet.timestamp,
    publicIdentity: c.node.identity.toString(false),
    tcpFallbackActive: false,
    version: VERSION_TEXT,
    versionBuild: 0,
    versionMajor: SOFTWARE_VERSION[0],
    versionMinor: SOFTWARE_VERSION[1],
    versionRev: SOFTWARE_VERSION[2],
  };
}

function inetText(a: InetAddress): string {
  return `${a.ip}/${a.port}`;
}

/** Stock's JSON of a joined network. `portDeviceName` is the network's RPC socket here. */
export function networkJson(n: Network, portDeviceName: string, user: NetworkUserSettings): Record<string, unknown> {
  const cfg = n.config;
  const id = formatNetworkId(n.nwid);
  return {
    allowDNS: user.allowDNS,
    allowDefault: user.allowDefault,
    allowGlobal: user.allowGlobal,
    allowManaged: user.allowManaged,
    assignedAddresses: user.allowManaged && cfg ? cfg.staticIps.map(inetText) : [],
    bridge: false,
    broadcastEnabled: cfg ? (cfg.flags & NetworkConfigFlag.ENABLE_BROADCAST) !== 0n : false,
    dhcp: false,
    dns: { domain: cfg?.dns?.domain ?? '', servers: (cfg?.dns?.servers ?? []).map((s) => s.ip) },
    id,
    mac: formatMac(n.mac),
    mtu: cfg?.mtu ?? 2800,
    multicastSubscriptions: n.groups().map((g) => ({ adi: g.adi >>> 0, mac: formatMac(macToBytes(g.mac)) })),
    name: cfg?.name ?? '',
    netconfRevision: cfg ? cfg.revision : 0,
    nwid: id,
    portDeviceName,
    portError: 0,
    routes:
      user.allowManaged && cfg
        ? cfg.routes.map((r) => ({ flags: r.flags, metric: r.metric, target: inetText(r.target), via: r.via ? r.via.ip : null }))
        : [],
    status: n.status,
    type: cfg?.type === NetworkType.PUBLIC ? 'PUBLIC' : 'PRIVATE',
  };
}

/** Stock's JSON of one peer. `now` is the node's clock; path times are turned into wall time. */
export function peerJson(node: Node, peer: Peer, now: number): Record<string, unknown> {
  const wallOffset = Date.now() - now;
  const wall = (t: number): number => (Number.isFinite(t) ? Math.round(t + wallOffset) : 0);
  const best = peer.paths.best(now);
  const known = peer.remoteVersion.some((v) => v !== 0) || peer.remoteProtocol !== 0;
  // as stock: a root of the planet, else of a moon we orbit, else a leaf
  const planetRoot = node.planet.roots.some((r) => r.identity.address === peer.address);
  const role = planetRoot ? 'PLANET' : node.topology.isRoot(peer.address) ? 'MOON' : 'LEAF';
  return {
    address: formatAddress(peer.address),
    isBonded: false,
    latency: best ? Math.max(-1, Math.round(best.latencyMs)) : -1,
    paths: peer.paths.all().map((p) => ({
      active: p.alive(now),
      address: endpointKey(p.endpoint),
      expired: p.expired(now),
      lastReceive: wall(p.lastReceive),
      lastSend: wall(p.lastSend),
      localPort: 0,
      localSocket: 0,
      preferred: p === best,
      trustedPathId: 0,
    })),
    role,
    tunneled: false,
    version: known ? peer.remoteVersion.join('.') : '-1.-1.-1',
    versionMajor: known ? peer.remoteVersion[0] : -1,
    versionMinor: known ? peer.remoteVersion[1] : -1,
    versionRev: known ? peer.remoteVersion[2] : -1,
  };
}
