import { describe, expect, it } from 'vitest';
import { ArpCache } from '../../src/netstack/arp-cache.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { ARP_REPLY, ARP_REQUEST, ArpPacket, ArpParseError, emitArp, parseArp } from '../../src/netstack/wire/arp.js';

const MAC_A = Buffer.from([2, 0, 0, 0, 0, 1]);
const MAC_B = Buffer.from([2, 0, 0, 0, 0, 2]);

describe('wire/arp', () => {
  // a request as Linux sends it: who-has 192.168.1.1 tell 192.168.1.100
  const request = Buffer.from('0001' + '0800' + '06' + '04' + '0001' + '020000000001' + 'c0a80164' + '000000000000' + 'c0a80101', 'hex');

  it('parses a hand-built request', () => {
    const p = new ArpPacket();
    expect(parseArp(request, p)).toBe(0);
    expect(p.op).toBe(ARP_REQUEST);
    expect([...p.senderMac]).toEqual([...MAC_A]);
    expect(p.senderIp).toBe(0xc0a80164);
    expect(p.targetIp).toBe(0xc0a80101);
  });

  it('emits the same bytes', () => {
    const b = Buffer.alloc(28);
    emitArp(b, 0, ARP_REQUEST, MAC_A, 0xc0a80164, Buffer.alloc(6), 0xc0a80101);
    expect(b.equals(request)).toBe(true);
    emitArp(b, 0, ARP_REPLY, MAC_B, 0xc0a80101, MAC_A, 0xc0a80164);
    const p = new ArpPacket();
    expect(parseArp(b, p)).toBe(0);
    expect(p.op).toBe(ARP_REPLY);
    expect([...p.targetMac]).toEqual([...MAC_A]);
  });

  it('rejects truncated, non-Ethernet/IPv4 and unknown operations', () => {
    const p = new ArpPacket();
    expect(parseArp(request.subarray(0, 27), p)).toBe(ArpParseError.Truncated);
    const bad = Buffer.from(request);
    bad[1] = 6; // IEEE 802 hardware
    expect(parseArp(bad, p)).toBe(ArpParseError.Unsupported);
    const bad2 = Buffer.from(request);
    bad2[4] = 8;
    expect(parseArp(bad2, p)).toBe(ArpParseError.Unsupported);
    const bad3 = Buffer.from(request);
    bad3[7] = 3; // RARP request
    expect(parseArp(bad3, p)).toBe(ArpParseError.BadOperation);
  });
});

function makeCache(o: ConstructorParameters<typeof ArpCache>[1] = {}) {
  const sched = new VirtualScheduler();
  const counters = new Counters();
  const requests: { ip: number; at: number }[] = [];
  const sent: Buffer[] = [];
  const failed: { ip: number; frames: Buffer[] }[] = [];
  const cache = new ArpCache(
    {
      scheduler: sched,
      counters,
      sendRequest: (ip) => requests.push({ ip, at: sched.now() }),
      transmit: (f) => sent.push(f),
      onFailure: (ip, frames) => failed.push({ ip, frames }),
    },
    o,
  );
  return { sched, counters, requests, sent, failed, cache };
}

describe('ARP cache', () => {
  it('queues frames until resolved, then sends them with the learned MAC', () => {
    const { sched, requests, sent, cache } = makeCache();
    expect(cache.lookup(5)).toBeNull();
    expect(cache.enqueue(5, Buffer.alloc(60, 0))).toBe(true);
    expect(cache.enqueue(5, Buffer.alloc(60, 0))).toBe(true);
    expect(requests).toEqual([{ ip: 5, at: 0 }]);
    sched.advance(300);
    cache.learn(5, MAC_B, false);
    expect(sent).toHaveLength(2);
    for (const f of sent) expect([...f.subarray(0, 6)]).toEqual([...MAC_B]);
    expect([...cache.lookup(5)!]).toEqual([...MAC_B]);
    expect(cache.pendingFrames).toBe(0);
    sched.advance(5000);
    expect(requests).toHaveLength(1); // no retry once resolved
  });

  it('retries 3 times 1 s apart, then fails the queued frames', () => {
    const { sched, requests, failed, counters, cache } = makeCache();
    cache.enqueue(9, Buffer.alloc(60));
    sched.advance(2999);
    expect(requests.map((r) => r.at)).toEqual([0, 1000, 2000]);
    expect(failed).toHaveLength(0);
    sched.advance(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.frames).toHaveLength(1);
    expect(counters.get('resolve_failed')).toBe(1);
    expect(cache.size).toBe(0);
    expect(cache.pendingBytes).toBe(0);
  });

  it('bounds the queue per address, the bytes queued and the unresolved entries', () => {
    const { counters, cache } = makeCache({ queuePerEntry: 4, queueBytes: 1000, maxIncomplete: 3 });
    for (let i = 0; i < 10; i++) cache.enqueue(1, Buffer.alloc(100));
    expect(cache.pendingFrames).toBe(4);
    expect(counters.get('queue_overflow')).toBe(6);
    for (let i = 0; i < 10; i++) cache.enqueue(2, Buffer.alloc(100));
    cache.enqueue(3, Buffer.alloc(300)); // 800 + 300 > 1000
    expect(cache.pendingBytes).toBe(800);
    expect(cache.enqueue(4, Buffer.alloc(10))).toBe(false);
    expect(counters.get('incomplete_overflow')).toBe(1);
  });

  it('an unsolicited ARP only updates existing entries; one for us creates', () => {
    const { cache } = makeCache();
    cache.learn(7, MAC_A, false);
    expect(cache.lookup(7)).toBeNull();
    cache.learn(7, MAC_A, true);
    expect([...cache.lookup(7)!]).toEqual([...MAC_A]);
    cache.learn(7, MAC_B, false);
    expect([...cache.lookup(7)!]).toEqual([...MAC_B]);
  });

  it('a stale entry keeps working while refreshed, and is dropped when refreshes go unanswered', () => {
    const { sched, requests, counters, cache } = makeCache();
    cache.learn(7, MAC_A, true);
    sched.advance(30_000);
    expect(cache.lookup(7)).not.toBeNull();
    expect(requests).toHaveLength(1);
    expect(cache.lookup(7)).not.toBeNull(); // within 1 s: no second request
    expect(requests).toHaveLength(1);
    // answered: fresh again
    cache.learn(7, MAC_A, false);
    sched.advance(29_000);
    expect(cache.lookup(7)).not.toBeNull();
    expect(requests).toHaveLength(1);
    // unanswered
    sched.advance(2000);
    for (let i = 0; i < 3; i++) {
      expect(cache.lookup(7)).not.toBeNull();
      sched.advance(1000);
    }
    expect(requests).toHaveLength(4);
    expect(cache.lookup(7)).toBeNull();
    expect(counters.get('stale_expired')).toBe(1);
  });

  it('evicts the oldest resolved entry when full', () => {
    const { counters, cache } = makeCache({ maxEntries: 3 });
    for (let i = 1; i <= 5; i++) cache.learn(i, MAC_A, true);
    expect(cache.size).toBe(3);
    expect(cache.lookup(1)).toBeNull();
    expect(cache.lookup(5)).not.toBeNull();
    expect(counters.get('evicted')).toBe(2);
  });
});
