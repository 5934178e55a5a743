/**
 * A network's configuration as a controller issues it to one member, and its dictionary form
 * (version 7 keys, in the order stock 1.14 writes them, so a config we encode is byte-identical to
 * stock's for the same values). This is the type a controller hands to the node.
 *
 * Text keys: v nwid ts ctmd r id tt tl f ml t n mtu, ssov ssoe (and the SSO keys when enabled).
 * Binary keys: C (COM), CAP, TAG, COO (certificates concatenated), S (u64 specialists), RT (routes:
 * target, via, flags (2), metric (2)), I (static IPs; port = prefix length), R (rules), DNS
 * (128-byte domain, 4 servers). ztnc's own controller adds the members' names under NAMES_KEY
 * (`network-names.ts`); other nodes ignore it, and a config without it has no names.
 */
import { readCom, writeCom, type CertificateOfMembership } from '../credentials/certificate-of-membership.js';
import { readCoo, writeCoo, type CertificateOfOwnership } from '../credentials/certificate-of-ownership.js';
import { Dictionary } from '../wire/dictionary.js';
import { encodeRules, rulesOrDropAll, type Rule } from './network-rules.js';
import { formatAddress } from '../wire/address.js';
import { Reader, Writer, fail, ok, type Parsed } from '../wire/bytes.js';
import { readInetAddress, writeInetAddress, type InetAddress } from '../wire/inet-address.js';
import { skipCapability, skipTag } from '../wire/network-credentials.js';
import { decodeNames, encodeNames, NAMES_KEY, type MemberName } from './network-names.js';

export const NETWORK_CONFIG_VERSION = 7n;
export const DEFAULT_MTU = 2800;
export const MIN_MTU = 1280;
export const MAX_MTU = 10000;
export const MAX_STATIC_IPS = 32;
export const MAX_ROUTES = 128;
export const MAX_SPECIALISTS = 256;
export const MAX_COOS = 128;
export const MAX_DNS_SERVERS = 4;
const DNS_DOMAIN_LENGTH = 128;

export const NetworkType = {
  PRIVATE: 0,
  PUBLIC: 1,
} as const;

export const NetworkConfigFlag = {
  ENABLE_BROADCAST: 0x02n,
  ENABLE_IPV6_NDP_EMULATION: 0x04n,
  RULES_RESULT_OF_UNSUPPORTED_MATCH: 0x08n,
  DISABLE_COMPRESSION: 0x10n,
} as const;

export const Specialist = {
  ACTIVE_BRIDGE: 0x0000020000000000n,
  ANCHOR: 0x0000040000000000n,
  MULTICAST_REPLICATOR: 0x0000080000000000n,
} as const;

export interface NetworkRoute {
  /** Network address; `port` is the prefix length. */
  target: InetAddress;
  /** Gateway, or null for a route on the network itself. */
  via: InetAddress | null;
  flags: number;
  metric: number;
}

export interface NetworkDns {
  domain: string;
  servers: InetAddress[];
}

export interface NetworkSso {
  version: bigint;
  enabled: boolean;
  /** Version 0 keys. */
  authenticationUrl?: string;
  authenticationExpiryTime?: bigint;
  /** Version 1 keys. */
  issuerUrl?: string;
  centralEndpointUrl?: string;
  nonce?: string;
  state?: string;
  clientId?: string;
  provider?: string;
}

export interface NetworkConfig {
  networkId: bigint;
  /** Controller's clock (ms) when issued. */
  timestamp: bigint;
  /** How far apart two members' certificate timestamps may be. */
  credentialTimeMaxDelta: bigint;
  revision: bigint;
  issuedTo: bigint;
  remoteTraceTarget: bigint;
  remoteTraceLevel: bigint;
  flags: bigint;
  multicastLimit: number;
  type: number;
  name: string;
  mtu: number;
  com: CertificateOfMembership | null;
  /** Serialized capabilities and tags, carried as issued (we grant none of them). */
  capabilities: Buffer[];
  tags: Buffer[];
  certificatesOfOwnership: CertificateOfOwnership[];
  /** Address (low 40 bits) | role bits. */
  specialists: bigint[];
  routes: NetworkRoute[];
  staticIps: InetAddress[];
  /** Enforced rules. When the config's rules could not all be understood this is DROP-all. */
  rules: Rule[];
  /** Why the rules fail closed, or null. */
  rulesError: string | null;
  dns: NetworkDns | null;
  sso: NetworkSso;
  /** The members' names (ztnc controllers only); null when the config carries none. */
  names: MemberName[] | null;
}

