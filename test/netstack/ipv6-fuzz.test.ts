/**
 * Fuzz of the IPv6 path: random and mutated inputs (mutations of frames captured from the Linux
 * kernel and of a live exchange between two hosts: UDP, fragments, echo, NS/NA, MLD, ICMPv6
 * errors, extension headers) through the v6 codecs (1M inputs) and through a host's link →
 * Ipv6Layer → ICMPv6/NDP/MLD/transport (200k inputs; ZTNC_FUZZ_HEAVY=1 makes it 1M as well).
 * Nothing may throw, no transport may fail, every table stays within its bound, the host still
 * works afterwards. Deterministic (seeded).
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/netstack/random.js';
import { HEADROOM } from '../../src/netstack/transport.js';
import { finish, sum16 } from '../../src/netstack/wire/checksum.js';
import { Icmpv6Message, parseIcmpv6 } from '../../src/netstack/wire/icmpv6.js';
import {
  emitIpv6Header,
  Ipv6Chain,
  Ipv6Header,
  ipv6PseudoHeaderSumAt,
  parseIpv6,
  parseIpv6Quoted,
  walkIpv6Chain,
} from '../../src/netstack/wire/ipv6.js';
import { MldQuery, parseMld2Report, parseMldQuery, type MldRecord } from '../../src/netstack/wire/mld.js';
import { NdpMessage, parseNdp } from '../../src/netstack/wire/ndp.js';
import { makeSegment, type V6Host } from './ipv6-rig.js';
import { kernelFrame, v6 } from './ipv6-vectors.js';

const HEAVY = process.env.ZTNC_FUZZ_HEAVY === '1';
const CODEC_INPUTS = 1_000_000;
const LAYER_INPUTS = HEAVY ? 1_000_000 : 200_000;

const A = v6('fd00::1');
const B = v6('fd00::2');

/** Sets the ICMPv6 checksum of a mutated frame again (when its chain leads to ICMPv6 in this packet). */
function fixChecksum(f: Buffer, ch: Ipv6Chain, h: Ipv6Header): void {
  if (f.length < 54 || f.readUInt16BE(12) !== 0x86dd) return;
  const p = f.subarray(14);
  if (parseIpv6(p, h) !== 0) return;
  if (walkIpv6Chain(p, 40, h.totalLen, h.nextHeader, 6, ch) !== 0 || ch.protocol !== 58 || ch.offset + 4 > h.totalLen) return;
  p.writeUInt16BE(0, ch.offset + 2);
  p.writeUInt16BE(finish(sum16(p, ch.offset, h.totalLen, ipv6PseudoHeaderSumAt(p, 0, 58, h.totalLen - ch.offset))), ch.offset + 2);
}

function mutate(rng: SeededRandom, base: Buffer): Buffer {
  let f = Buffer.from(base);
  switch (rng.u32() % 9) {
    case 0:
    case 1: {
      const n = 1 + (rng.u32() % 4);
      for (let i = 0; i < n && f.length > 0; i++) f[rng.u32() % f.length] = rng.u32() & 0xff;
      break;
    }
    case 2: // the fixed header: version, lengths, next header, hop limit
      for (let i = 0; i < 2 && f.length > 54; i++) f[14 + (rng.u32() % 8)] = rng.u32() & 0xff;
      break;
    case 3: // extension headers / upper-layer header
      for (let i = 0; i < 3 && f.length > 62; i++) f[54 + (rng.u32() % Math.min(40, f.length - 54))] = rng.u32() & 0xff;
      break;
    case 4:
      f = f.subarray(0, rng.u32() % (f.length + 1));
      break;
    case 5:
      f = Buffer.concat([f, rng.bytes(rng.u32() % 200)]);
      break;
    case 6: // payload length
      if (f.length > 54) f.writeUInt16BE(rng.u32() & 0xffff, 18);
      break;
    case 7: // an extension header spliced in front of the payload
      if (f.length > 54) {
        const nh = [0, 43, 44, 60][rng.u32() % 4]!;
        const ext = rng.bytes(8 * (1 + (rng.u32() % 3)));
        ext[0] = f[20]!;
        ext[1] = ext.length / 8 - 1;
        f = Buffer.concat([f.subarray(0, 54), ext, f.subarray(54)]);
        f[20] = nh;
        f.writeUInt16BE(Math.min(0xffff, f.length - 54), 18);
      }
      break;
    default:
      if (f.length > 0) {
        const i = rng.u32() % f.length;
        f[i] = f[i]! ^ (1 << (rng.u32() % 8));
      }
  }
  return f;
}

/** Frames A sends B in a live exchange, plus the kernel's. */
function corpus(): { seg: ReturnType<typeof makeSegment>; a: V6Host; b: V6Host; frames: Buffer[] } {
  const seg = makeSegment(2, 1500);
  const [a, b] = seg.hosts as [V6Host, V6Host];
  a.ip.addAddress(A, 64);
  b.ip.addAddress(B, 64);
  b.ip.addOwnedPrefix(v6('fd00::77:0:0:0'), 80);
  b.ip.addRoute({ dest: v6('::'), prefixLen: 0, gateway: A, metric: 0 });
  seg.sched.advance(2000);
  a.groups.join(v6('ff05::1:3'));
  b.groups.join(v6('ff05::1:3'));
  const send = (n: number, dst = B, nh = 17) => a.ip.send(nh, A, dst, Buffer.alloc(HEADROOM + n, 0x5a), HEADROOM);
  send(100);
  send(4000); // fragmented
  send(64, v6('ff05::1:3'));
  send(64, v6('fd00::77:1:2:3'));
  a.icmp.ping(B, {}, () => {});
  a.icmp.ping(B, { size: 3000 }, () => {});
  b.udp.accept = false;
  send(10); // port unreachable back
  seg.sched.advance(100);
  b.udp.accept = true;
  const frames = seg.wire.map((w) => w.frame);
  for (const n of [
    'dad_ns',
    'mld2_report_dad',
    'router_solicit',
    'ns_with_slla',
    'na_solicited',
    'echo_request',
    'frag1',
    'frag2',
    'frag3',
    'udp_to_closed_port',
    'port_unreachable',
    'ns_unicast_probe',
    'na_without_tlla',
  ])
    frames.push(kernelFrame(n));
  return { seg, a, b, frames };
}

