/**
 * The CNI specification's plugin protocol (https://github.com/containernetworking/cni, SPEC.md,
 * versions 1.0.0 and 1.1.0): the command comes in CNI_COMMAND, the network config as JSON on
 * stdin, and the answer goes to stdout as JSON — a result, the VERSION answer, or an error object
 * `{cniVersion, code, msg, details}` with a non-zero exit status. Pure: ztnc-cni does the I/O.
 */
import { isIP } from 'node:net';

export const CNI_VERSION = '1.1.0';
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'];

/** The spec's well-known error codes (SPEC.md "Error"). */
export const CniCode = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  PLUGIN_NOT_AVAILABLE: 50,
  LIMITED_CONNECTIVITY: 51,
  /** Plugin-specific codes start at 100. */
  NOT_IMPLEMENTED: 100,
  /** The home's daemon could not be started or did not do what was asked (join, attach). */
  DAEMON_FAILED: 101,
  /** The network did not authorize or address this member in time. */
  NETWORK_NOT_READY: 102,
  /** CHECK found the container's interface or addresses not as ADD left them. */
  CHECK_FAILED: 103,
  /** The container's namespace could not be entered or its interface made there. */
  NAMESPACE_FAILED: 104,
} as const;

/** What ztnc-cni hands cni-agent.js, the part of ADD that runs inside CNI_NETNS. */
export interface CniAgentSpec {
  /** The daemon's namespace socket. */
  socket: string;
  nwid: string;
  /** The daemon endpoint (the container's member) whose network the TAP carries. */
  endpoint: string;
  ifname: string;
  /** How long to wait for the daemon's answer with an address. */
  timeoutMs: number;
}

/** cni-agent.js's exit status when CNI_IFNAME exists in the namespace already. */
export const AGENT_EXIT_EXISTS = 2;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
  }
}

export function errorJson(e: CniError, cniVersion = CNI_VERSION): Record<string, unknown> {
  return { cniVersion, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) };
}

export function versionJson(): Record<string, unknown> {
  return { cniVersion: CNI_VERSION, supportedVersions: SUPPORTED_VERSIONS };
}

/** ztnc's network config: `{"cniVersion","name","type":"ztnc","network":"<nwid>","home"?,"planet"?}`. */
export interface ZtncNetConf {
  cniVersion: string;
  name: string;
  network: string;
  home?: string;
  planet?: string;
  /** CHECK (and chained ADD): the result the runtime got from ADD. */
  prevResult?: Record<string, unknown>;
  /** GC (1.1): the attachments the runtime still knows; every other one of this network config goes. */
  validAttachments?: Array<{ containerID: string; ifname: string }>;
}

/** GC's `cni.dev/valid-attachments`; undefined when absent, an error when malformed. */
function validAttachments(v: unknown): ZtncNetConf['validAttachments'] {
  if (v === undefined) return undefined;
  const ok = (x: unknown): x is { containerID: string; ifname: string } =>
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { containerID?: unknown }).containerID === 'string' &&
    typeof (x as { ifname?: unknown }).ifname === 'string';
  if (!Array.isArray(v) || !v.every(ok)) {
    throw new CniError(CniCode.INVALID_CONFIG, '"cni.dev/valid-attachments" must be a list of {"containerID","ifname"}');
  }
  return v.map((x) => ({ containerID: x.containerID, ifname: x.ifname }));
}