/** A config with stock's defaults (one ACCEPT rule, broadcast on, MTU 2800). */
export function defaultNetworkConfig(networkId: bigint, issuedTo: bigint): NetworkConfig {
  return {
    networkId,
    timestamp: 0n,
    credentialTimeMaxDelta: 1_800_000n,
    revision: 0n,
    issuedTo,
    remoteTraceTarget: 0n,
    remoteTraceLevel: 0n,
    flags: NetworkConfigFlag.ENABLE_BROADCAST,
    multicastLimit: 32,
    type: NetworkType.PRIVATE,
    name: '',
    mtu: DEFAULT_MTU,
    com: null,
    capabilities: [],
    tags: [],
    certificatesOfOwnership: [],
    specialists: [],
    routes: [],
    staticIps: [],
    rules: [{ type: 1, not: false, or: false, value: new Uint8Array(0) }],
    rulesError: null,
    dns: { domain: '', servers: [] },
    sso: { version: 0n, enabled: false },
    names: null,
  };
}

function readAll<T>(bytes: Buffer, what: string, max: number, read: (r: Reader) => T | null): Parsed<T[]> {
  const r = new Reader(bytes);
  const out: T[] = [];
  while (r.remaining > 0 && !r.failed) {
    if (out.length >= max) return fail(`${what}: more than ${max}`);
    const v = read(r);
    if (v !== null) out.push(v);
  }
  return r.failed ? fail(`${what}: ${r.failed}`) : ok(out);
}

function framed(skip: (r: Reader) => void): (r: Reader) => Buffer | null {
  return (r) => {
    const start = r.pos;
    skip(r);
    return r.failed ? null : Buffer.from(r.since(start));
  };
}

function readRoute(r: Reader): NetworkRoute | null {
  const target = readInetAddress(r);
  const via = readInetAddress(r);
  const flags = r.u16('route flags');
  const metric = r.u16('route metric');
  if (r.failed) return null;
  if (!target) {
    r.fail('route without a target');
    return null;
  }
  return { target, via, flags, metric };
}

function readDns(bytes: Buffer): Parsed<NetworkDns> {
  const r = new Reader(bytes);
  const domainBytes = r.bytes(DNS_DOMAIN_LENGTH, 'DNS domain');
  const servers: InetAddress[] = [];
  for (let i = 0; i < MAX_DNS_SERVERS && r.remaining > 0; i++) {
    const s = readInetAddress(r);
    if (s) servers.push(s);
  }
  if (r.failed) return fail(`DNS: ${r.failed}`);
  const nul = domainBytes.indexOf(0);
  return ok({ domain: domainBytes.subarray(0, nul < 0 ? DNS_DOMAIN_LENGTH - 1 : nul).toString('utf8'), servers });
}

