/**
 * zerotier-cli's text output for the commands ztnc-cli shares with it (`200 info …`,
 * `200 listnetworks …`, `200 listpeers …`, `peers`), built from the local API's JSON, and its
 * JSON printing (one-space indentation). A field a line needs but the JSON lacks, or has empty
 * (an unnamed network), prints as `-` so every line keeps its columns.
 */

import { stringifyJson } from '../service/http/json-text.js';

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A string field, or `fallback` when it is absent, not a string, or empty (keeps columns whole). */
function str(v: unknown, fallback = '-'): string {
  return typeof v === 'string' && v.length > 0 ? v : fallback;
}

function int(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : fallback;
}

/** JSON as zerotier-cli prints it with -j (64-bit integers as exact digits). */
export function jsonDump(v: unknown): string {
  return stringifyJson(v ?? null, 1);
}

export function infoLine(status: unknown): string {
  const s = obj(status);
  const state = s.tcpFallbackActive === true ? 'TUNNELED' : s.online === true ? 'ONLINE' : 'OFFLINE';
  return `200 info ${str(s.address)} ${str(s.version)} ${state}`;
}

export const LISTNETWORKS_HEADER = '200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>';

export function listNetworksLines(networks: unknown): string[] {
  const out = [LISTNETWORKS_HEADER];
  for (const item of list(networks)) {
    if (typeof item !== 'object' || item === null) continue;
    const n = item as Json;
    const ips = list(n.assignedAddresses).filter((a): a is string => typeof a === 'string');
    out.push(
      `200 listnetworks ${str(n.nwid)} ${str(n.name)} ${str(n.mac)} ${str(n.status)} ${str(n.type)} ${str(n.portDeviceName)} ${ips.length > 0 ? ips.join(',') : '-'}`,
    );
  }
  return out;
}

function versionText(p: Json): string {
  const major = int(p.versionMajor, -1);
  return major >= 0 ? `${major}.${int(p.versionMinor)}.${int(p.versionRev)}` : '-';
}

interface PreferredPath {
  address: string;
  /** Milliseconds since the last send / receive; -1 when never. */
  sinceSend: number;
  sinceReceive: number;
}

function preferredPath(p: Json, now: number): PreferredPath | null {
  for (const item of list(p.paths)) {
    const path = obj(item);
    if (path.preferred !== true) continue;
    const lastSend = int(path.lastSend);
    const lastReceive = int(path.lastReceive);
    return {
      address: str(path.address),
      sinceSend: lastSend > 0 ? now - lastSend : -1,
      sinceReceive: lastReceive > 0 ? now - lastReceive : -1,
    };
  }
  return null;
}

export const LISTPEERS_HEADER = '200 listpeers <ztaddr> <path> <latency> <version> <role>';

export function listPeersLines(peers: unknown, now = Date.now()): string[] {
  const out = [LISTPEERS_HEADER];
  for (const item of list(peers)) {
    if (typeof item !== 'object' || item === null) continue;
    const p = item as Json;
    const best = preferredPath(p, now);
    const path = best ? `${best.address};${best.sinceSend};${best.sinceReceive}` : '-';
    out.push(`200 listpeers ${str(p.address)} ${path} ${int(p.latency)} ${versionText(p)} ${str(p.role)}`);
  }
  return out;
}

function padEnd(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** zerotier-cli's `peers` table (its "prettier" listpeers). */
export function peersTable(peers: unknown, now = Date.now()): string[] {
  const out = ['200 peers', '<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>'];
  let anyTunneled = false;
  for (const item of list(peers)) {
    if (typeof item !== 'object' || item === null) continue;
    const p = item as Json;
    if (p.tunneled === true) anyTunneled = true;
    const best = preferredPath(p, now);
    let link = 'RELAY';
    if (best) {
      const tail = `${padEnd(String(best.sinceSend), 8)} ${padEnd(String(best.sinceReceive), 8)} ${best.address}`;
      link = p.tunneled === true ? `RELAY ${tail}` : `DIRECT   ${tail}`;
    }
    out.push(`${str(p.address)} ${padEnd(versionText(p), 6)} ${padEnd(str(p.role), 6)} ${String(int(p.latency)).padStart(5)} ${link}`);
  }
  if (anyTunneled) out.push('NOTE: Currently tunneling through a TCP relay. Ensure that UDP is not blocked.');
  return out;
}

/**
 * zerotier-cli's `get <nwid> <property>`: a field of the network's JSON, or for ip/ip4/ip6/
 * ip6plane/ip6prefix its assigned addresses without prefix lengths, one per line. Null when the
 * property is unknown.
 */
export function networkProperty(network: unknown, property: string): string | null {
  const n = obj(network);
  if (!['ip', 'ip4', 'ip6', 'ip6plane', 'ip6prefix'].includes(property)) {
    const v = n[property];
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  }
  const addrs = list(n.assignedAddresses).filter((a): a is string => typeof a === 'string');
  const bare = (a: string): string => a.split('/')[0]!;
  let picked: string[];
  if (property === 'ip') picked = addrs.map(bare);
  else if (property === 'ip4') picked = addrs.filter((a) => a.includes('.')).map(bare);
  else if (property === 'ip6') picked = addrs.filter((a) => a.includes(':')).map(bare);
  else {
    const plane = addrs.filter((a) => a.includes(':') && a.startsWith('fc')).map(bare);
    picked = property === 'ip6plane' ? plane : plane.map((a) => a.slice(0, 24));
  }
  return picked.join('\n');
}
