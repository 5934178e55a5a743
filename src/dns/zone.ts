/**
 * The zone of a network's names: `<member name>.<dns.domain>` → that member's managed addresses
 * (A, and AAAA for its IPv6 ones), and PTR records in in-addr.arpa / ip6.arpa for each of those
 * addresses. Names compare case-insensitively (RFC 4343). Answers follow RFC 2308: a name under
 * the domain that does not exist is NXDOMAIN, a name that exists without records of the asked type
 * is NODATA (NOERROR, no answers); both carry the zone's SOA in the authority section, whose
 * minimum field bounds how long a negative answer is cached.
 */
import { type DnsQuestion, type DnsRecord, DNS_CLASS_IN, DnsType, Rcode, canonicalName } from './message.js';
import { addressKey, addressOfReverseName, normalDomain, type NameAddress } from './names.js';

/** How long answers from the zone may be cached: short, names change with every config push. */
export const ZONE_TTL = 30;
/** Negative answers (the SOA minimum, RFC 2308 §5). */
export const ZONE_NEGATIVE_TTL = 5;

/** One member's name and addresses, as the network config carries them. */
export interface NetworkName {
  /** One DNS label (see memberLabel). */
  name: string;
  addrs: NameAddress[];
}

export interface ZoneAnswer {
  rcode: number;
  /** Whether the zone is authoritative for the name (always, for the answers it gives). */
  answers: DnsRecord[];
  authority: DnsRecord[];
}

export class NetworkZone {
  readonly domain: string;
  /** label → addresses (several members with one name share it, round-robin as DNS does). */
  private readonly byName = new Map<string, NameAddress[]>();
  /** address key → full name. */
  private readonly byAddress = new Map<string, string>();
  private readonly serial: number;

  constructor(domain: string, names: readonly NetworkName[], serial = 1) {
    this.domain = normalDomain(domain);
    this.serial = serial >>> 0;
    if (this.domain === '') return;
    for (const n of names) {
      const label = canonicalName(n.name);
      let list = this.byName.get(label);
      if (!list) this.byName.set(label, (list = []));
      for (const a of n.addrs) {
        if (!list.some((x) => addressKey(x) === addressKey(a))) list.push(a);
        if (!this.byAddress.has(addressKey(a))) this.byAddress.set(addressKey(a), `${label}.${this.domain}`);
      }
    }
  }

  /** The member label a full name under the domain stands for: '' for the apex, null when outside. */
  private labelOf(qname: string): string | null {
    if (this.domain === '') return null;
    const n = canonicalName(qname).replace(/\.$/, '');
    if (n === this.domain) return '';
    if (!n.endsWith(`.${this.domain}`)) return null;
    return n.slice(0, -(this.domain.length + 1));
  }

  /** Whether `qname` is a name this zone answers for (under the domain, or the PTR of one of its addresses). */
  owns(qname: string): boolean {
    if (this.labelOf(qname) !== null) return true;
    const a = addressOfReverseName(qname);
    return a !== null && this.byAddress.has(addressKey(a));
  }

  /** The addresses of a name under the domain; null when the name does not exist. */
  lookup(qname: string): NameAddress[] | null {
    const label = this.labelOf(qname);
    if (label === null) return null;
    if (label === '') return [];
    return this.byName.get(label) ?? null;
  }

  /** The name of an address of the zone, or null. */
  reverse(a: NameAddress): string | null {
    return this.byAddress.get(addressKey(a)) ?? null;
  }

  soaRecord(): DnsRecord {
    return {
      name: this.domain,
      type: DnsType.SOA,
      class: DNS_CLASS_IN,
      ttl: ZONE_NEGATIVE_TTL,
      data: {
        kind: 'soa',
        soa: {
          mname: this.domain,
          rname: `hostmaster.${this.domain}`,
          serial: this.serial,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: ZONE_NEGATIVE_TTL,
        },
      },
    };
  }

  /** The zone's answer to one question, or null when the question is not the zone's. */
  answer(q: DnsQuestion): ZoneAnswer | null {
    const label = this.labelOf(q.name);
    if (label === null) return this.answerReverse(q);
    if (q.class !== DNS_CLASS_IN && q.class !== DnsType.ANY) return { rcode: Rcode.REFUSED, answers: [], authority: [] };
    const negative = { answers: [] as DnsRecord[], authority: [this.soaRecord()] };
    if (label === '') {
      if (q.type === DnsType.SOA || q.type === DnsType.ANY) return { rcode: Rcode.NOERROR, answers: [this.soaRecord()], authority: [] };
      return { rcode: Rcode.NOERROR, ...negative };
    }
    const addrs = this.byName.get(label);
    if (addrs === undefined) return { rcode: Rcode.NXDOMAIN, ...negative };
    const want = (a: NameAddress): boolean =>
      q.type === DnsType.ANY || (q.type === DnsType.A && a.family === 4) || (q.type === DnsType.AAAA && a.family === 6);
    const answers: DnsRecord[] = addrs.filter(want).map((a) => ({
      name: q.name,
      type: a.family === 4 ? DnsType.A : DnsType.AAAA,
      class: DNS_CLASS_IN,
      ttl: ZONE_TTL,
      data: { kind: 'address', bytes: a.bytes },
    }));
    if (answers.length === 0) return { rcode: Rcode.NOERROR, ...negative };
    return { rcode: Rcode.NOERROR, answers, authority: [] };
  }

  private answerReverse(q: DnsQuestion): ZoneAnswer | null {
    const a = addressOfReverseName(q.name);
    if (a === null) return null;
    const name = this.reverse(a);
    if (name === null) return null;
    if (q.type !== DnsType.PTR && q.type !== DnsType.ANY) return { rcode: Rcode.NOERROR, answers: [], authority: [] };
    return {
      rcode: Rcode.NOERROR,
      answers: [{ name: q.name, type: DnsType.PTR, class: DNS_CLASS_IN, ttl: ZONE_TTL, data: { kind: 'name', target: name } }],
      authority: [],
    };
  }
}