export function parseNetConf(text: string): ZtncNetConf {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    throw new CniError(CniCode.DECODE_FAILURE, 'network config on stdin is not JSON');
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw new CniError(CniCode.DECODE_FAILURE, 'network config is not a JSON object');
  const o = c as Record<string, unknown>;
  const v = typeof o.cniVersion === 'string' ? o.cniVersion : '';
  if (!SUPPORTED_VERSIONS.includes(v)) {
    throw new CniError(CniCode.INCOMPATIBLE_VERSION, `cniVersion "${v}" is not supported`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (typeof o.name !== 'string' || o.name === '') throw new CniError(CniCode.INVALID_CONFIG, 'network config needs "name"');
  if (typeof o.network !== 'string' || !/^[0-9a-fA-F]{16}$/.test(o.network)) {
    throw new CniError(CniCode.INVALID_CONFIG, '"network" must be a 16-hex-digit network id');
  }
  if (o.type !== undefined && o.type !== 'ztnc')
    throw new CniError(CniCode.INVALID_CONFIG, `"type" is ${JSON.stringify(o.type)}, not "ztnc"`);
  for (const k of ['home', 'planet'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === ''))
      throw new CniError(CniCode.INVALID_CONFIG, `"${k}" must be a path`);
  }
  const prev = o.prevResult;
  if (prev !== undefined && (typeof prev !== 'object' || prev === null || Array.isArray(prev))) {
    throw new CniError(CniCode.INVALID_CONFIG, '"prevResult" must be an object');
  }
  const valid = validAttachments(o['cni.dev/valid-attachments']);
  return {
    cniVersion: v,
    name: o.name,
    network: o.network.toLowerCase(),
    ...(typeof o.home === 'string' ? { home: o.home } : {}),
    ...(typeof o.planet === 'string' ? { planet: o.planet } : {}),
    ...(prev !== undefined ? { prevResult: prev as Record<string, unknown> } : {}),
    ...(valid !== undefined ? { validAttachments: valid } : {}),
  };
}

/** The environment ADD, DEL and CHECK need (SPEC.md "Parameters"); DEL tolerates a missing netns. */
export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS' `IP`: addresses (no prefix length) the container must have; the controller assigns them. */
  ips: string[];
}

/** CNI_ARGS keys runtimes send that ztnc has nothing to do with (podman and kubelet set them). */
const IGNORED_ARGS = ['K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'];

/**
 * CNI_ARGS, `KEY=VALUE` pairs joined by ';' (SPEC.md "Parameters", as libcni's runtimes send them):
 * `IP=<address>[,<address>…]` (with or without a prefix length) names addresses the container
 * must get; `IgnoreUnknown=1|true` lets other keys pass; the K8S_POD_* keys are ignored. A pair
 * without '=' or an empty key, a malformed address, and an unknown key without IgnoreUnknown are
 * INVALID_ENV errors.
 */
export function parseCniArgs(text: string): { ips: string[] } {
  if (text.trim() === '') return { ips: [] };
  const pairs: Array<[string, string]> = [];
  for (const part of text.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.INVALID_ENV, `CNI_ARGS: "${part}" is not KEY=VALUE`);
    pairs.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  const ignoreUnknown = pairs.some(([k, v]) => k === 'IgnoreUnknown' && ['1', 'true', 'True'].includes(v));
  const ips: string[] = [];
  for (const [key, value] of pairs) {
    if (key === 'IP') {
      for (const one of value.split(',')) {
        const address = one.trim().replace(/\/\d{1,3}$/, '');
        if (isIP(address) === 0) throw new CniError(CniCode.INVALID_ENV, `CNI_ARGS: IP "${one}" is not an address`);
        ips.push(address.toLowerCase());
      }
    } else if (key !== 'IgnoreUnknown' && !IGNORED_ARGS.includes(key) && !ignoreUnknown) {
      throw new CniError(CniCode.INVALID_ENV, `CNI_ARGS: unknown key "${key}" (ztnc knows IP; set IgnoreUnknown=1 to pass others)`);
    }
  }
  return { ips };
}

export function readCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!command) throw new CniError(CniCode.INVALID_ENV, 'CNI_COMMAND is not set');
  const containerId = env.CNI_CONTAINERID ?? '';
  const netns = env.CNI_NETNS ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  if (['ADD', 'DEL', 'CHECK'].includes(command)) {
    if (!containerId) throw new CniError(CniCode.INVALID_ENV, 'CNI_CONTAINERID is not set');
    if (!ifname) throw new CniError(CniCode.INVALID_ENV, 'CNI_IFNAME is not set');
    if (!netns && command !== 'DEL') throw new CniError(CniCode.INVALID_ENV, 'CNI_NETNS is not set');
  }
  const { ips } = ['ADD', 'CHECK'].includes(command) ? parseCniArgs(env.CNI_ARGS ?? '') : { ips: [] };
  return { command, containerId, netns, ifname, ips };
}
