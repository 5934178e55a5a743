/**
 * Datagram records through the daemon (src/netcon/datagram-socket.ts): boundaries kept both
 * ways, the source and local address on every record, connected sends, malformed records and a
 * full app end as counted drops (never a crash, never queued without bound), ICMP errors as
 * ERROR records.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DGF, DgramType, Op } from '../../src/netcon/protocol.js';
import { Errno } from '../../src/netstack/errno.js';
import {
  dataRecord,
  drainRecords,
  sendAll,
  expectRecord,
  dgramSuite,
  nextRecord,
  sendDatagram,
  sendRaw,
  setOpt,
  STACK,
} from './dgram-client.js';
import { waitFor } from './harness.js';

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const IPPROTO_IP = 0;
const IP_PKTINFO = 8;
const IP_RECVTTL = 12;

describe('datagram records', () => {
  const t = dgramSuite('ztnc-dgram-records-');

  async function boundPair(portA: number, portB: number) {
    const c = await t.client();
    const a = await t.udp(c);
    const b = await t.udp(c);
    expect(await c.bind(a.ino, 0, portA)).toBe(0);
    expect(await c.bind(b.ino, 0, portB)).toBe(0);
    return { c, a, b };
  }

  it('carries datagrams whole, with the source, the local address and the TTL, zero-length ones included', async () => {
    const { a, b } = await boundPair(5000, 5001);
    const sizes = [0, 1, 64, 1400, 9000, 65507];
    const sent = sizes.map((n) => randomBytes(n));
    for (const p of sent) sendDatagram(a.fd, p, { addr: STACK, port: 5001 });
    for (const p of sent) {
      const r = await expectRecord(b.fd);
      expect(r.header.type).toBe(DgramType.DATA);
      expect(r.header.addr).toBe(STACK);
      expect(r.header.port).toBe(5000);
      expect(r.header.local).toBe(STACK);
      expect(r.header.ttl).toBe(64);
      expect(r.payload.equals(p)).toBe(true);
    }
    expect(t.server.counters.datagramsFromApps).toBeGreaterThanOrEqual(sizes.length);
    expect(t.server.counters.datagramsToApps).toBeGreaterThanOrEqual(sizes.length);
  });

  it('sends to the connected peer when the record names no destination, and answers back', async () => {
    const { c, a, b } = await boundPair(5010, 5011);
    expect(await c.connectTo(a.ino, STACK, 5011)).toBe(0);
    sendDatagram(a.fd, Buffer.from('ping'), null);
    const r = await expectRecord(b.fd);
    expect(r.payload.toString()).toBe('ping');
    sendDatagram(b.fd, Buffer.from('pong'), { addr: r.header.addr, port: r.header.port });
    expect((await expectRecord(a.fd)).payload.toString()).toBe('pong');
    // a connected socket takes datagrams from its peer only
    const other = await t.udp(c);
    sendDatagram(other.fd, Buffer.from('stray'), { addr: STACK, port: 5010 });
    expect(await nextRecord(a.fd, 300)).toBeNull();
  });

  it('flags the control messages the app asked for on each record', async () => {
    const { c, a, b } = await boundPair(5020, 5021);
    expect(await setOpt(c, b.ino, IPPROTO_IP, IP_PKTINFO, 1)).toBe(0);
    expect(await setOpt(c, b.ino, IPPROTO_IP, IP_RECVTTL, 1)).toBe(0);
    sendDatagram(a.fd, Buffer.from('x'), { addr: STACK, port: 5021 });
    expect((await expectRecord(b.fd)).header.flags).toBe(DGF.PKTINFO | DGF.RECVTTL);
    expect(await setOpt(c, b.ino, IPPROTO_IP, IP_PKTINFO, 0)).toBe(0);
    sendDatagram(a.fd, Buffer.from('y'), { addr: STACK, port: 5021 });
    expect((await expectRecord(b.fd)).header.flags).toBe(DGF.RECVTTL);
  });

  it('drops and counts malformed records, and goes on serving the socket', async () => {
    const { a, b } = await boundPair(5030, 5031);
    const before = t.server.counters.get('dgramDrop.malformed');
    sendRaw(a.fd, Buffer.from([1, 2, 3, 4, 5])); // shorter than a header
    const unknownType = Buffer.alloc(20);
    unknownType[0] = 9;
    sendRaw(a.fd, unknownType);
    const errorFromApp = Buffer.alloc(16);
    errorFromApp[0] = DgramType.ERROR; // only the daemon sends those
    sendRaw(a.fd, errorFromApp);
    for (let i = 0; i < 50; i++) sendRaw(a.fd, randomBytes(1 + (i % 15)));
    sendDatagram(a.fd, Buffer.from('still here'), { addr: STACK, port: 5031 });
    expect((await expectRecord(b.fd)).payload.toString()).toBe('still here');
    expect(t.server.counters.get('dgramDrop.malformed') - before).toBe(53);
  });

  it('counts a datagram the stack refuses on an unconnected socket, and reports it as a record on a connected one', async () => {
    const { c, a } = await boundPair(5040, 5041);
    const before = t.server.counters.get('dgramDrop.send.ENETUNREACH');
    sendDatagram(a.fd, Buffer.from('nowhere'), { addr: 0x08080808, port: 9 });
    await waitFor(() => t.server.counters.get('dgramDrop.send.ENETUNREACH') > before, 3000, 'the drop to be counted');
    expect(await nextRecord(a.fd, 200)).toBeNull();
    // broadcast without SO_BROADCAST: EACCES, on a connected socket as the next call's error
    expect(await setOpt(c, a.ino, SOL_SOCKET, 6 /* SO_BROADCAST */, 1)).toBe(0);
    expect(await c.connectTo(a.ino, 0x0a9311ff, 5041)).toBe(0);
    expect(await setOpt(c, a.ino, SOL_SOCKET, 6, 0)).toBe(0);
    sendDatagram(a.fd, Buffer.from('to all'), null);
    const r = await expectRecord(a.fd);
    expect(r.header.type).toBe(DgramType.ERROR);
    expect(r.header.err).toBe(Errno.EACCES);
  });

  it('drops what does not fit in the app end (its SO_RCVBUF) and counts it, without queueing', async () => {
    const { c, a, b } = await boundPair(5050, 5051);
    expect(await setOpt(c, b.ino, SOL_SOCKET, SO_RCVBUF, 4096)).toBe(0);
    const before = t.server.counters.get('dgramDrop.appFull');
    const n = 300;
    const records = [];
    for (let i = 0; i < n; i++) {
      const p = Buffer.alloc(1000);
      p.writeUInt32BE(i, 0);
      records.push(dataRecord(p, { addr: STACK, port: 5051 }));
    }
    await sendAll(a.fd, records);
    await waitFor(() => t.server.counters.get('dgramDrop.appFull') > before, 5000, 'drops at the full app end');
    const got = await drainRecords(b.fd);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(n);
    // what arrived is in order and whole
    const seq = got.map((r) => r.payload.readUInt32BE(0));
    expect([...seq].sort((x, y) => x - y)).toEqual(seq);
    // room again: the next datagram arrives
    sendDatagram(a.fd, Buffer.from('after'), { addr: STACK, port: 5051 });
    expect((await expectRecord(b.fd)).payload.toString()).toBe('after');
  });

  it('delivers an ICMP port unreachable to a connected socket as an ECONNREFUSED record', async () => {
    const c = await t.client();
    const a = await t.udp(c);
    expect(await c.connectTo(a.ino, STACK, 5999)).toBe(0);
    sendDatagram(a.fd, Buffer.from('anyone?'), null);
    const r = await expectRecord(a.fd);
    expect(r.header.type).toBe(DgramType.ERROR);
    expect(r.header.err).toBe(Errno.ECONNREFUSED);
    // the error went to the app once: the stack holds no copy that would fail the next send
    expect((await c.call(Op.GETSOCKOPT, a.ino, Buffer.from([1, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0]))).payload.readInt32LE(0)).toBe(0);
  });
});
