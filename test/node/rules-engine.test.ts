// The rules engine on IPv6 frames, as stock's _doZtFilter evaluates them (node/Network.cpp): IP
// rules read the IPv6 header and the payload after the extension headers stock walks, and a match
// on a field the frame lacks fails whatever NOT says.
import { describe, expect, it } from 'vitest';
import { filterFrame, RuleType, type FrameFacts, type RuleView } from '../../src/node/network/rules-engine.js';
import { parseIpv6 } from '../../src/netstack/index.js';

const rule = (type: number, value: number[] = [], not = false, or = false): RuleView => ({ type, not, or, value: Uint8Array.from(value) });
const accept = rule(RuleType.ACTION_ACCEPT);
const drop = rule(RuleType.ACTION_DROP);

function v6(text: string): number[] {
  return [...parseIpv6(text)!];
}

/** An IPv6 packet: traffic class, next header, src, dst, then `after` (extension headers + payload). */
function ipv6Packet(opts: { tclass?: number; next: number; src: string; dst: string; after: number[] }): Uint8Array {
  const tc = opts.tclass ?? 0;
  const len = opts.after.length;
  return Uint8Array.from([
    0x60 | (tc >> 4),
    (tc & 0x0f) << 4,
    0,
    0,
    len >> 8,
    len & 0xff,
    opts.next,
    64,
    ...v6(opts.src),
    ...v6(opts.dst),
    ...opts.after,
  ]);
}

function facts(payload: Uint8Array, etherType = 0x86dd): FrameFacts {
  return { ztSource: 1n, ztDest: 2n, macSource: 3n, macDest: 4n, etherType, payload };
}

const tcp = (src: number, dst: number): number[] => [src >> 8, src & 0xff, dst >> 8, dst & 0xff, ...new Array<number>(16).fill(0)];
const A = 'fd00:1234::1';
const B = 'fc11:2233:44aa:bbcc:ddee::1';

