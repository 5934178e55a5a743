/**
 * ztnc-cli's reverse proxy commands (issue 19), over the daemon's `/gateway/…/proxy` routes:
 *   proxy add <nwid> [host-addr:]host-port [--tls-cert F --tls-key F] [--names PORT] [--health …]
 *   proxy add <nwid> --upstream-file F [--format nginx|haproxy] [--reload-pid PID | --reload-cmd CMD] [--names PORT] [--health …]
 *   proxy route <nwid> <proxy> <host>[/prefix] <member>:<port>
 *   proxy unroute <nwid> <proxy> <host>[/prefix]
 *   proxy list [<nwid>]
 *   proxy remove <nwid> <proxy>
 * `<proxy>` is the proxy's `[host-addr:]host-port` or its upstream file's path. Arguments are
 * checked before the daemon is asked, so a typo is named as such; file paths are made absolute
 * here, since the daemon reads them from its own working directory.
 */
import { resolve } from 'node:path';
import {
  describeRoute,
  parseHostPattern,
  parsePathPrefix,
  parseRouteWords,
  ProxySpecError,
  type ProxyRoute,
} from '../gateway/proxy-spec.js';
import { PublishSpecError, parseHostEnd } from '../gateway/publish-spec.js';
import { checkNwid, CliError, okAnswer, type ApiAnswer, type ConnectionSource } from './cli-client.js';
import { jsonDump } from './zerotier-cli-format.js';

/** The switches `proxy add` takes (cli-args.ts). */
export interface ProxyCliOptions {
  tlsCert?: string;
  tlsKey?: string;
  names?: string;
  health?: string;
  healthInterval?: string;
  upstreamFile?: string;
  format?: string;
  reloadPid?: string;
  reloadCmd?: string;
}

const USAGE = `proxy add <network ID> [host-addr:]host-port [--tls-cert F --tls-key F] [--names PORT] [--health tcp|http[:/path]] [--health-interval S]
       proxy add <network ID> --upstream-file F [--format nginx|haproxy] [--reload-pid PID | --reload-cmd CMD] [--names PORT] [--health …]
       proxy route <network ID> <proxy> <host>[/prefix] <member>:<port>
       proxy unroute <network ID> <proxy> <host>[/prefix]
       proxy list [<network ID>]
       proxy remove <network ID> <proxy>`;

interface ProxyView {
  nwid: string;
  key: string;
  tls: unknown;
  namesPort: number | null;
  upstreamFile: { path: string; format: string } | null;
  routes: ProxyRoute[];
  stats: { requests: number; forwarded: number; noRoute: number; noMember: number; badGateway: number; badRequests: number };
  upstreams: { member: string; addr: string; port: number; up: boolean }[];
  upstreamFileStats: { writes: number; reloads: number; reloadErrors: number } | null;
}

function usage(): never {
  throw new CliError(`usage: ztnc-cli ${USAGE}`, 2);
}

function checked<T>(command: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProxySpecError || e instanceof PublishSpecError) throw new CliError(`${command}: ${e.message}`, 2);
    throw e;
  }
}

const ok = (c: ConnectionSource, command: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  okAnswer(c, command, method, path, body, 'this ztnc-service has no reverse proxy (upgrade it)');

/** `<proxy>` as the daemon matches it: a path made absolute, or `[host-addr:]port` as given. */
function proxyKeyArg(text: string | undefined): string {
  if (text === undefined) usage();
  if (text.includes('/')) return resolve(text);
  checked('proxy', () => parseHostEnd(text));
  return text;
}

function splitHostPath(text: string): { host: string; pathPrefix: string } {
  const slash = text.indexOf('/');
  return {
    host: parseHostPattern(slash < 0 ? text : text.slice(0, slash)),
    pathPrefix: parsePathPrefix(slash < 0 ? '/' : text.slice(slash)),
  };
}

function intArg(text: string, what: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new ProxySpecError(`${what}: ${JSON.stringify(text)} must be a number from ${min} to ${max}`);
  return Number(text);
}

/** The JSON body of `proxy add`. */
export function proxyAddBody(words: readonly string[], o: ProxyCliOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (words.length > 1) usage();
  if (words.length === 1 && o.upstreamFile !== undefined) throw new ProxySpecError('give either a host port or --upstream-file, not both');
  if (words.length === 0 && o.upstreamFile === undefined)
    throw new ProxySpecError('give a [host-addr:]host-port to listen on, or --upstream-file');
  if (words.length === 1) body.listen = parseHostEnd(words[0]!);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new ProxySpecError('--tls-cert and --tls-key go together');
  if (o.tlsCert !== undefined) body.tls = { cert: resolve(o.tlsCert), key: resolve(o.tlsKey!) };
  if (o.upstreamFile !== undefined) {
    if (o.reloadPid !== undefined && o.reloadCmd !== undefined)
      throw new ProxySpecError('--reload-pid and --reload-cmd exclude each other');
    body.upstreamFile = {
      path: resolve(o.upstreamFile),
      format: o.format ?? 'nginx',
      ...(o.reloadPid !== undefined ? { reloadPid: intArg(o.reloadPid, '--reload-pid', 2, 2 ** 22) } : {}),
      ...(o.reloadCmd !== undefined ? { reloadCmd: o.reloadCmd.split(/\s+/).filter((w) => w !== '') } : {}),
    };
  } else if (o.format !== undefined || o.reloadPid !== undefined || o.reloadCmd !== undefined) {
    throw new ProxySpecError('--format, --reload-pid and --reload-cmd go with --upstream-file');
  }
  if (o.names !== undefined) body.namesPort = intArg(o.names, '--names', 1, 65535);
  if (o.health !== undefined || o.healthInterval !== undefined) {
    const h = o.health ?? 'tcp';
    const m = /^(tcp|http)(?::(\/\S*))?$/.exec(h);
    if (!m || (m[1] === 'tcp' && m[2] !== undefined))
      throw new ProxySpecError(`--health: ${JSON.stringify(h)} must be tcp, http or http:/path`);
    let intervalMs: number | undefined;
    if (o.healthInterval !== undefined) {
      const s = Number(o.healthInterval);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(o.healthInterval) || s < 0.1 || s > 3600)
        throw new ProxySpecError('--health-interval: seconds from 0.1 to 3600');
      intervalMs = Math.round(s * 1000);
    }
    body.health = { kind: m[1], ...(m[2] ? { path: m[2] } : {}), ...(intervalMs !== undefined ? { intervalMs } : {}) };
  }
  return body;
}

