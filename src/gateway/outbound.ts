/**
 * A gateway's outbound NAT (the libslirp/passt model, no root, no host change): members' TCP
 * connections and UDP flows to destinations beyond the network, terminated in the gateway's stack
 * (outbound-gate.ts), are carried out through ordinary host sockets — a TCP connect per
 * connection (relayed with tcp-relay.ts), a UDP socket per flow (ended after UDP_IDLE_MS idle).
 *
 * Policy (OutboundPolicy): the host's loopback (127.0.0.0/8) is off unless allowed, like
 * slirp4netns' --disable-host-loopback; `deny` CIDRs are refused, and when `allow` is not empty only
 * its CIDRs are reached; each member has at most `maxPerMember` flows at once. A refused flow draws
 * ICMP "administratively prohibited" from the stack. Counters per network: flows, refused, failed,
 * bytes each way.
 *
 * The TCP handshake with the member completes before the host connection does (as libslirp when
 * the host is slow): a host connection that fails resets the member's.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { connect } from 'node:net';
import {
  formatIpv4,
  inSubnet,
  parseIpv4,
  type Ipv4Addr,
  type OutboundHandler,
  type TcpSocket,
  type TransparentSocket,
  type UdpSocket,
} from '../netstack/index.js';
import { UDP_IDLE_MS } from './published-port.js';
import { relayTcp } from './tcp-relay.js';

export interface OutboundPolicy {
  /** Reach the host's own loopback (127.0.0.0/8). Default false. */
  allowHostLoopback: boolean;
  /** CIDRs only these may be reached (empty: anywhere not denied). */
  allow: string[];
  /** CIDRs never reached. */
  deny: string[];
  /** Flows (TCP connections + UDP flows) one member may have open at once. */
  maxPerMember: number;
}

export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = { allowHostLoopback: false, allow: [], deny: [], maxPerMember: 256 };

export interface OutboundCounters {
  flows: number;
  active: number;
  refused: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

interface Cidr {
  net: Ipv4Addr;
  prefixLen: number;
}

/** `a.b.c.d/n` (or a bare address, /32); throws naming the text when it is not one. */
export function parseCidr(text: string): Cidr {
  const [addr, len] = text.split('/') as [string, string | undefined];
  const net = parseIpv4(addr);
  const prefixLen = len === undefined ? 32 : /^[0-9]{1,2}$/.test(len) ? Number(len) : -1;
  if (net === null || prefixLen < 0 || prefixLen > 32) throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR (a.b.c.d/n)`);
  return { net, prefixLen };
}

const LOOPBACK: Cidr = { net: 0x7f000000, prefixLen: 8 };
const within = (a: Ipv4Addr, list: Cidr[]): boolean => list.some((c) => inSubnet(a, c.net, c.prefixLen));

export class OutboundNat implements OutboundHandler {
  readonly counters: OutboundCounters = { flows: 0, active: 0, refused: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  private readonly allowList: Cidr[];
  private readonly denyList: Cidr[];
  private readonly perMember = new Map<Ipv4Addr, number>();
  private readonly udpFlows = new Set<{ host: DgramSocket; flow: TransparentSocket<UdpSocket>; timer: NodeJS.Timeout }>();
  private readonly tcpFlows = new Set<TcpSocket>();

  constructor(readonly policy: OutboundPolicy) {
    this.allowList = policy.allow.map(parseCidr);
    this.denyList = policy.deny.map(parseCidr);
  }

  allow(_protocol: 'tcp' | 'udp', from: Ipv4Addr, _fromPort: number, to: Ipv4Addr, _toPort: number): boolean {
    const ok =
      (this.policy.allowHostLoopback || !inSubnet(to, LOOPBACK.net, LOOPBACK.prefixLen)) &&
      !within(to, this.denyList) &&
      (this.allowList.length === 0 || within(to, this.allowList)) &&
      (this.perMember.get(from) ?? 0) < this.policy.maxPerMember;
    if (!ok) this.counters.refused++;
    return ok;
  }

  private opened(member: Ipv4Addr): () => void {
    this.counters.flows++;
    this.counters.active++;
    this.perMember.set(member, (this.perMember.get(member) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.counters.active--;
      const n = (this.perMember.get(member) ?? 1) - 1;
      if (n <= 0) this.perMember.delete(member);
      else this.perMember.set(member, n);
    };
  }

  tcp(socket: TcpSocket): void {
    const local = socket.localAddress();
    const member = socket.remoteAddress();
    if (!local || !member || typeof local.addr !== 'number' || typeof member.addr !== 'number') {
      socket.abort();
      return;
    }
    const closed = this.opened(member.addr);
    this.tcpFlows.add(socket);
    const host = connect({ host: formatIpv4(local.addr), port: local.port, allowHalfOpen: true });
    host.pause();
    host.once('error', () => this.counters.failed++);
    const counters = { bytesIn: 0, bytesOut: 0 };
    // bytes from the member go out (bytesOut here), the host's answers come in
    relayTcp(host, socket, counters, () => {
      this.counters.bytesOut += counters.bytesIn;
      this.counters.bytesIn += counters.bytesOut;
      this.tcpFlows.delete(socket);
      closed();
    });
    host.once('connect', () => host.resume());
  }

  udp(flow: TransparentSocket<UdpSocket>): void {
    const to = flow.socket.localAddress();
    const member = flow.socket.remoteAddress();
    if (!to || !member || typeof to.addr !== 'number' || typeof member.addr !== 'number') {
      flow.socket.close();
      flow.release();
      return;
    }
    const closed = this.opened(member.addr);
    const host = createSocket('udp4');
    const entry = {
      host,
      flow,
      timer: setTimeout(() => end(), UDP_IDLE_MS).unref(),
    };
    const end = (): void => {
      if (!this.udpFlows.delete(entry)) return;
      clearTimeout(entry.timer);
      host.close();
      flow.socket.close();
      flow.release();
      closed();
    };
    this.udpFlows.add(entry);
    host.on('error', () => this.counters.failed++);
    host.on('message', (msg) => {
      entry.timer.refresh();
      if (flow.socket.sendTo(msg) >= 0) this.counters.bytesIn += msg.length;
    });
    const dest = formatIpv4(to.addr);
    flow.socket.handlers.onReadable = () => {
      entry.timer.refresh();
      for (let d = flow.socket.recv(); d; d = flow.socket.recv()) {
        this.counters.bytesOut += d.data.length;
        host.send(d.data, to.port, dest);
      }
    };
  }

  /** Ends every flow (the stack's outbound gate is taken down by the caller). */
  close(): void {
    for (const e of [...this.udpFlows]) {
      clearTimeout(e.timer);
      e.host.close();
      e.flow.socket.close();
      e.flow.release();
    }
    this.udpFlows.clear();
    for (const s of this.tcpFlows) s.abort();
    this.tcpFlows.clear();
  }
}
