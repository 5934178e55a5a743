/**
 * ztnc-cli's endpoint commands, over the daemon's `/endpoint` routes (src/service/endpoint-api.ts):
 *   endpoint create <name>               a new identity, made here (createEndpoint), in the daemon; prints its address
 *   endpoint join <name> <nwid>          the endpoint joins a network (`--token` as `join`)
 *   endpoint leave <name> <nwid>
 *   endpoint list                        every endpoint with its address, networks and addresses
 *   endpoint delete <name>               leaves its networks and removes its identity
 * Names are checked before the daemon is asked, so a typo is named as such.
 */
import { DEFAULT_ENDPOINT, isEndpointName } from '../netcon/index.js';
import { checkNwid, CliError, createEndpoint, okAnswer, requireOk, type ApiAnswer, type ConnectionSource } from './cli-client.js';
import { jsonDump } from './zerotier-cli-format.js';

const USAGE = 'endpoint create|delete <name> | endpoint join|leave <name> <network ID> | endpoint list';
export const ENDPOINT_LIST_HEADER = '200 endpoint list <name> <address> <status> <networks>';

interface EndpointView {
  name: string;
  address: string;
  online: boolean;
  networks: { id: string; status: string; assignedAddresses: string[] }[];
}

function usage(): never {
  throw new CliError(`usage: ztnc-cli ${USAGE}`, 2);
}

/**
 * The API path prefix of what `-e <name>` names: `/endpoint/<name>`, or nothing for the daemon's
 * own identity (no -e, or `default`), whose routes are the stock ones.
 */
export function endpointPrefix(name: string | undefined): string {
  if (name === undefined || name === DEFAULT_ENDPOINT) return '';
  if (!isEndpointName(name)) throw new CliError(`-e: ${JSON.stringify(name)} is not an endpoint name (1-63 of a-z, 0-9, '.', '_', '-')`, 2);
  return `/endpoint/${name}`;
}

function checkName(name: string | undefined): string {
  if (name === undefined) usage();
  if (!isEndpointName(name))
    throw new CliError(`endpoint: ${JSON.stringify(name)} is not an endpoint name (1-63 of a-z, 0-9, '.', '_', '-')`, 2);
  return name;
}

const NO_ENDPOINTS = 'this ztnc-service has no endpoints (upgrade it)';
const ok = (c: ConnectionSource, what: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  okAnswer(c, `endpoint ${what}`, method, path, body, NO_ENDPOINTS);

/** One line per endpoint: name, address, ONLINE/OFFLINE, each network as <nwid>/<status>/<addresses>. */
export function endpointLine(e: EndpointView): string {
  const nets = e.networks.map((n) => `${n.id}/${n.status}/${n.assignedAddresses.join(',') || '-'}`).join(' ') || '-';
  return `200 endpoint list ${e.name} ${e.address} ${e.online ? 'ONLINE' : 'OFFLINE'} ${nets}`;
}

/** Runs one endpoint command (`words` after `endpoint`); returns the lines to print. */
export async function runEndpointCommand(
  c: ConnectionSource,
  words: readonly string[],
  opts: { json: boolean; joinToken?: string },
): Promise<string[]> {
  const [sub, name, nwidText] = words;
  const { json } = opts;
  switch (sub) {
    case 'create': {
      if (words.length !== 2) usage();
      const a = requireOk(await createEndpoint(c, checkName(name)), 'endpoint create', NO_ENDPOINTS);
      const e = a.body as EndpointView;
      return [json ? jsonDump(e) : `200 endpoint create ${e.name} ${e.address}`];
    }
    case 'delete': {
      if (words.length !== 2) usage();
      const a = await ok(c, sub, 'DELETE', `/endpoint/${checkName(name)}`);
      return [json ? jsonDump(a.body) : `200 endpoint delete OK`];
    }
    case 'join':
    case 'leave': {
      if (words.length !== 3) usage();
      const path = `/endpoint/${checkName(name)}/network/${checkNwid(nwidText)}`;
      const body = opts.joinToken !== undefined ? { token: opts.joinToken } : {};
      const a = sub === 'join' ? await ok(c, sub, 'POST', path, body) : await ok(c, sub, 'DELETE', path);
      return [json ? jsonDump(a.body) : `200 endpoint ${sub} OK`];
    }
    case 'list': {
      if (words.length !== 1) usage();
      const a = await ok(c, sub, 'GET', '/endpoint');
      if (json) return [jsonDump(a.body)];
      return [ENDPOINT_LIST_HEADER, ...(a.body as EndpointView[]).map(endpointLine)];
    }
    default:
      return usage();
  }
}
