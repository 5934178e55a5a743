import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { Errno } from '../../src/netstack/errno.js';
import { Ipv6Reassembler } from '../../src/netstack/ipv6-reassembly.js';
import { pseudoHeaderSum6 } from '../../src/netstack/wire/checksum.js';
import {
  emitIcmpv6Echo,
  emitIcmpv6Error,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  icmpv6Errno,
  Icmpv6Message,
  Icmpv6ParseError,
  parseIcmpv6,
} from '../../src/netstack/wire/icmpv6.js';
import {
  emitIpv6Header,
  emitRouterAlertHopByHop,
  Ipv6Chain,
  Ipv6ChainError,
  Ipv6Header,
  Ipv6ParseError,
  ipv6PseudoHeaderSumAt,
  parseIpv6,
  PP_ERRONEOUS_FIELD,
  PP_UNKNOWN_NEXT_HEADER,
  PP_UNKNOWN_OPTION,
  walkIpv6Chain,
} from '../../src/netstack/wire/ipv6.js';
import {
  emitMld2Report,
  MLD_CHANGE_TO_EXCLUDE,
  MLDV2_ROUTERS,
  MldQuery,
  parseMld2Report,
  parseMldQuery,
  type MldRecord,
} from '../../src/netstack/wire/mld.js';
import {
  emitNeighborAdvertisement,
  emitNeighborSolicitation,
  emitRouterAdvertisement,
  emitRouterSolicitation,
  NA_FLAG_OVERRIDE,
  NA_FLAG_SOLICITED,
  NdpMessage,
  NdpParseError,
  parseNdp,
} from '../../src/netstack/wire/ndp.js';
import { kernelFrame, v6 } from './ipv6-vectors.js';

const A = v6('fd00::a');
const B = v6('fd00::b');
const MAC_A = Buffer.from('02000000000a', 'hex');
const MAC_B = Buffer.from('02000000000b', 'hex');
const LL_A = v6('fe80::ff:fe00:a');
const LL_B = v6('fe80::ff:fe00:b');

/** The IPv6 packet of a captured frame. */
const packet = (name: string) => kernelFrame(name).subarray(14);
const icmpOf = (p: Buffer, at = 40) => p.subarray(at);

describe('wire/ipv6 against kernel frames', () => {
  it('parses the fixed header of an echo request', () => {
    const h = new Ipv6Header();
    expect(parseIpv6(packet('echo_request'), h)).toBe(0);
    expect(h).toMatchObject({ trafficClass: 0, flowLabel: 0x43801, payloadLen: 16, nextHeader: 58, hopLimit: 64, src: A, dst: B });
  });

  it('emits the same fixed header as the kernel', () => {
    const p = packet('echo_reply');
    const b = Buffer.alloc(40);
    emitIpv6Header(b, 0, 0, 0x13897, 16, 58, 64, B, A);
    expect(b.equals(p.subarray(0, 40))).toBe(true);
  });

  it('rejects bad versions, short packets and payload lengths past the end', () => {
    const h = new Ipv6Header();
    const p = Buffer.from(packet('echo_request'));
    expect(parseIpv6(p.subarray(0, 39), h)).toBe(Ipv6ParseError.Truncated);
    expect(parseIpv6(p.subarray(0, 55), h)).toBe(Ipv6ParseError.BadPayloadLength);
    p[0] = 0x45;
    expect(parseIpv6(p, h)).toBe(Ipv6ParseError.BadVersion);
  });

  it('walks a fragment header and reports its fields', () => {
    const ch = new Ipv6Chain();
    const p1 = packet('frag1');
    expect(walkIpv6Chain(p1, 40, p1.length, p1[6]!, 6, ch)).toBe(0);
    expect(ch).toMatchObject({ protocol: 44, offset: 40, fragOffset: 0, moreFragments: true, fragId: 0x9d442a44, fragNextHeader: 58 });
    const p3 = packet('frag3');
    walkIpv6Chain(p3, 40, p3.length, p3[6]!, 6, ch);
    expect(ch).toMatchObject({ fragOffset: 2464, moreFragments: false });
    // through fragments (as for quotes) the walk goes on to ICMPv6
    walkIpv6Chain(p1, 40, p1.length, p1[6]!, 6, ch, true);
    expect(ch).toMatchObject({ protocol: 58, offset: 48 });
  });

  it('reassembles the kernel fragments into the 3008-byte echo request', () => {
    const sched = new VirtualScheduler();
    const c = new Counters();
    const r = new Ipv6Reassembler(sched, c, () => {});
    const h = new Ipv6Header();
    const ch = new Ipv6Chain();
    let whole: Buffer | null = null;
    for (const n of ['frag3', 'frag1', 'frag2']) {
      const p = packet(n);
      parseIpv6(p, h);
      walkIpv6Chain(p, 40, h.totalLen, h.nextHeader, 6, ch);
      whole = r.add(h, p, {
        dataOffset: 48,
        fragOffset: ch.fragOffset,
        moreFragments: ch.moreFragments,
        id: ch.fragId,
        nextHeader: ch.fragNextHeader,
      });
    }
    expect(whole).not.toBeNull();
    expect(parseIpv6(whole!, h)).toBe(0);
    expect(h).toMatchObject({ payloadLen: 3008, nextHeader: 58, src: A, dst: B });
    const m = new Icmpv6Message();
    expect(parseIcmpv6(icmpOf(whole!), ipv6PseudoHeaderSumAt(whole!, 0, 58, 3008), m)).toBe(0);
    expect(m).toMatchObject({ type: ICMPV6_ECHO_REQUEST, id: 0x6ccd, seq: 1 });
    expect(c.get('reasm_ok')).toBe(1);
  });

  it('computes the pseudo-header sum from text addresses and from the packet alike', () => {
    const p = packet('udp_to_closed_port');
    expect(pseudoHeaderSum6(A, B, 17, 13) % 0xffff).toBe(ipv6PseudoHeaderSumAt(p, 0, 17, 13) % 0xffff);
  });
});

