import { describe, expect, it } from 'vitest';
import {
  buildQuery,
  DnsType,
  emitDnsMessage,
  emptyMessage,
  NAME_EAGAIN,
  NAME_ENODATA,
  NAME_ENOENT,
  parseDnsMessage,
  Rcode,
  Resolver,
  stackTransport,
  TOTAL_MS,
  MAX_IN_FLIGHT,
  type DnsMessage,
  type ResolverConfig,
  type DnsTransport,
} from '../../src/dns/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { simStackPair, SIM_ADDR_A, SIM_ADDR_B } from '../../src/netstack/sim-link.js';
import type { SimSegment } from '../../src/netstack/sim-link.js';
import { parseIpv6, parseIpv6Addr, type IpAddr, type UdpSocket } from '../../src/netstack/index.js';

const v4 = (...b: number[]): { family: 4; bytes: Uint8Array } => ({ family: 4, bytes: Uint8Array.from(b) });

/** Runs virtual time forward while a promise is pending (promises need real microtask turns). */
async function settle<T>(seg: SimSegment, p: Promise<T>, limitMs = 20_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  void p.then((v) => {
    done = true;
    value = v;
  });
  for (let t = 0; !done && t <= limitMs; t += 10) {
    await new Promise((r) => setImmediate(r));
    if (!done) seg.sched.advance(10);
  }
  await new Promise((r) => setImmediate(r));
  if (!done) throw new Error('did not settle');
  return value as T;
}

type Handler = (q: DnsMessage) => DnsMessage | null;

/** A DNS server on stack b, port 53: answers with `handler`, counting questions. */
function fakeServer(seg: SimSegment, handler: Handler): { asked: DnsMessage[]; sock: UdpSocket } {
  const sock = seg.stacks[1]!.udpSocket();
  expect(sock.bind(SIM_ADDR_B, 53)).toBe(0);
  const asked: DnsMessage[] = [];
  sock.handlers.onReadable = () => {
    for (let d = sock.recv(); d !== null; d = sock.recv()) {
      const q = parseDnsMessage(d.data);
      if (typeof q === 'number') continue;
      asked.push(q);
      const a = handler(q);
      if (a) sock.sendTo(emitDnsMessage(a), d.from);
    }
  };
  return { asked, sock };
}

function reply(q: DnsMessage, rcode: number, records: Array<[number, Uint8Array]> = [], ttl = 60): DnsMessage {
  const m = emptyMessage(q.id);
  m.response = true;
  m.recursionAvailable = true;
  m.rcode = rcode;
  m.questions = q.questions;
  const name = q.questions[0]!.name;
  for (const [type, bytes] of records) m.answers.push({ name, type, class: 1, ttl, data: { kind: 'address', bytes } });
  if (records.length === 0)
    m.authority.push({
      name: 'example',
      type: DnsType.SOA,
      class: 1,
      ttl: 30,
      data: { kind: 'soa', soa: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30 } },
    });
  return m;
}

function setup(cfg: Partial<ResolverConfig> = {}, host: DnsTransport | null = null) {
  const seg = simStackPair();
  const config: ResolverConfig = {
    domain: 'checks.ztnc',
    servers: [],
    names: [
      { name: 'alpha', addrs: [v4(10, 0, 0, 2)] },
      { name: 'beta', addrs: [v4(10, 0, 0, 1), { family: 6, bytes: new Uint8Array(16).fill(0xfd) }] },
    ],
    serial: 1,
    ...cfg,
  };
  const resolver = new Resolver({
    scheduler: seg.sched,
    random: new SeededRandom(3),
    config: () => config,
    network: stackTransport(seg.stacks[0]!),
    host: host ? { transport: host, servers: () => [v4(192, 0, 2, 53)] } : null,
  });
  return { seg, resolver, config };
}