/** Reads a config from its dictionary. Configs older than version 6 are refused. */
export function networkConfigFromDictionary(d: Dictionary): Parsed<NetworkConfig> {
  const version = d.getU64('v') ?? 0n;
  if (version < 6n) return fail(`network config version ${version} is not supported`);
  const networkId = d.getU64('nwid') ?? 0n;
  if (networkId === 0n) return fail('network config without a network id');
  const issuedTo = d.getU64('id') ?? 0n;
  if (issuedTo === 0n) return fail('network config without issued-to');
  const c = defaultNetworkConfig(networkId, issuedTo);
  c.timestamp = d.getU64('ts') ?? 0n;
  c.credentialTimeMaxDelta = d.getU64('ctmd') ?? 0n;
  c.revision = d.getU64('r') ?? 0n;
  c.remoteTraceTarget = d.getU64('tt') ?? 0n;
  c.remoteTraceLevel = d.getU64('tl') ?? 0n;
  c.flags = d.getU64('f') ?? 0n;
  c.multicastLimit = Number(d.getU64('ml') ?? 0n);
  c.type = Number(d.getU64('t') ?? BigInt(NetworkType.PRIVATE));
  c.name = d.getString('n') ?? '';
  const mtu = Number(d.getU64('mtu') ?? BigInt(DEFAULT_MTU));
  c.mtu = Math.min(MAX_MTU, Math.max(MIN_MTU, mtu));

  const com = d.get('C');
  if (com) {
    const r = new Reader(com);
    c.com = readCom(r);
    if (!c.com) return fail(`C: ${r.failed}`);
  }
  for (const [key, target, skip] of [
    ['CAP', c.capabilities, skipCapability],
    ['TAG', c.tags, skipTag],
  ] as const) {
    const v = d.get(key);
    if (!v) continue;
    const list = readAll(v, key, 256, framed(skip));
    if (!list.ok) return list;
    target.push(...list.value);
  }
  const coo = d.get('COO');
  if (coo) {
    const list = readAll(coo, 'COO', MAX_COOS, readCoo);
    if (!list.ok) return list;
    c.certificatesOfOwnership = list.value;
  }
  const specialists = d.get('S');
  if (specialists) {
    const list = readAll(specialists, 'S', MAX_SPECIALISTS, (r) => r.u64('specialist'));
    if (!list.ok) return list;
    c.specialists = list.value;
  }
  const routes = d.get('RT');
  if (routes) {
    const list = readAll(routes, 'RT', MAX_ROUTES, readRoute);
    if (!list.ok) return list;
    c.routes = list.value;
  }
  const ips = d.get('I');
  if (ips) {
    const list = readAll(ips, 'I', MAX_STATIC_IPS, readInetAddress);
    if (!list.ok) return list;
    c.staticIps = list.value;
  }
  const rules = d.get('R');
  if (rules) {
    const r = rulesOrDropAll(rules);
    c.rules = r.rules;
    c.rulesError = r.error;
  } else {
    c.rules = [];
  }
  const dns = d.get('DNS');
  if (dns) {
    const p = readDns(dns);
    if (!p.ok) return p;
    c.dns = p.value;
  } else {
    c.dns = null;
  }
  const names = d.get(NAMES_KEY);
  // not understood: the config stands without names (its other keys are what membership needs)
  c.names = names ? decodeNames(names) : null;
  const ssoVersion = d.getU64('ssov') ?? 0n;
  c.sso = { version: ssoVersion, enabled: d.getBool('ssoe') ?? false };
  if (ssoVersion === 0n) {
    const url = d.getString('aurl');
    const expiry = d.getU64('aexpt');
    if (url !== undefined) c.sso.authenticationUrl = url;
    if (expiry !== undefined) c.sso.authenticationExpiryTime = expiry;
  } else if (ssoVersion === 1n) {
    const text = (key: string): string | undefined => d.getString(key);
    const v1: Partial<NetworkSso> = {
      issuerUrl: text('iurl'),
      centralEndpointUrl: text('ssoce'),
      nonce: text('sson'),
      state: text('ssos'),
      clientId: text('ssocid'),
      provider: text('ssop'),
    };
    for (const [k, v] of Object.entries(v1) as [keyof NetworkSso, string | undefined][])
      if (v !== undefined) Object.assign(c.sso, { [k]: v });
  }
  return ok(c);
}

/** Parses the dictionary text (as assembled from config chunks) into a config. */
export function decodeNetworkConfig(bytes: Uint8Array): Parsed<NetworkConfig> {
  const d = Dictionary.parse(bytes);
  return d.ok ? networkConfigFromDictionary(d.value) : d;
}

function concat(write: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  write(w);
  return Buffer.from(w.finish());
}

/** The names value, encoded once per list (a controller gives every member the same list object). */
const encodedNamesCache = new WeakMap<MemberName[], Buffer>();
function encodedNames(names: MemberName[]): Buffer {
  let v = encodedNamesCache.get(names);
  if (!v) encodedNamesCache.set(names, (v = encodeNames(names).value));
  return v;
}

