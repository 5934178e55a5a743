/**
 * The DNS redirect of SPEC §3 in the daemon's UDP path: datagrams to port 53 of an address the
 * injected predicate names go to the resolver (answerDns) and its answer comes back as a datagram
 * from that address, port 53 — by sendto and on a socket connected there; other ports and the
 * stack's own addresses are left alone; no answer is a counted drop.
 */
import { describe, expect, it } from 'vitest';
import { Op } from '../../src/netcon/protocol.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { dgramSuite, expectRecord, nextRecord, sendDatagram, STACK } from './dgram-client.js';
import { waitFor } from './harness.js';

const RESOLVER = parseIpv4('127.0.0.53')!;
const HOST_NS = parseIpv4('192.0.2.53')!;
const queries: Buffer[] = [];

describe('DNS redirect', () => {
  const t = dgramSuite('ztnc-dgram-dns-', {
    dnsRedirect: (dst) => dst === RESOLVER || dst === HOST_NS || dst === STACK,
    answerDns: async (q) => {
      queries.push(q);
      if (q.toString() === 'unanswerable') return null;
      return Buffer.concat([Buffer.from('answer:'), q]);
    },
  });

  it('answers a query sent to a resolver address as a datagram from it', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    sendDatagram(s.fd, Buffer.from('q1'), { addr: RESOLVER, port: 53 });
    const r = await expectRecord(s.fd);
    expect(r.header.addr).toBe(RESOLVER);
    expect(r.header.port).toBe(53);
    expect(r.payload.toString()).toBe('answer:q1');
    // sending bound the socket, as a real send would
    expect((await c.name(s.ino)).port).toBeGreaterThan(0);
  });

  it('lets a socket connect to the resolver and talk to it with plain sends', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    expect(await c.connectTo(s.ino, HOST_NS, 53)).toBe(0);
    const p = await c.nameOf(Op.GETPEERNAME, s.ino);
    expect([p.addr, p.port]).toEqual([HOST_NS, 53]);
    expect((await c.name(s.ino)).addr).toBe(STACK);
    sendDatagram(s.fd, Buffer.from('q2'), null);
    const r = await expectRecord(s.fd);
    expect([r.header.addr, r.header.port]).toEqual([HOST_NS, 53]);
    expect(r.payload.toString()).toBe('answer:q2');
  });

  it('leaves other ports and the stack’s own addresses to the network, and counts unanswered queries', async () => {
    const c = await t.client();
    const s = await t.udp(c);
    const n = queries.length;
    const before = t.server.counters.get('dgramDrop.send.ENETUNREACH');
    sendDatagram(s.fd, Buffer.from('not dns'), { addr: HOST_NS, port: 54 });
    await waitFor(() => t.server.counters.get('dgramDrop.send.ENETUNREACH') > before, 3000, 'the datagram to go to the stack');
    // a DNS server in this container: the stack's own address is never redirected
    const server = await t.udp(c);
    expect(await c.bind(server.ino, 0, 53)).toBe(0);
    sendDatagram(s.fd, Buffer.from('local'), { addr: STACK, port: 53 });
    expect((await expectRecord(server.fd)).payload.toString()).toBe('local');
    expect(queries.length).toBe(n);
    const dropped = t.server.counters.get('dgramDrop.dnsUnanswered');
    sendDatagram(s.fd, Buffer.from('unanswerable'), { addr: RESOLVER, port: 53 });
    await waitFor(() => t.server.counters.get('dgramDrop.dnsUnanswered') > dropped, 3000, 'the unanswered query to be counted');
    expect(await nextRecord(s.fd, 100)).toBeNull();
  });
});
