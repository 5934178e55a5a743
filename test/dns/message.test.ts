import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/netstack/random.js';
import {
  buildQuery,
  DNS_CLASS_IN,
  DnsParseError,
  DnsType,
  emitDnsMessage,
  emptyMessage,
  nameLabels,
  parseDnsMessage,
  parseQuestionOnly,
  Rcode,
  type DnsMessage,
} from '../../src/dns/message.js';

function parsed(b: Uint8Array): DnsMessage {
  const m = parseDnsMessage(b);
  if (typeof m === 'number') throw new Error(`parse error ${m}`);
  return m;
}

/** A real answer as a server writes it (example.com A, compressed owner). */
function sampleAnswer(): Buffer {
  const m = emptyMessage(0x1234);
  m.response = true;
  m.recursionDesired = true;
  m.recursionAvailable = true;
  m.questions.push({ name: 'www.Example.com', type: DnsType.A, class: DNS_CLASS_IN });
  m.answers.push({
    name: 'www.Example.com',
    type: DnsType.CNAME,
    class: DNS_CLASS_IN,
    ttl: 300,
    data: { kind: 'name', target: 'web.example.com' },
  });
  m.answers.push({
    name: 'web.example.com',
    type: DnsType.A,
    class: DNS_CLASS_IN,
    ttl: 60,
    data: { kind: 'address', bytes: Uint8Array.of(93, 184, 216, 34) },
  });
  m.answers.push({
    name: 'web.example.com',
    type: DnsType.AAAA,
    class: DNS_CLASS_IN,
    ttl: 60,
    data: { kind: 'address', bytes: new Uint8Array(16).fill(1) },
  });
  m.answers.push({
    name: 'example.com',
    type: DnsType.MX,
    class: DNS_CLASS_IN,
    ttl: 60,
    data: { kind: 'mx', preference: 10, exchange: 'mail.example.com' },
  });
  m.answers.push({
    name: 'example.com',
    type: DnsType.TXT,
    class: DNS_CLASS_IN,
    ttl: 60,
    data: { kind: 'raw', bytes: Buffer.from('\u0005hello') },
  });
  m.authority.push({
    name: 'example.com',
    type: DnsType.SOA,
    class: DNS_CLASS_IN,
    ttl: 30,
    data: {
      kind: 'soa',
      soa: { mname: 'ns.example.com', rname: 'hostmaster.example.com', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 },
    },
  });
  m.additional.push({
    name: '34.216.184.93.in-addr.arpa',
    type: DnsType.PTR,
    class: DNS_CLASS_IN,
    ttl: 5,
    data: { kind: 'name', target: 'web.example.com' },
  });
  m.edns = { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000, options: Uint8Array.of(0, 10, 0, 2, 0xaa, 0xbb) };
  return emitDnsMessage(m);
}

