/**
 * The OCI runtime hook's input (runtime-spec config.md "Hooks", state in runtime.md "State"): the
 * container's state JSON on stdin — id, pid (whose /proc/<pid>/ns/net is the container's network
 * namespace), bundle, annotations — and what ztnc-oci-hook needs from it: the network, home and
 * planet, from its command line or else from the container's annotations (config.json
 * `annotations`, which runtimes copy into the state). Pure: the CLI does the I/O.
 */
import { CniCode, CniError, type CniEnv, type ZtncNetConf } from './cni-protocol.js';

/** Annotations naming the network and home for containers whose hooks carry no options. */
export const ANNOTATION = {
  network: 'org.ztnc.network',
  home: 'org.ztnc.home',
  planet: 'org.ztnc.planet',
  ifname: 'org.ztnc.ifname',
} as const;

/** The attachments the hook records (cni-state.ts) are kept under this network config name. */
export const OCI_CONF_NAME = 'oci-hook';

export interface OciState {
  id: string;
  /** Absent in poststop (the process is gone). */
  pid?: number;
  bundle?: string;
  annotations: Record<string, string>;
}

export interface HookOptions {
  network?: string;
  home?: string;
  planet?: string;
  ifname?: string;
}

export function parseOciState(text: string): OciState {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch {
    throw new CniError(CniCode.DECODE_FAILURE, 'the container state on stdin is not JSON');
  }
  if (typeof s !== 'object' || s === null || Array.isArray(s))
    throw new CniError(CniCode.DECODE_FAILURE, 'the container state is not a JSON object');
  const o = s as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') throw new CniError(CniCode.DECODE_FAILURE, 'the container state has no "id"');
  if (o.pid !== undefined && (!Number.isInteger(o.pid) || (o.pid as number) < 0))
    throw new CniError(CniCode.DECODE_FAILURE, '"pid" must be a process id');
  const annotations: Record<string, string> = {};
  if (typeof o.annotations === 'object' && o.annotations !== null) {
    for (const [k, v] of Object.entries(o.annotations)) if (typeof v === 'string') annotations[k] = v;
  }
  return {
    id: o.id,
    ...(typeof o.pid === 'number' && o.pid > 0 ? { pid: o.pid } : {}),
    ...(typeof o.bundle === 'string' ? { bundle: o.bundle } : {}),
    annotations,
  };
}

/** The network config and CNI environment the hook runs ADD (createRuntime) or DEL (poststop) with. */
export function hookRequest(state: OciState, opts: HookOptions, command: 'ADD' | 'DEL'): { conf: ZtncNetConf; env: CniEnv } {
  const pick = (key: keyof typeof ANNOTATION): string | undefined => opts[key] ?? state.annotations[ANNOTATION[key]];
  const network = pick('network');
  if (network === undefined)
    throw new CniError(
      CniCode.INVALID_CONFIG,
      `no network: pass --network <nwid> in the hook's args or annotate the container with ${ANNOTATION.network}`,
    );
  if (!/^[0-9a-fA-F]{16}$/.test(network))
    throw new CniError(CniCode.INVALID_CONFIG, `network "${network}" is not a 16-hex-digit network id`);
  if (command === 'ADD' && state.pid === undefined)
    throw new CniError(CniCode.INVALID_ENV, 'the container state has no "pid" (use the hook at createRuntime)');
  const home = pick('home');
  const planet = pick('planet');
  const conf: ZtncNetConf = {
    cniVersion: '1.1.0',
    name: OCI_CONF_NAME,
    network: network.toLowerCase(),
    ...(home ? { home } : {}),
    ...(planet ? { planet } : {}),
  };
  const env: CniEnv = {
    command,
    containerId: state.id,
    netns: state.pid !== undefined ? `/proc/${state.pid}/ns/net` : '',
    ifname: pick('ifname') ?? 'eth0',
    ips: [],
  };
  return { conf, env };
}
