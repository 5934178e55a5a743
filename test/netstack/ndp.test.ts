import { describe, expect, it } from 'vitest';
import { IPV6_ALL_NODES, IPV6_ANY, solicitedNode, type Ipv6Addr } from '../../src/netstack/addr.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { NeighborCache } from '../../src/netstack/neighbor-cache.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { HEADROOM } from '../../src/netstack/transport.js';
import {
  emitNeighborAdvertisement,
  emitNeighborSolicitation,
  emitRouterSolicitation,
  NA_FLAG_OVERRIDE,
  NdpMessage,
  parseNdp,
} from '../../src/netstack/wire/ndp.js';
import {
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  parseMld2Report,
  type MldRecord,
} from '../../src/netstack/wire/mld.js';
import { finish, pseudoHeaderSum6, sum16 } from '../../src/netstack/wire/checksum.js';
import { emitRouterAlertHopByHop } from '../../src/netstack/wire/ipv6.js';
import { icmpv6Of, ipv6Packets, makeSegment, v6Frame, type V6Host } from './ipv6-rig.js';
import { v6 } from './ipv6-vectors.js';

const N = v6('fd00::9');
const MAC1 = Buffer.from('020000000009', 'hex');
const MAC2 = Buffer.from('02000000000a', 'hex');

function cache() {
  const sched = new VirtualScheduler();
  const counters = new Counters();
  const solicits: Array<{ target: Ipv6Addr; unicast: boolean }> = [];
  const sent: Buffer[] = [];
  const failed: Buffer[][] = [];
  const nc = new NeighborCache({
    scheduler: sched,
    counters,
    random: new SeededRandom(1),
    solicit: (target, mac) => solicits.push({ target, unicast: mac !== null }),
    transmit: (f) => sent.push(f),
    onFailure: (_t, frames) => failed.push(frames),
  });
  return { sched, counters, solicits, sent, failed, nc };
}

describe('neighbor cache states (RFC 4861 §7.3.2)', () => {
  it('INCOMPLETE: three multicast solicitations 1 s apart, then the queued frames fail', () => {
    const { sched, nc, solicits, failed } = cache();
    expect(nc.lookup(N)).toBeNull();
    expect(nc.enqueue(N, Buffer.alloc(60))).toBe(true);
    expect(nc.enqueue(N, Buffer.alloc(60))).toBe(true);
    expect(nc.state(N)).toBe('INCOMPLETE');
    sched.advance(2999);
    expect(solicits).toEqual([
      { target: N, unicast: false },
      { target: N, unicast: false },
      { target: N, unicast: false },
    ]);
    expect(failed).toHaveLength(0);
    sched.advance(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toHaveLength(2);
    expect(nc.state(N)).toBeNull();
  });

  it('a solicited advertisement makes it REACHABLE and releases the queue with the MAC written', () => {
    const { nc, sent } = cache();
    nc.enqueue(N, Buffer.alloc(60));
    nc.advertisement(N, MAC1, true, true, false);
    expect(nc.state(N)).toBe('REACHABLE');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.subarray(0, 6).equals(MAC1)).toBe(true);
    expect(nc.lookup(N)?.equals(MAC1)).toBe(true);
  });

  it('REACHABLE → STALE after ReachableTime; a send moves it to DELAY, then PROBE with unicast solicitations; unanswered, it goes', () => {
    const { sched, nc, solicits } = cache();
    nc.enqueue(N, Buffer.alloc(60));
    nc.advertisement(N, MAC1, true, true, false);
    solicits.length = 0;
    sched.advance(45_001); // past 1.5 × 30 s
    expect(nc.lookup(N)?.equals(MAC1)).toBe(true);
    expect(nc.state(N)).toBe('DELAY');
    sched.advance(4999);
    nc.lookup(N);
    expect(nc.state(N)).toBe('DELAY');
    sched.advance(1);
    expect(nc.lookup(N)?.equals(MAC1)).toBe(true);
    expect(nc.state(N)).toBe('PROBE');
    expect(solicits).toEqual([{ target: N, unicast: true }]);
    sched.advance(1000);
    nc.lookup(N);
    sched.advance(1000);
    nc.lookup(N);
    expect(solicits).toHaveLength(3);
    sched.advance(1000);
    expect(nc.lookup(N)).toBeNull();
    expect(nc.state(N)).toBeNull();
  });

  it('a solicited advertisement during PROBE confirms it again', () => {
    const { sched, nc } = cache();
    nc.learnFromSolicitation(N, MAC1);
    expect(nc.state(N)).toBe('STALE');
    nc.lookup(N);
    sched.advance(5000);
    nc.lookup(N);
    expect(nc.state(N)).toBe('PROBE');
    nc.advertisement(N, null, true, false, false);
    expect(nc.state(N)).toBe('REACHABLE');
  });

  it('without override, a different address only makes a REACHABLE entry STALE; with it, the address changes', () => {
    const { nc } = cache();
    nc.enqueue(N, Buffer.alloc(60));
    nc.advertisement(N, MAC1, true, true, false);
    nc.advertisement(N, MAC2, false, false, false);
    expect(nc.state(N)).toBe('STALE');
    expect(nc.lookup(N)?.equals(MAC1)).toBe(true);
    nc.advertisement(N, MAC2, false, true, true);
    expect(nc.state(N)).toBe('STALE');
    expect(nc.lookup(N)?.equals(MAC2)).toBe(true);
    expect(nc.isRouter(N)).toBe(true);
  });

  it('an advertisement for an unknown neighbor creates nothing; a solicitation creates a STALE entry', () => {
    const { nc, counters } = cache();
    expect(nc.advertisement(N, MAC1, false, true, false)).toBe(false);
    expect(counters.get('rx_na_no_entry')).toBe(1);
    expect(nc.size).toBe(0);
    nc.learnFromSolicitation(N, MAC1);
    expect(nc.state(N)).toBe('STALE');
    // an INCOMPLETE entry learning from a solicitation sends its queue
  });

  it('bounds the queue per neighbor and unresolved entries', () => {
    const { nc, counters } = cache();
    for (let i = 0; i < 70; i++) nc.enqueue(N, Buffer.alloc(60));
    expect(nc.pendingFrames).toBe(64);
    expect(counters.get('nd_queue_overflow')).toBe(6);
    for (let i = 0; i < 200; i++) nc.enqueue(v6(`fd00::1:${i.toString(16)}`), Buffer.alloc(60));
    expect(counters.get('nd_incomplete_overflow')).toBe(73);
  });
});