describe('wire/icmpv6 against kernel frames', () => {
  it('parses an echo request and checks its checksum over the pseudo-header', () => {
    const p = packet('echo_request');
    const m = new Icmpv6Message();
    expect(parseIcmpv6(icmpOf(p), ipv6PseudoHeaderSumAt(p, 0, 58, 16), m)).toBe(0);
    expect(m).toMatchObject({ type: ICMPV6_ECHO_REQUEST, code: 0, id: 0x6ccc, seq: 1 });
    // the same bytes with the addresses swapped fail
    expect(parseIcmpv6(icmpOf(p), pseudoHeaderSum6(B, A, 58, 16) + 1, m)).toBe(Icmpv6ParseError.BadChecksum);
    expect(parseIcmpv6(icmpOf(p).subarray(0, 3), 0, m)).toBe(Icmpv6ParseError.Truncated);
  });

  it('emits the kernel echo reply byte for byte', () => {
    const req = icmpOf(packet('echo_request'));
    const b = Buffer.from(req);
    emitIcmpv6Echo(b, 0, b.length, ICMPV6_ECHO_REPLY, 0x6ccc, 1, B, A);
    expect(b.equals(icmpOf(packet('echo_reply')))).toBe(true);
  });

  it('emits the kernel port unreachable byte for byte', () => {
    const offending = packet('udp_to_closed_port');
    const want = icmpOf(packet('port_unreachable'));
    const b = Buffer.alloc(8 + offending.length);
    offending.copy(b, 8);
    emitIcmpv6Error(b, 0, b.length, 1, 4, 0, B, A);
    expect(b.equals(want)).toBe(true);
  });

  it('maps errors to errno as Linux icmpv6_err_convert', () => {
    expect(icmpv6Errno(1, 0)).toBe(Errno.ENETUNREACH);
    expect(icmpv6Errno(1, 1)).toBe(Errno.EACCES);
    expect(icmpv6Errno(1, 3)).toBe(Errno.EHOSTUNREACH);
    expect(icmpv6Errno(1, 4)).toBe(Errno.ECONNREFUSED);
    expect(icmpv6Errno(2, 0)).toBe(Errno.EMSGSIZE);
    expect(icmpv6Errno(3, 0)).toBe(Errno.EHOSTUNREACH);
    expect(icmpv6Errno(4, 1)).toBe(Errno.EPROTO);
    expect(icmpv6Errno(128, 0)).toBe(0);
  });
});

