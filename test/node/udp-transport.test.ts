import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, type Endpoint } from '../../src/node/peer/endpoint.js';
import { NativeUdpTransport, loopbackOnly } from '../../src/node/transport/udp-transport.js';

const open: NativeUdpTransport[] = [];
/** Whether this host has IPv6 loopback; without it the IPv6 case says so and is skipped. */
const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
if (!hasIpv6Loopback) process.stderr.write('[skip] native UDP transport over IPv6: this host has no ::1\n');
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

function waitFor<T>(fn: (resolve: (v: T) => void) => void, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    fn((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

describe('native UDP transport', () => {
  it('moves datagrams both ways over IPv4 loopback on an ephemeral port', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a, b);
    const bEp = b.localEndpoints()[0]!;
    const aEp = a.localEndpoints()[0]!;
    expect(bEp.port).toBeGreaterThan(0);
    const got = waitFor<[string, Endpoint]>((res) => b.onReceive((d, from) => res([d.toString(), from])));
    expect(a.send(bEp, Buffer.from('hello'))).toBe(true);
    const [text, from] = await got;
    expect(text).toBe('hello');
    expect(from).toEqual(aEp);
  });

  it.runIf(hasIpv6Loopback)('works over IPv6 loopback', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['::1'], allowDestination: loopbackOnly });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['::1'], allowDestination: loopbackOnly });
    open.push(a, b);
    const got = waitFor<string>((res) => b.onReceive((d) => res(d.toString())));
    a.send(b.localEndpoints()[0]!, Buffer.from('six'));
    expect(await got).toBe('six');
  });

  it('refuses destinations outside the send policy without sending', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a);
    expect(a.send(endpoint('192.0.2.1', 9993)!, Buffer.from('x'))).toBe(false);
    expect(a.stats.refusedDestination).toBe(1);
    expect(a.stats.sent).toBe(0);
    // no IPv6 socket bound: a clean false, not a throw
    expect(a.send(endpoint('::1', 9993)!, Buffer.from('x'))).toBe(false);
  });

  it('reports a port already in use as an error', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'] });
    open.push(a);
    await expect(NativeUdpTransport.open({ port: a.localEndpoints()[0]!.port, bind: ['127.0.0.1'] })).rejects.toThrow(
      /cannot bind UDP port/,
    );
  });

  it('sends a turn of equal-size datagrams to one peer as GSO and receives them whole, in order', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a, b);
    const bEp = b.localEndpoints()[0]!;
    // 300 full-size datagrams, a short tail, an empty one and a 16 KiB one, all in one turn
    const sent: Buffer[] = [];
    for (let i = 0; i < 300; i++) sent.push(Buffer.alloc(2850, i & 0xff));
    sent.push(Buffer.from('tail'), Buffer.alloc(0), Buffer.alloc(16 * 1024, 7));
    const got: Buffer[] = [];
    const done = waitFor<void>((res) =>
      b.onReceive((d) => {
        got.push(d);
        if (got.length === sent.length) res();
      }),
    );
    for (const d of sent) expect(a.send(bEp, d)).toBe(true);
    await done;
    expect(got.map((d) => d.length)).toEqual(sent.map((d) => d.length));
    got.forEach((d, i) => expect(d.equals(sent[i]!)).toBe(true));
    const [sa] = a.socketStats();
    const [sb] = b.socketStats();
    expect(sa!.datagramsOut).toBe(sent.length);
    expect(sa!.sendErrors).toBe(0);
    expect(sb!.datagramsIn).toBe(sent.length);
    // Linux has had UDP_SEGMENT since 4.18 and UDP_GRO since 5.0: both must be in use
    expect(sa!.gso).toBe(true);
    expect(sb!.gro).toBe(true);
    // 300 equal datagrams: at most 64 per GSO message, so a handful of messages carried them
    expect(sa!.gsoMessages).toBeGreaterThanOrEqual(5);
    expect(sa!.gsoMessages).toBeLessThan(20);
  });

  it('keeps datagrams to different peers apart and names each source', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const c = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a, b, c);
    const seen: string[] = [];
    const done = waitFor<void>((res) =>
      c.onReceive((d, from) => {
        seen.push(`${from.port}:${d.toString()}`);
        if (seen.length === 40) res();
      }),
    );
    for (let i = 0; i < 20; i++) {
      a.send(c.localEndpoints()[0]!, Buffer.from(`a${i}`));
      b.send(c.localEndpoints()[0]!, Buffer.from(`b${i}`));
    }
    await done;
    const pa = a.localEndpoints()[0]!.port;
    const pb = b.localEndpoints()[0]!.port;
    expect(seen.filter((s) => s.startsWith(`${pa}:a`))).toEqual(Array.from({ length: 20 }, (_, i) => `${pa}:a${i}`));
    expect(seen.filter((s) => s.startsWith(`${pb}:b`))).toEqual(Array.from({ length: 20 }, (_, i) => `${pb}:b${i}`));
  });

  it('names the source of batches that come from one sender after another (the sender list is reused while it stays the same)', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const c = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a, b, c);
    let got: { from: Endpoint; text: string } | null = null;
    c.onReceive((d, from) => void (got = { from, text: d.toString() }));
    const to = c.localEndpoints()[0]!;
    // each datagram is its own batch: the next goes once the last arrived
    for (const [sender, text] of [
      [a, 'a1'],
      [a, 'a2'],
      [b, 'b1'],
      [a, 'a3'],
      [b, 'b2'],
      [b, 'b3'],
    ] as const) {
      got = null;
      sender.send(to, Buffer.from(text));
      const r = await waitFor<{ from: Endpoint; text: string }>((res) => {
        const poll = (): void => void (got ? res(got) : setTimeout(poll, 1));
        poll();
      });
      expect(r.text).toBe(text);
      expect(r.from).toEqual(sender.localEndpoints()[0]);
    }
  });

  it('drops and counts a datagram the kernel refuses, and keeps sending the rest', async () => {
    const a = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'] });
    const b = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'] });
    open.push(a, b);
    const got: string[] = [];
    const done = waitFor<void>((res) =>
      b.onReceive((d) => {
        got.push(d.toString());
        if (got.length === 2) res();
      }),
    );
    a.send(b.localEndpoints()[0]!, Buffer.from('before'));
    // larger than any UDP datagram can be: EMSGSIZE for this one only
    a.send(b.localEndpoints()[0]!, Buffer.alloc(70000));
    a.send(b.localEndpoints()[0]!, Buffer.from('after'));
    await done;
    expect(got).toEqual(['before', 'after']);
    expect(a.socketStats()[0]!.sendErrors).toBe(1);
    expect(a.socketStats()[0]!.lastSendErrno).toBeGreaterThan(0);
  });
});