function pairHosts() {
  const seg = makeSegment(2);
  const [a, b] = seg.hosts as [V6Host, V6Host];
  return { seg, a, b };
}

const A = v6('fd00::1');
const B = v6('fd00::2');
const X = v6('fd00::77');
const MAC_X = Buffer.from('020000000077', 'hex');

/** An ND message frame from X (or :: with `src`) to host `h`. */
function ndFrame(h: V6Host, msg: Buffer, o: { src?: Ipv6Addr; dst: Ipv6Addr; dstMac?: Buffer; hop?: number }): Buffer {
  return v6Frame({ srcMac: MAC_X, dstMac: o.dstMac ?? h.mac, src: o.src ?? X, dst: o.dst, nh: 58, hopLimit: o.hop ?? 255 }, msg);
}

describe('neighbor discovery in the IPv6 layer', () => {
  it('answers a solicitation for its address with a solicited advertisement and learns the solicitor', () => {
    const { seg, b } = pairHosts();
    b.ip.addAddress(B, 64);
    seg.sched.advance(2000);
    b.sent.length = 0;
    const ns = Buffer.alloc(32);
    emitNeighborSolicitation(ns, 0, B, MAC_X, X, solicitedNode(B));
    b.input(ndFrame(b, ns, { dst: solicitedNode(B), dstMac: Buffer.from('3333ff000002', 'hex') }));
    const na = icmpv6Of(b.sent, 136);
    expect(na).toHaveLength(1);
    const m = new NdpMessage();
    expect(parseNdp(na[0]!.subarray(40), B, X, 255, m)).toBe(0);
    expect(m).toMatchObject({ target: B, solicited: true, override: true });
    expect(m.targetLinkAddr?.equals(b.mac)).toBe(true);
    expect(b.sent.at(-1)!.subarray(0, 6).equals(MAC_X)).toBe(true);
    expect(b.ip.ndp.cache.state(X)).not.toBeNull();
    // hop limit other than 255: ignored
    b.input(ndFrame(b, ns, { dst: solicitedNode(B), dstMac: Buffer.from('3333ff000002', 'hex'), hop: 64 }));
    expect(b.counters.ipv6.get('rx_nd_bad_hop_limit')).toBe(1);
  });

  it('DAD: a probe goes out from ::, the address is usable at once, then announced', () => {
    const { seg, a, b } = pairHosts();
    a.ip.addAddress(A, 64);
    b.ip.addAddress(B, 64);
    const probes = icmpv6Of(a.sent, 135).filter((p) => p.toString('hex', 8, 24) === IPV6_ANY);
    expect(probes.map((p) => p.toString('hex', 48, 64)).sort()).toEqual([A, v6('fe80::ff:fe00:1')].sort());
    // optimistic: usable before DAD ends
    expect(a.ip.sourceFor(B)).toBe(A);
    seg.sched.advance(1001);
    const unsolicited = icmpv6Of(a.sent, 136).filter((p) => p.toString('hex', 24, 40) === IPV6_ALL_NODES);
    expect(unsolicited.length).toBeGreaterThanOrEqual(1);
    expect(unsolicited[0]![44]! & NA_FLAG_OVERRIDE).toBe(NA_FLAG_OVERRIDE);
    expect(a.counters.ipv6.get('nd_dad_conflict')).toBe(0);
  });

  it('DAD: an advertisement claiming our address is a conflict, counted and reported', () => {
    const { b } = pairHosts();
    const conflicts: Ipv6Addr[] = [];
    b.ip.onAddressConflict = (x) => conflicts.push(x);
    b.ip.addAddress(B, 64);
    const na = Buffer.alloc(32);
    emitNeighborAdvertisement(na, 0, B, NA_FLAG_OVERRIDE, MAC_X, B, IPV6_ALL_NODES);
    b.input(ndFrame(b, na, { src: B, dst: IPV6_ALL_NODES, dstMac: Buffer.from('333300000001', 'hex') }));
    expect(conflicts).toEqual([B]);
    expect(b.counters.ipv6.get('nd_dad_conflict')).toBe(1);
    expect(b.ip.addrs.isDuplicate(B)).toBe(true);
    // our own MAC in the advertisement (an overlay answering for us) is no conflict
    const own = Buffer.alloc(32);
    emitNeighborAdvertisement(own, 0, B, NA_FLAG_OVERRIDE, b.mac, B, IPV6_ALL_NODES);
    b.input(ndFrame(b, own, { src: B, dst: IPV6_ALL_NODES, dstMac: Buffer.from('333300000001', 'hex') }));
    expect(conflicts).toHaveLength(1);
  });

  it('DAD: another node probing for our tentative address is a conflict; after DAD it is answered', () => {
    const { seg, b } = pairHosts();
    b.ip.addAddress(B, 64);
    const probe = Buffer.alloc(24);
    emitNeighborSolicitation(probe, 0, B, null, IPV6_ANY, solicitedNode(B));
    b.input(ndFrame(b, probe, { src: IPV6_ANY, dst: solicitedNode(B), dstMac: Buffer.from('3333ff000002', 'hex') }));
    expect(b.counters.ipv6.get('nd_dad_conflict')).toBe(1);
    b.ip.addAddress(v6('fd00::3'), 64);
    seg.sched.advance(1001);
    b.sent.length = 0;
    const probe3 = Buffer.alloc(24);
    emitNeighborSolicitation(probe3, 0, v6('fd00::3'), null, IPV6_ANY, solicitedNode(v6('fd00::3')));
    b.input(ndFrame(b, probe3, { src: IPV6_ANY, dst: solicitedNode(v6('fd00::3')), dstMac: Buffer.from('3333ff000003', 'hex') }));
    const na = icmpv6Of(b.sent, 136);
    expect(na).toHaveLength(1);
    expect(na[0]!.toString('hex', 24, 40)).toBe(IPV6_ALL_NODES);
  });

  it('ignores router solicitations unless a route names it as gateway', () => {
    const { seg, b } = pairHosts();
    b.ip.addAddress(B, 64);
    seg.sched.advance(2000);
    const rs = Buffer.alloc(16);
    const ll = v6('fe80::77');
    emitRouterSolicitation(rs, 0, MAC_X, ll, v6('ff02::2'));
    const frame = () =>
      v6Frame({ srcMac: MAC_X, dstMac: Buffer.from('333300000002', 'hex'), src: ll, dst: v6('ff02::2'), nh: 58, hopLimit: 255 }, rs);
    b.groups.join(v6('ff02::2'));
    b.sent.length = 0;
    b.input(frame());
    expect(b.counters.ipv6.get('rx_router_solicit_ignored')).toBe(1);
    expect(icmpv6Of(b.sent, 134)).toHaveLength(0);
    b.ip.addRoute({ dest: v6('2001:db8::'), prefixLen: 32, gateway: B, metric: 0 });
    b.input(frame());
    const ra = icmpv6Of(b.sent, 134);
    expect(ra).toHaveLength(1);
    const m = new NdpMessage();
    expect(parseNdp(ra[0]!.subarray(40), v6('fe80::ff:fe00:2'), IPV6_ALL_NODES, 255, m)).toBe(0);
    expect(m).toMatchObject({ routerLifetime: 1800, mtu: 1500 });
  });

  it('a resolution that fails tells the sending transport: address unreachable', () => {
    const { seg, a } = pairHosts();
    a.ip.addAddress(A, 64);
    seg.sched.advance(2000);
    seg.drop = () => true;
    const p = Buffer.alloc(HEADROOM + 8);
    a.ip.send(17, A, X, p, HEADROOM);
    seg.sched.advance(3001);
    expect(a.udp.errors).toMatchObject([{ type: 1, code: 3, src: A, dst: X }]);
  });

  it('reports joined groups with MLDv2 (not ff02::1), and leaving them', () => {
    const { a } = pairHosts();
    a.ip.addAddress(A, 64);
    a.groups.join(v6('ff05::1:3'));
    a.groups.leave(v6('ff05::1:3'));
    const reports = ipv6Packets(a.sent).filter((p) => p[6] === 0 && p[48] === 143);
    const records: MldRecord[] = [];
    for (const r of reports) parseMld2Report(r.subarray(48), records);
    expect(records.map((r) => [r.type, r.group])).toEqual([
      [MLD_CHANGE_TO_EXCLUDE, solicitedNode(A)],
      [MLD_CHANGE_TO_EXCLUDE, v6('ff05::1:3')],
      [MLD_CHANGE_TO_INCLUDE, v6('ff05::1:3')],
    ]);
    expect(reports.every((r) => r[7] === 1 && r.toString('hex', 24, 40) === v6('ff02::16'))).toBe(true);
  });

  it('resolution between two hosts leaves both caches with the other', () => {
    const { seg, a, b } = pairHosts();
    a.ip.addAddress(A, 64);
    b.ip.addAddress(B, 64);
    seg.sched.advance(2000);
    a.icmp.ping(B, {}, () => {});
    seg.sched.advance(10);
    expect(a.ip.ndp.cache.dump()).toMatchObject([{ ip: 'fd00::2', mac: '02:00:00:00:00:02', state: 'REACHABLE' }]);
    expect(b.ip.ndp.cache.state(A)).not.toBeNull();
  });
});