describe('wire/ndp against kernel frames', () => {
  const m = new NdpMessage();

  it('parses a neighbor solicitation with its source link-layer address and emits it identically', () => {
    const p = packet('ns_with_slla');
    const msg = icmpOf(p);
    expect(parseNdp(msg, A, v6('ff02::1:ff00:b'), 255, m)).toBe(0);
    expect(m.target).toBe(B);
    expect(m.sourceLinkAddr?.equals(MAC_A)).toBe(true);
    const b = Buffer.alloc(32);
    expect(emitNeighborSolicitation(b, 0, B, MAC_A, A, v6('ff02::1:ff00:b'))).toBe(32);
    expect(b.equals(msg)).toBe(true);
  });

  it('parses a solicited advertisement and emits it identically', () => {
    const msg = icmpOf(packet('na_solicited'));
    expect(parseNdp(msg, B, A, 255, m)).toBe(0);
    expect(m).toMatchObject({ target: B, solicited: true, override: true, router: false });
    expect(m.targetLinkAddr?.equals(MAC_B)).toBe(true);
    const b = Buffer.alloc(32);
    emitNeighborAdvertisement(b, 0, B, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, MAC_B, B, A);
    expect(b.equals(msg)).toBe(true);
  });

  it('parses an advertisement without a target link-layer address (a reply to a unicast probe)', () => {
    expect(parseNdp(icmpOf(packet('na_without_tlla')), A, LL_B, 255, m)).toBe(0);
    expect(m).toMatchObject({ target: A, solicited: true, override: false, targetLinkAddr: null });
    expect(parseNdp(icmpOf(packet('ns_unicast_probe')), LL_B, A, 255, m)).toBe(0);
  });

  it('parses a DAD probe (unspecified source, a nonce option, RFC 7527)', () => {
    expect(parseNdp(icmpOf(packet('dad_ns')), '0'.repeat(32), v6('ff02::1:ff00:b'), 255, m)).toBe(0);
    expect(m.target).toBe(v6('fe80::ff:fe00:b'));
    expect(m.sourceLinkAddr).toBeNull();
  });

  it('emits the kernel router solicitation identically', () => {
    const msg = icmpOf(packet('router_solicit'));
    expect(parseNdp(msg, LL_A, v6('ff02::2'), 255, m)).toBe(0);
    const b = Buffer.alloc(16);
    emitRouterSolicitation(b, 0, MAC_A, LL_A, v6('ff02::2'));
    expect(b.equals(msg)).toBe(true);
  });

  it('round-trips a router advertisement with MTU option', () => {
    const b = Buffer.alloc(32);
    const f = { curHopLimit: 64, flags: 0, routerLifetime: 1800, reachableTime: 0, retransTimer: 0, sourceMac: MAC_B, mtu: 2800 };
    expect(emitRouterAdvertisement(b, 0, f, LL_B, v6('ff02::1'))).toBe(32);
    expect(parseNdp(b, LL_B, v6('ff02::1'), 255, m)).toBe(0);
    expect(m).toMatchObject({ routerLifetime: 1800, mtu: 2800, curHopLimit: 64 });
    // RFC 4861 §6.1.2: only from a link-local source
    expect(parseNdp(b, B, v6('ff02::1'), 255, m)).toBe(NdpParseError.BadRouterSource);
  });

  it('applies the validity checks of RFC 4861 §7.1', () => {
    const msg = Buffer.from(icmpOf(packet('ns_with_slla')));
    expect(parseNdp(msg, A, B, 254, m)).toBe(NdpParseError.BadHopLimit);
    // from :: with a source link-layer option, or not to a solicited-node group
    expect(parseNdp(msg, '0'.repeat(32), v6('ff02::1:ff00:b'), 255, m)).toBe(NdpParseError.BadUnspecifiedSource);
    // a zero-length option drops the message
    const bad = Buffer.from(msg);
    bad[25] = 0;
    expect(parseNdp(bad, A, B, 255, m)).toBe(NdpParseError.BadOption);
    const code = Buffer.from(msg);
    code[1] = 1;
    expect(parseNdp(code, A, B, 255, m)).toBe(NdpParseError.BadCode);
    const mc = Buffer.from(msg);
    mc[8] = 0xff;
    expect(parseNdp(mc, A, B, 255, m)).toBe(NdpParseError.MulticastTarget);
    expect(parseNdp(msg.subarray(0, 20), A, B, 255, m)).toBe(NdpParseError.Truncated);
    // a solicited advertisement to a group
    expect(parseNdp(icmpOf(packet('na_solicited')), B, v6('ff02::1'), 255, m)).toBe(NdpParseError.SolicitedToMulticast);
  });
});

describe('wire/mld against kernel frames', () => {
  it('walks the hop-by-hop router alert and parses the MLDv2 report', () => {
    const p = packet('mld2_report_dad');
    const ch = new Ipv6Chain();
    expect(walkIpv6Chain(p, 40, p.length, p[6]!, 6, ch)).toBe(0);
    expect(ch).toMatchObject({ protocol: 58, offset: 48, routerAlert: 0, nextHeaderAt: 40 });
    const records: MldRecord[] = [];
    expect(parseMld2Report(p.subarray(48), records)).toBe(0);
    expect(records).toEqual([{ type: MLD_CHANGE_TO_EXCLUDE, group: v6('ff02::1:ff00:b'), sources: [] }]);
  });

  it('emits the same hop-by-hop header and report as the kernel', () => {
    const p = packet('mld2_report_dad');
    const b = Buffer.alloc(36);
    emitRouterAlertHopByHop(b, 0, 58, 0);
    const n = emitMld2Report(b, 8, MLD_CHANGE_TO_EXCLUDE, [v6('ff02::1:ff00:b')], '0'.repeat(32), MLDV2_ROUTERS);
    expect(n).toBe(28);
    expect(b.equals(p.subarray(40))).toBe(true);
  });

  it('parses a general query and the floating-point maximum response code', () => {
    const q = Buffer.alloc(28);
    q[0] = 130;
    q.writeUInt16BE(10000, 4);
    const out = new MldQuery();
    expect(parseMldQuery(q, out)).toBe(0);
    expect(out).toMatchObject({ maxResponseMs: 10000, group: '' });
    q.writeUInt16BE(0x8000 | (1 << 12) | 0x10, 4);
    parseMldQuery(q, out);
    expect(out.maxResponseMs).toBe((0x10 | 0x1000) << 4);
  });
});

