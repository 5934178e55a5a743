/**
 * ztnc-cli's `net …` commands over the controller JSON API: create (with a managed route and an
 * address pool per --pool CIDR), list, show, authorize, deauthorize, default-route (the network's
 * `defaultRouteVia` gateway member) and delete, printed as
 * zerotier-cli-style `200 …` lines or as JSON with -j; `net token …` is token-commands.ts.
 */
import { formatIp, parseCidr, type Cidr, type IpValue } from '../controller/ip-assignment.js';
import { checkNwid, CliError, controllerCall, NWID_PATTERN, type ConnectionSource } from './cli-client.js';
import { runTokenCommand, type NetTokenOptions } from './token-commands.js';
import { jsonDump } from './zerotier-cli-format.js';

type Json = Record<string, unknown>;

export interface NetCreateOptions {
  name?: string;
  pools: string[];
  private?: boolean;
  /** `net token create`'s options. */
  token?: NetTokenOptions;
}

const ADDRESS_PATTERN = /^[0-9a-f]{10}$/i;

function checkAddress(text: string | undefined): string {
  if (text === undefined) throw new CliError('missing member address (10 hex digits)', 2);
  if (!ADDRESS_PATTERN.test(text)) throw new CliError(`invalid member address ${JSON.stringify(text)}: must be 10 hex digits`, 2);
  return text.toLowerCase();
}

function networkOf(c: Cidr): IpValue & { bits: number } {
  if (c.family === 4) {
    const mask = c.bits === 0 ? 0 : (0xffffffff << (32 - c.bits)) >>> 0;
    return { family: 4, value: (c.value & mask) >>> 0, bits: c.bits };
  }
  const all = (1n << 128n) - 1n;
  const mask = c.bits === 0 ? 0n : (all << BigInt(128 - c.bits)) & all;
  return { family: 6, value: c.value & mask, bits: c.bits };
}

/**
 * The route and pool a `--pool CIDR` stands for: the whole CIDR routed, and its usable addresses
 * (IPv4 without the network and broadcast addresses when the prefix leaves room) in the pool.
 */
export function poolFromCidr(text: string): { route: { target: string; via: null }; pool: { ipRangeStart: string; ipRangeEnd: string } } {
  const c = parseCidr(text);
  if (!c) throw new CliError(`--pool: ${JSON.stringify(text)} is not an IPv4 or IPv6 CIDR (like 10.147.17.0/24)`, 2);
  const net = networkOf(c);
  let start: IpValue;
  let end: IpValue;
  if (net.family === 4) {
    const size = 2 ** (32 - net.bits);
    const first = net.value;
    const last = first + size - 1;
    [start, end] =
      size >= 4
        ? [
            { family: 4, value: first + 1 },
            { family: 4, value: last - 1 },
          ]
        : [
            { family: 4, value: first },
            { family: 4, value: last },
          ];
  } else {
    const size = 1n << BigInt(128 - net.bits);
    start = { family: 6, value: net.value + (size >= 4n ? 1n : 0n) };
    end = { family: 6, value: net.value + size - (size >= 4n ? 2n : 1n) };
  }
  return {
    route: { target: `${formatIp(net)}/${net.bits}`, via: null },
    pool: { ipRangeStart: formatIp(start), ipRangeEnd: formatIp(end) },
  };
}

/** The POST body `net create` sends. */
export function createBody(o: NetCreateOptions): Json {
  const body: Json = { private: o.private ?? true };
  if (o.name !== undefined) body.name = o.name;
  if (o.pools.length > 0) {
    const made = o.pools.map(poolFromCidr);
    body.routes = made.map((m) => m.route);
    body.ipAssignmentPools = made.map((m) => m.pool);
    if (made.some((m) => !m.route.target.includes(':'))) body.v4AssignMode = { zt: true };
    if (made.some((m) => m.route.target.includes(':'))) body.v6AssignMode = { zt: true };
  }
  return body;
}

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' && v.length > 0 ? v : '-';
}

function poolsText(n: Json): string {
  const pools = Array.isArray(n.ipAssignmentPools) ? n.ipAssignmentPools : [];
  const parts = pools.map((p) => `${str(obj(p).ipRangeStart)}-${str(obj(p).ipRangeEnd)}`);
  return parts.length > 0 ? parts.join(',') : '-';
}

function networkLine(prefix: string, n: Json): string {
  const type = n.private === false ? 'PUBLIC' : 'PRIVATE';
  const authorized = typeof n.authorizedMemberCount === 'number' ? n.authorizedMemberCount : 0;
  const total = typeof n.totalMemberCount === 'number' ? n.totalMemberCount : 0;
  return `${prefix} ${str(n.id)} ${str(n.name)} ${type} ${authorized}/${total} ${poolsText(n)}`;
}

