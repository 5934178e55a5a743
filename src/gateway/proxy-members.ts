/**
 * Which members a reverse proxy's request goes to: the network's names as the last config push
 * carried them (the controller's member names, `<name>.<domain>`, authorized members only — see
 * src/node/network/network-names.ts) and the proxy's routes (proxy-spec.ts). A config push is a
 * new config object, so the directory is rebuilt once per push and every request after it sees
 * the members, addresses and de-authorizations it carries; nothing is cached beyond that.
 */
import { parseIpv4, type Ipv4Addr } from '../netstack/index.js';
import type { NetworkConfig } from '../node/index.js';
import type { ProxyRoute, ProxySpec } from './proxy-spec.js';

/** The network's names: member label → its IPv4 addresses. */
export interface MemberDirectory {
  /** The network's DNS domain, lower case, no trailing dot ('' when the network sets none). */
  domain: string;
  labels: ReadonlyMap<string, readonly Ipv4Addr[]>;
}

/** One place a request may go: a member's address and port. */
export interface Upstream {
  member: string;
  addr: Ipv4Addr;
  port: number;
}

export type RouteMatch =
  /** `route` names the rule (for logs and counters); `upstreams` may be several (round robin). */
  | { kind: 'route'; route: string; upstreams: Upstream[] }
  /** No route takes the request's host and path. */
  | { kind: 'no-route' }
  /** A route takes it, but no member has the name it asks for (never joined, left, de-authorized). */
  | { kind: 'no-member'; route: string; member: string };

const EMPTY: MemberDirectory = { domain: '', labels: new Map() };
const cache = new WeakMap<NetworkConfig, MemberDirectory>();

/** The directory of a config (built once per config object). */
export function directoryOf(cfg: NetworkConfig | null): MemberDirectory {
  if (!cfg) return EMPTY;
  let d = cache.get(cfg);
  if (d) return d;
  const labels = new Map<string, Ipv4Addr[]>();
  for (const n of cfg.names ?? []) {
    const addrs = n.addrs.flatMap((a) => {
      const v = a.family === 4 ? parseIpv4(a.ip) : null;
      return v === null ? [] : [v];
    });
    if (addrs.length === 0) continue;
    const label = n.name.toLowerCase();
    const list = labels.get(label) ?? [];
    for (const a of addrs) if (!list.includes(a)) list.push(a);
    labels.set(label, list);
  }
  d = { domain: (cfg.dns?.domain ?? '').toLowerCase().replace(/\.$/, ''), labels };
  cache.set(cfg, d);
  return d;
}

/** The host of a Host header: lower case, without port or trailing dot; null when malformed. */
export function hostOfHeader(header: string | undefined): string | null {
  if (header === undefined) return null;
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    h = h.slice(1, end);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  h = h.replace(/\.$/, '');
  return h.length > 0 && h.length <= 253 && /^[a-z0-9.:_-]+$/.test(h) ? h : null;
}

/** What a host pattern captured with its `*` ('' when it has none), or null when it does not match. */
function matchHost(pattern: string, host: string): string | null {
  if (pattern === '*') return host;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return host.endsWith(suffix) && host.length > suffix.length ? host.slice(0, -suffix.length) : null;
  }
  return pattern === host ? '' : null;
}

function matchPath(prefix: string, path: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
}

/** How specific a route is: exact hosts first, then longer wildcard suffixes; then longer paths. */
function specificity(r: ProxyRoute): [number, number] {
  const host = r.host === '*' ? 0 : r.host.startsWith('*.') ? r.host.length : 1000;
  return [host, r.pathPrefix === '/' ? 0 : r.pathPrefix.length];
}

/** Routes in the order they are tried. */
export function orderedRoutes(routes: readonly ProxyRoute[]): ProxyRoute[] {
  return [...routes].sort((a, b) => {
    const [ah, ap] = specificity(a);
    const [bh, bp] = specificity(b);
    return bh - ah || bp - ap;
  });
}

