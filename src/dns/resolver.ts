/**
 * One network's resolver: the NameService behind the netcon name operations and the datagrams
 * apps send to port 53. Which path a question takes:
 *   1. the network's own zone (`<member>.<dns.domain>`, PTR of members' addresses): answered here;
 *   2. the network's `dns.servers`, over the network's stack from the member's address;
 *   3. when the network has no servers: the host's resolvers through the daemon's kernel socket,
 *      only when local.conf's `allowHostResolvers` is on;
 *   4. otherwise no such name (NXDOMAIN, -ENOENT), at once.
 * Forwarded answers are cached (TTLs honoured); a question without an answer within 5 s is
 * EAGAIN (SERVFAIL for a DNS message). The config is read at each question, so every config push
 * takes effect with the next lookup.
 */
import type { RandomSource, Scheduler } from '../netstack/index.js';
import { DnsCache } from './cache.js';
import { type DnsTransport, Forwarder } from './forwarder.js';
import {
  buildQuery,
  CLASSIC_UDP_SIZE,
  DNS_CLASS_IN,
  DNS_HEADER_LEN,
  type DnsMessage,
  type DnsQuestion,
  DnsType,
  emitDnsMessage,
  emptyMessage,
  nameLabels,
  parseDnsMessage,
  parseQuestionOnly,
  Rcode,
  canonicalName,
} from './message.js';
import { type NameAddress, parseAddressText, reverseName } from './names.js';
import { type NetworkName, NetworkZone } from './zone.js';

/** Positive errno values of the name operations (proto.h). */
export const NAME_ENOENT = 2;
export const NAME_EAGAIN = 11;
export const NAME_ENODATA = 61;

/** Questions upstream at once (each holds a socket of the stack); more fail at once as EAGAIN. */
export const MAX_IN_FLIGHT = 256;

/** The largest answer we give a client that sent EDNS0 (RFC 9715's safe size). */
export const EDNS_UDP_SIZE = 1232;

export type ResolveResult = { canonical: string; addrs: NameAddress[] } | { errno: number };
export type ReverseResult = { name: string } | { errno: number };

/** What the contract between the resolver and its users promises (SPEC §3). */
export interface NameService {
  /** RESOLVE: addresses of `name` (family 2 = AF_INET, 10 = AF_INET6, 0 = both). */
  resolve(name: string, family: number): Promise<ResolveResult>;
  /** REVERSE */
  reverse(family: 4 | 6, bytes: Uint8Array): Promise<ReverseResult>;
  /** One DNS query message in, its answer out (DNS_QUERY and datagrams to port 53). null: no answer (drop). */
  answer(query: Buffer): Promise<Buffer | null>;
}

/** What the resolver needs from the network's config (read at every question). */
export interface ResolverConfig {
  /** `dns.domain` ('' = none: no names of the network). */
  domain: string;
  /** `dns.servers`. */
  servers: NameAddress[];
  /** The members' names (the ztnc controller's names key). */
  names: NetworkName[];
  /** The zone's SOA serial (the config's revision). */
  serial: number;
}

export interface ResolverOptions {
  scheduler: Scheduler;
  random: RandomSource;
  /** The network's config now; null before the first one (or after access was refused). */
  config: () => ResolverConfig | null;
  /** Queries over the network's stack. */
  network: DnsTransport;
  /** The host's resolvers, given only when local.conf allows them. */
  host?: { transport: DnsTransport; servers: () => NameAddress[] } | null;
}

export interface ResolverCounters {
  zoneAnswers: number;
  forwarded: number;
  cacheHits: number;
  refusedNoUpstream: number;
  malformedQueries: number;
  /** Questions that waited for the same question already upstream. */
  coalesced: number;
  /** Questions refused at once (EAGAIN / SERVFAIL) because MAX_IN_FLIGHT were upstream. */
  overloaded: number;
}

type Upstream = { transport: DnsTransport; servers: NameAddress[] } | null;

/** `raw`: the upstream's own bytes, when the answer came from upstream just now (not the cache). */
type Outcome = { message: DnsMessage; raw?: Buffer } | { timeout: true } | { noUpstream: true };

