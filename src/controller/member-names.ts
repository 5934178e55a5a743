/**
 * The names of a network's members for its config (the node's NAMES_KEY): every authorized member
 * with a usable `name` → one DNS label and its addresses: the managed ones (`ipAssignments`), then
 * the computed rfc4193 / 6plane IPv6 addresses the network gives it (as the config's static IPs
 * have them: not for a member with noAutoAssignIps), so names get AAAA records. Kept per network in memory and updated
 * from the store's change events one member at a time, so answering a config request does not
 * read every member; `apply` says whether a change altered the names, which is when every member
 * of the network is pushed a new config.
 */
import { MAX_NAME_ENTRIES, MAX_NAMES_BYTES } from '../node/index.js';
import { formatIp, parseIp, rfc4193Address, sixPlaneAddress } from './ip-assignment.js';
import type { StoreChange, ControllerStore } from './store.js';
import type { MemberSettings } from './types.js';

/**
 * A member's `name` as one DNS label, or null when nothing usable is left: lower case, runs of
 * spaces, underscores and dots become '-', other characters outside [a-z0-9-] are dropped, no '-'
 * at either end, at most 63 characters ("Web Server 1" → "web-server-1").
 */
export function memberLabel(name: string): string | null {
  const s = name
    .toLowerCase()
    .replace(/[\s_.]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s.length > 0 ? s : null;
}

export interface NameEntry {
  name: string;
  ips: string[];
}

/** The computed IPv6 schemes a network gives its members (its v6AssignMode). */
interface ComputedSchemes {
  nwid: bigint;
  rfc4193: boolean;
  sixPlane: boolean;
}

function entryOf(m: MemberSettings, schemes: ComputedSchemes): NameEntry | null {
  if (!m.authorized) return null;
  const label = memberLabel(m.name);
  if (label === null) return null;
  const ips: string[] = [];
  for (const text of m.ipAssignments) {
    const ip = parseIp(text);
    if (ip) ips.push(formatIp(ip));
  }
  if (!m.noAutoAssignIps) {
    const member = BigInt(`0x${m.address}`);
    if (schemes.rfc4193) ips.push(rfc4193Address(schemes.nwid, member).ip);
    if (schemes.sixPlane) ips.push(sixPlaneAddress(schemes.nwid, member).ip);
  }
  return { name: label, ips };
}

function sameEntry(a: NameEntry | undefined, b: NameEntry | null): boolean {
  if (a === undefined || b === null) return a === undefined && b === null;
  return a.name === b.name && a.ips.length === b.ips.length && a.ips.every((ip, i) => ip === b.ips[i]);
}

interface NetworkNames {
  schemes: ComputedSchemes;
  byMember: Map<string, NameEntry>;
  /** The sorted list, built when first asked after a change. */
  list: NameEntry[] | null;
}

/** Roughly what one entry costs in the config (label, counts, 7 or 19 bytes per address). */
function entrySize(e: NameEntry): number {
  return 2 + e.name.length + e.ips.reduce((n, ip) => n + (ip.includes(':') ? 19 : 7), 0);
}

export class MemberNames {
  private readonly networks = new Map<string, NetworkNames>();

  constructor(
    private readonly store: ControllerStore,
    private readonly warn: (msg: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  private load(nwid: string): NetworkNames | null {
    let n = this.networks.get(nwid);
    if (n) return n;
    const settings = this.store.getNetworkSettings(nwid);
    if (!settings) return null;
    const schemes = { nwid: BigInt(`0x${nwid}`), rfc4193: settings.v6AssignMode.rfc4193, sixPlane: settings.v6AssignMode['6plane'] };
    n = { schemes, byMember: new Map(), list: null };
    for (const m of this.store.listMembers(nwid)) {
      const e = entryOf(m, schemes);
      if (e) n.byMember.set(m.address, e);
    }
    this.networks.set(nwid, n);
    return n;
  }

  /** Takes in one store change; true when the network's names changed (every member needs them). */
  apply(c: StoreChange): boolean {
    if (c.kind === 'network') {
      // gone, or its settings changed (every member is pushed anyway): read again when next asked
      this.networks.delete(c.nwid);
      return false;
    }
    const n = this.networks.get(c.nwid);
    if (!n) {
      // not read since start: read it now, with the change in; the member is told about only if
      // it has a name now (one that just lost its name or access reaches the others at their
      // next refresh, within a minute, or with the next change after this one)
      const loaded = this.load(c.nwid);
      return loaded !== null && loaded.byMember.has(c.address);
    }
    const m = this.store.getMember(c.nwid, c.address);
    const next = m ? entryOf(m, n.schemes) : null;
    if (sameEntry(n.byMember.get(c.address), next)) return false;
    if (next) n.byMember.set(c.address, next);
    else n.byMember.delete(c.address);
    n.list = null;
    return true;
  }

  /** The names for a config: in name order (then address), within the config's bounds. */
  list(nwid: string): NameEntry[] {
    const n = this.load(nwid);
    if (!n) return [];
    if (n.list) return n.list;
    const all = [...n.byMember.entries()].sort(([a, x], [b, y]) => (x.name < y.name ? -1 : x.name > y.name ? 1 : a < b ? -1 : 1));
    const out: NameEntry[] = [];
    let size = 3;
    for (const [, e] of all) {
      if (out.length >= MAX_NAME_ENTRIES || size + entrySize(e) > MAX_NAMES_BYTES) break;
      out.push(e);
      size += entrySize(e);
    }
    if (out.length < all.length)
      this.warn('network has more member names than a config carries: the rest are left out', {
        nwid,
        names: all.length,
        carried: out.length,
      });
    n.list = out;
    return out;
  }
}
