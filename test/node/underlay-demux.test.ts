/**
 * The underlay shared by a daemon's endpoints: datagrams go to the node their header names, others
 * to the fallback node; datagrams between nodes of one underlay skip it; and, in the simulation,
 * two nodes sharing one underlay meet through the root and then talk directly without it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../../src/node/node.js';
import { UnderlayDemux } from '../../src/node/transport/underlay-demux.js';
import type { ReceiveHandler, UdpTransport } from '../../src/node/transport/udp-transport.js';
import { endpoint, type Endpoint } from '../../src/node/peer/endpoint.js';
import { writeAddress } from '../../src/node/wire/address.js';
import { Verb } from '../../src/node/wire/packet.js';
import { ep, Sim } from './sim-harness.js';

class RecordingUnderlay implements UdpTransport {
  handler: ReceiveHandler = () => {};
  readonly sent: { to: Endpoint; data: Buffer }[] = [];
  constructor(readonly local: Endpoint) {}
  send(to: Endpoint, data: Buffer): boolean {
    this.sent.push({ to, data });
    return true;
  }
  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }
  localEndpoints(): Endpoint[] {
    return [this.local];
  }
  close(): void {}
}

/** A datagram whose header names `dest` (a packet's or a fragment's, the same place). */
function datagramTo(dest: bigint, length = 40): Buffer {
  const b = Buffer.alloc(length);
  writeAddress(b, 8, dest);
  return b;
}

const LOCAL = endpoint('127.0.0.1', 9993)!;
const REMOTE = endpoint('192.0.2.7', 9993)!;

describe('UnderlayDemux', () => {
  it('hands each datagram to the node its destination names, the rest to the fallback', () => {
    const under = new RecordingUnderlay(LOCAL);
    const demux = new UnderlayDemux(under);
    const got: string[] = [];
    demux.port(0x1111111111n, { fallback: true }).onReceive((d) => got.push(`default:${d.length}`));
    demux.port(0x2222222222n).onReceive((d, from) => got.push(`e1:${d.length}:${from.ip}`));
    under.handler(datagramTo(0x2222222222n), REMOTE);
    under.handler(datagramTo(0x1111111111n), REMOTE);
    under.handler(datagramTo(0x3333333333n), REMOTE); // someone else's: a root relays it
    under.handler(datagramTo(0x2222222222n, 16), REMOTE); // a fragment's minimum
    under.handler(Buffer.alloc(10), REMOTE); // too short for any: the fallback counts it
    expect(got).toEqual(['e1:40:192.0.2.7', 'default:40', 'default:40', 'e1:16:192.0.2.7', 'default:10']);
    expect(demux.stats).toMatchObject({ delivered: 3, toFallback: 2, dropped: 0 });
  });

  it('drops and counts what no node takes when there is no fallback', () => {
    const under = new RecordingUnderlay(LOCAL);
    const demux = new UnderlayDemux(under);
    demux.port(0x2222222222n);
    under.handler(datagramTo(0x3333333333n), REMOTE);
    expect(demux.stats.dropped).toBe(1);
  });

  it('refuses a second node with one address; a closed node frees it', () => {
    const demux = new UnderlayDemux(new RecordingUnderlay(LOCAL));
    const p = demux.port(0x2222222222n);
    expect(() => demux.port(0x2222222222n)).toThrow(/already served/);
    p.close();
    expect(demux.has(0x2222222222n)).toBe(false);
    expect(() => demux.port(0x2222222222n)).not.toThrow();
  });

  it('delivers between its own nodes without the underlay, after the sender returns, from the address sent to', async () => {
    const under = new RecordingUnderlay(LOCAL);
    const demux = new UnderlayDemux(under);
    const a = demux.port(0x1111111111n, { fallback: true });
    const b = demux.port(0x2222222222n);
    const got: Endpoint[] = [];
    b.onReceive((_d, from) => got.push(from));
    expect(a.send(LOCAL, datagramTo(0x2222222222n))).toBe(true);
    expect(got).toEqual([]); // not within send()
    await Promise.resolve();
    expect(got).toEqual([LOCAL]);
    expect(under.sent).toEqual([]);
    // to a node not here, or to another machine: through the underlay
    a.send(LOCAL, datagramTo(0x3333333333n));
    a.send(REMOTE, datagramTo(0x2222222222n));
    expect(under.sent.map((s) => s.to)).toEqual([LOCAL, REMOTE]);
    expect(demux.stats.local).toBe(1);
  });
});

describe('nodes sharing one underlay in the simulation', () => {
  let stop: (() => void) | null = null;
  afterEach(() => {
    stop?.();
    stop = null;
  });

  it('meet through the root, then talk directly without it or the underlay', async () => {
    const sim = new Sim();
    const r = sim.add('R', 0, '10.99.0.1');
    const shared = ep('10.99.0.3');
    const demux = new UnderlayDemux(sim.board.attach(shared), { isOwnEndpoint: (to) => to.ip === shared.ip && to.port === shared.port });
    const a = new Node(sim.nodeOptions(2, demux.port(sim.identity(2).address, { fallback: true })));
    const b = new Node(sim.nodeOptions(3, demux.port(sim.identity(3).address)));
    a.start();
    b.start();
    stop = () => {
      a.stop();
      b.stop();
      sim.stopAll();
    };
    const now = () => sim.sched.now();
    expect(await sim.until(() => !!a.peer(r.node.address)?.paths.best(now()) && !!b.peer(r.node.address)?.paths.best(now()), 10_000)).toBe(
      true,
    );
    const echo = (): void => a.sendTo(b.address, Verb.ECHO, Buffer.from('ping'), { expectReply: { sentAt: a.now() } });
    echo();
    expect(await sim.until(() => a.counters.get('echo_answered') >= 1, 10_000)).toBe(true);
    expect(await sim.until(() => !!a.peer(b.address)?.paths.best(now()) && !!b.peer(a.address)?.paths.best(now()), 10_000)).toBe(true);
    const relayed = r.node.counters.get('relayed');
    const local = demux.stats.local;
    echo();
    expect(await sim.until(() => a.counters.get('echo_answered') >= 2, 5_000)).toBe(true);
    expect(r.node.counters.get('relayed')).toBe(relayed);
    expect(demux.stats.local).toBeGreaterThanOrEqual(local + 2);
  });
});
