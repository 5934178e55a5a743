/**
 * ztnc-cli's `zone …` commands over the controller JSON API: `zone create <name> [--subnet
 * auto|CIDR] [--gateway <member address|home>]` makes a private network named `zone:<name>` on a
 * subnet no other zone, network or host route uses, with the gateway member authorized at the
 * subnet's lowest address and pushed as the default route; `zone destroy <name> [--force]`
 * de-authorizes and removes its members and the network, refusing while members other than the
 * gateway remain; `zone list` shows zones, subnets, gateways, members and published ports.
 * Subnet rules live in src/controller/zones.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkZoneSubnet,
  chooseZoneSubnet,
  networkClaims,
  parseIpv4Routes,
  parseIpv6Routes,
  zoneGatewayIp,
  zoneInfoOf,
  zoneNameProblem,
  zoneNetworkBody,
  ZoneError,
  type AddressClaim,
  type NetworkView,
  type ZoneInfo,
} from '../controller/zones.js';
import { formatCidr, type Cidr } from '../controller/ip-assignment.js';
import type { PoolObject, RouteObject } from '../controller/types.js';
import {
  answerError,
  apiRequest,
  CliError,
  controllerCall,
  resolveConnection,
  type ApiAnswer,
  type Connection,
  type ConnectionSource,
} from './cli-client.js';
import { jsonDump } from './zerotier-cli-format.js';

type Json = Record<string, unknown>;

export interface ZoneOptions {
  /** `--subnet`: "auto" (the default) or a CIDR. */
  subnet?: string;
  /** `--gateway`: a member's 10-digit address, or the home directory of the gateway's daemon. */
  gateway?: string;
  /** `--force`: destroy a zone that still has members. */
  force: boolean;
}

/** What the commands read of the host; tests give their own. */
export interface ZoneHost {
  /** The host's own routes (IPv4 and IPv6), default routes left out. */
  routes(): AddressClaim[];
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // no IPv6 (or no /proc): nothing routed there to avoid
  }
}

export const PROC_HOST: ZoneHost = {
  routes: () => [...parseIpv4Routes(readOptional('/proc/net/route')), ...parseIpv6Routes(readOptional('/proc/net/ipv6_route'))],
};

/**
 * The local API paths of the gateway role (`ztnc-cli gateway enable`, `publish list`): a daemon
 * without them answers 404, and zones work the same without published ports.
 */
export const gatewayRolePath = (nwid: string): string => `/gateway/${nwid}`;
export const publishedPortsPath = (nwid: string): string => `/gateway/${nwid}/publish`;

const ADDRESS_PATTERN = /^[0-9a-f]{10}$/i;
const NWID_PATTERN = /^[0-9a-f]{16}$/i;
export const ZONE_LIST_HEADER = '200 zone list <name> <nwid> <subnet> <gateway> <members> <published>';

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function strings(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).filter((x): x is string => typeof x === 'string');
}

function networkView(j: Json): NetworkView {
  const routes = (Array.isArray(j.routes) ? j.routes : [])
    .map(obj)
    .flatMap((r): RouteObject[] =>
      typeof r.target === 'string' ? [{ target: r.target, via: typeof r.via === 'string' ? r.via : null }] : [],
    );
  const pools = (Array.isArray(j.ipAssignmentPools) ? j.ipAssignmentPools : [])
    .map(obj)
    .flatMap((p): PoolObject[] =>
      typeof p.ipRangeStart === 'string' && typeof p.ipRangeEnd === 'string'
        ? [{ ipRangeStart: p.ipRangeStart, ipRangeEnd: p.ipRangeEnd }]
        : [],
    );
  return { id: typeof j.id === 'string' ? j.id : '', name: typeof j.name === 'string' ? j.name : '', routes, ipAssignmentPools: pools };
}

async function controllerNetworks(c: ConnectionSource, what: string): Promise<NetworkView[]> {
  const ids = (await controllerCall(c, what, 'GET', '/controller/network')).body;
  if (!Array.isArray(ids)) throw new CliError(`${what}: the daemon's answer is not a list`);
  const out: NetworkView[] = [];
  for (const id of ids) {
    if (typeof id !== 'string' || !NWID_PATTERN.test(id)) continue;
    const a = await apiRequest(c, 'GET', `/controller/network/${id}`);
    if (a.status === 404) continue; // deleted meanwhile
    if (a.status !== 200) throw new CliError(`${what}: ${answerError(a)} (HTTP ${a.status})`);
    out.push(networkView(obj(a.body)));
  }
  return out;
}