const AF_INET = 2;
const AF_INET6 = 10;

export class Resolver implements NameService {
  readonly counters: ResolverCounters = {
    zoneAnswers: 0,
    forwarded: 0,
    cacheHits: 0,
    refusedNoUpstream: 0,
    malformedQueries: 0,
    coalesced: 0,
    overloaded: 0,
  };
  /** Questions upstream now, by question: each has one socket and one id. */
  private readonly inFlight = new Map<string, Promise<Outcome>>();
  readonly cache: DnsCache;
  readonly forwarder: Forwarder;
  private zone: NetworkZone = new NetworkZone('', []);
  private zoneOf: ResolverConfig | null = null;

  constructor(private readonly opts: ResolverOptions) {
    this.cache = new DnsCache(opts.scheduler);
    this.forwarder = new Forwarder(opts.scheduler, opts.random);
  }

  /** Every figure of the resolver and its forwarder, named `dns_*` (the daemon's /counters). */
  countersSnapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries({ ...this.counters, ...this.forwarder.counters })) out[`dns_${k}`] = v;
    out.dns_cacheEntries = this.cache.size;
    return out;
  }

  private currentZone(): NetworkZone {
    const cfg = this.opts.config();
    if (cfg !== this.zoneOf) {
      // a new config: its names replace the old ones; answers of servers no longer asked go
      if (serversKey(cfg) !== serversKey(this.zoneOf)) this.cache.clear();
      this.zoneOf = cfg;
      this.zone = cfg ? new NetworkZone(cfg.domain, cfg.names, cfg.serial) : new NetworkZone('', []);
    }
    return this.zone;
  }

  private upstream(): Upstream {
    const cfg = this.opts.config();
    const servers = cfg?.servers ?? [];
    if (servers.length > 0) return { transport: this.opts.network, servers };
    const host = this.opts.host;
    if (!host) return null;
    const hs = host.servers();
    return hs.length > 0 ? { transport: host.transport, servers: hs } : null;
  }

  /** The answer to one question from the cache or upstream. `query` is the message to send (else one is built). */
  private ask(q: DnsQuestion, query?: Buffer): Promise<Outcome> {
    const cached = this.cache.get(q);
    if (cached) {
      this.counters.cacheHits++;
      return Promise.resolve({ message: cached });
    }
    const up = this.upstream();
    if (up === null) {
      this.counters.refusedNoUpstream++;
      return Promise.resolve({ noUpstream: true });
    }
    // one question upstream at a time: others asking the same wait for its answer
    const key = `${canonicalName(q.name)}\u0000${q.type}\u0000${q.class}`;
    const same = this.inFlight.get(key);
    if (same) {
      this.counters.coalesced++;
      return same;
    }
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      this.counters.overloaded++;
      return Promise.resolve({ timeout: true });
    }
    this.counters.forwarded++;
    const p = this.forwarder.forward(query ?? buildQuery(0, q.name, q.type), q, up.servers, up.transport).then((r): Outcome => {
      this.inFlight.delete(key);
      if (!('timeout' in r)) this.cache.put(q, r.message);
      return r;
    });
    this.inFlight.set(key, p);
    return p;
  }

  async resolve(name: string, family: number): Promise<ResolveResult> {
    const text = name.endsWith('.') ? name.slice(0, -1) : name;
    if (family !== 0 && family !== AF_INET && family !== AF_INET6) return { errno: NAME_ENOENT };
    const literal = parseAddressText(text);
    if (literal) {
      const ok = family === 0 || (family === AF_INET) === (literal.family === 4);
      return ok ? { canonical: text, addrs: [literal] } : { errno: NAME_ENODATA };
    }
    if (text.length === 0 || nameLabels(text) === null) return { errno: NAME_ENOENT };
    const wants = (f: 4 | 6): boolean => family === 0 || (f === 4 ? family === AF_INET : family === AF_INET6);
    const zone = this.currentZone();
    // a bare member name is looked up under the domain too, as a search domain would (ZeroTier's
    // allowDNS makes the domain one on the host); other bare names go on as they are
    const searched = !text.includes('.') && zone.domain !== '' && zone.lookup(`${text}.${zone.domain}`) !== null;
    const full = searched ? `${text}.${zone.domain}` : text;
    const own = zone.lookup(full);
    if (own !== null || zone.owns(full)) {
      this.counters.zoneAnswers++;
      if (own === null) return { errno: NAME_ENOENT };
      const addrs = own.filter((a) => wants(a.family));
      return addrs.length > 0 ? { canonical: canonicalName(full), addrs } : { errno: NAME_ENODATA };
    }
    const types = [...(wants(4) ? [DnsType.A] : []), ...(wants(6) ? [DnsType.AAAA] : [])];
    const outcomes = await Promise.all(types.map((type) => this.ask({ name: text, type, class: DNS_CLASS_IN })));
    const addrs: NameAddress[] = [];
    let canonical = text;
    let nodata = false;
    let again = false;
    for (const [i, o] of outcomes.entries()) {
      if ('noUpstream' in o) return { errno: NAME_ENOENT };
      if ('timeout' in o) {
        again = true;
        continue;
      }
      const m = o.message;
      if (m.rcode === Rcode.NXDOMAIN) continue;
      if (m.rcode !== Rcode.NOERROR) {
        again = true;
        continue;
      }
      const chain = followCnames(m, text);
      canonical = chain.canonical;
      const type = types[i]!;
      for (const r of m.answers) {
        if (r.type !== type || r.data.kind !== 'address' || canonicalName(r.name) !== canonicalName(chain.canonical)) continue;
        addrs.push({ family: type === DnsType.A ? 4 : 6, bytes: Uint8Array.from(r.data.bytes) });
      }
      nodata = true;
    }
    if (addrs.length > 0) return { canonical, addrs };
    if (again) return { errno: NAME_EAGAIN };
    return { errno: nodata ? NAME_ENODATA : NAME_ENOENT };
  }

  async reverse(family: 4 | 6, bytes: Uint8Array): Promise<ReverseResult> {
    if ((family !== 4 && family !== 6) || bytes.length !== (family === 4 ? 4 : 16)) return { errno: NAME_ENOENT };
    const a: NameAddress = { family, bytes: Uint8Array.from(bytes) };
    const own = this.currentZone().reverse(a);
    if (own !== null) {
      this.counters.zoneAnswers++;
      return { name: own };
    }
    const q: DnsQuestion = { name: reverseName(a), type: DnsType.PTR, class: DNS_CLASS_IN };
    const o = await this.ask(q);
    if ('noUpstream' in o) return { errno: NAME_ENOENT };
    if ('timeout' in o) return { errno: NAME_EAGAIN };
    const m = o.message;
    if (m.rcode !== Rcode.NOERROR && m.rcode !== Rcode.NXDOMAIN) return { errno: NAME_EAGAIN };
    const owner = followCnames(m, q.name).canonical;
    const ptr = m.answers.find((r) => r.type === DnsType.PTR && r.data.kind === 'name' && canonicalName(r.name) === canonicalName(owner));
    return ptr && ptr.data.kind === 'name' ? { name: ptr.data.target } : { errno: NAME_ENOENT };
  }

  async answer(query: Buffer): Promise<Buffer | null> {
    const parsed = parseDnsMessage(query);
    if (typeof parsed === 'number') {
      this.counters.malformedQueries++;
      // a header we can read is owed a FORMERR (RFC 1035 §4.1.1); anything less is dropped
      const head = parseQuestionOnly(query);
      if (query.length < DNS_HEADER_LEN || (typeof head !== 'number' && (head.flags & 0x8000) !== 0)) return null;
      const m = emptyMessage(query.readUInt16BE(0));
      m.response = true;
      m.opcode = (query[2]! >>> 3) & 0xf;
      m.rcode = Rcode.FORMERR;
      if (typeof head !== 'number' && head.question) m.questions.push(head.question);
      return emitDnsMessage(m, CLASSIC_UDP_SIZE);
    }
    if (parsed.response) {
      this.counters.malformedQueries++;
      return null;
    }
    const reply = emptyMessage(parsed.id);
    reply.response = true;
    reply.opcode = parsed.opcode;
    reply.recursionDesired = parsed.recursionDesired;
    reply.recursionAvailable = true;
    reply.checkingDisabled = parsed.checkingDisabled;
    reply.questions = parsed.questions.slice(0, 1);
    const limit = parsed.edns ? Math.max(CLASSIC_UDP_SIZE, Math.min(parsed.edns.udpSize, EDNS_UDP_SIZE)) : CLASSIC_UDP_SIZE;
    if (parsed.edns)
      reply.edns = { udpSize: EDNS_UDP_SIZE, extendedRcode: 0, version: 0, flags: parsed.edns.flags & 0x8000, options: new Uint8Array(0) };
    const done = (rcode: number): Buffer => {
      reply.rcode = rcode;
      return emitDnsMessage(reply, limit);
    };
    if (parsed.edns && parsed.edns.version > 0) {
      // BADVERS (RFC 6891 §6.1.3): extended rcode 16 = 1 << 4 | 0
      reply.edns!.extendedRcode = 1;
      return done(Rcode.NOERROR);
    }
    if (parsed.opcode !== 0) return done(Rcode.NOTIMP);
    if (parsed.questions.length !== 1) return done(Rcode.FORMERR);
    const q = parsed.questions[0]!;
    const own = this.currentZone().answer(q);
    if (own !== null) {
      this.counters.zoneAnswers++;
      reply.authoritative = true;
      reply.answers = own.answers;
      reply.authority = own.authority;
      return done(own.rcode);
    }
    const o = await this.ask(q, query);
    if ('noUpstream' in o) return done(Rcode.NXDOMAIN);
    if ('timeout' in o) return done(Rcode.SERVFAIL);
    const m = o.message;
    if (o.raw !== undefined && o.raw.length <= limit && m.questions[0]?.name === q.name) {
      // the upstream's answer to this very question as it came, under the client's id: nothing of
      // it lost in re-encoding (a coalesced question spelled otherwise is answered re-encoded)
      const out = Buffer.from(o.raw);
      out.writeUInt16BE(parsed.id, 0);
      return out;
    }
    reply.authoritative = false;
    reply.authenticData = m.authenticData;
    reply.answers = m.answers;
    reply.authority = m.authority;
    reply.additional = m.additional;
    reply.truncated = m.truncated;
    if (reply.edns && m.edns) reply.edns.extendedRcode = m.edns.extendedRcode;
    return done(m.rcode);
  }
}

