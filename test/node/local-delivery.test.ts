/**
 * Fair delivery between a daemon's endpoints (src/node/transport/local-delivery.ts, through the
 * underlay demux): one destination's backlog cannot hold another's datagram, and a turn's budget of
 * deliveries (kept on an injected clock, so nothing here depends on real time) makes a chain of
 * deliveries that answer each other yield to the event loop instead of running as one microtask
 * chain until the backlog is gone.
 */
import { describe, expect, it } from 'vitest';
import { LocalDelivery } from '../../src/node/transport/local-delivery.js';
import { UnderlayDemux } from '../../src/node/transport/underlay-demux.js';
import type { ReceiveHandler, UdpTransport } from '../../src/node/transport/udp-transport.js';
import { endpoint, type Endpoint } from '../../src/node/peer/endpoint.js';
import { writeAddress } from '../../src/node/wire/address.js';

const LOCAL = endpoint('127.0.0.1', 9993)!;

class QuietUnderlay implements UdpTransport {
  readonly sent: Buffer[] = [];
  send(_to: Endpoint, data: Buffer): boolean {
    this.sent.push(data);
    return true;
  }
  onReceive(_handler: ReceiveHandler): void {}
  localEndpoints(): Endpoint[] {
    return [LOCAL];
  }
  close(): void {}
}

/** A datagram whose header names `dest`, carrying `tag` in its last byte. */
function datagramTo(dest: bigint, tag = 0): Buffer {
  const b = Buffer.alloc(40);
  writeAddress(b, 8, dest);
  b[39] = tag;
  return b;
}

/** Lets every queued microtask run (and the microtasks they queue), but no later turn. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A clock that moves only when a delivery costs time, and turns that run only when the test says so. */
function virtualLoop(): { now: () => number; spend: (ms: number) => void; nextTurn: (fn: () => void) => void; runTurn: () => boolean } {
  let t = 0;
  const turns: Array<() => void> = [];
  return {
    now: () => t,
    spend: (ms) => {
      t += ms;
    },
    nextTurn: (fn) => void turns.push(fn),
    runTurn: () => {
      const fn = turns.shift();
      fn?.();
      return fn !== undefined;
    },
  };
}

const A = 0x1111111111n;
const B = 0x2222222222n;
const C = 0x3333333333n;

describe('delivery between the endpoints of one underlay', () => {
  it("serves destinations in turn: a datagram for a quiet node does not wait behind another's backlog", async () => {
    const loop = virtualLoop();
    const demux = new UnderlayDemux(new QuietUnderlay(), { localDelivery: { nextTurn: loop.nextTurn, now: loop.now, quantum: 8 } });
    const order: string[] = [];
    const sender = demux.port(A, { fallback: true });
    demux.port(B).onReceive(() => order.push('B'));
    demux.port(C).onReceive(() => order.push('C'));
    // a stream's window for B, queued before a lone request for C
    for (let i = 0; i < 200; i++) sender.send(LOCAL, datagramTo(B));
    sender.send(LOCAL, datagramTo(C));
    await settleMicrotasks();
    while (loop.runTurn());
    expect(order.length).toBe(201);
    // FIFO would hand C its datagram after all 200 of B's
    expect(order.indexOf('C')).toBeLessThanOrEqual(8);
  });

  it('a destination that had nothing waiting goes before the busy ones in the next round', async () => {
    const loop = virtualLoop();
    const order: number[] = [];
    const d = new LocalDelivery((data) => order.push(data[39]!), { nextTurn: loop.nextTurn, now: loop.now, quantum: 4 });
    for (let i = 0; i < 12; i++) d.enqueue(1, datagramTo(B, 1), LOCAL);
    await settleMicrotasks();
    expect(order).toHaveLength(12);
    order.length = 0;
    // B is busy again; while its first quantum is handed over, a lone datagram for C arrives
    let first = true;
    const d2 = new LocalDelivery(
      (data) => {
        order.push(data[39]!);
        if (first) {
          first = false;
          d2.enqueue(3, datagramTo(C, 3), LOCAL);
        }
      },
      { nextTurn: loop.nextTurn, now: loop.now, quantum: 4 },
    );
    for (let i = 0; i < 12; i++) d2.enqueue(2, datagramTo(B, 2), LOCAL);
    await settleMicrotasks();
    // B's first quantum, then C, then the rest of B
    expect(order).toEqual([2, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('two endpoints answering each other without end cannot hold the event loop: each turn delivers its budget, then yields', async () => {
    const loop = virtualLoop();
    const demux = new UnderlayDemux(new QuietUnderlay(), {
      localDelivery: { nextTurn: loop.nextTurn, now: loop.now, turnBudgetMs: 10 / 64 },
    });
    const a = demux.port(A, { fallback: true });
    const b = demux.port(B);
    let deliveries = 0;
    // each delivery costs 1/64 ms (exact in binary) and is answered at once (a stream and its ACKs)
    const answer =
      (port: UdpTransport, to: bigint): ReceiveHandler =>
      () => {
        deliveries++;
        loop.spend(1 / 64);
        if (deliveries < 10_000) port.send(LOCAL, datagramTo(to));
      };
    a.onReceive(answer(a, B));
    b.onReceive(answer(b, A));
    a.send(LOCAL, datagramTo(B));
    await settleMicrotasks();
    // one microtask chain used to run all 10,000 before any I/O callback could
    expect(deliveries).toBe(10);
    expect(loop.runTurn()).toBe(true);
    expect(deliveries).toBe(20);
    let turns = 1;
    while (loop.runTurn()) turns++;
    expect(deliveries).toBe(10_000);
    expect(turns).toBe(1000);
  });

  it('an idle datagram is handed over as soon as the sender returns, and the budget comes back each turn', async () => {
    const loop = virtualLoop();
    const got: number[] = [];
    const d = new LocalDelivery(
      (data) => {
        got.push(data[39]!);
        loop.spend(0.06);
      },
      { nextTurn: loop.nextTurn, now: loop.now, turnBudgetMs: 0.1 },
    );
    d.enqueue(1, datagramTo(B, 1), LOCAL);
    expect(got).toEqual([]);
    await settleMicrotasks();
    expect(got).toEqual([1]);
    d.enqueue(1, datagramTo(B, 2), LOCAL);
    d.enqueue(1, datagramTo(B, 3), LOCAL);
    await settleMicrotasks();
    // the turn's 0.1 ms is spent after the second: the third waits for the next turn
    expect(got).toEqual([1, 2]);
    expect(d.size).toBe(1);
    loop.runTurn();
    expect(got).toEqual([1, 2, 3]);
    // a new turn: a lone datagram goes at once again
    loop.runTurn();
    d.enqueue(1, datagramTo(B, 4), LOCAL);
    await settleMicrotasks();
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('a receiver that throws costs one counted datagram, not the queues', async () => {
    const loop = virtualLoop();
    const got: number[] = [];
    const d = new LocalDelivery(
      (data) => {
        if (data[39] === 2) throw new Error('bug');
        got.push(data[39]!);
      },
      { nextTurn: loop.nextTurn, now: loop.now },
    );
    for (const tag of [1, 2, 3]) d.enqueue(1, datagramTo(B, tag), LOCAL);
    d.enqueue(2, datagramTo(C, 4), LOCAL);
    await settleMicrotasks();
    while (loop.runTurn());
    expect(got.sort()).toEqual([1, 3, 4]);
    expect(d.stats.errors).toBe(1);
    expect(d.size).toBe(0);
  });
});
