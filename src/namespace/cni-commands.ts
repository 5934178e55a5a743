/**
 * ztnc-cni's commands (CNI spec 1.0/1.1: ADD, DEL, CHECK, GC, STATUS) over the home's daemon.
 * Each container is its own member: an endpoint of the home's daemon (SPEC: one daemon, many
 * ZeroTier identities) named from its id (endpointName). ADD starts the daemon if needed (as
 * ztnc-run does), creates the endpoint, joins it to the network, waits for its address (and the
 * addresses CNI_ARGS' IP asks for), then has cni-agent.js create the TAP inside CNI_NETNS and hand
 * it to the daemon with `hold`, so the daemon serves it after the plugin exits; the agent leaves a
 * process in the namespace that applies later config changes. The attachment is recorded
 * (cni-state.ts) for DEL, CHECK and GC. DEL asks the daemon to close the TAP (`detach`), leaves
 * the network, and deletes the endpoint once it is on no network — with the daemon down, by
 * removing the endpoint's directory, so that it does not come back as a member when the daemon
 * starts; it succeeds when there is nothing left to undo. Failures are CniErrors with the spec's
 * codes (cni-protocol.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest, answerError, type Connection, createEndpoint } from '../cli/cli-client.js';
import { defaultHome, Home, processAlive } from '../service/home.js';
import { encodeMessage, LineReader, NAMESPACE_SOCKET } from '../service/namespace-wire.js';
import { AGENT_EXIT_EXISTS, CniCode, CniError, type CniAgentSpec, type CniEnv, type ZtncNetConf } from './cni-protocol.js';
import { cniResult, resultAddresses } from './cni-result.js';
import {
  listAttachments,
  listAttachmentsOfHome,
  loadAttachment,
  removeAttachment,
  saveAttachment,
  type CniAttachment,
} from './cni-state.js';
import { connectNamespaceSocket } from './daemon-channel.js';
import { daemonAnswers, ensureDaemon, waitForNetwork } from './daemon-control.js';
import type { LinkState } from './link-config.js';

const here = dirname(fileURLToPath(import.meta.url));
/** How long ADD waits for authorization and an address. */
const READY_TIMEOUT_MS = 30_000;

export const homeOf = (conf: ZtncNetConf): string => resolve(conf.home ?? defaultHome());

const networkPath = (a: Pick<CniAttachment, 'nwid' | 'endpoint'>): string => `/endpoint/${a.endpoint}/network/${a.nwid}`;

/**
 * The container's endpoint: `cni-`, the first 12 characters of its id made a usable name (what
 * `podman ps` shows), and 12 hex digits of the id's SHA-256, so that ids sharing their first 12
 * characters get different endpoints and the same id always the same one.
 */
export function endpointName(containerId: string): string {
  const readable = containerId
    .slice(0, 12)
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-');
  return `cni-${readable}-${createHash('sha256').update(containerId).digest('hex').slice(0, 12)}`;
}

async function daemonFor(conf: ZtncNetConf): Promise<Connection> {
  try {
    return await ensureDaemon(homeOf(conf), conf.planet ? { planet: conf.planet } : {});
  } catch (e) {
    throw new CniError(CniCode.DAEMON_FAILED, (e as Error).message);
  }
}

/** Asks the daemon to close the held TAP of `nwid`; false when it had none (or does not answer). */
async function detachHeld(home: string, endpoint: string, nwid: string): Promise<boolean> {
  let ch;
  try {
    ch = await connectNamespaceSocket(join(home, NAMESPACE_SOCKET));
  } catch {
    return false;
  }
  const channel = ch;
  return new Promise((done) => {
    const reader = new LineReader();
    const timer = setTimeout(() => finish(false), 10_000);
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      channel.handlers = {};
      channel.close();
      done(v);
    };
    channel.handlers = {
      onMessage: (data) => {
        try {
          for (const m of reader.push(data)) if (m.t === 'detached' || m.t === 'error') return finish(m.t === 'detached' && m.detached);
        } catch {
          finish(false);
        }
      },
      onClose: () => finish(false),
    };
    channel.send(encodeMessage({ t: 'detach', nwid, endpoint }));
  });
}

/** Undoes an attachment as far as the daemon lets it (best effort), then forgets it. */
async function undo(home: string, a: CniAttachment): Promise<void> {
  const c = await daemonAnswers(home);
  if (c) {
    await detachHeld(home, a.endpoint, a.nwid);
    if (a.joined) await apiRequest(c, 'DELETE', networkPath(a)).catch(() => undefined);
    if (a.endpoint !== 'default') await deleteIfUnused(c, a.endpoint);
  } else if (!forgetEndpointOffline(home, a)) return; // a daemon that runs but does not answer: GC or another DEL retries
  removeAttachment(home, a.name, a.containerId, a.ifname);
}

