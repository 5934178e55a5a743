/**
 * The largest UDP datagrams (65,507 bytes) between two stacks in virtual time: fragmented to the
 * link MTU and reassembled intact through reordering, duplication and loss (a datagram missing a
 * fragment is dropped whole and its reassembly state times out), the size limits, and
 * IP_MTU_DISCOVER DO refusing anything above the MTU while the loopback carries the largest.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import type { Stack } from '../../src/netstack/index.js';
import { simStackPair, SIM_ADDR_A, SIM_ADDR_B, type SimSegmentOptions } from '../../src/netstack/sim-link.js';
import { PmtuDisc, type UdpSocket } from '../../src/netstack/socket-api.js';
import { UDP_MAX_PAYLOAD } from '../../src/netstack/udp.js';

/** Datagram `n`: its number in the first 4 bytes, then a pattern of its own. */
function datagram(n: number, size = UDP_MAX_PAYLOAD): Buffer {
  const d = Buffer.allocUnsafe(size);
  let x = (n * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    d[i] = x >>> 24;
  }
  d.writeUInt32BE(n, 0);
  return d;
}

/** Sends `count` largest datagrams from a to b over a link with `impairments`; returns what b received (by number) and the pair. */
function exchange(count: number, impairments: SimSegmentOptions) {
  const seg = simStackPair(impairments);
  const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
  const rx = b.udpSocket();
  expect(rx.bind(0, 9000)).toBe(0);
  rx.setOption('RCVBUF', 8 << 20);
  const got = new Map<number, Buffer>();
  rx.handlers.onReadable = () => {
    for (let d = rx.recv(); d; d = rx.recv()) got.set(d.data.readUInt32BE(0), d.data);
  };
  const tx: UdpSocket = a.udpSocket();
  // ARP first, so loss of the first request costs no datagram
  tx.sendTo(Buffer.from('hello'), { addr: SIM_ADDR_B, port: 9001 });
  seg.sched.advance(5_000);
  for (let n = 1; n <= count; n++) {
    expect(tx.sendTo(datagram(n), { addr: SIM_ADDR_B, port: 9000 })).toBe(UDP_MAX_PAYLOAD);
    seg.sched.advance(20);
  }
  seg.sched.advance(1_000);
  return { seg, a, b, got };
}

describe('UDP datagrams of 65,507 bytes', () => {
  it('fragment to the MTU and reassemble intact through reordering and duplication', () => {
    const { a, b, got } = exchange(20, { delayMs: 1, reorder: 0.3, reorderDelayMs: 3, dup: 0.05, seed: 3 });
    expect([...got.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const [n, d] of got) expect(d.equals(datagram(n))).toBe(true);
    // 65,515 bytes of UDP in fragments of 2,776 (the default MTU 2,800 less the header, in 8-byte units)
    expect(a.counters().ipv4!.tx_fragments).toBe(20 * Math.ceil((UDP_MAX_PAYLOAD + 8) / 2776));
    expect(b.counters().ipv4!.reasm_ok).toBe(20);
    expect(b.counters().ipv4!.reasm_duplicate).toBeGreaterThan(0);
  });

  it('under loss: what arrives is intact, the rest is dropped whole and its state expires', () => {
    const { seg, b, got } = exchange(40, { delayMs: 1, loss: 0.01, reorder: 0.2, reorderDelayMs: 2, seed: 11 });
    expect(got.size).toBeGreaterThan(0);
    expect(got.size).toBeLessThan(40);
    for (const [n, d] of got) expect(d.equals(datagram(n))).toBe(true);
    seg.sched.advance(31_000);
    const st = b as Stack;
    expect(st.reassembler.datagrams).toBe(0);
    expect(st.reassembler.heldBytes).toBe(0);
    expect(b.counters().ipv4!.reasm_timeout).toBe(40 - got.size);
  });

  it('size limits: 65,508 is too big; DO refuses above the MTU; the loopback carries 65,507 with DF', () => {
    const seg = simStackPair({ mtu: 1500 });
    const [a, b] = [seg.stacks[0]!, seg.stacks[1]!];
    const tx = a.udpSocket();
    expect(tx.sendTo(Buffer.alloc(UDP_MAX_PAYLOAD + 1), { addr: SIM_ADDR_B, port: 9000 })).toBe(-Errno.EMSGSIZE);
    expect(tx.setOption('MTU_DISCOVER', PmtuDisc.DO)).toBe(0);
    expect(tx.sendTo(Buffer.alloc(1473), { addr: SIM_ADDR_B, port: 9000 })).toBe(-Errno.EMSGSIZE);
    expect(tx.sendTo(Buffer.alloc(UDP_MAX_PAYLOAD), { addr: SIM_ADDR_B, port: 9000 })).toBe(-Errno.EMSGSIZE);
    const self = a.udpSocket();
    self.bind(0, 9000);
    self.setOption('RCVBUF', 1 << 20);
    expect(tx.sendTo(datagram(7), { addr: SIM_ADDR_A, port: 9000 })).toBe(UDP_MAX_PAYLOAD);
    seg.sched.advance(1);
    expect(self.recv()?.data.equals(datagram(7))).toBe(true);
    expect(b.counters().ipv4!.rx_packets ?? 0).toBe(0);
  });
});