/** The dictionary stock 1.14 would write for this config. */
export function networkConfigToDictionary(c: NetworkConfig): Dictionary {
  const d = new Dictionary();
  d.add('v', NETWORK_CONFIG_VERSION)
    .add('nwid', c.networkId)
    .add('ts', c.timestamp)
    .add('ctmd', c.credentialTimeMaxDelta)
    .add('r', c.revision)
    .add('id', formatAddress(c.issuedTo))
    .add('tt', formatAddress(c.remoteTraceTarget))
    .add('tl', c.remoteTraceLevel)
    .add('f', c.flags)
    .add('ml', BigInt(c.multicastLimit))
    .add('t', BigInt(c.type))
    .add('n', c.name)
    .add('mtu', BigInt(c.mtu));
  if (c.com)
    d.add(
      'C',
      concat((w) => writeCom(w, c.com!)),
    );
  if (c.capabilities.length > 0) d.add('CAP', Buffer.concat(c.capabilities));
  if (c.tags.length > 0) d.add('TAG', Buffer.concat(c.tags));
  if (c.certificatesOfOwnership.length > 0)
    d.add(
      'COO',
      concat((w) => c.certificatesOfOwnership.forEach((x) => writeCoo(w, x))),
    );
  if (c.specialists.length > 0)
    d.add(
      'S',
      concat((w) => c.specialists.forEach((s) => w.u64(s))),
    );
  if (c.routes.length > 0) {
    d.add(
      'RT',
      concat((w) => {
        for (const r of c.routes) {
          writeInetAddress(w, r.target);
          writeInetAddress(w, r.via);
          w.u16(r.flags).u16(r.metric);
        }
      }),
    );
  }
  if (c.staticIps.length > 0)
    d.add(
      'I',
      concat((w) => c.staticIps.forEach((ip) => writeInetAddress(w, ip))),
    );
  if (c.rules.length > 0) d.add('R', encodeRules(c.rules));
  const dns = c.dns ?? { domain: '', servers: [] };
  d.add(
    'DNS',
    concat((w) => {
      const domain = Buffer.alloc(DNS_DOMAIN_LENGTH);
      domain.write(dns.domain.slice(0, DNS_DOMAIN_LENGTH - 1), 'utf8');
      w.bytes(domain);
      for (let i = 0; i < MAX_DNS_SERVERS; i++) writeInetAddress(w, dns.servers[i] ?? null);
    }),
  );
  const sso = c.sso;
  if (sso.version === 0n) {
    d.add('ssov', 0n).add('ssoe', sso.enabled);
    if (sso.enabled) {
      if (sso.authenticationUrl) d.add('aurl', sso.authenticationUrl);
      d.add('aexpt', sso.authenticationExpiryTime ?? 0n);
    }
  } else if (sso.version === 1n) {
    d.add('ssov', 1n)
      .add('ssoe', sso.enabled)
      .add('iurl', sso.issuerUrl ?? '')
      .add('ssoce', sso.centralEndpointUrl ?? '')
      .add('sson', sso.nonce ?? '')
      .add('ssos', sso.state ?? '')
      .add('ssocid', sso.clientId ?? '')
      .add('ssop', sso.provider ?? '');
  }
  if (c.names !== null) d.add(NAMES_KEY, encodedNames(c.names));
  return d;
}

export function encodeNetworkConfig(c: NetworkConfig): Buffer {
  return networkConfigToDictionary(c).encode();
}

/**
 * The request metadata key under which a ztnc member presents a join token to a ztnc controller.
 * Stock controllers read only their own keys and ignore it; stock members never send it.
 */
export const JOIN_TOKEN_KEY = 'ztnc.token';

/** What a member tells the controller about itself in NETWORK_CONFIG_REQUEST. */
export interface RequestMetadata {
  protocolVersion: number;
  versionMajor: number;
  versionMinor: number;
  versionRevision: number;
  /** Operating system / architecture, e.g. "linux/x86_64". */
  os: string;
  /** Rules-engine limits and revision we support (stock: 1024 rules, 128 caps, 64 cap rules, 128 tags, rev 1). */
  maxNetworkRules?: number;
  maxCapabilities?: number;
  maxCapabilityRules?: number;
  maxTags?: number;
  flags?: number;
  rulesEngineRevision?: number;
  /** A join token to present (JOIN_TOKEN_KEY), after stock's keys. */
  joinToken?: string;
}

/** The member metadata dictionary, with the keys and order stock 1.14 sends (and a join token after them). */
export function requestMetadataDictionary(m: RequestMetadata): Dictionary {
  const d = new Dictionary()
    .add('v', 7n)
    .add('vend', 1n)
    .add('pv', BigInt(m.protocolVersion))
    .add('majv', BigInt(m.versionMajor))
    .add('minv', BigInt(m.versionMinor))
    .add('revv', BigInt(m.versionRevision))
    .add('mr', BigInt(m.maxNetworkRules ?? 1024))
    .add('mc', BigInt(m.maxCapabilities ?? 128))
    .add('mcr', BigInt(m.maxCapabilityRules ?? 64))
    .add('mt', BigInt(m.maxTags ?? 128))
    .add('f', BigInt(m.flags ?? 0))
    .add('revr', BigInt(m.rulesEngineRevision ?? 1))
    .add('o', m.os);
  if (m.joinToken !== undefined) d.add(JOIN_TOKEN_KEY, m.joinToken);
  return d;
}
