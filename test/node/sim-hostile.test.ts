import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/netstack/random.js';
import type { Endpoint } from '../../src/node/peer/endpoint.js';
import { Identity } from '../../src/node/identity/identity.js';
import { emitHello } from '../../src/node/wire/hello.js';
import { buildPacket, FRAGMENT_INDICATOR, PACKET_MAX_LENGTH, Verb } from '../../src/node/wire/packet.js';
import { armor } from '../../src/node/packet/armor.js';
import { ep, Sim, type SimNode } from './sim-harness.js';

let sim: Sim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

/** A, B and the root, with A and B talking directly; every datagram B sends A is recorded. */
async function setup(): Promise<{ s: Sim; a: SimNode; b: SimNode; captured: Buffer[] }> {
  const s = new Sim();
  s.add('R', 0, '10.99.0.1');
  const a = s.add('A', 2, '10.99.0.3');
  const b = s.add('B', 3, '10.99.0.4');
  const captured: Buffer[] = [];
  s.board.tap = (from: Endpoint, to: Endpoint, data: Buffer) => {
    if (from.ip === b.ep.ip && to.ip === a.ep.ip) captured.push(Buffer.from(data));
  };
  b.node.sendTo(a.node.address, Verb.ECHO, Buffer.from('hi'), { expectReply: { sentAt: 0 } });
  expect(
    await s.until(() => b.node.counters.get('echo_answered') === 1 && !!a.node.peer(b.node.address)?.paths.best(s.sched.now()), 10_000),
  ).toBe(true);
  return { s, a, b, captured };
}

async function stillWorks(s: Sim, a: SimNode, b: SimNode): Promise<void> {
  const before = a.node.counters.get('echo_answered');
  a.node.sendTo(b.node.address, Verb.ECHO, Buffer.from('still there?'), { expectReply: { sentAt: s.sched.now() } });
  expect(await s.until(() => a.node.counters.get('echo_answered') === before + 1, 5_000)).toBe(true);
}

function drops(n: SimNode): number {
  const c = n.node.counters.snapshot();
  return Object.entries(c)
    .filter(([k]) => k.startsWith('rx_drop_') || k.startsWith('frag_') || k === 'rx_nat_opener')
    .reduce((x, [, v]) => x + v, 0);
}

