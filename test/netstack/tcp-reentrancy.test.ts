/** The layer's units of work end even when something inside them throws. */
import { describe, expect, it } from 'vitest';
import { connectPair, FAMILIES, familyRig } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { Wire } = familyRig(family);

  /** Makes the next IP send of layer `a` throw, as a broken link output would. */
  function failNextSend(w: InstanceType<typeof Wire>): void {
    const ip = (w.a as unknown as { ip: { send: (...a: unknown[]) => number } }).ip;
    const orig = ip.send;
    ip.send = () => {
      ip.send = orig;
      throw new Error('link output failed');
    };
  }

  /** Server → client round trip: proves layer `a` still processes what arrives. */
  function echoReachesClient(
    w: InstanceType<typeof Wire>,
    client: ReturnType<typeof connectPair>['client'],
    server: ReturnType<typeof connectPair>['server'],
  ): string {
    expect(server.write(Buffer.from('pong'))).toBe(4);
    w.run(1000);
    const r = client.read();
    return Buffer.isBuffer(r) ? r.toString() : `errno ${r}`;
  }

  describe('tcp re-entrancy', () => {
    it('a write whose send throws leaves the layer processing segments afterwards', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      failNextSend(w);
      expect(() => client.write(Buffer.from('ping'))).toThrow('link output failed');
      // the data is still queued; the next write sends it all
      expect(client.write(Buffer.from('!'))).toBe(1);
      w.run(1000);
      expect((server.read() as Buffer).toString()).toBe('ping!');
      expect(echoReachesClient(w, client, server)).toBe('pong');
      expect(client.info().unacked).toBe(0);
    });

    it('run() ends its unit of work when the function throws', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      expect(() =>
        w.a.run(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(echoReachesClient(w, client, server)).toBe('pong');
    });

    it('shutdown and option changes whose sends throw leave the layer processing', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      client.setOption('CORK', 1);
      expect(client.write(Buffer.from('x'))).toBe(1);
      failNextSend(w);
      // uncorking sends the held byte: the send throws
      expect(() => client.setOption('CORK', 0)).toThrow('link output failed');
      expect(echoReachesClient(w, client, server)).toBe('pong');
      failNextSend(w);
      expect(() => client.shutdown(1)).toThrow('link output failed');
      w.run(5000);
      expect((server.read() as Buffer).toString()).toBe('x');
      expect(echoReachesClient(w, client, server)).toBe('pong');
    });
  });
});
