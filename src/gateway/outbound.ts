/**
 * A gateway's outbound NAT (the libslirp/passt model, no root, no host change): members' TCP
 * connections, UDP flows and ICMP echo requests to destinations beyond the network, terminated in
 * the gateway's stack (outbound-gate.ts), are carried out through ordinary host sockets — a TCP
 * connect per connection (relayed with tcp-relay.ts), a UDP socket per flow (ended after
 * UDP_IDLE_MS idle), a ping socket per echo flow (outbound-icmp.ts, ended after ICMP_IDLE_MS idle).
 *
 * Policy (OutboundPolicy): the host's loopback (127.0.0.0/8) is off unless allowed, like
 * slirp4netns' --disable-host-loopback; `deny` CIDRs are refused, and when `allow` is not empty only
 * its CIDRs are reached; each member has at most `maxPerMember` flows at once. A refused flow draws
 * ICMP "administratively prohibited" from the stack. Counters per network: flows, refused, failed,
 * bytes each way.
 *
 * Host-loopback alias (`hostLoopbackAlias`, off by default; slirp4netns' 10.0.2.2): an address
 * that stands for the host's 127.0.0.1 — a flow to it is carried to 127.0.0.1, and the policy is
 * asked about 127.0.0.1 (so it needs `allowHostLoopback`). The alias must lie beyond the network's
 * own subnets (members reach it through the gateway, by their default route).
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
import { echoRequest, hostPingOpener, type PingFlowSocket, type PingOpener } from './outbound-icmp.js';
import { UDP_IDLE_MS } from './published-port.js';
import { relayTcp } from './tcp-relay.js';

/** An echo flow with no request for this long is ended. */
export const ICMP_IDLE_MS = 30_000;

export interface OutboundPolicy {
  /** Reach the host's own loopback (127.0.0.0/8). Default false. */
  allowHostLoopback: boolean;
  /** CIDRs only these may be reached (empty: anywhere not denied). */
  allow: string[];
  /** CIDRs never reached. */
  deny: string[];
  /** Flows (TCP connections, UDP and echo flows) one member may have open at once. */
  maxPerMember: number;
  /** An IPv4 address (beyond the network's subnets) that stands for the host's 127.0.0.1; null: none. */
  hostLoopbackAlias: string | null;
}

export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = {
  allowHostLoopback: false,
  allow: [],
  deny: [],
  maxPerMember: 256,
  hostLoopbackAlias: null,
};

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
const HOST_LOOPBACK_ADDR: Ipv4Addr = 0x7f000001;

/** A host-loopback alias as given (`a.b.c.d`); throws naming it when it cannot be one. */
export function parseHostLoopbackAlias(text: string): Ipv4Addr {
  const a = parseIpv4(text);
  if (a === null || a === 0 || a === 0xffffffff || inSubnet(a, LOOPBACK.net, LOOPBACK.prefixLen) || a >>> 28 === 0xe)
    throw new Error(`host loopback alias ${JSON.stringify(text)} must be a unicast IPv4 address outside 127.0.0.0/8`);
  return a;
}
const within = (a: Ipv4Addr, list: Cidr[]): boolean => list.some((c) => inSubnet(a, c.net, c.prefixLen));

export class OutboundNat implements OutboundHandler {
  readonly counters: OutboundCounters = { flows: 0, active: 0, refused: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  private readonly allowList: Cidr[];
  private readonly denyList: Cidr[];
  private readonly perMember = new Map<Ipv4Addr, number>();
  private readonly udpFlows = new Set<{ host: DgramSocket; flow: TransparentSocket<UdpSocket>; timer: NodeJS.Timeout }>();
  private readonly tcpFlows = new Set<TcpSocket>();
  private readonly echoFlows = new Map<
    string,
    { socket: PingFlowSocket; timer: NodeJS.Timeout; reply: (seq: number, data: Buffer) => void }
  >();
  private readonly alias: Ipv4Addr | null;

  constructor(
    readonly policy: OutboundPolicy,
    private readonly openPing: PingOpener = hostPingOpener,
  ) {
    this.allowList = policy.allow.map(parseCidr);
    this.denyList = policy.deny.map(parseCidr);
    this.alias = policy.hostLoopbackAlias === null ? null : parseHostLoopbackAlias(policy.hostLoopbackAlias);
  }

  /** Where a member's destination is on the host: the alias stands for 127.0.0.1. */
  private hostAddr(to: Ipv4Addr): Ipv4Addr {
    return to === this.alias ? HOST_LOOPBACK_ADDR : to;
  }

  allow(_protocol: 'tcp' | 'udp' | 'icmp', from: Ipv4Addr, _fromPort: number, asked: Ipv4Addr, _toPort: number): boolean {
    const to = this.hostAddr(asked);
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
    const host = connect({ host: formatIpv4(this.hostAddr(local.addr)), port: local.port, allowHalfOpen: true });
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
    const dest = formatIpv4(this.hostAddr(to.addr));
    flow.socket.handlers.onReadable = () => {
      entry.timer.refresh();
      for (let d = flow.socket.recv(); d; d = flow.socket.recv()) {
        this.counters.bytesOut += d.data.length;
        host.send(d.data, to.port, dest);
      }
    };
  }

  /** A member's echo request (allowed): sent from the flow's ping socket; replies go back through `reply`. */
  echo(from: Ipv4Addr, to: Ipv4Addr, id: number, seq: number, data: Buffer, reply: (seq: number, data: Buffer) => void): void {
    const key = `${from}/${id}/${to}`;
    let flow = this.echoFlows.get(key);
    if (!flow) {
      const socket = this.openPing((rseq, rdata) => {
        const f = this.echoFlows.get(key);
        if (!f) return;
        this.counters.bytesIn += rdata.length;
        f.reply(rseq, rdata);
      });
      if (typeof socket === 'number') {
        this.counters.failed++;
        return;
      }
      const closed = this.opened(from);
      const f = {
        socket,
        reply,
        timer: setTimeout(() => {
          if (this.echoFlows.get(key) !== f) return;
          this.echoFlows.delete(key);
          socket.close();
          closed();
        }, ICMP_IDLE_MS).unref(),
      };
      this.echoFlows.set(key, f);
      flow = f;
    }
    flow.reply = reply;
    flow.timer.refresh();
    if (flow.socket.send(formatIpv4(this.hostAddr(to)), echoRequest(id, seq, data))) this.counters.bytesOut += data.length;
    else this.counters.failed++;
  }

  /** Ends every flow (the stack's outbound gate is taken down by the caller). */
  close(): void {
    for (const f of this.echoFlows.values()) {
      clearTimeout(f.timer);
      f.socket.close();
    }
    this.echoFlows.clear();
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
