/**
 * ICMP sockets through the daemon: a ping socket (SOCK_DGRAM, IPPROTO_ICMP) sends echo requests
 * and gets the replies whole from port 0; a raw ICMP socket (SOCK_RAW, IPPROTO_ICMP) sees every
 * ICMP packet with its IP header, as Linux delivers them; WHOIS names each kind.
 */
import { describe, expect, it } from 'vitest';
import { Kind, Op } from '../../src/netcon/protocol.js';
import {
  type AppDgram,
  dgramSocket,
  dgramSuite,
  drainRecords,
  expectRecord,
  IPPROTO_ICMP,
  SOCK_DGRAM,
  SOCK_RAW,
  sendDatagram,
  STACK,
} from './dgram-client.js';
import type { RpcClient } from './rpc-client.js';
import { waitFor } from './harness.js';

function echoRequest(seq: number, data: string): Buffer {
  const b = Buffer.alloc(8 + data.length);
  b[0] = 8;
  b.writeUInt16BE(seq, 6);
  b.write(data, 8);
  return b;
}

describe('ICMP datagram sockets', () => {
  const t = dgramSuite('ztnc-dgram-icmp-');

  async function open(c: RpcClient, type: number): Promise<AppDgram> {
    const s = await dgramSocket(c, type, IPPROTO_ICMP);
    if (typeof s === 'number') throw new Error(`SOCKET: ${s}`);
    t.track(s.fd);
    return s;
  }

  it('pings through a ping socket: the echo id is the socket port, the reply comes whole from port 0', async () => {
    const c = await t.client();
    const ping = await open(c, SOCK_DGRAM);
    expect((await c.call(Op.WHOIS, ping.ino)).result).toBe(Kind.PING);
    expect(await c.bind(ping.ino, 0, 0x4242)).toBe(0);
    expect((await c.name(ping.ino)).port).toBe(0x4242);
    sendDatagram(ping.fd, echoRequest(7, 'hello'), { addr: STACK, port: 0 });
    const r = await expectRecord(ping.fd);
    expect(r.header.addr).toBe(STACK);
    expect(r.header.port).toBe(0);
    expect(r.payload[0]).toBe(0); // echo reply
    expect(r.payload.readUInt16BE(4)).toBe(0x4242);
    expect(r.payload.readUInt16BE(6)).toBe(7);
    expect(r.payload.subarray(8).toString()).toBe('hello');
    // not an echo request: the stack refuses it, a counted drop
    const before = t.server.counters.get('dgramDrop.send.EINVAL');
    sendDatagram(ping.fd, Buffer.from([3, 3, 0, 0]), { addr: STACK, port: 0 });
    await waitFor(() => t.server.counters.get('dgramDrop.send.EINVAL') > before, 3000, 'the refused message to be counted');
  });

  it('shows a raw socket every ICMP packet with its IP header, and reports port 1 as Linux', async () => {
    const c = await t.client();
    const raw = await open(c, SOCK_RAW);
    expect((await c.call(Op.WHOIS, raw.ino)).result).toBe(Kind.RAW_ICMP);
    expect((await c.name(raw.ino)).port).toBe(1);
    const ping = await open(c, SOCK_DGRAM);
    sendDatagram(ping.fd, echoRequest(1, 'raw'), { addr: STACK, port: 0 });
    await expectRecord(ping.fd);
    const seen = await drainRecords(raw.fd);
    const types = seen.map((r) => {
      expect(r.payload[0]! >> 4).toBe(4);
      const ihl = (r.payload[0]! & 0xf) * 4;
      return r.payload[ihl]!;
    });
    expect(types).toContain(8);
    expect(types).toContain(0);
  });
});