function serversKey(c: ResolverConfig | null): string {
  return (c?.servers ?? []).map((a) => `${a.family}:${Buffer.from(a.bytes).toString('hex')}`).join(',');
}

/** The name the answers end at after following CNAMEs from `name` (bounded, so a loop ends). */
function followCnames(m: DnsMessage, name: string): { canonical: string } {
  let cur = name;
  for (let hops = 0; hops < 16; hops++) {
    const c = m.answers.find((r) => r.type === DnsType.CNAME && r.data.kind === 'name' && canonicalName(r.name) === canonicalName(cur));
    if (!c || c.data.kind !== 'name') break;
    cur = c.data.target;
  }
  return { canonical: cur };
}

/** Re-emits an answer so it fits `maxLen` bytes (TC set when records had to go); null when it cannot be read. */
export function fitAnswer(answer: Buffer, maxLen: number): Buffer | null {
  if (answer.length <= maxLen) return answer;
  const m = parseDnsMessage(answer);
  if (typeof m === 'number') return null;
  const out = emitDnsMessage(m, maxLen);
  if (out.length <= maxLen) return out;
  // even the question and OPT do not fit: the bare header with TC
  const bare = emptyMessage(m.id);
  Object.assign(bare, { response: true, truncated: true, rcode: m.rcode, recursionAvailable: m.recursionAvailable });
  const b = emitDnsMessage(bare, maxLen);
  return b.length <= maxLen ? b : null;
}