/**
 * With the daemon down (no live pid in ztnc.pid) its TAPs are closed already; what is left is the
 * endpoint's directory, which would bring the container back as a member at the next start:
 * remove it when no other attachment of this home uses the endpoint. False when a daemon process
 * is alive but its API did not answer (it may be starting): then nothing is touched.
 */
function forgetEndpointOffline(home: string, a: CniAttachment): boolean {
  const h = new Home(home);
  const pid = h.readPid();
  if (pid !== null && processAlive(pid)) return false;
  if (a.endpoint === 'default') return true;
  const others = listAttachmentsOfHome(home).filter(
    (o) => o.endpoint === a.endpoint && !(o.containerId === a.containerId && o.ifname === a.ifname),
  );
  if (others.length === 0) rmSync(h.endpointDir(a.endpoint), { recursive: true, force: true });
  return true;
}

/** Deletes endpoint `name` when it is on no network any more (another interface of the container may use it). */
async function deleteIfUnused(c: Connection, name: string): Promise<void> {
  const ep = await apiRequest(c, 'GET', `/endpoint/${name}`).catch(() => null);
  if (ep?.status !== 200) return;
  const networks = (ep.body as { networks?: unknown[] }).networks ?? [];
  if (networks.length === 0) await apiRequest(c, 'DELETE', `/endpoint/${name}`).catch(() => undefined);
}

/** The container's endpoint, created when it does not exist; its member address. */
async function endpointFor(c: Connection, name: string): Promise<string> {
  let ep = await createEndpoint(c, name);
  // 409: the container has it already (another of its interfaces)
  if (ep.status === 409) ep = await apiRequest(c, 'GET', `/endpoint/${name}`);
  if (ep.status !== 200) throw new CniError(CniCode.DAEMON_FAILED, `cannot create endpoint ${name}: ${answerError(ep)}`);
  return String((ep.body as { address?: unknown }).address);
}

/** Runs cni-agent.js inside the container's namespace; its interface state. */
function runAgent(netns: string, spec: CniAgentSpec): LinkState {
  const agent = join(here, 'cni-agent.js');
  if (!existsSync(agent)) throw new CniError(CniCode.IO_FAILURE, `${agent} is missing (npm run build)`);
  const r = spawnSync('nsenter', [`--net=${netns}`, '--', process.execPath, agent, JSON.stringify(spec)], {
    encoding: 'utf8',
    timeout: spec.timeoutMs + 10_000,
  });
  const why = (r.stderr || r.error?.message || '').trim();
  if (r.error) throw new CniError(CniCode.NAMESPACE_FAILED, `nsenter (util-linux) cannot run: ${why}`);
  if (r.status === AGENT_EXIT_EXISTS) throw new CniError(CniCode.NAMESPACE_FAILED, why);
  if (r.status !== 0) throw new CniError(CniCode.NAMESPACE_FAILED, `cannot attach ${spec.ifname} in ${netns}: ${why}`);
  try {
    return JSON.parse(r.stdout) as LinkState;
  } catch {
    throw new CniError(CniCode.NAMESPACE_FAILED, `the namespace agent answered no interface state: ${r.stdout.slice(0, 200)}`);
  }
}

export async function add(conf: ZtncNetConf, env: CniEnv): Promise<Record<string, unknown>> {
  const home = homeOf(conf);
  if (!existsSync(env.netns)) throw new CniError(CniCode.NAMESPACE_FAILED, `CNI_NETNS ${env.netns} does not exist`);
  const c = await daemonFor(conf);
  const a: CniAttachment = {
    name: conf.name,
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns,
    nwid: conf.network,
    endpoint: endpointName(env.containerId),
    joined: false,
  };
  const member = await endpointFor(c, a.endpoint);
  const before = await apiRequest(c, 'GET', networkPath(a));
  if (before.status === 200 && (before.body as { mode?: string }).mode === 'namespace') {
    throw new CniError(CniCode.DAEMON_FAILED, `container ${env.containerId} is on network ${a.nwid} already (endpoint ${a.endpoint})`);
  }
  a.joined = before.status !== 200;
  try {
    const joined = await apiRequest(c, 'POST', networkPath(a), {});
    if (joined.status !== 200) throw new CniError(CniCode.DAEMON_FAILED, `cannot join ${a.nwid}: ${answerError(joined)}`);
    let ready;
    try {
      ready = await waitForNetwork(c, networkPath(a), a.nwid, READY_TIMEOUT_MS, () => member);
    } catch (e) {
      throw new CniError(CniCode.NETWORK_NOT_READY, (e as Error).message);
    }
    const assigned = new Set((ready.assignedAddresses ?? []).map((x) => x.split('/')[0]!.toLowerCase()));
    const unassigned = env.ips.filter((x) => !assigned.has(x));
    if (unassigned.length > 0) {
      throw new CniError(
        CniCode.NETWORK_NOT_READY,
        `CNI_ARGS asks for ${unassigned.join(', ')}, which the controller did not assign to member ${member} (it has ${[...assigned].join(', ') || 'none'}): assign it at the network's controller`,
      );
    }
    const state = runAgent(env.netns, {
      socket: join(home, NAMESPACE_SOCKET),
      nwid: a.nwid,
      endpoint: a.endpoint,
      ifname: env.ifname,
      timeoutMs: READY_TIMEOUT_MS,
    });
    saveAttachment(home, a);
    return cniResult(conf.cniVersion, { ifname: env.ifname, sandbox: env.netns }, state);
  } catch (e) {
    await undo(home, a);
    throw e;
  }
}

