/**
 * A reverse proxy of the gateway (issue 19): what `ztnc-cli proxy add|route` and
 * `POST /gateway/<nwid>/proxy…` describe, parsed and checked. Every problem is one message naming
 * the field (ProxySpecError), for the CLI and the API to answer with.
 *
 * A proxy either listens on a host port (HTTP, or HTTPS with a given certificate) and forwards each
 * request into the network, or writes an nginx/haproxy upstream file with the members its routes
 * select and signals the server that reads it. Routes say which member serves a request:
 *   host pattern   `www.example.com` (exact), `*.example.com` (one or more labels in front), `*` (any)
 *   path prefix    `/api` (whole segments: `/api` matches `/api` and `/api/x`, not `/apix`); `/` by default
 *   member         a member name (`alpha` or `alpha.<domain>`), or a pattern with one `*`: when the
 *                  host pattern has a `*`, it stands for the text the host's `*` matched
 *                  (`*.example.com -> *:80` sends `alpha.example.com` to member `alpha`); otherwise
 *                  it matches member names (`web-*`) and requests go round the members it matches
 * `namesPort` adds the default rule: Host `<name>.<domain>` (the network's DNS domain) → member `<name>`.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { PublishSpecError, parseHostEnd } from './publish-spec.js';

export class ProxySpecError extends Error {}

export interface ProxyRoute {
  /** Host pattern, lower case. */
  host: string;
  /** Path prefix, starting with '/'. */
  pathPrefix: string;
  /** Member name or pattern, lower case. */
  member: string;
  port: number;
}

export interface ProxyHealth {
  kind: 'tcp' | 'http';
  /** The path a `http` check GETs (any status below 500 is healthy). */
  path: string;
  intervalMs: number;
}

export type UpstreamFormat = 'nginx' | 'haproxy';

export interface UpstreamFileSpec {
  /** Absolute path of the file the daemon writes. */
  path: string;
  format: UpstreamFormat;
  /** The server's pid, sent SIGHUP after each change (nginx and haproxy -W reload on it). */
  reloadPid: number | null;
  /** A command run (no shell) after each change instead, e.g. `nginx -s reload`. */
  reloadCmd: string[] | null;
}

export interface ProxySpec {
  /** Where the proxy listens; null for an upstream-file proxy. */
  listen: { hostAddr: string; hostPort: number } | null;
  /** PEM certificate and key files (absolute paths) for HTTPS; null for plain HTTP. */
  tls: { cert: string; key: string } | null;
  upstreamFile: UpstreamFileSpec | null;
  /** The default rule's member port: Host `<name>.<domain>` → member `<name>` on this port; null: no default rule. */
  namesPort: number | null;
  health: ProxyHealth | null;
  routes: ProxyRoute[];
}

export const DEFAULT_HEALTH_INTERVAL_MS = 5000;
export const MIN_HEALTH_INTERVAL_MS = 100;
export const MAX_ROUTES = 256;
const MAX_PATH_PREFIX = 512;

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const HOST_RE = new RegExp(`^(\\*|(\\*\\.)?${LABEL}(\\.${LABEL})*)$`);
/** A member pattern: labels of [a-z0-9-] where one `*` may stand anywhere. */
const MEMBER_RE = /^[a-z0-9*]([a-z0-9*.-]{0,251}[a-z0-9*])?$/;