describe('resolver: the network zone', () => {
  it('resolves member names case-insensitively, by family, with NXDOMAIN vs NODATA right', async () => {
    const { resolver } = setup();
    expect(await resolver.resolve('ALPHA.Checks.ztnc.', 2)).toEqual({ canonical: 'alpha.checks.ztnc', addrs: [v4(10, 0, 0, 2)] });
    expect(await resolver.resolve('alpha.checks.ztnc', 10)).toEqual({ errno: NAME_ENODATA });
    expect(await resolver.resolve('beta.checks.ztnc', 0)).toMatchObject({ addrs: [{ family: 4 }, { family: 6 }] });
    expect(await resolver.resolve('gamma.checks.ztnc', 0)).toEqual({ errno: NAME_ENOENT });
    expect(await resolver.reverse(4, Uint8Array.of(10, 0, 0, 2))).toEqual({ name: 'alpha.checks.ztnc' });
  });

  it('finds a bare member name under the domain, as a search domain would', async () => {
    const { resolver } = setup();
    expect(await resolver.resolve('Alpha', 2)).toEqual({ canonical: 'alpha.checks.ztnc', addrs: [v4(10, 0, 0, 2)] });
    expect(await resolver.resolve('gamma', 2)).toEqual({ errno: NAME_ENOENT });
  });

  it('answers DNS messages from the zone: A, AAAA NODATA with SOA, NXDOMAIN with SOA, PTR', async () => {
    const { resolver } = setup();
    const ask = async (name: string, type: number): Promise<DnsMessage> => {
      const a = await resolver.answer(buildQuery(4242, name, type));
      const m = parseDnsMessage(a!);
      if (typeof m === 'number') throw new Error('bad answer');
      return m;
    };
    const a = await ask('Alpha.checks.ztnc', DnsType.A);
    expect(a).toMatchObject({ id: 4242, response: true, authoritative: true, rcode: Rcode.NOERROR });
    expect(a.questions[0]!.name).toBe('Alpha.checks.ztnc');
    expect(a.answers).toHaveLength(1);
    expect(a.edns).not.toBeNull();
    const nodata = await ask('alpha.checks.ztnc', DnsType.AAAA);
    expect(nodata.rcode).toBe(Rcode.NOERROR);
    expect(nodata.answers).toHaveLength(0);
    expect(nodata.authority[0]!.type).toBe(DnsType.SOA);
    const nx = await ask('nobody.checks.ztnc', DnsType.A);
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    expect(nx.authority[0]!.type).toBe(DnsType.SOA);
    const ptr = await ask('2.0.0.10.in-addr.arpa', DnsType.PTR);
    expect(ptr.answers[0]!.data).toEqual({ kind: 'name', target: 'alpha.checks.ztnc' });
  });

  it('answers FORMERR to a readable header with broken records, and drops what is no query', async () => {
    const { resolver } = setup();
    const q = buildQuery(99, 'alpha.checks.ztnc', DnsType.A);
    const broken = q.subarray(0, q.length - 2);
    const a = parseDnsMessage((await resolver.answer(Buffer.from(broken)))!);
    expect(a).toMatchObject({ id: 99, rcode: Rcode.FORMERR, response: true });
    expect(await resolver.answer(Buffer.alloc(5))).toBeNull();
    const resp = Buffer.from(q);
    resp[2]! |= 0x80;
    expect(await resolver.answer(resp)).toBeNull();
  });

  it('without servers and without the host allowed: other names are ENOENT / NXDOMAIN at once, nothing sent', async () => {
    const { resolver, seg } = setup();
    const sent = seg.frames.length;
    expect(await resolver.resolve('example.com', 0)).toEqual({ errno: NAME_ENOENT });
    expect(await resolver.reverse(4, Uint8Array.of(8, 8, 8, 8))).toEqual({ errno: NAME_ENOENT });
    const m = parseDnsMessage((await resolver.answer(buildQuery(5, 'example.com', DnsType.A)))!);
    expect(m).toMatchObject({ rcode: Rcode.NXDOMAIN });
    expect(seg.frames.length).toBe(sent);
  });
});

