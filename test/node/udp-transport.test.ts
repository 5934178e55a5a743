import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, type Endpoint } from '../../src/node/endpoint.js';
import { DgramUdpTransport, loopbackOnly } from '../../src/node/udp-transport.js';

const open: DgramUdpTransport[] = [];
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

describe('node:dgram UDP transport', () => {
  it('moves datagrams both ways over IPv4 loopback on an ephemeral port', async () => {
    const a = await DgramUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    const b = await DgramUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
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

  it('works over IPv6 loopback when the host has it', async () => {
    let a: DgramUdpTransport;
    try {
      a = await DgramUdpTransport.open({ port: 0, bind: ['::1'], allowDestination: loopbackOnly });
    } catch (e) {
      // a host without IPv6 loopback: the transport reports a clear error instead of throwing later
      expect((e as Error).message).toMatch(/cannot bind UDP port/);
      return;
    }
    const b = await DgramUdpTransport.open({ port: 0, bind: ['::1'], allowDestination: loopbackOnly });
    open.push(a, b);
    const got = waitFor<string>((res) => b.onReceive((d) => res(d.toString())));
    a.send(b.localEndpoints()[0]!, Buffer.from('six'));
    expect(await got).toBe('six');
  });

  it('refuses destinations outside the send policy without sending', async () => {
    const a = await DgramUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly });
    open.push(a);
    expect(a.send(endpoint('192.0.2.1', 9993)!, Buffer.from('x'))).toBe(false);
    expect(a.stats.refusedDestination).toBe(1);
    expect(a.stats.sent).toBe(0);
    // no IPv6 socket bound: a clean false, not a throw
    expect(a.send(endpoint('::1', 9993)!, Buffer.from('x'))).toBe(false);
  });

  it('reports a port already in use as an error', async () => {
    const a = await DgramUdpTransport.open({ port: 0, bind: ['127.0.0.1'] });
    open.push(a);
    await expect(DgramUdpTransport.open({ port: a.localEndpoints()[0]!.port, bind: ['127.0.0.1'] })).rejects.toThrow(
      /cannot bind UDP port/,
    );
  });
});
