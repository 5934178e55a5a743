import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { plateauBelow } from '../../src/netstack/icmp.js';
import {
  emitIcmpEcho,
  emitIcmpError,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  icmpErrno,
  IcmpMessage,
  IcmpParseError,
  parseIcmp,
} from '../../src/netstack/wire/icmp.js';
import { emitIpv4Header, Ipv4Header, parseIpv4 } from '../../src/netstack/wire/ipv4.js';
import { ip, makeSegment } from '../support/netstack-rig.js';

// An echo request as Linux ping(8) sends it (id 0x1234, seq 1, 8 data bytes 00..07)
const ECHO = Buffer.from('0800' + 'd9ba' + '1234' + '0001' + '0001020304050607', 'hex');

function sum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

describe('wire/icmp', () => {
  it('the reference echo request has a valid checksum and parses', () => {
    expect(sum(ECHO)).toBe(0);
    const m = new IcmpMessage();
    expect(parseIcmp(ECHO, m)).toBe(0);
    expect(m).toMatchObject({ type: ICMP_ECHO_REQUEST, code: 0, id: 0x1234, seq: 1 });
  });

  it('emits the same echo bytes', () => {
    const b = Buffer.alloc(16);
    ECHO.copy(b, 8, 8);
    emitIcmpEcho(b, 0, 16, ICMP_ECHO_REQUEST, 0x1234, 1);
    expect(b.equals(ECHO)).toBe(true);
  });

  it('emits fragmentation-needed with the next-hop MTU', () => {
    const b = Buffer.alloc(8 + 28);
    emitIcmpError(b, 0, b.length, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400);
    expect(sum(b)).toBe(0);
    const m = new IcmpMessage();
    expect(parseIcmp(b, m)).toBe(0);
    expect(m.nextHopMtu).toBe(1400);
  });

  it('rejects truncated messages and bad checksums', () => {
    const m = new IcmpMessage();
    expect(parseIcmp(ECHO.subarray(0, 7), m)).toBe(IcmpParseError.Truncated);
    const bad = Buffer.from(ECHO);
    bad[9] = bad[9]! ^ 0xff;
    expect(parseIcmp(bad, m)).toBe(IcmpParseError.BadChecksum);
  });

  it('guesses RFC 1191 plateaus when a router leaves the next-hop MTU zero', () => {
    expect(plateauBelow(1500)).toBe(1492);
    expect(plateauBelow(1492)).toBe(1006);
    expect(plateauBelow(2800)).toBe(2002);
    expect(plateauBelow(60)).toBe(68);
  });

  it('maps errors to errno as Linux', () => {
    expect(icmpErrno(3, 3)).toBe(Errno.ECONNREFUSED);
    expect(icmpErrno(3, 1)).toBe(Errno.EHOSTUNREACH);
    expect(icmpErrno(3, 0)).toBe(Errno.ENETUNREACH);
    expect(icmpErrno(11, 0)).toBe(Errno.EHOSTUNREACH);
    expect(icmpErrno(0, 0)).toBe(0);
  });
});

const A = ip(10, 0, 0, 1);
const B = ip(10, 0, 0, 2);
const X = ip(10, 0, 0, 9); // a host injected by hand
const MAC_X = Buffer.from([2, 0, 0, 0, 0, 9]);

/** An Ethernet frame from X to stack B carrying an IP packet. */
function fromX(protocol: number, body: Buffer, opts: { dst?: number; ethDst?: Buffer; flagsFrag?: number; id?: number } = {}): Buffer {
  const f = Buffer.alloc(34 + body.length);
  (opts.ethDst ?? Buffer.from([2, 0, 0, 0, 0, 2])).copy(f, 0);
  MAC_X.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  emitIpv4Header(f, 14, 0, 20 + body.length, opts.id ?? 1, opts.flagsFrag ?? 0, 64, protocol, X, opts.dst ?? B);
  body.copy(f, 34);
  return f;
}

function setup() {
  const seg = makeSegment(2);
  const [a, b] = seg.stacks as [NonNullable<(typeof seg.stacks)[0]>, NonNullable<(typeof seg.stacks)[0]>];
  a.addAddress(A, 24);
  b.addAddress(B, 24);
  seg.sched.advance(1);
  // B knows X's MAC (X asked for B)
  const arp = Buffer.from(
    'ffffffffffff' + '020000000009' + '0806' + '0001080006040001' + '020000000009' + '0a000009' + '000000000000' + '0a000002',
    'hex',
  );
  b.input(arp);
  seg.sched.advance(1);
  seg.frames.length = 0;
  return { seg, a, b };
}

function ipPacketsFrom(seg: ReturnType<typeof makeSegment>, from: number): Buffer[] {
  return seg.frames.filter((f) => f.from === from && f.frame.readUInt16BE(12) === 0x0800).map((f) => f.frame.subarray(14));
}