describe('reachability confirmation (RFC 4861 §7.3.1)', () => {
  it('a transport hint keeps the neighbor REACHABLE: no DELAY, no probes', () => {
    const { sched, nc, solicits } = cache();
    nc.enqueue(N, Buffer.alloc(60));
    nc.advertisement(N, MAC1, true, true, false);
    solicits.length = 0;
    for (let t = 0; t < 120; t++) {
      sched.advance(1000);
      nc.confirm(N);
      expect(nc.lookup(N)?.equals(MAC1)).toBe(true);
    }
    expect(nc.state(N)).toBe('REACHABLE');
    expect(solicits).toHaveLength(0);
    // an unknown neighbor is not created by a hint
    nc.confirm(v6('fd00::99'));
    expect(nc.state(v6('fd00::99'))).toBeNull();
  });

  it('the IPv6 layer confirms the next hop: the gateway for routed destinations', () => {
    const seg = makeSegment(2);
    const [a, b] = seg.hosts as [V6Host, V6Host];
    a.ip.addAddress(A, 64);
    b.ip.addAddress(B, 64);
    a.ip.addRoute({ dest: v6('2001:db8::'), prefixLen: 32, gateway: B, metric: 0 });
    seg.sched.advance(2000);
    a.icmp.ping(B, {}, () => {});
    seg.sched.advance(10);
    seg.sched.advance(60_000);
    a.ip.confirmReachable(v6('2001:db8::7'));
    expect(a.ip.ndp.cache.state(B)).toBe('REACHABLE');
  });
});

