/**
 * The host's resolvers as `/etc/resolv.conf` names them (`nameserver` lines, resolv.conf(5)).
 * Read again when the file changes, looked at no more than once every RECHECK_MS so the datagram
 * path can ask on every packet.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Clock } from '../netstack/index.js';
import { type NameAddress, parseAddressText } from './names.js';

export const RESOLV_CONF = '/etc/resolv.conf';
const RECHECK_MS = 5000;
/** resolv.conf(5): the resolver uses at most three (MAXNS). */
const MAX_NAMESERVERS = 3;

export function parseResolvConf(text: string): NameAddress[] {
  const out: NameAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const a = parseAddressText(m[1]!.replace(/%.*$/, ''));
    if (a && out.length < MAX_NAMESERVERS) out.push(a);
  }
  return out;
}

export class HostResolvConf {
  private list: NameAddress[] = [];
  private mtimeMs = -1;
  private checkedAt = -Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly file = RESOLV_CONF,
  ) {}

  nameservers(): NameAddress[] {
    const now = this.clock.now();
    if (now - this.checkedAt < RECHECK_MS) return this.list;
    this.checkedAt = now;
    try {
      const st = statSync(this.file);
      if (st.mtimeMs !== this.mtimeMs) {
        this.mtimeMs = st.mtimeMs;
        this.list = parseResolvConf(readFileSync(this.file, 'utf8'));
      }
    } catch {
      this.list = [];
      this.mtimeMs = -1;
    }
    return this.list;
  }
}