describe('hostile input is dropped and counted, never thrown', () => {
  it('random datagrams of every size from an unknown endpoint', async () => {
    const { s, a, b } = await setup();
    sim = s;
    const evil = s.board.attach(ep('10.99.0.66'));
    const rng = new SeededRandom(99);
    const before = drops(a);
    for (let i = 0; i < 3_000; i++) {
      const len = i < 100 ? i : rng.u32() % 3_000;
      evil.send(a.ep, rng.bytes(len));
    }
    await s.run(2_000);
    expect(a.node.counters.get('rx_exception')).toBe(0);
    expect(drops(a) - before).toBeGreaterThan(2_500);
    const f = a.node.footprint();
    expect(f.whoisWaiting).toBeLessThanOrEqual(1024);
    expect(f.fragmentBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(f.peers).toBe(2); // the root and B: strangers never became peers
    await stillWorks(s, a, b);
  });

  it('truncated, mis-MACed and replayed packets from a known peer', async () => {
    const { s, a, b, captured } = await setup();
    sim = s;
    const good = captured.find((d) => d.length > 40 && d[13] !== FRAGMENT_INDICATOR && (d[18]! & 0x40) === 0 && (d[18]! & 0x38) !== 0)!;
    expect(good).toBeDefined();
    const spoof = s.board.attach(ep('10.99.0.67'));
    // replay: the same bytes again, from B's endpoint and from elsewhere
    const replays = a.node.counters.get('rx_drop_replay');
    b.port.send(a.ep, good);
    spoof.send(a.ep, good);
    await s.run(100);
    expect(a.node.counters.get('rx_drop_replay')).toBe(replays + 2);
    // every truncation
    const malformed = a.node.counters.get('rx_drop_malformed') + a.node.counters.get('rx_drop_mac');
    for (let len = 0; len < good.length; len++) spoof.send(a.ep, good.subarray(0, len));
    await s.run(100);
    expect(a.node.counters.get('rx_drop_malformed') + a.node.counters.get('rx_drop_mac')).toBeGreaterThan(malformed + good.length - 40);
    // every single-byte corruption after the header's address fields
    const macs = a.node.counters.get('rx_drop_mac');
    let flips = 0;
    for (let i = 19; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i]! ^= 0x01;
      spoof.send(a.ep, bad);
      flips++;
    }
    await s.run(100);
    expect(a.node.counters.get('rx_drop_mac') - macs).toBe(flips);
    // oversized
    spoof.send(a.ep, Buffer.concat([good, Buffer.alloc(PACKET_MAX_LENGTH)]));
    // a known peer's HELLO with a broken MAC is only a bad packet, never a new session
    const hello = captured.find((d) => d[13] !== FRAGMENT_INDICATOR && (d[18]! & 0x38) === 0 && d[27] === Verb.HELLO)!;
    expect(hello).toBeDefined();
    const badHello = Buffer.from(hello);
    badHello[30]! ^= 0xff;
    const macs2 = a.node.counters.get('rx_drop_mac');
    spoof.send(a.ep, badHello);
    await s.run(100);
    expect(a.node.counters.get('rx_drop_mac')).toBe(macs2 + 1);
    expect(a.node.peer(b.node.address)!.identity.equals(b.node.identity)).toBe(true);
    expect(a.node.counters.get('rx_exception')).toBe(0);
    await stillWorks(s, a, b);
  });

  it('forged packets claiming known and unknown sources, and HELLOs with bad identities', async () => {
    const { s, a, b } = await setup();
    sim = s;
    const evil = s.board.attach(ep('10.99.0.68'));
    const rng = new SeededRandom(5);
    const forged = (src: bigint, cipher: number, verb: number) =>
      buildPacket({ packetId: rng.bytes(8).readBigUInt64BE(0), destination: a.node.address, source: src, cipher, verb }, rng.bytes(60));
    const macBefore = a.node.counters.get('rx_drop_mac');
    for (let i = 0; i < 200; i++) evil.send(a.ep, forged(b.node.address, i % 2 ? 1 : 3, Verb.FRAME));
    // unknown sources: they wait for WHOIS, bounded and rate limited
    for (let i = 0; i < 2_000; i++) evil.send(a.ep, forged(0x1100000000n + BigInt(i), 3, Verb.FRAME));
    await s.run(5_000);
    expect(a.node.counters.get('rx_drop_mac') - macBefore).toBe(200);
    expect(a.node.counters.get('rx_drop_rate_limited')).toBeGreaterThan(1_000);
    expect(a.node.footprint().whoisWaiting).toBeLessThanOrEqual(1024);
    // a HELLO whose identity fails the memory-hard check (address not derived from the key)
    const liar = Identity.fromParts(0x2200000001n, s.identity(5).publicKey);
    const keyOf = s.identity(5);
    const { payload } = emitHello({
      protocolVersion: 12,
      versionMajor: 1,
      versionMinor: 14,
      versionRevision: 1,
      timestamp: 1n,
      address: liar.address,
      publicKey: liar.publicKey,
      physicalDestination: a.ep,
      planetWorldId: 1n,
      planetWorldTimestamp: 1n,
    });
    const hello = buildPacket({ packetId: 77n, destination: a.node.address, source: liar.address, cipher: 0, verb: Verb.HELLO }, payload);
    armor(hello, keyOf.agree(a.node.identity), 0);
    evil.send(a.ep, hello);
    await s.run(2_000);
    expect(a.node.counters.get('rx_drop_invalid_identity')).toBe(1);
    expect(a.node.peer(liar.address)).toBeUndefined();
    // a HELLO whose header source differs from the identity inside
    const mismatch = buildPacket(
      { packetId: 78n, destination: a.node.address, source: 0x3300000001n, cipher: 0, verb: Verb.HELLO },
      payload,
    );
    evil.send(a.ep, mismatch);
    await s.run(500);
    expect(a.node.counters.get('rx_drop_bad_hello')).toBeGreaterThanOrEqual(1);
    expect(a.node.counters.get('rx_exception')).toBe(0);
    await stillWorks(s, a, b);
  });

  it('wrongly fragmented packets and fragment floods stay within the reassembly bounds', async () => {
    const { s, a, b } = await setup();
    sim = s;
    const evil = s.board.attach(ep('10.99.0.69'));
    const rng = new SeededRandom(3);
    const frag = (id: bigint, total: number, n: number, len: number) => {
      const f = Buffer.alloc(16 + len);
      f.writeBigUInt64BE(id, 0);
      f.writeUIntBE(Number(a.node.address), 8, 5);
      f[13] = FRAGMENT_INDICATOR;
      f[14] = (total << 4) | n;
      f.set(rng.bytes(len), 16);
      return f;
    };
    for (let i = 0; i < 5_000; i++) evil.send(a.ep, frag(BigInt(i + 1), 2 + (i % 14), 1 + (i % 3), 1_400));
    for (let i = 0; i < 200; i++) evil.send(a.ep, frag(9n, 0, 0, 10)); // count 0
    for (let i = 0; i < 200; i++) evil.send(a.ep, frag(10n, 15, 15, 10)); // number out of range
    await s.run(100);
    const f = a.node.footprint();
    expect(f.fragmentBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(f.fragmentPackets).toBeLessThanOrEqual(128);
    expect(a.node.counters.get('frag_evicted') + a.node.counters.get('rx_drop_bad_fragment')).toBeGreaterThan(3_000);
    await s.run(2_000);
    expect(a.node.footprint().fragmentPackets).toBeLessThanOrEqual(128);
    expect(a.node.counters.get('rx_exception')).toBe(0);
    await stillWorks(s, a, b);
  });
});