describe('IPv6 fuzz', () => {
  it(`codecs take ${CODEC_INPUTS} random and mutated inputs without a throw`, () => {
    const { frames } = corpus();
    const rng = new SeededRandom(6);
    const h = new Ipv6Header();
    const ch = new Ipv6Chain();
    const m = new Icmpv6Message();
    const nd = new NdpMessage();
    const q = new MldQuery();
    const records: MldRecord[] = [];
    let parsed = 0;
    for (let i = 0; i < CODEC_INPUTS; i++) {
      const f = rng.u32() % 8 === 0 ? rng.bytes(rng.u32() % 300) : mutate(rng, frames[rng.u32() % frames.length]!);
      const p = f.subarray(Math.min(14, f.length));
      if (parseIpv6(p, h) === 0) {
        parsed++;
        walkIpv6Chain(p, 40, h.totalLen, h.nextHeader, 6, ch, (i & 1) === 0, (i & 2) === 0);
        const up = p.subarray(Math.min(ch.offset, h.totalLen), h.totalLen);
        parseIcmpv6(up, ipv6PseudoHeaderSumAt(p, 0, 58, up.length), m);
        parseNdp(up, h.src, h.dst, h.hopLimit, nd);
        parseMldQuery(up, q);
        records.length = 0;
        parseMld2Report(up, records);
      } else parseIpv6Quoted(p, h);
    }
    expect(parsed).toBeGreaterThan(CODEC_INPUTS / 3);
  });

  it(`a host takes ${LAYER_INPUTS} random and mutated frames, stays bounded and keeps working`, () => {
    const { seg, a, b, frames } = corpus();
    seg.drop = () => true; // B's answers go nowhere during the fuzz
    seg.wire.length = 0;
    const rng = new SeededRandom(2026);
    const h = new Ipv6Header();
    const ch = new Ipv6Chain();
    for (let i = 0; i < LAYER_INPUTS; i++) {
      let f: Buffer;
      const r = rng.u32() % 10;
      if (r === 0) f = rng.bytes(rng.u32() % 1600);
      else if (r === 1) {
        // random payload behind a valid header for B
        f = rng.bytes(54 + (rng.u32() % 1400));
        b.mac.copy(f, 0);
        a.mac.copy(f, 6);
        f.writeUInt16BE(0x86dd, 12);
        emitIpv6Header(f, 14, 0, 0, f.length - 54, [0, 17, 43, 44, 58, 60][rng.u32() % 6]!, 255, A, B);
      } else {
        f = mutate(rng, frames[rng.u32() % frames.length]!);
        if (rng.u32() % 4 !== 0) fixChecksum(f, ch, h);
      }
      b.input(f);
      b.sent.length = 0;
      if (i % 1000 === 0) seg.sched.advance(200 + (rng.u32() % 3000));
      if (i % 10_000 === 0) {
        expect(b.ip.reassembler.datagrams).toBeLessThanOrEqual(64);
        expect(b.ip.reassembler.heldBytes).toBeLessThanOrEqual(4 << 20);
        expect(b.ip.ndp.cache.size).toBeLessThanOrEqual(1024);
        expect(b.ip.ndp.cache.pendingBytes).toBeLessThanOrEqual(1 << 20);
        for (const c of Object.values(b.counters)) expect(Object.keys(c.snapshot()).length).toBeLessThan(150);
        b.udp.received.length = 0;
        b.udp.errors.length = 0;
      }
    }
    seg.sched.advance(120_000);
    const c6 = b.counters.ipv6.snapshot();
    const ci = b.counters.icmpv6.snapshot();
    if (process.env.FUZZ_VERBOSE) process.stderr.write(JSON.stringify({ c6, ci }, null, 1) + '\n');
    expect(c6.rx_transport_exception ?? 0).toBe(0);
    // the fuzz reached every part
    expect(c6.rx_packets).toBeGreaterThan(LAYER_INPUTS / 4);
    expect(c6.reasm_fragments ?? 0).toBeGreaterThan(100);
    expect(c6.rx_param_problem ?? 0).toBeGreaterThan(100);
    expect(ci.rx_messages ?? 0).toBeGreaterThan(1000);
    expect(c6.rx_nd_solicit ?? 0).toBeGreaterThan(100);
    expect(ci.tx_echo_reply ?? 0).toBeGreaterThan(100);
    // timers drained the tables
    expect(b.ip.reassembler.datagrams).toBe(0);
    // and the host still works
    seg.drop = null;
    let ok = false;
    a.icmp.ping(B, {}, (r) => (ok = r.ok));
    seg.sched.advance(100);
    expect(ok).toBe(true);
  });
});
