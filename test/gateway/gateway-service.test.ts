/**
 * The gateway service without root: two real-time stacks joined by an in-process link (a member
 * with a server, and the gateway), published ports on 127.0.0.1. A loopback client cannot be a
 * source inside the network, so it is forwarded from the gateway's own address (counted `snat`);
 * the relay carries a megabyte both ways intact with a half-close; the published ports and the
 * gateway role survive a restart (gateway.d/); bad requests are answered with the field at fault.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError, GatewayService } from '../../src/gateway/index.js';
import { PublishSpecError, specFromJson } from '../../src/gateway/publish-spec.js';
import { createNetStack, RealScheduler, SHUT_WR, type NetStack } from '../../src/netstack/index.js';
import { tempDir } from '../support/temp-dir.js';

const A = 0x0a610001; // 10.97.0.1
const G = 0x0a610002;

function network(): { a: NetStack; g: NetStack } {
  const sched = new RealScheduler();
  const a = createNetStack({ scheduler: sched, mac: Buffer.from([2, 0, 0, 0, 0, 1]), name: 'a' });
  const g = createNetStack({ scheduler: sched, mac: Buffer.from([2, 0, 0, 0, 0, 2]), name: 'g' });
  const wire = (to: NetStack) => (f: Buffer) => {
    const copy = Buffer.from(f);
    setImmediate(() => to.input(copy));
  };
  a.setLinkOutput(wire(g));
  g.setLinkOutput(wire(a));
  a.addAddress(A, 24);
  g.addAddress(G, 24);
  return { a, g };
}

/** A TCP server on `stack` that sends back everything it reads and half-closes after the client's FIN. */
function echoServer(stack: NetStack, port: number): { peers: string[] } {
  const seen = { peers: [] as string[] };
  const l = stack.tcpSocket();
  l.bind(0, port);
  l.listen(16);
  l.handlers.onAcceptable = () => {
    for (let c = l.accept(); c; c = l.accept()) {
      const s = c;
      seen.peers.push(String(s.remoteAddress()?.addr));
      let pending: Buffer[] = [];
      let eof = false;
      const pump = (): void => {
        while (pending.length > 0) {
          const n = s.write(pending[0]!);
          if (n <= 0) return;
          if (n < pending[0]!.length) {
            pending[0] = pending[0]!.subarray(n);
            return;
          }
          pending.shift();
        }
        for (;;) {
          const r = s.read(65536);
          if (r === 0) eof = true;
          if (typeof r === 'number') break;
          const n = s.write(r);
          if (n < r.length) {
            pending = [r.subarray(Math.max(n, 0))];
            return;
          }
        }
        if (eof && pending.length === 0) s.shutdown(SHUT_WR);
      };
      s.handlers = { onReadable: pump, onWritable: pump, onClose: () => {} };
    }
  };
  return seen;
}

const logger = pino({ level: 'silent' });

function service(home: string, stack: NetStack): GatewayService {
  return new GatewayService({ homeDir: home, logger, stackOf: () => stack, resolveName: () => Promise.resolve(null) });
}

function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(data));
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(got));
    });
    s.on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const services: GatewayService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});

describe('gateway service', () => {
  it('relays a megabyte both ways with a half-close, and restores its ports after a restart', async () => {
    const home = tempDir('ztnc-gw-');
    const { a, g } = network();
    const seen = echoServer(a, 8080);
    const port = await freePort();
    const s1 = service(home, g);
    services.push(s1);
    await s1.start();
    s1.setEnabled('8056c2e21c000001', true);
    await s1.publish(
      '8056c2e21c000001',
      specFromJson({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: port, target: '10.97.0.1', targetPort: 8080 }),
    );
    const data = randomBytes(1 << 20);
    const back = await roundTrip(port, data);
    expect(back.length).toBe(data.length);
    expect(sha(back)).toBe(sha(data));
    // a loopback client is forwarded from the gateway's own address
    expect(seen.peers).toEqual([String(G)]);
    const [view] = s1.list('8056c2e21c000001');
    expect(view!.stats).toMatchObject({ connections: 1, snat: 1, preserved: 0, failed: 0, bytesIn: data.length, bytesOut: data.length });
    await s1.close();
    services.length = 0;

    const s2 = service(home, g);
    services.push(s2);
    await s2.start();
    expect(s2.status('8056c2e21c000001')).toMatchObject({
      enabled: true,
      published: [{ protocol: 'tcp', hostPort: port, target: '10.97.0.1' }],
    });
    const again = await roundTrip(port, Buffer.from('after restart'));
    expect(again.toString()).toBe('after restart');
    a.close();
    g.close();
  });

  it('refuses to publish without the gateway role, twice on one port, or with bad fields', async () => {
    const home = tempDir('ztnc-gw-');
    const { a, g } = network();
    const s = service(home, g);
    services.push(s);
    await s.start();
    const port = await freePort();
    const spec = specFromJson({ protocol: 'udp', hostAddr: '127.0.0.1', hostPort: port, target: '10.97.0.1', targetPort: 53 });
    await expect(s.publish('8056c2e21c000002', spec)).rejects.toThrow(GatewayError);
    s.setEnabled('8056c2e21c000002', true);
    await s.publish('8056c2e21c000002', spec);
    await expect(s.publish('8056c2e21c000002', spec)).rejects.toThrow(/already published/);
    await expect(s.unpublish('8056c2e21c000002', 'tcp', port)).rejects.toThrow(/no tcp port/);
    await s.unpublish('8056c2e21c000002', 'udp', port);
    expect(s.list()).toEqual([]);
    expect(() => specFromJson({ protocol: 'tcp', hostPort: 0, target: 'x', targetPort: 1 })).toThrow(/host port: 0/);
    expect(() => specFromJson({ protocol: 'tcp', hostPort: 80, target: 'not a name!', targetPort: 1 })).toThrow(PublishSpecError);
    expect(() => specFromJson({ protocol: 'tcp', hostAddr: '::1', hostPort: 80, target: 'x', targetPort: 1 })).toThrow(/host address/);
    expect(() => specFromJson([])).toThrow(/JSON object/);
    a.close();
    g.close();
  });
});