describe('MLD queries', () => {
  it('a general query is answered with a current-state report of every reported group', () => {
    const { seg, a } = pairHosts();
    a.ip.addAddress(A, 64);
    a.groups.join(v6('ff05::1:3'));
    seg.sched.advance(2000);
    a.sent.length = 0;
    // MLDv2 general query from a router: hop-by-hop router alert, hop limit 1, to ff02::1
    const q = Buffer.alloc(8 + 28);
    emitRouterAlertHopByHop(q, 0, 58, 0);
    q[8] = 130;
    q.writeUInt16BE(1000, 12); // maximum response delay 1 s
    const ll = v6('fe80::77');
    q.writeUInt16BE(finish(sum16(q, 8, q.length, pseudoHeaderSum6(ll, IPV6_ALL_NODES, 58, 28))), 10);
    a.input(v6Frame({ srcMac: MAC_X, dstMac: Buffer.from('333300000001', 'hex'), src: ll, dst: IPV6_ALL_NODES, nh: 0, hopLimit: 1 }, q));
    expect(a.counters.ipv6.get('rx_mld_query')).toBe(1);
    seg.sched.advance(1000);
    const reports = ipv6Packets(a.sent).filter((p) => p[6] === 0 && p[48] === 143);
    expect(reports).toHaveLength(1);
    const records: MldRecord[] = [];
    parseMld2Report(reports[0]!.subarray(48), records);
    expect(records.map((r) => [r.type, r.group])).toEqual([
      [MLD_MODE_IS_EXCLUDE, solicitedNode(A)],
      [MLD_MODE_IS_EXCLUDE, v6('ff05::1:3')],
    ]);
  });
});
