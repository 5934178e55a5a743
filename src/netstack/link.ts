/**
 * The Ethernet side of the stack: frames in (filtered by destination MAC, demultiplexed by
 * EtherType to IPv4, ARP or IPv6) and frames out (Ethernet header written in place in front of the
 * IP packet; the destination MAC from the ARP cache for IPv4, the neighbor cache for IPv6 (RFC
 * 4861), or the group's MAC for multicast (01:00:5e / 33:33), frames queued until resolved).
 * Answers ARP requests for our addresses and announces new addresses with gratuitous ARP; IPv6's
 * neighbor discovery is ICMPv6 and lives above (ndp.ts).
 */
import { isMulticast, type Ipv4Addr, type Ipv6Addr } from './addr.js';
import type { ArpCache } from './arp-cache.js';
import type { NeighborCache } from './neighbor-cache.js';
import type { CounterCell, Counters } from './counters.js';
import type { NetInterface } from './interface.js';
import { writeMulticastMacAt, type MulticastGroups } from './multicast-groups.js';
import type { LinkOutput } from './stack-api.js';
import { ARP_LEN, ARP_REPLY, ARP_REQUEST, ArpPacket, arpParseErrorName, emitArp, parseArp } from './wire/arp.js';
import {
  BROADCAST_MAC,
  emitEthernetHeader,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  isBroadcastMacAt,
  macEqualsAt,
  writeMacAt,
} from './wire/ethernet.js';

const ZERO_MAC = Buffer.alloc(6);

export interface EthernetLinkDeps {
  iface: NetInterface;
  linkCounters: Counters;
  arpCounters: Counters;
  /** The groups our sockets joined: their Ethernet addresses pass the receive filter. */
  groups: MulticastGroups;
  /** IPv4 packets received (a view of the frame past the Ethernet header). */
  ipv4Input: (packet: Buffer, frame: Buffer) => void;
  /** IPv6 packets received (a view of the frame past the Ethernet header); absent: counted and dropped. */
  ipv6Input?: (packet: Buffer) => void;
}

export class EthernetLink {
  arp: ArpCache | null = null;
  /** IPv6's neighbor cache (the Ipv6Layer installs it). */
  neighbors: NeighborCache | null = null;
  /** The interface's Ethernet address. */
  readonly mac: Buffer;
  private output: LinkOutput | null = null;
  private readonly iface: NetInterface;
  private readonly lc: Counters;
  private readonly ac: Counters;
  private readonly rxFrames: CounterCell;
  private readonly txFrames: CounterCell;
  private readonly ipv4Input: (packet: Buffer, frame: Buffer) => void;
  private readonly ipv6Input: ((packet: Buffer) => void) | null;
  private readonly groups: MulticastGroups;
  private readonly arpPkt = new ArpPacket();

  constructor(deps: EthernetLinkDeps) {
    this.iface = deps.iface;
    this.mac = deps.iface.mac;
    this.lc = deps.linkCounters;
    this.ac = deps.arpCounters;
    this.rxFrames = this.lc.cell('rx_frames');
    this.txFrames = this.lc.cell('tx_frames');
    this.ipv4Input = deps.ipv4Input;
    this.ipv6Input = deps.ipv6Input ?? null;
    this.groups = deps.groups;
  }

  setOutput(send: LinkOutput | null): void {
    this.output = send;
  }

  // ───────────────────────── in ─────────────────────────

  input(frame: Buffer): void {
    const c = this.lc;
    if (frame.length < ETH_HEADER_LEN) {
      c.inc('rx_truncated');
      return;
    }
    this.rxFrames.n++;
    if (!macEqualsAt(frame, 0, this.mac)) {
      if (isBroadcastMacAt(frame, 0)) c.inc('rx_broadcast');
      else if (this.groups.acceptsMacAt(frame, 0)) c.inc('rx_multicast');
      else {
        c.inc((frame[0]! & 1) === 1 ? 'rx_multicast_dropped' : 'rx_not_for_us');
        return;
      }
    }
    if (macEqualsAt(frame, 6, this.mac)) {
      c.inc('rx_own_source'); // our own frame looped back by a bridge
      return;
    }
    const type = (frame[12]! << 8) | frame[13]!;
    if (type === ETHERTYPE_IPV4) this.ipv4Input(frame.subarray(ETH_HEADER_LEN), frame);
    else if (type === ETHERTYPE_IPV6 && this.ipv6Input) this.ipv6Input(frame.subarray(ETH_HEADER_LEN));
    else if (type === ETHERTYPE_ARP) this.arpInput(frame.subarray(ETH_HEADER_LEN));
    else c.inc(type === ETHERTYPE_IPV6 ? 'rx_ipv6_dropped' : type === ETHERTYPE_VLAN ? 'rx_vlan_dropped' : 'rx_unknown_ethertype');
  }

