/**
 * Datagram sockets across two daemons on a private network (src/demo/cluster.ts): records from a
 * socket in container B reach a socket in container A through both stacks and the ZeroTier path,
 * with B's address as the source, in both directions and at every size up to a fragmented 8,000
 * bytes; a socket in A that joined a multicast group (IP_ADD_MEMBERSHIP) hears B's datagrams to
 * it; a connected socket hears of a closed port as ECONNREFUSED; a ping socket in B pings A;
 * a DNS query sent to 127.0.0.53:53 (as a program that read the host's resolv.conf would) is
 * answered by the daemon's resolver with the network's member names.
 * The sockets are opened over each daemon's RPC socket as the library would.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { closeFd } from '../../src/native/binding.js';
import { DgramType } from '../../src/netcon/protocol.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { Errno } from '../../src/netstack/errno.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import {
  type AppDgram,
  dgramSocket,
  expectRecord,
  IPPROTO_ICMP,
  nextRecord,
  setOpt,
  SOCK_DGRAM,
  sendDatagram,
  udpSocket,
} from './dgram-client.js';
import { RpcClient } from './rpc-client.js';

/** A DNS query for `name`, type A, with `id`. */
function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

describe.runIf(requireOrSkip(needPrograms('make', 'cc'), 'datagrams across two daemons'))('datagram sockets across two daemons', () => {
  let cluster: Cluster;
  let a: Container;
  let b: Container;
  let aIp: number;
  let bIp: number;
  const clients: RpcClient[] = [];
  const fds: number[] = [];

  async function client(c: Container): Promise<RpcClient> {
    const r = await RpcClient.connect(join(c.home, 'sockets', `${c.nwid}.sock`));
    clients.push(r);
    return r;
  }

  async function udp(c: RpcClient): Promise<AppDgram> {
    const s = await udpSocket(c);
    fds.push(s.fd);
    return s;
  }

  beforeAll(async () => {
    interceptLibrary();
    cluster = new Cluster({ binDir: await programBinDir() });
    await cluster.startRoot();
    const nwid = await cluster.createNetwork({ name: 'dgram-test' });
    a = await cluster.addContainer('dgram-a', nwid);
    b = await cluster.addContainer('dgram-b', nwid);
    aIp = parseIpv4(a.ip)!;
    bIp = parseIpv4(b.ip)!;
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const fd of fds) closeFd(fd);
    await cluster?.stop();
  });

  it('carries datagrams both ways with the right source, fragmented ones included', async () => {
    const ca = await client(a);
    const cb = await client(b);
    const sa = await udp(ca);
    const sb = await udp(cb);
    expect(await ca.bind(sa.ino, 0, 7000)).toBe(0);
    // the first datagram may wait for ARP: send until one arrives
    let first = null;
    for (let i = 0; i < 20 && first === null; i++) {
      sendDatagram(sb.fd, Buffer.from('hello'), { addr: aIp, port: 7000 });
      first = await nextRecord(sa.fd, 500);
    }
    expect(first?.payload.toString()).toBe('hello');
    while ((await nextRecord(sa.fd, 300)) !== null);
    for (const n of [0, 1, 7, 512, 1400, 2800, 8000]) {
      const d = randomBytes(n);
      sendDatagram(sb.fd, d, { addr: aIp, port: 7000 });
      const r = await expectRecord(sa.fd, 5000);
      expect(r.header.addr).toBe(bIp);
      expect(r.header.local).toBe(aIp);
      expect(r.payload.equals(d)).toBe(true);
      sendDatagram(sa.fd, r.payload, { addr: r.header.addr, port: r.header.port });
      const back = await expectRecord(sb.fd, 5000);
      expect([back.header.addr, back.header.port]).toEqual([aIp, 7000]);
      expect(back.payload.equals(d)).toBe(true);
    }
  }, 60_000);

  it('delivers multicast to a socket in the other container that joined the group', async () => {
    const ca = await client(a);
    const cb = await client(b);
    const sa = await udp(ca);
    const sb = await udp(cb);
    const group = 0xe0010203; // 224.1.2.3
    expect(await ca.bind(sa.ino, 0, 7100)).toBe(0);
    const mreq = Buffer.alloc(8);
    mreq.writeUInt32BE(group, 0);
    expect(await setOpt(ca, sa.ino, 0 /* IPPROTO_IP */, 35 /* IP_ADD_MEMBERSHIP */, mreq)).toBe(0);
    // the network learns of the subscription: send until one arrives
    let got = null;
    for (let i = 0; i < 40 && got === null; i++) {
      sendDatagram(sb.fd, Buffer.from('to the group'), { addr: group, port: 7100 });
      got = await nextRecord(sa.fd, 250);
    }
    expect(got?.payload.toString()).toBe('to the group');
    expect(got?.header.addr).toBe(bIp);
    expect(got?.header.local).toBe(group);
  }, 30_000);

  it('reports a closed port on the other daemon to a connected socket as ECONNREFUSED', async () => {
    const cb = await client(b);
    const s = await udp(cb);
    expect(await cb.connectTo(s.ino, aIp, 7999)).toBe(0);
    sendDatagram(s.fd, Buffer.from('anyone?'), null);
    const r = await expectRecord(s.fd, 5000);
    expect(r.header.type).toBe(DgramType.ERROR);
    expect(r.header.err).toBe(Errno.ECONNREFUSED);
    expect(r.header.addr).toBe(aIp);
    expect(r.header.port).toBe((3 << 8) | 3);
  }, 30_000);

  it('pings the other container from a ping socket', async () => {
    const cb = await client(b);
    const s = await dgramSocket(cb, SOCK_DGRAM, IPPROTO_ICMP);
    if (typeof s === 'number') throw new Error(`SOCKET: ${s}`);
    fds.push(s.fd);
    const echo = Buffer.alloc(16);
    echo[0] = 8;
    echo.writeUInt16BE(1, 6);
    sendDatagram(s.fd, echo, { addr: aIp, port: 0 });
    const r = await expectRecord(s.fd, 5000);
    expect(r.header.addr).toBe(aIp);
    expect(r.payload[0]).toBe(0);
    expect(r.payload.readUInt16BE(6)).toBe(1);
  }, 30_000);

  it("answers a query sent to 127.0.0.53:53 from the daemon's resolver, with the network's member names", async () => {
    const root = cluster.root!;
    await root.apiOk('POST', `/controller/network/${a.nwid}`, { dns: { domain: 'dgram.ztnc', servers: [] } });
    await root.apiOk('POST', `/controller/network/${a.nwid}/member/${a.daemon.address}`, { name: 'alpha' });
    const cb = await client(b);
    const s = await udp(cb);
    const stub = parseIpv4('127.0.0.53')!;
    let found: number | null = null;
    for (let i = 0; i < 40 && found === null; i++) {
      sendDatagram(s.fd, dnsQuery(0x1234 + i, 'alpha.dgram.ztnc'), { addr: stub, port: 53 });
      const r = await expectRecord(s.fd, 5000);
      expect([r.header.addr, r.header.port]).toEqual([stub, 53]);
      expect(r.payload.readUInt16BE(0)).toBe(0x1234 + i);
      expect(r.payload[2]! & 0x80).toBe(0x80); // a response
      if (r.payload.readUInt16BE(6) > 0) found = r.payload.readUInt32BE(r.payload.length - 4);
      else await new Promise((res) => setTimeout(res, 500));
    }
    expect(found).toBe(aIp);
  }, 60_000);
});