describe('resolver: forwarding over the virtual network', () => {
  it("asks the network's server from the member's address, and caches the answer for its TTL", async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 2)] });
    const server = fakeServer(seg, (q) => reply(q, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(93, 184, 216, 34)]], 60));
    const sources: number[] = [];
    const orig = server.sock.handlers.onReadable!;
    server.sock.handlers.onReadable = () => {
      // peek at where the questions come from before the server answers
      const inner = server.sock.recv.bind(server.sock);
      server.sock.recv = () => {
        const d = inner();
        if (d) sources.push(d.from.addr as number);
        return d;
      };
      orig();
      server.sock.recv = inner;
    };
    const r = await settle(seg, resolver.resolve('www.example.com', 2));
    expect(r).toEqual({ canonical: 'www.example.com', addrs: [v4(93, 184, 216, 34)] });
    expect(sources).toEqual([SIM_ADDR_A]);
    expect(server.asked).toHaveLength(1);
    // cached: no second question within the TTL…
    expect(await settle(seg, resolver.resolve('WWW.example.com', 2))).toMatchObject({ addrs: [v4(93, 184, 216, 34)] });
    expect(server.asked).toHaveLength(1);
    expect(resolver.counters.cacheHits).toBe(1);
    // …and a new one after it
    seg.sched.advance(61_000);
    await settle(seg, resolver.resolve('www.example.com', 2));
    expect(server.asked).toHaveLength(2);
  });

  it("asks the network's IPv6 server over IPv6, from the member's IPv6 address", async () => {
    const A6 = parseIpv6Addr('fd00:99::a')!;
    const B6 = parseIpv6Addr('fd00:99::b')!;
    const { seg, resolver } = setup({ servers: [{ family: 6, bytes: Uint8Array.from(parseIpv6('fd00:99::b')!) }] });
    seg.stacks[0]!.addAddress(A6, 64);
    seg.stacks[1]!.addAddress(B6, 64);
    const sock = seg.stacks[1]!.udpSocket(6);
    expect(sock.bind(B6, 53)).toBe(0);
    const sources: IpAddr[] = [];
    sock.handlers.onReadable = () => {
      for (let d = sock.recv(); d !== null; d = sock.recv()) {
        sources.push(d.from.addr);
        const q = parseDnsMessage(d.data) as DnsMessage;
        sock.sendTo(emitDnsMessage(reply(q, Rcode.NOERROR, [[DnsType.AAAA, Uint8Array.from(parseIpv6('2001:db8::1')!)]])), d.from);
      }
    };
    const r = await settle(seg, resolver.resolve('www.example.com', 10));
    expect(r).toEqual({ canonical: 'www.example.com', addrs: [{ family: 6, bytes: Uint8Array.from(parseIpv6('2001:db8::1')!) }] });
    expect(sources).toEqual([A6]);
  });

  it('passes a DNS query through with the client id, and answers NXDOMAIN / NODATA as the server said', async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 2)] });
    fakeServer(seg, (q) => reply(q, q.questions[0]!.name.startsWith('nx') ? Rcode.NXDOMAIN : Rcode.NOERROR));
    const a = parseDnsMessage((await settle(seg, resolver.answer(buildQuery(0xbeef, 'www.example.com', DnsType.MX))))!);
    expect(a).toMatchObject({ id: 0xbeef, rcode: Rcode.NOERROR, response: true });
    expect(await settle(seg, resolver.resolve('nx.example.com', 0))).toEqual({ errno: NAME_ENOENT });
    expect(await settle(seg, resolver.resolve('empty.example.com', 0))).toEqual({ errno: NAME_ENODATA });
  });

  it('ignores answers with the wrong id or question, retries, and gives up with EAGAIN / SERVFAIL after 5 s', async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 2)] });
    const server = fakeServer(seg, (q) => {
      const wrong = reply(q, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(6, 6, 6, 6)]]);
      wrong.id = (q.id + 1) & 0xffff;
      return wrong;
    });
    const t0 = seg.sched.now();
    expect(await settle(seg, resolver.resolve('www.example.com', 2))).toEqual({ errno: NAME_EAGAIN });
    const took = seg.sched.now() - t0;
    expect(took).toBeGreaterThanOrEqual(TOTAL_MS);
    expect(took).toBeLessThanOrEqual(TOTAL_MS + 20);
    expect(server.asked.length).toBeGreaterThanOrEqual(4);
    expect(resolver.forwarder.counters.answersDropped).toBe(server.asked.length);
    server.sock.close();
    const m = parseDnsMessage((await settle(seg, resolver.answer(buildQuery(7, 'www.example.com', DnsType.A))))!);
    expect(m).toMatchObject({ id: 7, rcode: Rcode.SERVFAIL });
  });

  it('moves on to the next server when one does not answer, and at once after a SERVFAIL', async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 9), v4(10, 0, 0, 2)] });
    const server = fakeServer(seg, (q) => reply(q, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(1, 2, 3, 4)]]));
    expect(await settle(seg, resolver.resolve('www.example.com', 2))).toMatchObject({ addrs: [v4(1, 2, 3, 4)] });
    expect(server.asked).toHaveLength(1);
    const t0 = seg.sched.now();
    server.sock.close();
    const failing = setup({ servers: [v4(10, 0, 0, 2), v4(10, 0, 0, 1)] });
    fakeServer(failing.seg, (q) => reply(q, Rcode.SERVFAIL));
    // the second server is a itself (10.0.0.1): nobody listens there, so only the SERVFAIL comes back
    expect(await settle(failing.seg, failing.resolver.resolve('www.example.com', 2))).toEqual({ errno: NAME_EAGAIN });
    expect(failing.resolver.forwarder.counters.queriesSent).toBeGreaterThanOrEqual(2);
    expect(seg.sched.now()).toBeGreaterThanOrEqual(t0);
  });

  it('answers EAGAIN at once when no server can be reached over the network (IPv6 servers on an IPv4 stack)', async () => {
    const { seg, resolver } = setup({ servers: [{ family: 6, bytes: new Uint8Array(16).fill(0xfd) }] });
    const t0 = seg.sched.now();
    expect(await settle(seg, resolver.resolve('www.example.com', 2))).toEqual({ errno: NAME_EAGAIN });
    expect(seg.sched.now() - t0).toBeLessThan(TOTAL_MS);
  });

  it("uses the host's resolvers only when given them, and only when the network has no servers", async () => {
    const opened: string[] = [];
    const host: DnsTransport = {
      open: (server, onDatagram) => ({
        send: (q) => {
          opened.push(Array.from(server.bytes).join('.'));
          const m = parseDnsMessage(q) as DnsMessage;
          queueMicrotask(() => onDatagram(emitDnsMessage(reply(m, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(5, 5, 5, 5)]])), server, 53));
          return true;
        },
        close: () => {},
      }),
    };
    const { seg, resolver } = setup({}, host);
    expect(await settle(seg, resolver.resolve('example.com', 2))).toMatchObject({ addrs: [v4(5, 5, 5, 5)] });
    expect(opened).toEqual(['192.0.2.53']);
    const withServers = setup({ servers: [v4(10, 0, 0, 2)] }, host);
    fakeServer(withServers.seg, (q) => reply(q, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(7, 7, 7, 7)]]));
    expect(await settle(withServers.seg, withServers.resolver.resolve('example.com', 2))).toMatchObject({ addrs: [v4(7, 7, 7, 7)] });
    expect(opened).toHaveLength(1);
  });

  it('takes a new config at the next question (a name added by a push resolves)', async () => {
    const { resolver, config } = setup();
    expect(await resolver.resolve('gamma.checks.ztnc', 2)).toEqual({ errno: NAME_ENOENT });
    config.names.push({ name: 'gamma', addrs: [v4(10, 0, 0, 7)] });
    // the service hands a new config object on every push
    const next = { ...config, names: [...config.names], serial: 2 };
    (resolver as unknown as { opts: { config: () => ResolverConfig } }).opts.config = () => next;
    expect(await resolver.resolve('gamma.checks.ztnc', 2)).toMatchObject({ addrs: [v4(10, 0, 0, 7)] });
  });
});

