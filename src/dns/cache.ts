/**
 * A small cache of upstream answers keyed by question (name case-insensitive, type, class),
 * honouring TTLs: a positive answer lives as long as its shortest record's TTL, a negative one
 * (NXDOMAIN, NODATA) as long as its SOA's minimum and TTL allow (RFC 2308 §5), capped at
 * MAX_CACHE_TTL. A hit hands back the message with TTLs lowered by the time it has spent in the
 * cache. Bounded: the oldest entry goes first.
 */
import type { Clock } from '../netstack/index.js';
import { type DnsMessage, type DnsQuestion, type DnsRecord, Rcode, canonicalName } from './message.js';

export const MAX_CACHE_ENTRIES = 1024;
/** Nothing stays longer than this, whatever the TTL (RFC 8767 suggests a day; a container's view moves faster). */
export const MAX_CACHE_TTL = 3600;

interface Entry {
  message: DnsMessage;
  storedAt: number;
  expiresAt: number;
}

function questionKey(q: DnsQuestion): string {
  return `${canonicalName(q.name)}\u0000${q.type}\u0000${q.class}`;
}

/** Seconds the answer may be cached; 0 when it must not be. */
export function cacheableSeconds(m: DnsMessage): number {
  if (m.truncated) return 0;
  if (m.rcode === Rcode.NOERROR && m.answers.length > 0) return Math.min(MAX_CACHE_TTL, ...m.answers.map((r) => r.ttl));
  if (m.rcode === Rcode.NXDOMAIN || (m.rcode === Rcode.NOERROR && m.answers.length === 0)) {
    const soa = m.authority.find((r) => r.data.kind === 'soa');
    if (!soa || soa.data.kind !== 'soa') return 0;
    return Math.min(MAX_CACHE_TTL, soa.ttl, soa.data.soa.minimum);
  }
  return 0;
}

function aged(records: DnsRecord[], seconds: number): DnsRecord[] {
  return records.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - seconds) }));
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = MAX_CACHE_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(q: DnsQuestion): DnsMessage | null {
    const key = questionKey(q);
    const e = this.entries.get(key);
    const now = this.clock.now();
    if (!e || e.expiresAt <= now) {
      if (e) this.entries.delete(key);
      this.misses++;
      return null;
    }
    this.hits++;
    const spent = Math.floor((now - e.storedAt) / 1000);
    const m = e.message;
    return { ...m, answers: aged(m.answers, spent), authority: aged(m.authority, spent), additional: aged(m.additional, spent) };
  }

  put(q: DnsQuestion, m: DnsMessage): void {
    const ttl = cacheableSeconds(m);
    if (ttl <= 0) return;
    const key = questionKey(q);
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const now = this.clock.now();
    this.entries.set(key, { message: m, storedAt: now, expiresAt: now + ttl * 1000 });
  }

  clear(): void {
    this.entries.clear();
  }
}
