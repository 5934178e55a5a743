/**
 * `local.conf`: the daemon's JSON settings in its home directory, shaped like ZeroTier One's
 * (`{"settings": {...}}`). Unknown keys are ignored as stock does; a known key with a wrong type
 * or an impossible value is an error naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { CONGESTION_NAMES, type CongestionAlgo, congestionAlgoByName } from '../netstack/index.js';
import { parseManagementNetwork } from './http/management-access.js';

export interface LocalSettings {
  /** UDP port for the peer protocol (0 = pick one). Default 9993. */
  primaryPort: number;
  /** Addresses to bind the peer-protocol UDP sockets to; empty = all. */
  bind: string[];
  /** Accept and use 127.0.0.0/8 and ::1 paths (single-machine use; stock nodes refuse them). */
  allowLoopbackPaths: boolean;
  /** Refuse the built-in planet (public roots) entirely. */
  refuseBuiltinPlanet: boolean;
  /** Run the network controller for networks whose ids begin with this node's address. */
  controllerEnabled: boolean;
  /** TCP port of the local JSON API; like stock, the primary port unless set. */
  apiPort: number;
  /**
   * Addresses the local API listens on. Empty (the default): loopback, 127.0.0.1 and ::1 (when the
   * host has IPv6 loopback), or every address when allowManagementFrom is set.
   */
  apiBind: string[];
  /**
   * Stock's `allowManagementFrom`: networks (CIDRs) whose clients may use the local API besides
   * loopback, which always may. Others are answered 401.
   */
  allowManagementFrom: string[];
  /**
   * controller.db.backup: written at start, then this many seconds after the last backup when
   * anything changed since (0 turns automatic backups off)…
   */
  controllerBackupSeconds: number;
  /** …or after this many network/member changes, whichever comes first (0: no count trigger). */
  controllerBackupChanges: number;
  /**
   * Names a network cannot answer (it has no `dns.servers`) go to the host's resolvers
   * (/etc/resolv.conf) through the daemon's own socket. Off by default: apps' lookups then never
   * leave the virtual network, and such names are not found.
   */
  allowHostResolvers: boolean;
  /**
   * TCP connections between two programs of this daemon on one network skip its stack: the two
   * programs share one kernel socketpair (src/netcon/fast-path.ts). On by default; false sends
   * them through the stack like connections to other members (apps can opt out one by one with
   * ZT_NC_FASTPATH=0).
   */
  fastPath: boolean;
  /**
   * Congestion control new TCP sockets of every network start with, by Linux's name (`cubic`,
   * `reno`, `bbr`; the daemon's net.ipv4.tcp_congestion_control); null: the stack's default. Apps
   * still choose their own per socket with TCP_CONGESTION.
   */
  tcpCongestion: string | null;
  /**
   * Per network, from local.conf's top-level `networks` object (`{"<nwid>": {"tcpCongestion":
   * "bbr"}}`): overrides `tcpCongestion` on that network. Keys are lower-case network ids.
   */
  networkTcpCongestion: Record<string, string>;
}

export const DEFAULT_PRIMARY_PORT = 9993;

export function defaultLocalSettings(): LocalSettings {
  return {
    primaryPort: DEFAULT_PRIMARY_PORT,
    bind: [],
    allowLoopbackPaths: false,
    refuseBuiltinPlanet: false,
    controllerEnabled: false,
    apiPort: DEFAULT_PRIMARY_PORT,
    apiBind: [],
    allowManagementFrom: [],
    controllerBackupSeconds: 60,
    controllerBackupChanges: 100,
    fastPath: true,
    allowHostResolvers: false,
    tcpCongestion: null,
    networkTcpCongestion: {},
  };
}

export class LocalConfError extends Error {
  constructor(
    readonly file: string,
    readonly key: string | null,
    problem: string,
  ) {
    super(`${file}: ${key ? `"${key}" ` : ''}${problem}`);
    this.name = 'LocalConfError';
  }
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

function stringList(file: string, key: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new LocalConfError(file, key, 'must be a list of address strings');
  }
  return v as string[];
}

function count(file: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff)
    throw new LocalConfError(file, key, 'must be a whole number, 0 or more');
  return v;
}

function congestionName(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || congestionAlgoByName(v) === undefined)
    throw new LocalConfError(file, key, `must be one of ${CONGESTION_NAMES.map((n) => `"${n}"`).join(', ')}, not ${JSON.stringify(v)}`);
  return v;
}