interface MemberView {
  address: string;
  name: string;
  authorized: boolean;
  ipAssignments: string[];
}

async function zoneMembers(c: ConnectionSource, what: string, nwid: string): Promise<MemberView[]> {
  const revisions = obj((await controllerCall(c, what, 'GET', `/controller/network/${nwid}/member`)).body);
  const out: MemberView[] = [];
  for (const address of Object.keys(revisions).sort()) {
    if (!ADDRESS_PATTERN.test(address)) continue;
    const a = await apiRequest(c, 'GET', `/controller/network/${nwid}/member/${address}`);
    if (a.status === 404) continue;
    if (a.status !== 200) throw new CliError(`${what}: ${answerError(a)} (HTTP ${a.status})`);
    const m = obj(a.body);
    out.push({
      address,
      name: typeof m.name === 'string' ? m.name : '',
      authorized: m.authorized === true,
      ipAssignments: strings(m.ipAssignments),
    });
  }
  return out;
}

function findZone(networks: readonly NetworkView[], zone: string): ZoneInfo | null {
  for (const n of networks) {
    const z = zoneInfoOf(n);
    if (z?.zone === zone) return z;
  }
  return null;
}

function checkName(what: string, name: string | undefined): string {
  if (name === undefined) throw new CliError(`${what}: missing zone name`, 2);
  const problem = zoneNameProblem(name);
  if (problem !== null) throw new CliError(`${what}: ${problem}`, 2);
  return name;
}

/** `--gateway`: a member address, or a home directory whose identity.public names the member. */
interface GatewaySpec {
  address: string;
  home: string | null;
}

function gatewaySpec(text: string): GatewaySpec {
  const isDir = existsSync(text) && statSync(text).isDirectory();
  if (!isDir) {
    if (ADDRESS_PATTERN.test(text)) return { address: text.toLowerCase(), home: null };
    throw new CliError(`--gateway: ${JSON.stringify(text)} is neither a member address (10 hex digits) nor a ztnc-service home`, 2);
  }
  const file = join(text, 'identity.public');
  let identity: string;
  try {
    identity = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`--gateway: ${file} not found: has ztnc-service run with home ${text}?`, 2);
  }
  const m = /^([0-9a-f]{10}):/i.exec(identity.trim());
  if (!m) throw new CliError(`--gateway: ${file} does not hold a ZeroTier identity`, 2);
  return { address: m[1]!.toLowerCase(), home: text };
}

/**
 * Joins the gateway's own daemon to the zone and gives it the gateway role (where its daemon has
 * the gateway API); returns lines saying what happened or what is left to run.
 */
async function joinGateway(home: string, nwid: string): Promise<string[]> {
  let conn: Connection;
  try {
    conn = resolveConnection({ home });
  } catch {
    return [`gateway: start its daemon, then: ztnc-cli -D ${home} join ${nwid}; ztnc-cli -D ${home} gateway enable ${nwid}`];
  }
  try {
    const a = await apiRequest(conn, 'POST', `/network/${nwid}`, {});
    if (a.status !== 200) return [`gateway: joining failed (${answerError(a)}); run: ztnc-cli -D ${home} join ${nwid}`];
    const role = await apiRequest(conn, 'POST', gatewayRolePath(nwid), { enabled: true });
    const enabled =
      role.status === 200
        ? `gateway: ztnc-service at ${home} is the zone's gateway`
        : `gateway: make it the zone's gateway: ztnc-cli -D ${home} gateway enable ${nwid}`;
    return [`gateway: ztnc-service at ${home} joined ${nwid}`, enabled];
  } catch (e) {
    return [`gateway: its daemon did not answer (${(e as Error).message}); run: ztnc-cli -D ${home} join ${nwid}`];
  }
}

/** How to start a container in the zone, for people. */
function howToLines(controllerHome: string | null, nwid: string, gateway: boolean): string[] {
  const planet = controllerHome !== null && existsSync(join(controllerHome, 'planet')) ? ` --planet ${join(controllerHome, 'planet')}` : '';
  const root = controllerHome ?? '<controller home>';
  return [
    'Start a container in it (one ztnc-service home per container):',
    `  ztnc-service${planet} -d <home>`,
    `  ztnc-cli -D <home> join ${nwid}`,
    `  ztnc-cli -D ${root} net authorize ${nwid} $(cut -d: -f1 <home>/identity.public)`,
    ...(gateway ? [`  ztnc-cli -D <home> set ${nwid} allowDefault=1      # the way out is the gateway`] : []),
    `  ztnc-intercept -D <home> -n ${nwid} -- <program> [args]`,
  ];
}

