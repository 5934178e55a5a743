/**
 * ztnc-cli's commands: zerotier-cli's (info, listpeers, peers, listnetworks, join, leave, set,
 * get, listmoons, orbit, deorbit, raw paths), the controller's `net …`, `zone …`, `endpoint …` and `ping`. Output goes to
 * `out` line by line; every failure is a CliError, printed by the caller as one line on stderr.
 */
import { VERSION_TEXT } from '../service/json-views.js';
import { parseCliArgs, CLI_USAGE, type CliArgs } from './cli-args.js';
import {
  answerError,
  apiRequest,
  checkNwid,
  CliError,
  okAnswer,
  resolveConnection,
  type ApiAnswer,
  type Connection,
  type ConnectionSource,
} from './cli-client.js';
import { runNetCommand } from './controller-commands.js';
import { endpointPrefix, runEndpointCommand } from './endpoint-commands.js';
import { GATEWAY_COMMANDS, runGatewayCommand } from './gateway-commands.js';
import { runPing } from './ping-command.js';
import { runZoneCommand } from './zone-commands.js';
import { runProxyCommand } from './proxy-commands.js';
import { infoLine, jsonDump, listNetworksLines, listPeersLines, networkProperty, peersTable } from './zerotier-cli-format.js';
import { parseJson } from '../service/http/json-text.js';

export type Output = (line: string) => void;

const USER_SETTINGS = ['allowManaged', 'allowGlobal', 'allowDefault', 'allowDNS'] as const;
const RAW_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);
const COMMANDS = new Set([
  'info',
  'status',
  'listpeers',
  'peers',
  'listnetworks',
  'join',
  'leave',
  'set',
  'get',
  'listmoons',
  'orbit',
  'deorbit',
  'net',
  'ping',
  'zone',
  'endpoint',
  ...GATEWAY_COMMANDS,
  'proxy',
]);

/** The commands `-e <endpoint>` applies to. */
const ENDPOINT_COMMANDS = new Set(['ping', 'listmoons', 'orbit', 'deorbit']);

/** A 200 answer, or the command's error line. */
const ok = okAnswer;

function parseSettingValue(setting: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === '1' || v === 'true' || v === 't' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'f' || v === 'no') return false;
  throw new CliError(`set: ${setting}: ${JSON.stringify(value)} is not a boolean (use 1/0 or true/false)`, 2);
}

function moonsUnsupported(a: ApiAnswer): boolean {
  return a.status === 405 || (a.status === 404 && answerError(a).startsWith('no such path'));
}

function arity(args: CliArgs, min: number, max: number, usage: string): void {
  const n = args.words.length - 1;
  if (n < min || n > max) throw new CliError(`usage: ztnc-cli ${usage}`, 2);
}

async function rawRequest(c: ConnectionSource, args: CliArgs, out: Output): Promise<void> {
  const [first, second, third] = args.words as [string, string | undefined, string | undefined];
  let method = 'GET';
  let path = first;
  let body: unknown;
  if (!first.startsWith('/')) {
    method = first;
    if (second === undefined || !second.startsWith('/'))
      throw new CliError(`${first}: needs a path beginning with / (e.g. ${method} /status)`, 2);
    path = second;
    if (third !== undefined) {
      try {
        body = parseJson(third);
      } catch (e) {
        throw new CliError(`${method} ${path}: the body is not JSON (${(e as Error).message})`, 2);
      }
    }
    if (args.words.length > 3) throw new CliError(`${method} ${path}: too many arguments`, 2);
  } else if (args.words.length > 1) {
    throw new CliError(`${first}: too many arguments (use POST ${first} '<json>' to send a body)`, 2);
  }
  const a = await apiRequest(c, method, path, body);
  if (a.status < 200 || a.status > 299) throw new CliError(`${method} ${path}: ${answerError(a)} (HTTP ${a.status})`);
  if (a.body !== undefined) out(jsonDump(a.body));
}