export async function del(conf: ZtncNetConf, env: CniEnv): Promise<void> {
  const home = homeOf(conf);
  const a = loadAttachment(home, conf.name, env.containerId, env.ifname);
  if (a) await undo(home, a);
}

/** The addresses (CIDR) on `ifname` inside `netns`, as `ip -j addr` shows them. */
function addressesIn(netns: string, ifname: string): string[] {
  const r = spawnSync('nsenter', [`--net=${netns}`, '--', 'ip', '-j', 'addr', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new CniError(CniCode.CHECK_FAILED, `no interface ${ifname} in ${netns}: ${(r.stderr || r.error?.message || '').trim()}`);
  try {
    const links = JSON.parse(r.stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
    return links.flatMap((l) => (l.addr_info ?? []).map((x) => `${x.local}/${x.prefixlen}`));
  } catch {
    throw new CniError(CniCode.CHECK_FAILED, `cannot read the addresses of ${ifname} in ${netns}`);
  }
}

export async function check(conf: ZtncNetConf, env: CniEnv): Promise<void> {
  const home = homeOf(conf);
  const a = loadAttachment(home, conf.name, env.containerId, env.ifname);
  if (!a) throw new CniError(CniCode.UNKNOWN_CONTAINER, `no attachment of ${env.containerId} (${env.ifname}) on "${conf.name}"`);
  const c = await daemonAnswers(home);
  if (!c) throw new CniError(CniCode.CHECK_FAILED, `the daemon for ${home} is not running`);
  const n = await apiRequest(c, 'GET', networkPath(a));
  const body = n.body as { status?: string; mode?: string; portDeviceName?: string; assignedAddresses?: string[] };
  if (n.status !== 200) throw new CniError(CniCode.CHECK_FAILED, `network ${a.nwid}: ${answerError(n)}`);
  if (body.mode !== 'namespace' || body.portDeviceName !== env.ifname) {
    throw new CniError(CniCode.CHECK_FAILED, `the daemon no longer serves ${env.ifname} on network ${a.nwid} (mode ${String(body.mode)})`);
  }
  if (body.status !== 'OK') throw new CniError(CniCode.CHECK_FAILED, `network ${a.nwid} is ${String(body.status)}`);
  const want = conf.prevResult ? resultAddresses(conf.prevResult, env.ifname) : (body.assignedAddresses ?? []);
  const have = new Set(addressesIn(env.netns, env.ifname));
  const missing = want.filter((x) => !have.has(x));
  if (missing.length > 0) throw new CniError(CniCode.CHECK_FAILED, `${env.ifname} lacks ${missing.join(', ')}`);
}

/** GC (1.1): every attachment of this network config that the runtime no longer lists goes. */
export async function gc(conf: ZtncNetConf): Promise<void> {
  if (!conf.validAttachments) throw new CniError(CniCode.INVALID_CONFIG, 'GC needs "cni.dev/valid-attachments"');
  const home = homeOf(conf);
  const valid = new Set(conf.validAttachments.map((v) => `${v.containerID}\n${v.ifname}`));
  const { attachments, bad } = listAttachments(home, conf.name);
  for (const a of attachments) if (!valid.has(`${a.containerId}\n${a.ifname}`)) await undo(home, a);
  for (const f of bad) rmSync(f, { force: true });
}

/** STATUS (1.1): ready when the home's daemon answers (started here as ADD would start it). */
export async function status(conf: ZtncNetConf): Promise<void> {
  try {
    await ensureDaemon(homeOf(conf), conf.planet ? { planet: conf.planet } : {});
  } catch (e) {
    throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, (e as Error).message);
  }
}