describe('resolver: counters', () => {
  it('names every figure dns_* for the daemon', async () => {
    const { resolver } = setup();
    await resolver.resolve('alpha.checks.ztnc', 2);
    await resolver.answer(Buffer.alloc(3));
    expect(resolver.countersSnapshot()).toMatchObject({
      dns_zoneAnswers: 1,
      dns_malformedQueries: 1,
      dns_answersDropped: 0,
      dns_cacheEntries: 0,
    });
  });
});

describe('resolver: questions in flight', () => {
  it('asks upstream once for a question many are waiting on, and answers each in its own spelling', async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 2)] });
    const server = fakeServer(seg, (q) => reply(q, Rcode.NOERROR, [[DnsType.A, Uint8Array.of(9, 9, 9, 9)]]));
    const both = Promise.all([
      resolver.resolve('www.example.com', 2),
      resolver.resolve('WWW.example.com', 2),
      resolver.answer(buildQuery(1, 'www.EXAMPLE.com', DnsType.A)),
    ]);
    const [a, b, c] = await settle(seg, both);
    expect(a).toMatchObject({ addrs: [v4(9, 9, 9, 9)] });
    expect(b).toMatchObject({ addrs: [v4(9, 9, 9, 9)] });
    const m = parseDnsMessage(c!) as DnsMessage;
    expect(m.questions[0]!.name).toBe('www.EXAMPLE.com');
    expect(m.answers).toHaveLength(1);
    expect(server.asked).toHaveLength(1);
    expect(resolver.counters.coalesced).toBe(2);
  });

  it('refuses at once (EAGAIN) beyond MAX_IN_FLIGHT questions upstream', async () => {
    const { seg, resolver } = setup({ servers: [v4(10, 0, 0, 2)] });
    fakeServer(seg, () => null);
    const waiting = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => resolver.resolve(`n${i}.example.com`, 2));
    expect(await resolver.resolve('one-more.example.com', 2)).toEqual({ errno: NAME_EAGAIN });
    expect(resolver.counters.overloaded).toBe(1);
    const all = await settle(seg, Promise.all(waiting));
    expect(all.every((r) => 'errno' in r && r.errno === NAME_EAGAIN)).toBe(true);
    // and the sockets are given back: a question after them goes upstream again
    expect(resolver.forwarder.counters.queriesSent).toBeGreaterThanOrEqual(MAX_IN_FLIGHT);
  });
});

describe('resolver: hostile queries', () => {
  it('answers 20k mutated queries with a DNS message or nothing, never throwing', async () => {
    const { resolver } = setup();
    const rnd = new SeededRandom(99);
    const seeds = [
      buildQuery(1, 'alpha.checks.ztnc', DnsType.A),
      buildQuery(2, '2.0.0.10.in-addr.arpa', DnsType.PTR),
      buildQuery(3, 'x.checks.ztnc', DnsType.ANY),
    ];
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(seeds[i % seeds.length]!);
      for (let f = 0; f < 1 + (i % 3); f++) b[rnd.u32() % b.length] = rnd.u32() & 0xff;
      const a = await resolver.answer(i % 5 === 0 ? b.subarray(0, rnd.u32() % b.length) : b);
      if (a === null) continue;
      answered++;
      const m = parseDnsMessage(a);
      expect(typeof m).toBe('object');
      expect((m as DnsMessage).response).toBe(true);
    }
    expect(answered).toBeGreaterThan(10_000);
  });
});