export const NET_LIST_HEADER = '200 net list <nwid> <name> <type> <authorized>/<members> <ip pools>';
export const NET_MEMBER_HEADER = '200 net member <address> <authorized> <ips> <name>';

function memberLine(m: Json): string {
  const ips = (Array.isArray(m.ipAssignments) ? m.ipAssignments : []).filter((x): x is string => typeof x === 'string');
  return `200 net member ${str(m.address)} ${m.authorized === true ? 'AUTHORIZED' : 'UNAUTHORIZED'} ${ips.length > 0 ? ips.join(',') : '-'} ${str(m.name)}`;
}

/** Runs `net <sub> …`; returns the lines to print. */
export async function runNetCommand(
  c: ConnectionSource,
  words: readonly string[],
  opts: NetCreateOptions,
  json: boolean,
): Promise<string[]> {
  const sub = words[0];
  const what = `net ${sub ?? ''}`.trim();
  const want = (n: number): void => {
    if (words.length - 1 > n) throw new CliError(`${what}: too many arguments`, 2);
  };
  switch (sub) {
    case 'create': {
      want(0);
      const a = await controllerCall(c, what, 'POST', '/controller/network', createBody(opts));
      const n = obj(a.body);
      if (typeof n.id !== 'string') throw new CliError(`${what}: the daemon's answer has no network id`);
      return [json ? jsonDump(a.body) : n.id];
    }
    case 'list': {
      want(0);
      const ids = (await controllerCall(c, what, 'GET', '/controller/network')).body;
      if (!Array.isArray(ids)) throw new CliError(`${what}: the daemon's answer is not a list`);
      const networks: Json[] = [];
      for (const id of ids) {
        if (typeof id !== 'string' || !NWID_PATTERN.test(id)) continue;
        networks.push(obj((await controllerCall(c, what, 'GET', `/controller/network/${id}`)).body));
      }
      if (json) return [jsonDump(networks)];
      return [NET_LIST_HEADER, ...networks.map((n) => networkLine('200 net list', n))];
    }
    case 'show': {
      want(1);
      const nwid = checkNwid(words[1]);
      const network = obj((await controllerCall(c, what, 'GET', `/controller/network/${nwid}`)).body);
      const revisions = obj((await controllerCall(c, what, 'GET', `/controller/network/${nwid}/member`)).body);
      const members: Json[] = [];
      for (const address of Object.keys(revisions).sort()) {
        if (!ADDRESS_PATTERN.test(address)) continue;
        members.push(obj((await controllerCall(c, what, 'GET', `/controller/network/${nwid}/member/${address}`)).body));
      }
      if (json) return [jsonDump({ network, members })];
      const routes = (Array.isArray(network.routes) ? network.routes : []).map((r) => str(obj(r).target));
      return [
        '200 net show <nwid> <name> <type> <authorized>/<members> <ip pools> <routes>',
        `${networkLine('200 net show', network)} ${routes.length > 0 ? routes.join(',') : '-'}`,
        NET_MEMBER_HEADER,
        ...members.map(memberLine),
      ];
    }
    case 'authorize':
    case 'deauthorize': {
      want(2);
      const nwid = checkNwid(words[1]);
      const address = checkAddress(words[2]);
      const a = await controllerCall(c, what, 'POST', `/controller/network/${nwid}/member/${address}`, { authorized: sub === 'authorize' });
      return [json ? jsonDump(a.body) : `200 net ${sub} OK`];
    }
    case 'token':
      return runTokenCommand(
        c,
        words.slice(1),
        opts.token ?? { tags: [], ips: [], ...(opts.name !== undefined ? { name: opts.name } : {}) },
        json,
      );
    case 'default-route': {
      want(2);
      const nwid = checkNwid(words[1]);
      const off = words[2] === 'off' || words[2] === 'none';
      const via = off ? null : checkAddress(words[2]);
      const a = await controllerCall(c, what, 'POST', `/controller/network/${nwid}`, { defaultRouteVia: via });
      return [json ? jsonDump(a.body) : `200 net default-route ${via ?? 'off'}`];
    }
    case 'delete': {
      want(1);
      const nwid = checkNwid(words[1]);
      const a = await controllerCall(c, what, 'DELETE', `/controller/network/${nwid}`);
      return [json ? jsonDump(a.body) : '200 net delete OK'];
    }
    case undefined:
      throw new CliError('net: missing subcommand (create, list, show, authorize, deauthorize, default-route, delete, token)', 2);
    default:
      throw new CliError(
        `net: unknown subcommand ${JSON.stringify(sub)} (create, list, show, authorize, deauthorize, default-route, delete, token)`,
        2,
      );
  }
}