async function create(c: ConnectionSource, words: readonly string[], opts: ZoneOptions, json: boolean, host: ZoneHost): Promise<string[]> {
  const what = 'zone create';
  if (words.length > 2) throw new CliError(`${what}: too many arguments`, 2);
  const zone = checkName(what, words[1]);
  const subnetText = opts.subnet ?? 'auto';
  try {
    if (subnetText !== 'auto') checkZoneSubnet(subnetText, []); // a bad CIDR is told before the daemon is asked
  } catch (e) {
    if (e instanceof ZoneError) throw new CliError(`${what}: ${e.message}`, 2);
    throw e;
  }
  const gateway = opts.gateway !== undefined ? gatewaySpec(opts.gateway) : null;

  const networks = await controllerNetworks(c, what);
  const existing = findZone(networks, zone);
  if (existing) throw new CliError(`${what}: zone ${zone} already exists (network ${existing.nwid})`);
  const claims = [...networks.flatMap(networkClaims), ...host.routes()];
  let subnet: Cidr;
  try {
    subnet = subnetText === 'auto' ? chooseZoneSubnet(claims) : checkZoneSubnet(subnetText, claims);
  } catch (e) {
    if (e instanceof ZoneError) throw new CliError(`${what}: ${e.message}`, subnetText === 'auto' ? 1 : 2);
    throw e;
  }
  const gatewayIp = gateway ? zoneGatewayIp(subnet) : null;
  const made = obj((await controllerCall(c, what, 'POST', '/controller/network', zoneNetworkBody(zone, subnet, gatewayIp))).body);
  const nwid = made.id;
  if (typeof nwid !== 'string') throw new CliError(`${what}: the daemon's answer has no network id`);

  let joined: string[] = [];
  if (gateway) {
    const body = { authorized: true, ipAssignments: [gatewayIp], name: 'gateway' };
    const a = await apiRequest(c, 'POST', `/controller/network/${nwid}/member/${gateway.address}`, body);
    if (a.status !== 200) {
      await apiRequest(c, 'DELETE', `/controller/network/${nwid}`); // leave nothing half made
      throw new CliError(`${what}: authorizing the gateway ${gateway.address} failed: ${answerError(a)} (HTTP ${a.status})`);
    }
    joined =
      gateway.home !== null
        ? await joinGateway(gateway.home, nwid)
        : [`gateway: on its daemon: ztnc-cli -D <its home> join ${nwid}; ztnc-cli -D <its home> gateway enable ${nwid}`];
  }
  const subnetOut = formatCidr(subnet);
  if (json) {
    return [jsonDump({ zone, nwid, subnet: subnetOut, gateway: gateway ? { address: gateway.address, ip: gatewayIp } : null })];
  }
  const controllerHome = typeof c === 'function' ? c().home : c.home;
  const gw = gateway
    ? `, gateway ${gateway.address} at ${gatewayIp} (default route ${subnet.family === 4 ? '0.0.0.0/0' : '::/0'})`
    : ', no gateway';
  return [
    nwid,
    `zone ${zone}: network ${nwid}, subnet ${subnetOut}${gw}`,
    ...joined,
    ...howToLines(controllerHome, nwid, gateway !== null),
  ];
}

function gatewayOf(z: ZoneInfo, members: readonly MemberView[]): MemberView | null {
  if (z.gatewayIp === null) return null;
  return members.find((m) => m.ipAssignments.includes(z.gatewayIp!)) ?? null;
}

async function destroy(c: ConnectionSource, words: readonly string[], opts: ZoneOptions, json: boolean): Promise<string[]> {
  const what = 'zone destroy';
  if (words.length > 2) throw new CliError(`${what}: too many arguments`, 2);
  const zone = checkName(what, words[1]);
  const z = findZone(await controllerNetworks(c, what), zone);
  if (!z) throw new CliError(`${what}: no zone named ${zone} (zone list shows them)`);
  const members = await zoneMembers(c, what, z.nwid);
  const gateway = gatewayOf(z, members);
  const others = members.filter((m) => m.authorized && m.address !== gateway?.address);
  if (others.length > 0 && !opts.force) {
    const named = others.map(
      (m) => `${m.address}${m.name ? ` (${m.name})` : ''}${m.ipAssignments.length ? ` ${m.ipAssignments.join(',')}` : ''}`,
    );
    throw new CliError(`${what}: zone ${zone} still has members: ${named.join(', ')}; remove them first or use --force`);
  }
  // De-authorize first so each member is revoked at once, then remove the records and the network.
  for (const m of members) {
    if (m.authorized) await controllerCall(c, what, 'POST', `/controller/network/${z.nwid}/member/${m.address}`, { authorized: false });
    const a = await apiRequest(c, 'DELETE', `/controller/network/${z.nwid}/member/${m.address}`);
    if (a.status !== 200 && a.status !== 404)
      throw new CliError(`${what}: removing member ${m.address}: ${answerError(a)} (HTTP ${a.status})`);
  }
  await controllerCall(c, what, 'DELETE', `/controller/network/${z.nwid}`);
  if (json) return [jsonDump({ zone, nwid: z.nwid, removedMembers: members.map((m) => m.address) })];
  return [`200 zone destroy OK ${zone} ${z.nwid} (${members.length} member${members.length === 1 ? '' : 's'} removed)`];
}