function globRe(pattern: string): RegExp {
  const esc = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '.*');
  return new RegExp(`^${esc}$`);
}

/** The member labels a name pattern matches (`*` as a wildcard); a name matches as `label` or `label.<domain>`. */
export function membersMatching(dir: MemberDirectory, pattern: string): string[] {
  if (!pattern.includes('*')) {
    const label = dir.domain && pattern.endsWith(`.${dir.domain}`) ? pattern.slice(0, -(dir.domain.length + 1)) : pattern;
    return dir.labels.has(label) ? [label] : [];
  }
  const re = globRe(pattern);
  return [...dir.labels.keys()].filter((l) => re.test(l) || (dir.domain !== '' && re.test(`${l}.${dir.domain}`))).sort();
}

function upstreamsOf(dir: MemberDirectory, labels: readonly string[], port: number): Upstream[] {
  return labels.flatMap((member) => (dir.labels.get(member) ?? []).map((addr) => ({ member, addr, port })));
}

/** Where a request for `host` and `path` goes under `spec`'s routes and default rule. */
export function selectUpstreams(
  spec: Pick<ProxySpec, 'routes' | 'namesPort'>,
  dir: MemberDirectory,
  host: string,
  path: string,
): RouteMatch {
  for (const r of orderedRoutes(spec.routes)) {
    const captured = matchHost(r.host, host);
    if (captured === null || !matchPath(r.pathPrefix, path)) continue;
    const name = `${r.host}${r.pathPrefix === '/' ? '' : r.pathPrefix}`;
    // a host pattern's `*` fills the member's; without one, the member's `*` is a wildcard
    const wanted = captured !== '' && r.member.includes('*') ? r.member.replace('*', captured) : r.member;
    const labels = membersMatching(dir, wanted);
    if (labels.length === 0) return { kind: 'no-member', route: name, member: wanted };
    return { kind: 'route', route: name, upstreams: upstreamsOf(dir, labels, r.port) };
  }
  if (spec.namesPort !== null && dir.domain !== '' && host.endsWith(`.${dir.domain}`)) {
    const label = host.slice(0, -(dir.domain.length + 1));
    if (label.includes('.')) return { kind: 'no-route' };
    if (!dir.labels.has(label)) return { kind: 'no-member', route: `*.${dir.domain}`, member: label };
    return { kind: 'route', route: `*.${dir.domain}`, upstreams: upstreamsOf(dir, [label], spec.namesPort) };
  }
  return { kind: 'no-route' };
}

/** Upstream groups for an upstream file: one per name a route selects (pattern routes: one group of all they match), plus one per member under the default rule. */
export function upstreamGroups(spec: Pick<ProxySpec, 'routes' | 'namesPort'>, dir: MemberDirectory): Map<string, Upstream[]> {
  const out = new Map<string, Upstream[]>();
  const add = (name: string, ups: Upstream[]): void => {
    const list = out.get(name) ?? [];
    for (const u of ups) if (!list.some((x) => x.addr === u.addr && x.port === u.port)) list.push(u);
    out.set(name, list);
  };
  for (const r of spec.routes) {
    const group = r.member.replace('*', 'all').replace(/[^a-z0-9_-]/g, '_');
    add(group, upstreamsOf(dir, membersMatching(dir, r.member), r.port));
  }
  if (spec.namesPort !== null) for (const label of [...dir.labels.keys()].sort()) add(label, upstreamsOf(dir, [label], spec.namesPort));
  return out;
}

/** Every upstream any route or the default rule may send to (what health checks watch). */
export function allUpstreams(spec: Pick<ProxySpec, 'routes' | 'namesPort'>, dir: MemberDirectory): Upstream[] {
  const out: Upstream[] = [];
  for (const list of upstreamGroups(spec, dir).values())
    for (const u of list) if (!out.some((x) => x.addr === u.addr && x.port === u.port)) out.push(u);
  return out;
}