async function runCommand(c: ConnectionSource, args: CliArgs, out: Output): Promise<void> {
  const [command, arg1, arg2] = args.words as [string, string | undefined, string | undefined];
  const json = args.json;
  // Upper case only: lower-case `get` is zerotier-cli's get command.
  if (command.startsWith('/') || RAW_METHODS.has(command)) return rawRequest(c, args, out);
  switch (command) {
    case 'info':
    case 'status': {
      arity(args, 0, 0, command);
      const a = await ok(c, command, 'GET', '/status');
      out(json ? jsonDump(a.body) : infoLine(a.body));
      return;
    }
    case 'listpeers':
    case 'peers': {
      arity(args, 0, 0, command);
      const a = await ok(c, command, 'GET', '/peer');
      if (json) out(jsonDump(a.body));
      else (command === 'peers' ? peersTable(a.body) : listPeersLines(a.body)).forEach((l) => out(l));
      return;
    }
    case 'listnetworks': {
      arity(args, 0, 0, command);
      const a = await ok(c, command, 'GET', '/network');
      if (json) out(jsonDump(a.body));
      else listNetworksLines(a.body).forEach((l) => out(l));
      return;
    }
    case 'join':
    case 'leave': {
      arity(args, 1, 1, `${command} <network ID>`);
      const nwid = checkNwid(arg1);
      const body = args.joinToken !== undefined ? { token: args.joinToken } : {};
      const a =
        command === 'join' ? await ok(c, command, 'POST', `/network/${nwid}`, body) : await ok(c, command, 'DELETE', `/network/${nwid}`);
      out(json ? jsonDump(a.body) : `200 ${command} OK`);
      return;
    }
    case 'set': {
      arity(args, 2, 2, 'set <network ID> <setting>=<value>');
      const nwid = checkNwid(arg1);
      const eq = arg2!.indexOf('=');
      if (eq < 0) throw new CliError(`set: ${JSON.stringify(arg2)} must be <setting>=<value>`, 2);
      const setting = arg2!.slice(0, eq);
      if (!(USER_SETTINGS as readonly string[]).includes(setting)) {
        throw new CliError(`set: unknown setting ${JSON.stringify(setting)} (one of ${USER_SETTINGS.join(', ')})`, 2);
      }
      const value = parseSettingValue(setting, arg2!.slice(eq + 1));
      // Settings apply to joined networks only: posting to an unknown one would join it.
      const current = await apiRequest(c, 'GET', `/network/${nwid}`);
      if (current.status === 404) throw new CliError(`set: network ${nwid} is not joined (ztnc-cli join ${nwid} first)`);
      if (current.status !== 200) throw new CliError(`set: ${answerError(current)} (HTTP ${current.status})`);
      const a = await ok(c, command, 'POST', `/network/${nwid}`, { [setting]: value });
      out(jsonDump(a.body));
      return;
    }
    case 'get': {
      arity(args, 2, 2, 'get <network ID> <property>');
      const nwid = checkNwid(arg1);
      const a = await apiRequest(c, 'GET', `/network/${nwid}`);
      if (a.status === 404) throw new CliError(`get: network ${nwid} is not joined`);
      if (a.status !== 200) throw new CliError(`get: ${answerError(a)} (HTTP ${a.status})`);
      const v = networkProperty(a.body, arg2!);
      if (v === null) throw new CliError(`get: unknown property ${JSON.stringify(arg2)}`);
      out(v);
      return;
    }
    case 'listmoons': {
      arity(args, 0, 0, command);
      const a = await ok(c, command, 'GET', `${endpointPrefix(args.endpoint)}/moon`);
      out(jsonDump(a.body));
      return;
    }
    case 'orbit':
    case 'deorbit': {
      if (command === 'orbit') arity(args, 2, 2, 'orbit <world ID> <seed>');
      else arity(args, 1, 1, 'deorbit <world ID>');
      if (!/^[0-9a-f]{1,16}$/i.test(arg1!))
        throw new CliError(`${command}: invalid world id ${JSON.stringify(arg1)} (up to 16 hex digits)`, 2);
      if (command === 'orbit' && !/^[0-9a-f]{1,10}$/i.test(arg2!))
        throw new CliError(`orbit: invalid seed ${JSON.stringify(arg2)} (a root's address, 10 hex digits)`, 2);
      const path = `${endpointPrefix(args.endpoint)}/moon/${arg1}`;
      const a = command === 'orbit' ? await apiRequest(c, 'POST', path, { seed: arg2 }) : await apiRequest(c, 'DELETE', path);
      if (moonsUnsupported(a)) throw new CliError(`${command}: moons are not supported by this ztnc-service`);
      if (a.status !== 200) throw new CliError(`${command}: ${answerError(a)} (HTTP ${a.status})`);
      out(json ? jsonDump(a.body) : `200 ${command} OK`);
      return;
    }
    case 'ping':
      return runPing(c, args.words.slice(1), { count: args.count, timeoutMs: args.timeout, endpoint: args.endpoint, json }, out);
    case 'net':
      (
        await runNetCommand(
          c,
          args.words.slice(1),
          {
            name: args.name,
            pools: args.pools,
            private: args.private,
            token: { uses: args.uses, expires: args.expires, tags: args.tags, ips: args.ips, name: args.name },
          },
          json,
        )
      ).forEach((l) => out(l));
      return;
    case 'zone':
      (await runZoneCommand(c, args.words.slice(1), { subnet: args.subnet, gateway: args.gateway, force: args.force }, json)).forEach((l) =>
        out(l),
      );
      return;
    case 'endpoint':
      (await runEndpointCommand(c, args.words.slice(1), { json, joinToken: args.joinToken })).forEach((l) => out(l));
      return;
    case 'gateway':
    case 'publish':
    case 'unpublish':
      (await runGatewayCommand(c, args.words, json, args)).forEach((l) => out(l));
      return;
    case 'proxy':
      (await runProxyCommand(c, args.words.slice(1), args.proxy, json)).forEach((l) => out(l));
      return;
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)} (see ztnc-cli -h)`, 2);
  }
}

/** Runs ztnc-cli with `argv` (without node and script); returns the exit code. */
export async function runCli(argv: readonly string[], out: Output, err: Output): Promise<number> {
  try {
    const args = parseCliArgs(argv);
    if (args.help) {
      out(CLI_USAGE.trimEnd());
      return 0;
    }
    if (args.version) {
      out(VERSION_TEXT);
      return 0;
    }
    if (args.words.length === 0) {
      err(CLI_USAGE.trimEnd());
      return 2;
    }
    const command = args.words[0]!;
    // Checked before looking for the daemon, so a typo is not reported as a missing daemon.
    if (!command.startsWith('/') && !RAW_METHODS.has(command) && !COMMANDS.has(command)) {
      throw new CliError(`unknown command ${JSON.stringify(command)} (see ztnc-cli -h)`, 2);
    }
    const isCreate = command === 'net' && args.words[1] === 'create';
    const isTokenCreate = command === 'net' && args.words[1] === 'token' && args.words[2] === 'create';
    if (!isCreate && (args.pools.length > 0 || args.private !== undefined || (args.name !== undefined && !isTokenCreate))) {
      throw new CliError('--name, --pool, --private and --public belong to "net create" (--name also to "net token create")', 2);
    }
    if (!isTokenCreate && (args.uses !== undefined || args.expires !== undefined || args.tags.length > 0 || args.ips.length > 0)) {
      throw new CliError('--uses, --expires, --tags and --ip belong to "net token create"', 2);
    }
    if (command !== 'zone' && (args.subnet !== undefined || args.gateway !== undefined || args.force))
      throw new CliError('--subnet, --gateway and --force belong to "zone"', 2);
    if (command !== 'ping' && (args.count !== undefined || args.timeout !== undefined))
      throw new CliError('-c and --timeout belong to "ping"', 2);
    if (args.endpoint !== undefined && !ENDPOINT_COMMANDS.has(command))
      throw new CliError(`-e belongs to ${[...ENDPOINT_COMMANDS].map((x) => `"${x}"`).join(', ')} (the endpoint commands name theirs)`, 2);
    let connection: Connection | null = null;
    const c = (): Connection =>
      (connection ??= resolveConnection({ home: args.home, port: args.port, token: args.token, host: args.host }));
    await runCommand(c, args, out);
    return 0;
  } catch (e) {
    if (e instanceof CliError) {
      err(`ztnc-cli: ${e.message}`);
      return e.exitCode;
    }
    err(`ztnc-cli: ${(e as Error).message}`);
    return 1;
  }
}