/**
 * The zone's published ports on the daemon asked (the controller's: the gateway's own when it is
 * also the controller), or null when that daemon has no gateway API.
 */
async function publishedPorts(c: ConnectionSource, nwid: string): Promise<unknown[] | null> {
  let a: ApiAnswer;
  try {
    a = await apiRequest(c, 'GET', publishedPortsPath(nwid));
  } catch {
    return null;
  }
  const body: unknown = a.body;
  return a.status === 200 && Array.isArray(body) ? (body as unknown[]) : null;
}

function scalar(o: Json, key: string): string {
  const v = o[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '?';
}

/** `tcp:0.0.0.0:8080->10.100.0.7:80`, one published port as `GET /gateway/<nwid>/publish` lists it. */
export function publishedPortText(p: unknown): string {
  const o = obj(p);
  const host = typeof o.hostAddr === 'string' && o.hostAddr.includes(':') ? `[${o.hostAddr}]` : scalar(o, 'hostAddr');
  return `${scalar(o, 'protocol')}:${host}:${scalar(o, 'hostPort')}->${scalar(o, 'target')}:${scalar(o, 'targetPort')}`;
}

async function list(c: ConnectionSource, words: readonly string[], json: boolean): Promise<string[]> {
  const what = 'zone list';
  if (words.length > 1) throw new CliError(`${what}: too many arguments`, 2);
  const zones = (await controllerNetworks(c, what)).map(zoneInfoOf).filter((z): z is ZoneInfo => z !== null);
  zones.sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
  const rows = [];
  for (const z of zones) {
    const members = await zoneMembers(c, what, z.nwid);
    const gateway = gatewayOf(z, members);
    rows.push({
      zone: z.zone,
      nwid: z.nwid,
      subnet: z.subnet,
      gateway: z.gatewayIp !== null ? { address: gateway?.address ?? null, ip: z.gatewayIp } : null,
      members: members.filter((m) => m.address !== gateway?.address),
      published: await publishedPorts(c, z.nwid),
    });
  }
  if (json) return [jsonDump(rows)];
  return [
    ZONE_LIST_HEADER,
    ...rows.map((r) => {
      const gw = r.gateway ? `${r.gateway.address ?? '?'}/${r.gateway.ip}` : '-';
      const ms = r.members.map(
        (m) => `${m.address}${m.authorized ? '' : '(unauthorized)'}${m.ipAssignments.length ? `/${m.ipAssignments.join('+')}` : ''}`,
      );
      const pub = r.published && r.published.length > 0 ? r.published.map(publishedPortText).join(',') : '-';
      return `200 zone list ${r.zone} ${r.nwid} ${r.subnet ?? '-'} ${gw} ${ms.length ? ms.join(',') : '-'} ${pub}`;
    }),
  ];
}

/** Runs `zone <sub> …`; returns the lines to print. */
export async function runZoneCommand(
  c: ConnectionSource,
  words: readonly string[],
  opts: ZoneOptions,
  json: boolean,
  host: ZoneHost = PROC_HOST,
): Promise<string[]> {
  const sub = words[0];
  if (sub !== 'create' && (opts.subnet !== undefined || opts.gateway !== undefined)) {
    throw new CliError('--subnet and --gateway belong to "zone create"', 2);
  }
  if (sub !== 'destroy' && opts.force) throw new CliError('--force belongs to "zone destroy"', 2);
  switch (sub) {
    case 'create':
      return create(c, words, opts, json, host);
    case 'destroy':
      return destroy(c, words, opts, json);
    case 'list':
      return list(c, words, json);
    case undefined:
      throw new CliError('zone: missing subcommand (create, destroy, list)', 2);
    default:
      throw new CliError(`zone: unknown subcommand ${JSON.stringify(sub)} (create, destroy, list)`, 2);
  }
}
