import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { endpoint, endpointKey, formatIpv6, ipv6Bytes, type Endpoint } from '../../src/node/peer/endpoint.js';
import { MulticastTable, arpGroup } from '../../src/node/network/multicast.js';
import { addressFromMac, macForMember } from '../../src/node/network/network-mac.js';
import { acceptablePath, Path } from '../../src/node/peer/path.js';
import { RateLimiter } from '../../src/node/peer/rate-limit.js';
import { ConfigChunkAssembly, MAX_CONFIG_BYTES } from '../../src/node/network/config-chunk-assembly.js';
import { acceptsEverything, filterFrame, RuleType } from '../../src/node/network/rules-engine.js';
import { Timing } from '../../src/node/timing.js';
import { WhoisQueue } from '../../src/node/peer/whois-queue.js';
import { Switchboard } from './switchboard.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VECTORS_DIR } from '../support/vectors.js';

const packets = JSON.parse(readFileSync(join(VECTORS_DIR, 'packets.json'), 'utf8')) as { nodes: unknown };

const NWID = 0x3ce329f872000001n;

function ep(ip: string, port: number): Endpoint {
  const e = endpoint(ip, port);
  if (!e) throw new Error(`bad endpoint ${ip}`);
  return e;
}

describe('member MAC derivation', () => {
  it('matches the MACs stock nodes used in the vector session', () => {
    const nodes = packets.nodes as Record<string, { address: string; zeroTierMac?: string }>;
    for (const name of ['A', 'B']) {
      const n = nodes[name]!;
      const mac = macForMember(BigInt(`0x${n.address}`), NWID);
      expect(Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':')).toBe(n.zeroTierMac);
      expect(addressFromMac(mac, NWID)).toBe(BigInt(`0x${n.address}`));
    }
  });

  it('maps a MAC only back on its own network; broadcast maps to no address', () => {
    const mac = macForMember(0x1a0bee8b7fn, NWID);
    expect(addressFromMac(mac, 0x3ce329f872000101n)).not.toBe(0x1a0bee8b7fn);
    expect(addressFromMac(mac, 0x3ce329f872000004n)).toBeNull(); // first octet differs
    expect(addressFromMac(Buffer.alloc(6, 0xff), NWID)).toBeNull();
  });
});

describe('endpoints and paths', () => {
  it('canonicalises IPv6 text and round-trips bytes', () => {
    const e = ep('FE80:0:0:0:0:0:0:1', 9993);
    expect(e.ip).toBe('fe80::1');
    expect(formatIpv6(ipv6Bytes('2001:db8::ff00:42:8329')!)).toBe('2001:db8::ff00:42:8329');
    expect(endpointKey(ep('10.0.0.1', 1))).toBe('10.0.0.1/1');
    expect(endpoint('300.1.1.1', 5)).toBeNull();
    expect(endpoint('10.0.0.1', 0)).toBeNull();
  });

  it('refuses loopback and link-local paths unless allowed, never multicast', () => {
    const strict = { allowLoopbackPaths: false };
    const loose = { allowLoopbackPaths: true };
    expect(acceptablePath(ep('127.0.0.1', 9993), strict)).toBe(false);
    expect(acceptablePath(ep('::1', 9993), strict)).toBe(false);
    expect(acceptablePath(ep('169.254.1.1', 9993), strict)).toBe(false);
    expect(acceptablePath(ep('127.0.0.1', 9993), loose)).toBe(true);
    expect(acceptablePath(ep('10.99.0.1', 9993), strict)).toBe(true);
    expect(acceptablePath(ep('224.0.0.1', 9993), loose)).toBe(false);
  });

  it('a path stays alive while confirmed packets arrive and expires later', () => {
    const p = new Path(ep('10.99.0.2', 9993));
    expect(p.alive(0)).toBe(false);
    p.received(1000);
    expect(p.alive(1000 + Timing.pathActivityTimeout - 1)).toBe(true);
    expect(p.alive(1000 + Timing.pathActivityTimeout + 1)).toBe(false);
    expect(p.expired(1000 + Timing.pathExpiration + 1)).toBe(true);
  });
});

describe('rate limiter', () => {
  it('allows a burst, refuses beyond it, refills with time, bounds its table', () => {
    const clock = new VirtualScheduler();
    const rl = new RateLimiter(clock, { ratePerSec: 2, burst: 3, maxKeys: 10 });
    expect([1, 2, 3, 4].map(() => rl.allow('a'))).toEqual([true, true, true, false]);
    expect(rl.refused).toBe(1);
    clock.advance(500);
    expect(rl.allow('a')).toBe(true);
    expect(rl.allow('a')).toBe(false);
    for (let i = 0; i < 100; i++) rl.allow(`k${i}`);
    expect(rl.size).toBeLessThanOrEqual(10);
  });
});

