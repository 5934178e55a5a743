/**
 * ECN for TCP (RFC 3168) through two full stacks: negotiated only when both ends ask, new data
 * sent as ECT(0), a Congestion Experienced mark set on the link echoed with ECE until CWR, and
 * the sender's window reduced once per window for it — with no loss and the stream intact.
 */
import { describe, expect, it } from 'vitest';
import { connectTcp, SIM_ADDR_B, simStackPair } from '../../src/netstack/sim-link.js';
import type { Stack } from '../../src/netstack/stack.js';
import { bulk } from '../support/netstack-rig.js';

/** Two stacks with a connection a → b; `mark(frame)` may rewrite frames from a (IPv4 in Ethernet). */
function ecnPair(ecnA: 0 | 1, ecnB: 0 | 1, mark: (ipTosOffset: number, frame: Buffer) => void) {
  const seg = simStackPair({ mtu: 1500, delayMs: 5, seed: 31 });
  const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
  // the layer's default, like net.ipv4.tcp_ecn (the sockets take it when made)
  (a as Stack).tcp.defaultEcn = ecnA;
  (b as Stack).tcp.defaultEcn = ecnB;
  seg.filter = (from, frame) => {
    if (from === 0 && frame.readUInt16BE(12) === 0x0800) mark(15, frame);
    return true;
  };
  const until = (d: () => boolean, l: number): boolean => seg.sched.runUntil(d, l);
  const { client, server } = connectTcp(
    () => a.tcpSocket(),
    () => b.tcpSocket(),
    SIM_ADDR_B,
    80,
    until,
    10_000,
  );
  return { seg, a, b, client, server, until };
}

/** Sets the IPv4 header's ECN field to CE and fixes its checksum. */
function markCe(frame: Buffer): void {
  frame[15] = frame[15]! | 3;
  const ihl = (frame[14]! & 0x0f) * 4;
  frame.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 14 + ihl; i += 2) sum += frame.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  frame.writeUInt16BE(~sum & 0xffff, 24);
}

describe('ECN (RFC 3168)', () => {
  it('marks new data ECT(0) once both ends agree; a CE mark draws ECE, one reduction per window, and CWR', () => {
    let ect = 0;
    let n = 0;
    const { a, b, client, server, until, seg } = ecnPair(1, 1, (tos, frame) => {
      if ((frame[tos]! & 3) !== 2) return;
      ect++;
      // one data packet in 200 meets a congested queue
      if (++n % 200 === 0) markCe(frame);
    });
    const r = bulk(client, server, 4 * 1024 * 1024, until, () => seg.sched.now(), 600_000);
    expect(r.ok && r.sha).toBe(true);
    expect(ect).toBeGreaterThan(1000);
    const ca = a.counters().tcp ?? {};
    expect(ca.ecn_reduction ?? 0).toBeGreaterThan(3);
    expect(ca.ecn_reduction ?? 0).toBeLessThanOrEqual(Math.floor(n / 200));
    // the window came down without a single loss
    expect(Number(client.info().retransmits)).toBe(0);
    expect(Number(client.info().ssthresh)).toBeLessThan(0x7fffffff);
    void b;
  });

  it('stays off unless both ends ask: no ECT(0) on the wire', () => {
    for (const [ea, eb] of [
      [1, 0],
      [0, 1],
    ] as const) {
      let ect = 0;
      const { client, server, until, seg } = ecnPair(ea, eb, (tos, frame) => {
        if ((frame[tos]! & 3) !== 0) ect++;
      });
      const r = bulk(client, server, 256 * 1024, until, () => seg.sched.now(), 600_000);
      expect(r.ok && r.sha).toBe(true);
      expect(ect).toBe(0);
    }
  });
});
