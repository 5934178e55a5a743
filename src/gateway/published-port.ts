/**
 * One published port at work: the host socket the gateway listens on (node:net or node:dgram)
 * and, per client, a flow into the network from the client's own address and port
 * (TransparentOrigin), so the member sees the real client (as RootlessKit's builtin port driver
 * and pasta do). A client whose address cannot be a source inside the network — the host's
 * loopback (a martian there) or an address of the network's own subnets (the member would look
 * for it on the network, not through us) — is forwarded from the gateway's own address instead
 * (counted `snat`).
 *
 * TCP: one relay per connection (tcp-relay.ts). UDP: one flow per client address and port, its
 * replies sent back from the published socket; a flow idle for UDP_IDLE_MS goes, and at most
 * MAX_UDP_FLOWS live at once (datagrams of further clients are dropped and counted).
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import {
  Errno,
  inSubnet,
  isLoopback,
  parseIpv4,
  type Ipv4Addr,
  type NetStack,
  type TcpSocket,
  type TransparentSocket,
  type UdpSocket,
} from '../netstack/index.js';
import { describeSpec, type PublishSpec } from './publish-spec.js';
import { relayTcp } from './tcp-relay.js';

export const UDP_IDLE_MS = 60_000;
export const MAX_UDP_FLOWS = 4096;

/** What a published port needs from the daemon at each new client. */
export interface PublishContext {
  /** The network's stack, or null while the network is not up. */
  stack(): NetStack | null;
  /** The member's IPv4 address for a target (an address as is, a name through the network's names). */
  resolve(target: string): Promise<Ipv4Addr | null>;
}

export interface PublishedPortStats {
  connections: number;
  active: number;
  preserved: number;
  snat: number;
  failed: number;
  dropped: number;
  bytesIn: number;
  bytesOut: number;
}

export class PublishedPort {
  readonly stats: PublishedPortStats = { connections: 0, active: 0, preserved: 0, snat: 0, failed: 0, dropped: 0, bytesIn: 0, bytesOut: 0 };
  private server: Server | null = null;
  private dgram: DgramSocket | null = null;
  private readonly tcpClients = new Set<Socket>();
  private readonly udpFlows = new Map<string, { socket: UdpSocket; release: () => void; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    readonly spec: PublishSpec,
    private readonly ctx: PublishContext,
  ) {}

  get description(): string {
    return describeSpec(this.spec);
  }

  /** Opens the host socket; rejects with the host's error (EADDRINUSE, EADDRNOTAVAIL…). */
  async start(): Promise<void> {
    if (this.spec.protocol === 'tcp') {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => void this.tcpClient(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.spec.hostAddr, port: this.spec.hostPort, backlog: 511 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {});
      this.server = server;
      return;
    }
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.spec.hostPort, this.spec.hostAddr, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', () => {});
    sock.on('message', (msg, rinfo) => void this.udpDatagram(msg, rinfo.address, rinfo.port));
    this.dgram = sock;
  }

  /** The address the flow into the network comes from: the client's own, or ours when it cannot be. */
  private originFor(stack: NetStack, clientText: string): { addr: Ipv4Addr; preserved: boolean } | null {
    const own = stack.addresses().filter((a) => typeof a.addr === 'number');
    if (own.length === 0) return null;
    const client = parseIpv4(clientText.startsWith('::ffff:') ? clientText.slice(7) : clientText);
    const onNetwork = client !== null && own.some((a) => inSubnet(client, a.addr as number, a.prefixLen));
    if (client === null || client === 0 || isLoopback(client) || onNetwork) return { addr: own[0]!.addr as number, preserved: false };
    return { addr: client, preserved: true };
  }

  private async tcpClient(host: Socket): Promise<void> {
    this.stats.connections++;
    this.tcpClients.add(host);
    host.on('close', () => this.tcpClients.delete(host));
    host.on('error', () => {});
    const fail = (): void => {
      this.stats.failed++;
      host.destroy();
    };
    const stack = this.ctx.stack();
    const target = stack ? await this.ctx.resolve(this.spec.target) : null;
    if (!stack || target === null || this.closed || host.destroyed) return fail();
    const origin = this.originFor(stack, host.remoteAddress ?? '');
    if (!origin) return fail();
    let flow: TransparentSocket<TcpSocket> | number;
    if (origin.preserved) flow = stack.transparentOrigin().tcpConnect(origin.addr, host.remotePort ?? 0, target, this.spec.targetPort);
    else {
      const s = stack.tcpSocket();
      const r = s.connect(target, this.spec.targetPort);
      flow = r === -Errno.EINPROGRESS || r === 0 ? { socket: s, release: () => {} } : r;
    }
    if (typeof flow === 'number') return fail();
    this.stats[origin.preserved ? 'preserved' : 'snat']++;
    this.stats.active++;
    const f = flow;
    relayTcp(host, f.socket, this.stats, () => {
      this.stats.active--;
      f.release();
    });
    host.resume();
  }

  private async udpDatagram(msg: Buffer, addr: string, port: number): Promise<void> {
    const key = `${addr}:${port}`;
    let flow = this.udpFlows.get(key);
    if (!flow) {
      if (this.udpFlows.size >= MAX_UDP_FLOWS) {
        this.stats.dropped++;
        return;
      }
      const stack = this.ctx.stack();
      const target = stack ? await this.ctx.resolve(this.spec.target) : null;
      if (this.closed) return;
      flow = this.udpFlows.get(key); // another datagram of the client made it meanwhile
      if (!flow) {
        const opened = stack && target !== null ? this.openUdpFlow(stack, addr, port, target) : null;
        if (!opened) {
          this.stats.failed++;
          return;
        }
        flow = { ...opened, timer: setTimeout(() => this.endUdpFlow(key), UDP_IDLE_MS).unref() };
        this.udpFlows.set(key, flow);
        const s = opened.socket;
        s.handlers = {
          onReadable: () => {
            for (let d = s.recv(); d; d = s.recv()) {
              this.stats.bytesOut += d.data.length;
              this.dgram?.send(d.data, port, addr);
            }
            this.touch(key);
          },
        };
      }
    }
    const r = flow.socket.sendTo(msg);
    if (r < 0) this.stats.dropped++;
    else this.stats.bytesIn += r;
    this.touch(key);
  }

  private openUdpFlow(stack: NetStack, addr: string, port: number, target: Ipv4Addr): { socket: UdpSocket; release: () => void } | null {
    const origin = this.originFor(stack, addr);
    if (!origin) return null;
    this.stats.connections++;
    if (origin.preserved) {
      const f = stack.transparentOrigin().udpConnect(origin.addr, port, target, this.spec.targetPort);
      if (typeof f === 'number') return null;
      this.stats.preserved++;
      return f;
    }
    const s = stack.udpSocket();
    if (s.connect(target, this.spec.targetPort) < 0) {
      s.close();
      return null;
    }
    this.stats.snat++;
    return { socket: s, release: () => {} };
  }

  private touch(key: string): void {
    this.udpFlows.get(key)?.timer.refresh();
  }

  private endUdpFlow(key: string): void {
    const f = this.udpFlows.get(key);
    if (!f) return;
    this.udpFlows.delete(key);
    clearTimeout(f.timer);
    f.socket.close();
    f.release();
  }

  get udpFlowCount(): number {
    return this.udpFlows.size;
  }

  /** Stops listening and ends every forwarded connection and flow. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.tcpClients) s.destroy();
    for (const key of [...this.udpFlows.keys()]) this.endUdpFlow(key);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    const d = this.dgram;
    this.dgram = null;
    if (d) await new Promise<void>((r) => d.close(() => r()));
  }
}
