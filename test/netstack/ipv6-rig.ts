/**
 * IPv6 hosts for the IPv6 layer's tests, built from the layers alone (link, Ipv6Layer, Icmpv6Layer
 * and a recording UDP stand-in) in virtual time: frames a host sends are recorded and, when hosts
 * share a segment, delivered to the others on the next turn; and small frame builders.
 */
import type { IpAddr, Ipv6Addr } from '../../src/netstack/addr.js';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Counters } from '../../src/netstack/counters.js';
import { Icmpv6Layer } from '../../src/netstack/icmpv6.js';
import { NetInterface } from '../../src/netstack/interface.js';
import { Ipv6Layer, type Ipv6LayerDeps } from '../../src/netstack/ipv6.js';
import { EthernetLink } from '../../src/netstack/link.js';
import { LoopbackQueue } from '../../src/netstack/loopback.js';
import { MulticastGroups } from '../../src/netstack/multicast-groups.js';
import { SeededRandom } from '../../src/netstack/random.js';
import type { IpReceiveInfo, TransportProtocol } from '../../src/netstack/transport.js';
import { finish, pseudoHeaderSum6, sum16 } from '../../src/netstack/wire/checksum.js';
import { emitIpv6Header } from '../../src/netstack/wire/ipv6.js';

export interface RecordedDatagram {
  info: IpReceiveInfo;
  payload: Buffer;
}

export interface RecordedError {
  type: number;
  code: number;
  src: IpAddr;
  dst: IpAddr;
  quoted: Buffer;
  mtu?: number;
  offender?: IpAddr;
}

/** A transport that records what it gets; `accept` says whether a socket took it. */
export class RecordingTransport implements TransportProtocol {
  readonly received: RecordedDatagram[] = [];
  readonly errors: RecordedError[] = [];
  accept = true;
  constructor(readonly protocol: number) {}
  receive(info: IpReceiveInfo, payload: Buffer): boolean {
    this.received.push({ info: { ...info }, payload: Buffer.from(payload) });
    return this.accept;
  }
  receiveIcmpError(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, mtu?: number, offender?: IpAddr): void {
    this.errors.push({ type, code, src, dst, quoted: Buffer.from(quoted), mtu, offender });
  }
}

export interface V6Host {
  mac: Buffer;
  ip: Ipv6Layer;
  icmp: Icmpv6Layer;
  link: EthernetLink;
  groups: MulticastGroups;
  udp: RecordingTransport;
  counters: { link: Counters; ipv6: Counters; icmpv6: Counters };
  /** Every frame this host sent. */
  sent: Buffer[];
  iface: NetInterface;
  /** A frame from the wire. */
  input(frame: Buffer): void;
}

export interface Segment {
  sched: VirtualScheduler;
  hosts: V6Host[];
  /** Frames as they went on the wire: [sender index, frame]. */
  wire: Array<{ from: number; frame: Buffer }>;
  /** Drop frames on the wire for which this returns true. */
  drop: ((from: number, frame: Buffer) => boolean) | null;
}

export function makeHost(sched: VirtualScheduler, mac: Buffer, seed: number, extra: Partial<Ipv6LayerDeps> = {}, mtu = 1500): V6Host {
  const counters = { link: new Counters(), ipv6: new Counters(), icmpv6: new Counters() };
  const iface = new NetInterface(mac, mtu);
  const groups = new MulticastGroups(counters.ipv6);
  const random = new SeededRandom(seed);
  const sent: Buffer[] = [];
  // eslint-disable-next-line prefer-const
  let ip: Ipv6Layer;
  const link = new EthernetLink({
    iface,
    linkCounters: counters.link,
    arpCounters: new Counters(),
    groups,
    ipv4Input: () => {},
    ipv6Input: (p) => ip.input(p, false),
  });
  link.setOutput((f) => sent.push(Buffer.from(f)));
  const loop = new LoopbackQueue(sched, counters.ipv6, (p) => ip.input(p, true));
  ip = new Ipv6Layer({
    link,
    scheduler: sched,
    random,
    counters: counters.ipv6,
    mtu: () => iface.mtu,
    groups,
    loopback: (p) => loop.enqueue(p),
    ...extra,
  });
  const icmp = new Icmpv6Layer({ ip, scheduler: sched, random, counters: counters.icmpv6 });
  ip.register(icmp);
  const udp = new RecordingTransport(17);
  ip.register(udp);
  return { mac, ip, icmp, link, groups, udp, counters, sent, iface, input: (f) => link.input(f) };
}

/** `n` hosts on one Ethernet segment (MACs 02:00:00:00:00:0N), frames delivered on the next turn. */
export function makeSegment(n: number, mtu = 1500, extra: Partial<Ipv6LayerDeps> = {}): Segment {
  const sched = new VirtualScheduler();
  const seg: Segment = { sched, hosts: [], wire: [], drop: null };
  for (let i = 0; i < n; i++) {
    const h = makeHost(sched, Buffer.from([2, 0, 0, 0, 0, i + 1]), 100 + i, extra, mtu);
    h.link.setOutput((f) => {
      const frame = Buffer.from(f);
      h.sent.push(frame);
      seg.wire.push({ from: i, frame });
      if (seg.drop?.(i, frame)) return;
      sched.setTimer(0, () => {
        for (const o of seg.hosts) if (o !== h) o.input(Buffer.from(frame));
      });
    });
    seg.hosts.push(h);
  }
  return seg;
}

/** The IPv6 packets (past the Ethernet header) among `frames`. */
export function ipv6Packets(frames: Buffer[]): Buffer[] {
  return frames.filter((f) => f.length >= 54 && f.readUInt16BE(12) === 0x86dd).map((f) => f.subarray(14));
}

/** ICMPv6 messages of `type` (without extension headers in front) among `frames`, as [packet, message]. */
export function icmpv6Of(frames: Buffer[], type: number): Buffer[] {
  return ipv6Packets(frames).filter((p) => p[6] === 58 && p.length > 40 && p[40] === type);
}

/**
 * An Ethernet frame carrying an IPv6 packet from `src` (MAC `srcMac`) to `dst` (MAC `dstMac`), with
 * `payload` after the fixed header under next header `nh`. For ICMPv6 (58) with `fixChecksum`, its checksum is set.
 */
export function v6Frame(
  o: { srcMac: Buffer; dstMac: Buffer; src: Ipv6Addr; dst: Ipv6Addr; hopLimit?: number; nh: number; fixChecksumAt?: number },
  payload: Buffer,
): Buffer {
  const f = Buffer.alloc(54 + payload.length);
  o.dstMac.copy(f, 0);
  o.srcMac.copy(f, 6);
  f.writeUInt16BE(0x86dd, 12);
  emitIpv6Header(f, 14, 0, 0, payload.length, o.nh, o.hopLimit ?? 64, o.src, o.dst);
  payload.copy(f, 54);
  if (o.fixChecksumAt !== undefined) {
    // the upper-layer message starts at fixChecksumAt (bytes after the fixed header); its checksum field is at +2
    const at = 54 + o.fixChecksumAt;
    f.writeUInt16BE(0, at + 2);
    f.writeUInt16BE(finish(sum16(f, at, f.length, pseudoHeaderSum6(o.src, o.dst, 58, f.length - at))), at + 2);
  }
  return f;
}