function proxyLines(p: ProxyView): string[] {
  const s = p.stats;
  const mode = p.upstreamFile ? `file ${p.upstreamFile.format}` : p.tls ? 'https' : 'http';
  const head = `${p.nwid} ${p.key} ${mode} requests=${s.requests} forwarded=${s.forwarded} no_route=${s.noRoute} no_member=${s.noMember} bad_gateway=${s.badGateway} bad_requests=${s.badRequests}`;
  const lines = [head];
  if (p.upstreamFileStats)
    lines.push(
      `  file writes=${p.upstreamFileStats.writes} reloads=${p.upstreamFileStats.reloads} reload_errors=${p.upstreamFileStats.reloadErrors}`,
    );
  for (const r of p.routes) lines.push(`  route ${describeRoute(r)}`);
  if (p.namesPort !== null) lines.push(`  route <name>.<domain> -> <name>:${p.namesPort}`);
  for (const u of p.upstreams) lines.push(`  upstream ${u.member} ${u.addr}:${u.port} ${u.up ? 'up' : 'down'}`);
  return lines;
}

/** Runs one `proxy …` command (`words` after `proxy`); returns the lines to print. */
export async function runProxyCommand(c: ConnectionSource, words: readonly string[], o: ProxyCliOptions, json: boolean): Promise<string[]> {
  const [verb, ...rest] = words;
  const out = (a: ApiAnswer, text: string): string[] => (json ? [jsonDump(a.body)] : [text]);
  switch (verb) {
    case 'add': {
      const nwid = checkNwid(rest[0]);
      const body = checked('proxy add', () => proxyAddBody(rest.slice(1), o));
      const a = await ok(c, 'proxy add', 'POST', `/gateway/${nwid}/proxy`, body);
      return json ? [jsonDump(a.body)] : [`200 proxy add OK`, ...proxyLines(a.body as ProxyView)];
    }
    case 'route': {
      if (rest.length !== 4) usage();
      const nwid = checkNwid(rest[0]);
      const proxy = proxyKeyArg(rest[1]);
      const route = checked('proxy route', () => parseRouteWords(rest[2]!, rest[3]!));
      const a = await ok(c, 'proxy route', 'POST', `/gateway/${nwid}/proxy/route`, { proxy, ...route });
      return out(a, `200 proxy route OK ${describeRoute(route)}`);
    }
    case 'unroute': {
      if (rest.length !== 3) usage();
      const nwid = checkNwid(rest[0]);
      const proxy = proxyKeyArg(rest[1]);
      const { host, pathPrefix } = checked('proxy unroute', () => splitHostPath(rest[2]!));
      const q = new URLSearchParams({ proxy, host, pathPrefix });
      return out(await ok(c, 'proxy unroute', 'DELETE', `/gateway/${nwid}/proxy/route?${q.toString()}`), '200 proxy unroute OK');
    }
    case 'list': {
      if (rest.length > 1) usage();
      const path = rest[0] === undefined ? '/gateway/proxy' : `/gateway/${checkNwid(rest[0])}/proxy`;
      const a = await ok(c, 'proxy list', 'GET', path);
      return json ? [jsonDump(a.body)] : (a.body as ProxyView[]).flatMap(proxyLines);
    }
    case 'remove': {
      if (rest.length !== 2) usage();
      const nwid = checkNwid(rest[0]);
      const key = proxyKeyArg(rest[1]);
      return out(await ok(c, 'proxy remove', 'DELETE', `/gateway/${nwid}/proxy?key=${encodeURIComponent(key)}`), '200 proxy remove OK');
    }
    default:
      usage();
  }
}