describe('extension header chain (RFC 8200 §4)', () => {
  /** A packet: fixed header naming `first`, then `body`. */
  function pkt(first: number, body: number[]): Buffer {
    const b = Buffer.alloc(40 + body.length);
    emitIpv6Header(b, 0, 0, 0, body.length, first, 64, A, B);
    Buffer.from(body).copy(b, 40);
    return b;
  }
  const walk = (p: Buffer, ch = new Ipv6Chain()) => [walkIpv6Chain(p, 40, p.length, p[6]!, 6, ch), ch] as const;
  // an 8-byte hop-by-hop / destination options header with one option of `type`, 4 data bytes
  const opts = (nh: number, type: number) => [nh, 0, type, 4, 0, 0, 0, 0];
  const udp = [0, 1, 0, 2, 0, 8, 0, 0];

  it('skips unknown options with action 00 and drops silently on 01', () => {
    expect(walk(pkt(0, [...opts(17, 0x1e), ...udp]))[1]).toMatchObject({ protocol: 17, offset: 48 });
    expect(walk(pkt(60, [...opts(17, 0x5e), ...udp]))[0]).toBe(Ipv6ChainError.OptionDiscard);
  });

  it('answers unknown options with action 10 and 11 with parameter problem code 2 at the option', () => {
    const [e, ch] = walk(pkt(0, [...opts(17, 0x9e), ...udp]));
    expect(e).toBe(Ipv6ChainError.ParamProblem);
    expect(ch).toMatchObject({ ppCode: PP_UNKNOWN_OPTION, ppPointer: 42, ppEvenMulticast: true });
    const [e2, ch2] = walk(pkt(60, [...opts(17, 0xde), ...udp]));
    expect(e2).toBe(Ipv6ChainError.ParamProblem);
    expect(ch2).toMatchObject({ ppPointer: 42, ppEvenMulticast: false });
  });

  it('refuses hop-by-hop anywhere but first (code 1 at the naming field)', () => {
    const [e, ch] = walk(pkt(60, [...opts(0, 1), ...opts(17, 1), ...udp]));
    expect(e).toBe(Ipv6ChainError.HopByHopNotFirst);
    expect(ch).toMatchObject({ ppCode: PP_UNKNOWN_NEXT_HEADER, ppPointer: 40 });
  });

  it('ignores a routing header with no segments left, refuses one with segments left (type 0 included)', () => {
    expect(walk(pkt(43, [17, 0, 0, 0, 0, 0, 0, 0, ...udp]))[1]).toMatchObject({ protocol: 17, offset: 48 });
    const rh0 = [17, 2, 0, 1, 0, 0, 0, 0, ...new Array<number>(16).fill(0)];
    const [e, ch] = walk(pkt(43, [...rh0, ...udp]));
    expect(e).toBe(Ipv6ChainError.ParamProblem);
    expect(ch).toMatchObject({ ppCode: PP_ERRONEOUS_FIELD, ppPointer: 42 });
  });

  it('reports where the Next Header field naming the upper layer is', () => {
    expect(walk(pkt(60, [...opts(99, 1), 0, 0, 0, 0]))[1]).toMatchObject({ protocol: 99, nextHeaderAt: 40, offset: 48 });
    expect(walk(pkt(99, []))[1]).toMatchObject({ protocol: 99, nextHeaderAt: 6, offset: 40 });
  });

  it('drops truncated headers, malformed options and over-long chains', () => {
    expect(walk(pkt(60, [17, 0, 1]))[0]).toBe(Ipv6ChainError.Truncated);
    expect(walk(pkt(60, [17, 1, 1, 4, 0, 0, 0, 0]))[0]).toBe(Ipv6ChainError.Truncated);
    expect(walk(pkt(60, [17, 0, 1, 9, 0, 0, 0, 0]))[0]).toBe(Ipv6ChainError.OptionDiscard);
    const many: number[] = [];
    for (let i = 0; i < 20; i++) many.push(...opts(i === 19 ? 17 : 60, 1));
    expect(walk(pkt(60, many))[0]).toBe(Ipv6ChainError.TooManyHeaders);
  });
});