describe('rules on IPv6 frames', () => {
  it('matches IPv6 source and destination networks (16 address bytes + prefix length)', () => {
    const p = ipv6Packet({ next: 6, src: A, dst: B, after: tcp(1000, 80) });
    const srcIn = [rule(RuleType.MATCH_IPV6_SOURCE, [...v6('fd00:1234::'), 32]), accept, drop];
    expect(filterFrame(srcIn, facts(p)).accept).toBe(true);
    const srcOut = [rule(RuleType.MATCH_IPV6_SOURCE, [...v6('fd00:1235::'), 32]), accept, drop];
    expect(filterFrame(srcOut, facts(p)).accept).toBe(false);
    const dst40 = [rule(RuleType.MATCH_IPV6_DEST, [...v6('fc11:2233:4400::'), 40]), accept, drop];
    expect(filterFrame(dst40, facts(p)).accept).toBe(true);
    const dst41 = [rule(RuleType.MATCH_IPV6_DEST, [...v6('fc11:2233:4400::'), 41]), accept, drop];
    expect(filterFrame(dst41, facts(p)).accept).toBe(false);
  });

  it('reads the protocol and ports after hop-by-hop, routing and destination options headers', () => {
    // hop-by-hop (8 bytes) → destination options (16 bytes) → UDP
    const after = [60, 0, 1, 4, 0, 0, 0, 0, 17, 1, ...new Array<number>(14).fill(0), ...tcp(5353, 53)];
    const p = ipv6Packet({ next: 0, src: A, dst: B, after });
    expect(filterFrame([rule(RuleType.MATCH_IP_PROTOCOL, [17]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_IP_PROTOCOL, [6]), accept, drop], facts(p)).accept).toBe(false);
    expect(filterFrame([rule(RuleType.MATCH_IP_DEST_PORT_RANGE, [0, 53, 0, 53]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_IP_SOURCE_PORT_RANGE, [0x14, 0xe9, 0x14, 0xe9]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_IP_SOURCE_PORT_RANGE, [0, 0, 0, 100]), accept, drop], facts(p)).accept).toBe(false);
  });

  it('stops at a fragment header as stock does: protocol 44, no ports', () => {
    const after = [6, 0, 0, 0, 0, 0, 0, 1, ...tcp(1000, 80)];
    const p = ipv6Packet({ next: 44, src: A, dst: B, after });
    expect(filterFrame([rule(RuleType.MATCH_IP_PROTOCOL, [44]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_IP_DEST_PORT_RANGE, [0, 0, 0xff, 0xff]), accept, drop], facts(p)).accept).toBe(false);
  });

  it('never matches port 0 in an IPv6 port range (stock takes p > 0)', () => {
    const p = ipv6Packet({ next: 17, src: A, dst: B, after: tcp(0, 9) });
    expect(filterFrame([rule(RuleType.MATCH_IP_SOURCE_PORT_RANGE, [0, 0, 0, 10]), accept, drop], facts(p)).accept).toBe(false);
    expect(filterFrame([rule(RuleType.MATCH_IP_DEST_PORT_RANGE, [0, 0, 0, 10]), accept, drop], facts(p)).accept).toBe(true);
  });

  it('reads the traffic class for IP_TOS and ICMPv6 type/code for MATCH_ICMP', () => {
    const p = ipv6Packet({ tclass: 0xb8, next: 58, src: A, dst: B, after: [128, 0, 0, 0, 0, 1, 0, 1] });
    expect(filterFrame([rule(RuleType.MATCH_IP_TOS, [0xfc, 0xb8, 0xb8]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_IP_TOS, [0xfc, 0x00, 0x10]), accept, drop], facts(p)).accept).toBe(false);
    // echo request, code checked (flags bit 0) and not
    expect(filterFrame([rule(RuleType.MATCH_ICMP, [128, 0, 1]), accept, drop], facts(p)).accept).toBe(true);
    expect(filterFrame([rule(RuleType.MATCH_ICMP, [128, 5, 1]), accept, drop], facts(p)).accept).toBe(false);
    expect(filterFrame([rule(RuleType.MATCH_ICMP, [128, 5, 0]), accept, drop], facts(p)).accept).toBe(true);
    // ICMPv4's echo type is not ICMPv6's
    expect(filterFrame([rule(RuleType.MATCH_ICMP, [8, 0, 0]), accept, drop], facts(p)).accept).toBe(false);
  });

  it('a rule on a field the frame lacks fails even under NOT (hard no)', () => {
    const p6 = ipv6Packet({ next: 6, src: A, dst: B, after: tcp(1000, 80) });
    // "drop not ipsrc 10.0.0.0/8": an IPv6 frame has no IPv4 source, so the drop does not fire
    const dropNot10 = [rule(RuleType.MATCH_IPV4_SOURCE, [10, 0, 0, 0, 8], true), drop, accept];
    expect(filterFrame(dropNot10, facts(p6)).accept).toBe(true);
    // and the same for an IPv6 rule on an ARP frame
    const dropNotFd = [rule(RuleType.MATCH_IPV6_SOURCE, [...v6('fd00::'), 8], true), drop, accept];
    expect(filterFrame(dropNotFd, facts(new Uint8Array(28), 0x0806)).accept).toBe(true);
    // NOT ICMP type 128 on a TCP frame: the frame has no ICMP type, the set fails
    expect(filterFrame([rule(RuleType.MATCH_ICMP, [128, 0, 0], true), drop, accept], facts(p6)).accept).toBe(true);
    // while a plain mismatch under NOT still matches
    const dropNotFc = [rule(RuleType.MATCH_IPV6_SOURCE, [...v6('fc00::'), 8], true), drop, accept];
    expect(filterFrame(dropNotFc, facts(p6)).accept).toBe(false);
  });

  it('takes truncated IPv6 frames without throwing', () => {
    const p = ipv6Packet({ next: 0, src: A, dst: B, after: [6, 9, 0, 0, 0, 0, 0, 0] });
    const rules = [
      rule(RuleType.MATCH_IP_PROTOCOL, [6]),
      accept,
      rule(RuleType.MATCH_IP_DEST_PORT_RANGE, [0, 0, 0xff, 0xff]),
      accept,
      drop,
    ];
    for (let n = 0; n <= p.length; n++) expect(filterFrame(rules, facts(p.subarray(0, n))).accept).toBe(false);
  });
});
