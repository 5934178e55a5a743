/**
 * Pure helpers behind the forms: the "easy setup" /24 ranges (a pool and its managed route),
 * the text forms of pools, routes and address lists, and how times, versions and online state
 * are shown. No DOM here, so the browser test and the type-check see the same logic.
 */
import type { Peer, Pool, Route } from './types.js';

/** /24 ranges offered by the easy setup, as other ZeroTier UIs offer them. */
export const EASY_RANGES: readonly string[] = [
  '10.147.17.0/24',
  '10.147.18.0/24',
  '10.147.19.0/24',
  '10.147.20.0/24',
  '10.144.0.0/24',
  '10.241.0.0/24',
  '10.242.0.0/24',
  '10.243.0.0/24',
  '10.244.0.0/24',
  '172.22.0.0/24',
  '172.23.0.0/24',
  '172.24.0.0/24',
  '192.168.191.0/24',
  '192.168.192.0/24',
  '192.168.193.0/24',
  '192.168.194.0/24',
  '192.168.195.0/24',
];

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIpv4(text: string): boolean {
  return V4.test(text);
}

/** A loose IPv6 check (the controller checks for real; this only catches typos early). */
export function isIpv6(text: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':');
}

/**
 * The pool (.1 to .254) and managed route of a /24 given as `a.b.c.0/24` or `a.b.c`; null
 * when the text is not one.
 */
export function easySetup(range: string): { pool: Pool; route: Route } | null {
  const m = /^(\d+\.\d+\.\d+)(?:\.0\/24)?$/.exec(range.trim());
  if (!m || !isIpv4(`${m[1]}.0`)) return null;
  const net = m[1]!;
  return { pool: { ipRangeStart: `${net}.1`, ipRangeEnd: `${net}.254` }, route: { target: `${net}.0/24`, via: null } };
}

/** The first easy range no route in `used` covers yet (the /24 a new network is offered). */
export function freeRange(used: readonly Route[]): string {
  const taken = new Set(used.map((r) => r.target));
  return EASY_RANGES.find((r) => !taken.has(r)) ?? EASY_RANGES[0]!;
}

export function poolsToText(pools: readonly Pool[]): string {
  return pools.map((p) => `${p.ipRangeStart}-${p.ipRangeEnd}`).join('\n');
}

/** One pool a line, `start-end` (or a single address); an error naming the line otherwise. */
export function textToPools(text: string): Pool[] | string {
  const out: Pool[] = [];
  for (const [i, raw] of lines(text)) {
    const [start = '', end = start, extra] = raw.split(/\s*-\s*|\s+/);
    if (extra !== undefined || !validIp(start) || !validIp(end))
      return `pools, line ${i}: write "first-last", e.g. 10.147.17.1-10.147.17.254`;
    out.push({ ipRangeStart: start, ipRangeEnd: end });
  }
  return out;
}

export function routesToText(routes: readonly Route[]): string {
  return routes.map((r) => (r.via ? `${r.target} via ${r.via}` : r.target)).join('\n');
}

/** One route a line, `target` or `target via gateway`; an error naming the line otherwise. */
export function textToRoutes(text: string): Route[] | string {
  const out: Route[] = [];
  for (const [i, raw] of lines(text)) {
    const m = /^(\S+\/\d{1,3})(?:\s+(?:via\s+)?(\S+))?$/.exec(raw);
    if (!m || !validIp(m[1]!.split('/')[0]!) || (m[2] !== undefined && !validIp(m[2]))) {
      return `routes, line ${i}: write "target/bits" or "target/bits via gateway", e.g. 10.147.17.0/24`;
    }
    out.push({ target: m[1]!, via: m[2] ?? null });
  }
  return out;
}

/** Addresses separated by commas, spaces or new lines; an error naming the first bad one. */
export function textToAddresses(text: string, what: string): string[] | string {
  const out = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = out.find((a) => !validIp(a));
  return bad === undefined ? out : `${what}: ${bad} is not an IP address`;
}

function validIp(text: string): boolean {
  return isIpv4(text) || isIpv6(text);
}

function lines(text: string): [number, string][] {
  return text
    .split('\n')
    .map((l, i): [number, string] => [i + 1, l.trim()])
    .filter(([, l]) => l.length > 0);
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for 0. */
export function ago(ms: number, now: number): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function dateTime(ms: number | null): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}

export function versionText(major: number, minor: number, rev: number): string {
  return major < 0 ? 'unknown' : `${major}.${minor}.${rev}`;
}

/** A peer is online while one of its paths is alive (stock's `active` and not `expired`). */
export function peerOnline(peer: Peer | undefined): boolean {
  return peer !== undefined && peer.paths.some((p) => p.active && !p.expired);
}

/** The address a peer is reached at: its preferred path's, else its first live one's. */
export function peerPath(peer: Peer | undefined): string {
  if (!peer) return '—';
  const p = peer.paths.find((x) => x.preferred) ?? peer.paths.find((x) => x.active && !x.expired) ?? peer.paths[0];
  return p ? p.address : '—';
}

/** One sample of Prometheus text: its family, labels and value. */
export interface Sample {
  name: string;
  labels: string;
  value: number;
}

/** Prometheus text exposition (the daemon's /metrics) read into samples and the families' types. */
export function parseMetrics(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) samples.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return { types, samples };
}

/** The sum of a family's plain samples (a histogram's _count and _sum are families of their own). */
export function metricTotal(samples: readonly Sample[], name: string): number | null {
  const own = samples.filter((s) => s.name === name);
  return own.length === 0 ? null : own.reduce((a, s) => a + s.value, 0);
}