/** local.conf's top-level `networks`: per-network settings keyed by network id. */
function parseNetworks(file: string, v: unknown, out: LocalSettings): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new LocalConfError(file, 'networks', 'must be an object keyed by network id');
  for (const [nwid, conf] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[0-9a-fA-F]{16}$/.test(nwid)) throw new LocalConfError(file, `networks.${nwid}`, 'is not a network id (16 hex digits)');
    if (typeof conf !== 'object' || conf === null || Array.isArray(conf))
      throw new LocalConfError(file, `networks.${nwid}`, 'must be an object');
    const c = conf as Record<string, unknown>;
    if (c.tcpCongestion !== undefined)
      out.networkTcpCongestion[nwid.toLowerCase()] = congestionName(file, `networks.${nwid}.tcpCongestion`, c.tcpCongestion);
  }
}

/** The congestion control new TCP sockets on `nwid` start with (undefined: the stack's default). */
export function tcpCongestionFor(settings: LocalSettings, nwid: string): CongestionAlgo | undefined {
  const name = settings.networkTcpCongestion[nwid.toLowerCase()] ?? settings.tcpCongestion;
  return name === null ? undefined : congestionAlgoByName(name);
}

function bool(file: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new LocalConfError(file, key, 'must be true or false');
  return v;
}

/** Parses the text of a local.conf. `file` names it in errors. */
export function parseLocalConf(text: string, file: string): LocalSettings {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LocalConfError(file, null, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new LocalConfError(file, null, 'must hold a JSON object');
  }
  const out = defaultLocalSettings();
  const networks = (doc as Record<string, unknown>).networks;
  if (networks !== undefined) parseNetworks(file, networks, out);
  const settings = (doc as Record<string, unknown>).settings;
  if (settings === undefined) return out;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new LocalConfError(file, 'settings', 'must be an object');
  }
  const s = settings as Record<string, unknown>;
  if (s.primaryPort !== undefined) {
    if (!isPort(s.primaryPort)) throw new LocalConfError(file, 'primaryPort', 'must be an integer port 0-65535');
    out.primaryPort = s.primaryPort;
    out.apiPort = s.primaryPort;
  }
  if (s.apiPort !== undefined) {
    if (!isPort(s.apiPort)) throw new LocalConfError(file, 'apiPort', 'must be an integer port 0-65535');
    out.apiPort = s.apiPort;
  }
  if (s.bind !== undefined) out.bind = stringList(file, 'bind', s.bind);
  if (s.apiBind !== undefined) out.apiBind = stringList(file, 'apiBind', s.apiBind);
  if (s.allowManagementFrom !== undefined) {
    out.allowManagementFrom = stringList(file, 'allowManagementFrom', s.allowManagementFrom);
    const bad = out.allowManagementFrom.find((n) => parseManagementNetwork(n) === null);
    if (bad !== undefined)
      throw new LocalConfError(file, 'allowManagementFrom', `${JSON.stringify(bad)} is not an IPv4 or IPv6 network (like 10.0.0.0/8)`);
  }
  if (s.allowLoopbackPaths !== undefined) out.allowLoopbackPaths = bool(file, 'allowLoopbackPaths', s.allowLoopbackPaths);
  if (s.refuseBuiltinPlanet !== undefined) out.refuseBuiltinPlanet = bool(file, 'refuseBuiltinPlanet', s.refuseBuiltinPlanet);
  if (s.controllerBackupSeconds !== undefined)
    out.controllerBackupSeconds = count(file, 'controllerBackupSeconds', s.controllerBackupSeconds);
  if (s.controllerBackupChanges !== undefined)
    out.controllerBackupChanges = count(file, 'controllerBackupChanges', s.controllerBackupChanges);
  if (s.controllerEnabled !== undefined) out.controllerEnabled = bool(file, 'controllerEnabled', s.controllerEnabled);
  if (s.allowHostResolvers !== undefined) out.allowHostResolvers = bool(file, 'allowHostResolvers', s.allowHostResolvers);
  if (s.fastPath !== undefined) out.fastPath = bool(file, 'fastPath', s.fastPath);
  if (s.tcpCongestion !== undefined) out.tcpCongestion = congestionName(file, 'tcpCongestion', s.tcpCongestion);
  return out;
}

/** Reads local.conf; a missing file means defaults. */
export function loadLocalConf(file: string): LocalSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return defaultLocalSettings();
    throw new LocalConfError(file, null, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseLocalConf(text, file);
}