  private arpInput(payload: Buffer): void {
    const c = this.ac;
    const p = this.arpPkt;
    const e = parseArp(payload, p);
    if (e !== 0) {
      c.inc(arpParseErrorName(e));
      return;
    }
    c.inc(p.op === ARP_REQUEST ? 'rx_request' : 'rx_reply');
    if ((p.senderMac[0]! & 1) === 1 || macEqualsAt(p.senderMac, 0, this.mac)) {
      c.inc('rx_bogus_sender');
      return;
    }
    if (p.senderIp !== 0 && this.iface.isOwn(p.senderIp)) {
      c.inc('rx_address_conflict');
      return;
    }
    // copy out what the reply needs: learning may flush queued frames over a synchronous link
    // and bring the next ARP packet into this.arpPkt before we are done with this one
    const op = p.op;
    const senderIp = p.senderIp;
    const targetIp = p.targetIp;
    const senderMac = p.senderMac;
    const forUs = this.iface.isOwn(targetIp);
    // RFC 826: update an existing entry from any ARP; create one when the packet was for us.
    // Probes (sender 0.0.0.0, RFC 5227) teach nothing.
    if (senderIp !== 0 && senderIp !== 0xffffffff) this.arp?.learn(senderIp, senderMac, forUs);
    if (op === ARP_REQUEST && forUs) {
      const f = Buffer.allocUnsafe(ETH_HEADER_LEN + ARP_LEN);
      emitEthernetHeader(f, 0, senderMac, this.mac, ETHERTYPE_ARP);
      emitArp(f, ETH_HEADER_LEN, ARP_REPLY, this.mac, targetIp, senderMac, senderIp);
      c.inc('tx_reply');
      this.send(f);
    } else if (!forUs) c.inc('rx_not_for_us');
  }

  // ───────────────────────── out ─────────────────────────

  /**
   * Sends the IP packet buf[ipOff, end); the Ethernet header goes in the 14 bytes before it. `mac`:
   * the destination's Ethernet address when already known (a return path), without ARP.
   */
  sendIp(buf: Buffer, ipOff: number, nextHop: Ipv4Addr, broadcast: boolean, mac?: Buffer): void {
    const off = ipOff - ETH_HEADER_LEN;
    const frame = off === 0 ? buf : buf.subarray(off);
    writeMacAt(frame, 6, this.mac);
    frame[12] = ETHERTYPE_IPV4 >>> 8;
    frame[13] = ETHERTYPE_IPV4 & 0xff;
    if (broadcast) {
      writeMacAt(frame, 0, BROADCAST_MAC);
      this.send(frame, off);
      return;
    }
    if (isMulticast(nextHop)) {
      writeMulticastMacAt(frame, 0, nextHop);
      this.send(frame, off);
      return;
    }
    if (mac) {
      writeMacAt(frame, 0, mac);
      this.send(frame, off);
      return;
    }
    const arp = this.arp!;
    const known = arp.lookup(nextHop);
    if (known) {
      writeMacAt(frame, 0, known);
      this.send(frame, off);
      return;
    }
    if (!arp.enqueue(nextHop, frame)) this.lc.inc('tx_unresolved_dropped');
  }

  /**
   * Sends the IPv6 packet buf[ipOff, end) to `nextHop`: a multicast group's MAC (33:33 + its last 4
   * bytes) when `multicast`, else the neighbor's MAC from the neighbor cache, the frame queued
   * (and a solicitation sent) while it is unresolved.
   */
  sendIp6(buf: Buffer, ipOff: number, nextHop: Ipv6Addr, multicast: boolean): void {
    const off = ipOff - ETH_HEADER_LEN;
    const frame = off === 0 ? buf : buf.subarray(off);
    writeMacAt(frame, 6, this.mac);
    frame[12] = ETHERTYPE_IPV6 >>> 8;
    frame[13] = ETHERTYPE_IPV6 & 0xff;
    if (multicast) {
      writeMulticastMacAt(frame, 0, nextHop);
      this.send(frame, off);
      return;
    }
    const nc = this.neighbors;
    if (!nc) {
      this.lc.inc('tx_no_neighbor_cache');
      return;
    }
    const mac = nc.lookup(nextHop);
    if (mac) {
      writeMacAt(frame, 0, mac);
      this.send(frame, off);
      return;
    }
    if (!nc.enqueue(nextHop, frame)) this.lc.inc('tx_unresolved_dropped');
  }

  /** Broadcasts an ARP request for `target` (from our address on its subnet). */
  sendArpRequest(target: Ipv4Addr): void {
    const src = this.iface.sourceFor(target) ?? 0;
    const f = Buffer.allocUnsafe(ETH_HEADER_LEN + ARP_LEN);
    emitEthernetHeader(f, 0, BROADCAST_MAC, this.mac, ETHERTYPE_ARP);
    emitArp(f, ETH_HEADER_LEN, ARP_REQUEST, this.mac, src, ZERO_MAC, target);
    this.send(f);
  }

  /** Gratuitous ARP (RFC 5227 announcement): a request for our own new address. */
  announce(addr: Ipv4Addr): void {
    const f = Buffer.allocUnsafe(ETH_HEADER_LEN + ARP_LEN);
    emitEthernetHeader(f, 0, BROADCAST_MAC, this.mac, ETHERTYPE_ARP);
    emitArp(f, ETH_HEADER_LEN, ARP_REQUEST, this.mac, addr, ZERO_MAC, addr);
    this.ac.inc('tx_gratuitous');
    this.send(f);
  }

  /** Hands a finished frame to the link owner, with the bytes before it in its buffer that are free. */
  send(frame: Buffer, headroom = 0): void {
    const out = this.output;
    if (!out) {
      this.lc.inc('tx_no_link');
      return;
    }
    this.txFrames.n++;
    try {
      out(frame, headroom);
    } catch {
      this.lc.inc('tx_output_exception');
    }
  }
}