describe('ICMP in the stack', () => {
  it('answers an echo request with the same id, sequence and data', () => {
    const { seg, b } = setup();
    b.input(fromX(1, ECHO));
    seg.sched.advance(1);
    const [reply] = ipPacketsFrom(seg, 1);
    expect(reply).toBeDefined();
    const h = new Ipv4Header();
    expect(parseIpv4(reply!, h)).toBe(0);
    expect(h).toMatchObject({ src: B, dst: X, protocol: 1 });
    const icmp = reply!.subarray(20, h.totalLen);
    expect(icmp[0]).toBe(ICMP_ECHO_REPLY);
    expect(icmp.subarray(4).equals(ECHO.subarray(4))).toBe(true);
    expect(sum(icmp)).toBe(0);
  });

  it('ignores echo requests to a broadcast address', () => {
    const { seg, b } = setup();
    b.input(fromX(1, ECHO, { dst: ip(10, 0, 0, 255), ethDst: Buffer.alloc(6, 0xff) }));
    seg.sched.advance(1);
    expect(ipPacketsFrom(seg, 1)).toHaveLength(0);
    expect(b.counters().icmp!.rx_echo_broadcast_ignored).toBe(1);
  });

  it('sends protocol unreachable for an unknown protocol, quoting the packet', () => {
    const { seg, b } = setup();
    b.input(fromX(99, Buffer.alloc(16, 0x42)));
    seg.sched.advance(1);
    const [err] = ipPacketsFrom(seg, 1);
    expect(err![20]).toBe(3);
    expect(err![21]).toBe(2);
    expect(err!.readUInt32BE(28 + 12)).toBe(X); // quoted source
    expect(err![28 + 9]).toBe(99);
  });

  it('never answers an ICMP error with an error, nor a non-initial fragment', () => {
    const { seg, b } = setup();
    const e = Buffer.alloc(36);
    emitIcmpError(e, 0, 36, 3, 3);
    b.input(fromX(99, e, { flagsFrag: 100 })); // fragment at offset 800
    const bogus = Buffer.alloc(8 + 28);
    emitIcmpError(bogus, 0, bogus.length, 3, 3); // error quoting garbage
    b.input(fromX(1, bogus));
    seg.sched.advance(40_000);
    const dests = ipPacketsFrom(seg, 1).filter((p) => p[20] === 3);
    expect(dests).toHaveLength(0);
  });

  it('rate-limits the errors it sends', () => {
    const { seg, b } = setup();
    for (let i = 0; i < 500; i++) b.input(fromX(17, Buffer.from('0001' + '1000' + '0008' + '0000', 'hex'), { id: i }));
    seg.sched.advance(1);
    expect(b.counters().icmp!.tx_dest_unreach).toBe(50);
    expect(b.counters().icmp!.tx_error_rate_limited).toBe(450);
    seg.sched.advance(1000);
    for (let i = 0; i < 500; i++) b.input(fromX(17, Buffer.from('0001' + '1000' + '0008' + '0000', 'hex'), { id: i }));
    expect(b.counters().icmp!.tx_dest_unreach).toBe(100);
  });

  it('reassembly timeout sends time exceeded when the first fragment came', () => {
    const { seg, b } = setup();
    b.input(fromX(17, Buffer.alloc(16), { flagsFrag: 0x2000, id: 77 }));
    seg.sched.advance(30_001);
    const te = ipPacketsFrom(seg, 1).filter((p) => p[20] === 11);
    expect(te).toHaveLength(1);
    expect(te[0]![21]).toBe(1);
  });

  it('a ping answered by a router with host unreachable fails with EHOSTUNREACH', () => {
    const { seg, a } = setup();
    a.addRoute({ dest: 0, prefixLen: 0, gateway: B, metric: 0 });
    // B is no router; play the router: answer A's echo requests to 8.8.8.8 with host unreachable
    seg.filter = (from, f) => {
      if (from !== 0 || f.readUInt16BE(12) !== 0x0800 || f.readUInt32BE(30) !== ip(8, 8, 8, 8)) return true;
      const quote = f.subarray(14, 14 + 28);
      const body = Buffer.alloc(8 + 28);
      quote.copy(body, 8);
      emitIcmpError(body, 0, body.length, 3, 1);
      const r = Buffer.alloc(34 + body.length);
      f.copy(r, 0, 6, 12);
      Buffer.from([2, 0, 0, 0, 0, 2]).copy(r, 6);
      r.writeUInt16BE(0x0800, 12);
      emitIpv4Header(r, 14, 0, 20 + body.length, 5, 0, 64, 1, B, A);
      body.copy(r, 34);
      seg.sched.setTimer(1, () => a.input(r));
      return false;
    };
    let res: unknown = null;
    a.ping(ip(8, 8, 8, 8), {}, (r) => (res = r));
    seg.sched.runUntil(() => res !== null, 5000);
    expect(res).toEqual({ ok: false, errno: Errno.EHOSTUNREACH });
  });
});