describe('WHOIS queue', () => {
  it('asks once, retries, then drops what waited', () => {
    const q = new WhoisQueue(2, 2);
    const from = ep('10.0.0.1', 1);
    expect(q.add(0xaan, { kind: 'in', packet: Buffer.alloc(1), from }, 0)).toBe(true);
    expect(q.add(0xaan, { kind: 'in', packet: Buffer.alloc(2), from }, 0)).toBe(false);
    expect(q.add(0xaan, { kind: 'in', packet: Buffer.alloc(3), from }, 0)).toBe(false);
    expect(q.dropped).toBe(1); // per-address bound
    expect(q.add(0xbbn, { kind: 'in', packet: Buffer.alloc(1), from }, 0)).toBe(true);
    expect(q.add(0xccn, { kind: 'in', packet: Buffer.alloc(1), from }, 0)).toBe(false);
    expect(q.dropped).toBe(2); // address-table bound
    const items = q.take(0xaan);
    expect(items.map((i) => (i.kind === 'in' ? i.packet.length : 0))).toEqual([2, 3]);
    let t = 0;
    for (let i = 0; i < Timing.whoisMaxRetries; i++) {
      t += Timing.whoisRetry;
      expect(q.due(t)).toEqual([0xbbn]);
    }
    t += Timing.whoisRetry;
    expect(q.due(t)).toEqual([]);
    expect(q.has(0xbbn)).toBe(false);
    expect(q.dropped).toBe(3);
  });
});

describe('multicast table', () => {
  it('returns the most recent members, excludes the asker, expires old likes', () => {
    const t = new MulticastTable(3);
    const g = arpGroup(0x0a931105);
    t.add(NWID, g, 0xan, 0);
    t.add(NWID, g, 0xbn, 10);
    t.add(NWID, g, 0xcn, 20);
    t.add(NWID, g, 0xdn, 30); // over the bound
    expect(t.dropped).toBe(1);
    expect(t.members(NWID, g, 10, 0xcn)).toEqual([0xbn, 0xan]);
    expect(t.members(NWID, { mac: g.mac, adi: 1 }, 10)).toEqual([]);
    t.add(NWID, g, 0xan, Timing.multicastLikeExpire + 5);
    t.expire(Timing.multicastLikeExpire + 25);
    expect(t.members(NWID, g, 10)).toEqual([0xan]);
    t.forgetNetwork(NWID);
    expect(t.size).toBe(0);
  });
});

describe('switchboard', () => {
  it('delivers after the latency, honours blocks and loss, copies data', () => {
    const s = new VirtualScheduler();
    const board = new Switchboard(s, { latencyMs: 5 });
    const a = board.attach(ep('10.99.0.1', 9993));
    const b = board.attach(ep('10.99.0.2', 9993));
    const got: string[] = [];
    b.onReceive((d, from) => got.push(`${d.toString()}@${endpointKey(from)}@${s.now()}`));
    const buf = Buffer.from('hi');
    a.send(b.local, buf);
    buf.write('xx');
    s.advance(4);
    expect(got).toEqual([]);
    s.advance(1);
    expect(got).toEqual(['hi@10.99.0.1/9993@5']);
    board.block(a.local, b.local);
    a.send(b.local, Buffer.from('no'));
    s.advance(10);
    expect(got.length).toBe(1);
    expect(board.stats.blocked).toBe(1);
    board.unblock(a.local, b.local);
    board.loss = 1;
    a.send(b.local, Buffer.from('lost'));
    s.advance(10);
    expect(board.stats.lost).toBe(1);
    board.loss = 0;
    b.close();
    a.send(b.local, Buffer.from('gone'));
    s.advance(10);
    expect(board.stats.unreachable).toBe(1);
  });
});