function port(v: unknown, what: string): number {
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string' || !/^[0-9]{1,5}$/.test(text))
    throw new ProxySpecError(`${what}: ${JSON.stringify(v)} is not a port number (1-65535)`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new ProxySpecError(`${what}: ${n} is not a port number (1-65535)`);
  return n;
}

export function parseHostPattern(text: string): string {
  const h = text.toLowerCase().replace(/\.$/, '');
  if (h.length > 253 || !HOST_RE.test(h)) throw new ProxySpecError(`host: ${JSON.stringify(text)} is not a host name, *.<domain> or *`);
  return h;
}

export function parsePathPrefix(text: string): string {
  if (!text.startsWith('/') || text.length > MAX_PATH_PREFIX || /[\s?#]/.test(text))
    throw new ProxySpecError(`path prefix: ${JSON.stringify(text)} must start with / (no spaces, ? or #)`);
  return text.length > 1 ? text.replace(/\/+$/, '') || '/' : text;
}

export function parseMemberPattern(text: string): string {
  const m = text.toLowerCase();
  if (!MEMBER_RE.test(m) || (m.match(/\*/g)?.length ?? 0) > 1 || isIP(m) !== 0)
    throw new ProxySpecError(`member: ${JSON.stringify(text)} is not a member name or a name pattern with one *`);
  return m;
}

/** `<host>[/prefix]` and `<member>:<port>`, as the CLI writes a route. */
export function parseRouteWords(hostAndPath: string, target: string): ProxyRoute {
  const slash = hostAndPath.indexOf('/');
  const host = parseHostPattern(slash < 0 ? hostAndPath : hostAndPath.slice(0, slash));
  const pathPrefix = parsePathPrefix(slash < 0 ? '/' : hostAndPath.slice(slash));
  const colon = target.lastIndexOf(':');
  if (colon <= 0) throw new ProxySpecError(`target: ${JSON.stringify(target)} must be <member name or pattern>:<port>`);
  return { host, pathPrefix, member: parseMemberPattern(target.slice(0, colon)), port: port(target.slice(colon + 1), 'member port') };
}

/** How a route is written: `*.example.com/api -> *:8080`. */
export function describeRoute(r: ProxyRoute): string {
  return `${r.host}${r.pathPrefix === '/' ? '' : r.pathPrefix} -> ${r.member}:${r.port}`;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProxySpecError(`${what}: must be a JSON object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ProxySpecError(`${what}: must be a non-empty string`);
  return v;
}

function absolutePath(v: unknown, what: string): string {
  const p = str(v, what);
  if (!isAbsolute(p) || p.includes('\0')) throw new ProxySpecError(`${what}: ${JSON.stringify(p)} must be an absolute path`);
  return p;
}

export function routeFromJson(body: unknown): ProxyRoute {
  const b = obj(body, 'route');
  const host = parseHostPattern(str(b.host, 'host'));
  const pathPrefix = parsePathPrefix(b.pathPrefix === undefined ? '/' : str(b.pathPrefix, 'pathPrefix'));
  return { host, pathPrefix, member: parseMemberPattern(str(b.member, 'member')), port: port(b.port, 'port') };
}

function healthFromJson(v: unknown): ProxyHealth | null {
  if (v === undefined || v === null) return null;
  const h = obj(v, 'health');
  if (h.kind !== 'tcp' && h.kind !== 'http') throw new ProxySpecError(`health.kind: ${JSON.stringify(h.kind)} is neither tcp nor http`);
  const path = h.path === undefined ? '/' : str(h.path, 'health.path');
  if (!path.startsWith('/') || /[\s]/.test(path))
    throw new ProxySpecError(`health.path: ${JSON.stringify(path)} must start with / (no spaces)`);
  const intervalMs = h.intervalMs === undefined ? DEFAULT_HEALTH_INTERVAL_MS : h.intervalMs;
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs) || intervalMs < MIN_HEALTH_INTERVAL_MS || intervalMs > 3_600_000)
    throw new ProxySpecError(`health.intervalMs: must be a whole number of milliseconds from ${MIN_HEALTH_INTERVAL_MS} to 3600000`);
  return { kind: h.kind, path, intervalMs };
}

function upstreamFileFromJson(v: unknown): UpstreamFileSpec | null {
  if (v === undefined || v === null) return null;
  const u = obj(v, 'upstreamFile');
  const path = absolutePath(u.path, 'upstreamFile.path');
  const format = u.format === undefined ? 'nginx' : u.format;
  if (format !== 'nginx' && format !== 'haproxy')
    throw new ProxySpecError(`upstreamFile.format: ${JSON.stringify(format)} is neither nginx nor haproxy`);
  let reloadPid: number | null = null;
  if (u.reloadPid !== undefined && u.reloadPid !== null) {
    if (typeof u.reloadPid !== 'number' || !Number.isInteger(u.reloadPid) || u.reloadPid < 2)
      throw new ProxySpecError('upstreamFile.reloadPid: must be the pid of the server (above 1)');
    reloadPid = u.reloadPid;
  }
  let reloadCmd: string[] | null = null;
  if (u.reloadCmd !== undefined && u.reloadCmd !== null) {
    if (
      !Array.isArray(u.reloadCmd) ||
      u.reloadCmd.length === 0 ||
      !u.reloadCmd.every((w) => typeof w === 'string' && w.length > 0 && !w.includes('\0'))
    )
      throw new ProxySpecError('upstreamFile.reloadCmd: must be a list of words (program and arguments)');
    reloadCmd = u.reloadCmd as string[];
  }
  if (reloadPid !== null && reloadCmd !== null) throw new ProxySpecError('upstreamFile: reloadPid and reloadCmd exclude each other');
  return { path, format, reloadPid, reloadCmd };
}

/** A proxy from the API's JSON body, checked as the CLI's words are. */
export function proxySpecFromJson(body: unknown): ProxySpec {
  const b = obj(body, 'the body');
  let listen: ProxySpec['listen'] = null;
  if (b.listen !== undefined && b.listen !== null) {
    const l = obj(b.listen, 'listen');
    try {
      listen = parseHostEnd(`${l.hostAddr === undefined ? '0.0.0.0' : str(l.hostAddr, 'listen.hostAddr')}:${String(l.hostPort)}`);
    } catch (e) {
      if (e instanceof PublishSpecError) throw new ProxySpecError(`listen: ${e.message}`);
      throw e;
    }
  }
  let tls: ProxySpec['tls'] = null;
  if (b.tls !== undefined && b.tls !== null) {
    const t = obj(b.tls, 'tls');
    tls = { cert: absolutePath(t.cert, 'tls.cert'), key: absolutePath(t.key, 'tls.key') };
  }
  const upstreamFile = upstreamFileFromJson(b.upstreamFile);
  if ((listen === null) === (upstreamFile === null))
    throw new ProxySpecError('a proxy either listens (listen) or writes an upstream file (upstreamFile), one of the two');
  if (tls && !listen) throw new ProxySpecError('tls: only a listening proxy serves TLS');
  const namesPort = b.namesPort === undefined || b.namesPort === null ? null : port(b.namesPort, 'namesPort');
  const routesIn = b.routes === undefined ? [] : b.routes;
  if (!Array.isArray(routesIn)) throw new ProxySpecError('routes: must be a list');
  if (routesIn.length > MAX_ROUTES) throw new ProxySpecError(`routes: at most ${MAX_ROUTES}`);
  return { listen, tls, upstreamFile, namesPort, health: healthFromJson(b.health), routes: routesIn.map(routeFromJson) };
}

/** The key a proxy is known by: `<host-addr>:<port>`, or its upstream file's path. */
export function proxyKey(s: ProxySpec): string {
  return s.listen ? `${s.listen.hostAddr}:${s.listen.hostPort}` : s.upstreamFile!.path;
}

/** Whether `key` as a user writes it (`8080`, `10.0.0.1:8080`, `/etc/nginx/ztnc.conf`) names this proxy. */
export function keyNames(s: ProxySpec, key: string): boolean {
  if (key.startsWith('/')) return s.upstreamFile?.path === key;
  if (!s.listen) return false;
  if (/^[0-9]{1,5}$/.test(key)) return s.listen.hostPort === Number(key);
  return proxyKey(s) === key;
}