describe('dns message codec', () => {
  it('round-trips every decoded record kind, EDNS0 and the header flags', () => {
    const b = sampleAnswer();
    const m = parsed(b);
    expect(m).toMatchObject({ id: 0x1234, response: true, recursionDesired: true, recursionAvailable: true, rcode: 0 });
    expect(m.questions).toEqual([{ name: 'www.Example.com', type: DnsType.A, class: 1 }]);
    expect(m.answers.map((r) => r.type)).toEqual([DnsType.CNAME, DnsType.A, DnsType.AAAA, DnsType.MX, DnsType.TXT]);
    const a = m.answers[1]!.data;
    expect(a.kind === 'address' && [...a.bytes]).toEqual([93, 184, 216, 34]);
    // compression matches suffixes case-insensitively: the spelling first written is the one read back
    expect(m.answers[3]!.data).toEqual({ kind: 'mx', preference: 10, exchange: 'mail.Example.com' });
    expect(m.authority[0]!.data.kind).toBe('soa');
    expect(m.additional).toHaveLength(1);
    expect(m.edns).toMatchObject({ udpSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000 });
    expect([...m.edns!.options]).toEqual([0, 10, 0, 2, 0xaa, 0xbb]);
    expect(emitDnsMessage(m).equals(b)).toBe(true);
  });

  it('compresses names: a repeated suffix is a two-byte pointer, case-insensitively', () => {
    const b = sampleAnswer();
    // "example.com" appears many times but is spelled out once
    expect(b.toString('latin1').match(/example/gi)).toHaveLength(1);
    const plain = emptyMessage(1);
    plain.questions.push({ name: 'a.b.c', type: 1, class: 1 });
    expect(emitDnsMessage(plain).length).toBe(12 + 7 + 4);
  });

  it('reads pointers only backwards: a loop, a forward pointer and a pointer to itself are errors', () => {
    const q = buildQuery(1, 'x.example', DnsType.A, false);
    const self = Buffer.from(q);
    self.writeUInt16BE(0xc000 | 12, 12);
    expect(parseDnsMessage(self)).toBe(DnsParseError.BadPointer);
    const fwd = Buffer.from(q);
    fwd.writeUInt16BE(0xc000 | 20, 12);
    expect(parseDnsMessage(fwd)).toBe(DnsParseError.BadPointer);
    const ext = Buffer.from(q);
    ext[12] = 0x40; // the reserved label type
    expect(parseDnsMessage(ext)).toBe(DnsParseError.BadName);
  });

  it('refuses names longer than 255 bytes, and escapes dots inside labels', () => {
    expect(nameLabels('a'.repeat(64))).toBeNull();
    expect(nameLabels(Array(130).fill('a').join('.'))).toBeNull();
    expect(nameLabels('a\\.b.c')).toEqual(['a.b', 'c']);
    const m = emptyMessage(9);
    m.questions.push({ name: 'a\\.b.c', type: 1, class: 1 });
    expect(parsed(emitDnsMessage(m)).questions[0]!.name).toBe('a\\.b.c');
  });

  it('truncates to a size limit with TC set, keeping the question and OPT', () => {
    const m = parsed(sampleAnswer());
    for (let i = 0; i < 60; i++)
      m.answers.push({
        name: `n${i}.example.com`,
        type: 1,
        class: 1,
        ttl: 1,
        data: { kind: 'address', bytes: Uint8Array.of(10, 0, 0, i) },
      });
    const small = emitDnsMessage(m, 512);
    expect(small.length).toBeLessThanOrEqual(512);
    const back = parsed(small);
    expect(back.truncated).toBe(true);
    expect(back.questions).toHaveLength(1);
    expect(back.edns).not.toBeNull();
    expect(back.answers.length).toBeLessThan(m.answers.length);
  });

  it('reads the question of a message whose records are broken', () => {
    const q = buildQuery(77, 'host.example', DnsType.AAAA);
    const broken = Buffer.concat([q.subarray(0, q.length - 3)]);
    expect(parseDnsMessage(broken)).toBe(DnsParseError.Truncated);
    expect(parseQuestionOnly(broken)).toMatchObject({ id: 77, question: { name: 'host.example', type: DnsType.AAAA } });
    expect(Rcode.FORMERR).toBe(1);
  });

  it('never throws on 100k random and mutated inputs; what parses emits again and re-parses the same', () => {
    const rnd = new SeededRandom(15);
    const seeds = [sampleAnswer(), buildQuery(1, 'alpha.checks.ztnc', DnsType.A), buildQuery(2, '1.0.0.10.in-addr.arpa', DnsType.PTR)];
    let parsedCount = 0;
    for (let i = 0; i < 100_000; i++) {
      let b: Buffer;
      if (i % 4 === 0) {
        b = rnd.bytes(rnd.u32() % 80);
      } else {
        b = Buffer.from(seeds[i % seeds.length]!);
        const flips = 1 + (rnd.u32() % 4);
        for (let f = 0; f < flips; f++) b[rnd.u32() % b.length] = rnd.u32() & 0xff;
        if (i % 7 === 0) b = b.subarray(0, rnd.u32() % b.length);
      }
      let m: DnsMessage | number;
      try {
        m = parseDnsMessage(b);
        parseQuestionOnly(b);
      } catch (e) {
        throw new Error(`parse threw on ${b.toString('hex')}`, { cause: e });
      }
      if (typeof m === 'number') continue;
      parsedCount++;
      const again = emitDnsMessage(m);
      const m2 = parseDnsMessage(again);
      expect(typeof m2).toBe('object');
    }
    expect(parsedCount).toBeGreaterThan(1000);
  });
});