describe('rules engine', () => {
  const ipv4Tcp = Buffer.alloc(40);
  ipv4Tcp[0] = 0x45;
  ipv4Tcp[9] = 6;
  ipv4Tcp.writeUInt32BE(0x0a931169, 12);
  ipv4Tcp.writeUInt32BE(0x0a93115d, 16);
  ipv4Tcp.writeUInt16BE(40000, 20);
  ipv4Tcp.writeUInt16BE(22, 22);
  const frame = (etherType: number, payload: Uint8Array) => ({
    ztSource: 0x1a0bee8b7fn,
    ztDest: 0x67d125dc43n,
    macSource: 0x021a0b9c7356n,
    macDest: 0x0267d157246an,
    etherType,
    payload,
  });
  const r = (type: number, value: number[] = [], not = false, or = false) => ({ type, not, or, value: Uint8Array.from(value) });
  const accept = r(RuleType.ACTION_ACCEPT);
  const drop = r(RuleType.ACTION_DROP);

  it('accepts everything with the stock single ACCEPT rule and drops with no rules', () => {
    expect(filterFrame([accept], frame(0x0806, Buffer.alloc(28))).accept).toBe(true);
    expect(filterFrame([], frame(0x0806, Buffer.alloc(28)))).toEqual({ accept: false, reason: 'rule: no action reached (default drop)' });
  });

  it('says which rule sets take every frame without looking (callers then skip the facts)', () => {
    expect(acceptsEverything([accept])).toBe(true);
    expect(acceptsEverything([accept, drop])).toBe(true);
    expect(acceptsEverything([])).toBe(false);
    expect(acceptsEverything([drop, accept])).toBe(false);
    expect(acceptsEverything([r(RuleType.MATCH_ETHERTYPE, [0x86, 0xdd]), drop, accept])).toBe(false);
    // where it says true, filtering agrees for any frame
    for (const f of [frame(0x86dd, Buffer.alloc(40)), frame(0x0800, ipv4Tcp), frame(0x0806, Buffer.alloc(0))]) {
      expect(filterFrame([accept, drop], f).accept).toBe(true);
    }
  });

  it('drops by ethertype and accepts the rest', () => {
    const rules = [r(RuleType.MATCH_ETHERTYPE, [0x86, 0xdd]), drop, accept];
    expect(filterFrame(rules, frame(0x86dd, Buffer.alloc(40))).accept).toBe(false);
    expect(filterFrame(rules, frame(0x0800, ipv4Tcp)).accept).toBe(true);
  });

  it('honours NOT and OR and IPv4/port matches', () => {
    // accept only IPv4 (NOT ethertype ipv4 → drop)
    const onlyIpv4 = [r(RuleType.MATCH_ETHERTYPE, [0x08, 0x00], true), drop, accept];
    expect(filterFrame(onlyIpv4, frame(0x0806, Buffer.alloc(28))).accept).toBe(false);
    expect(filterFrame(onlyIpv4, frame(0x0800, ipv4Tcp)).accept).toBe(true);
    // drop TCP to port 22 or 23 from 10.147.17.0/24
    const noSsh = [r(RuleType.MATCH_IPV4_SOURCE, [10, 147, 17, 0, 24]), r(RuleType.MATCH_IP_DEST_PORT_RANGE, [0, 22, 0, 22]), drop, accept];
    expect(filterFrame(noSsh, frame(0x0800, ipv4Tcp)).accept).toBe(false);
    const other = Buffer.from(ipv4Tcp);
    other.writeUInt16BE(80, 22);
    expect(filterFrame(noSsh, frame(0x0800, other)).accept).toBe(true);
    const orRules = [r(RuleType.MATCH_ETHERTYPE, [0x86, 0xdd]), r(RuleType.MATCH_ETHERTYPE, [0x08, 0x06], false, true), drop, accept];
    expect(filterFrame(orRules, frame(0x0806, Buffer.alloc(28))).accept).toBe(false);
    expect(filterFrame(orRules, frame(0x0800, ipv4Tcp)).accept).toBe(true);
  });

  it('fails closed on rule types it does not implement', () => {
    const v = filterFrame([r(44, [0, 0, 0, 1, 0, 0, 0, 2]), accept], frame(0x0800, ipv4Tcp));
    expect(v).toEqual({ accept: false, reason: 'rule: unsupported match 44' });
    expect(filterFrame([r(RuleType.ACTION_TEE, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])], frame(0x0800, ipv4Tcp)).accept).toBe(false);
  });
});

describe('config chunk assembly', () => {
  it('joins chunks in any order and refuses bad ones', () => {
    const a = new ConfigChunkAssembly(2);
    const whole = Buffer.from('v=7\nnwid=3ce329f872000001\nts=1\n');
    const c1 = { updateId: 5n, totalLength: whole.length, offset: 0, data: whole.subarray(0, 10) };
    const c2 = { updateId: 5n, totalLength: whole.length, offset: 10, data: whole.subarray(10) };
    expect(a.add(c2, 0)).toEqual({ kind: 'partial' });
    const done = a.add(c1, 1);
    expect(done.kind).toBe('complete');
    expect(done.kind === 'complete' && done.config.equals(whole)).toBe(true);
    expect(a.add({ ...c1, offset: whole.length }, 2).kind).toBe('invalid');
    expect(a.add({ ...c1, totalLength: 0 }, 2).kind).toBe('invalid');
    expect(a.add({ ...c1, totalLength: MAX_CONFIG_BYTES + 1 }, 2).kind).toBe('invalid');
    // overlapping chunks that add up to the total are refused, not mis-joined
    const ov = a.add({ updateId: 9n, totalLength: 10, offset: 0, data: Buffer.alloc(6) }, 3);
    expect(ov.kind).toBe('partial');
    expect(a.add({ updateId: 9n, totalLength: 10, offset: 3, data: Buffer.alloc(4) }, 3).kind).toBe('invalid');
  });
});
