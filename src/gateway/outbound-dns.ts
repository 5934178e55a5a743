/**
 * Names outside the network, for members behind a gateway (issue 19): while a daemon is a network's
 * gateway, its stack answers DNS on UDP port 53 of its address in the network, through the host's
 * resolvers (`/etc/resolv.conf`, through the daemon's own kernel socket — issue 10's forwarding
 * path: src/dns/forwarder.ts, host-resolvers.ts, with its cache). Members whose network has no
 * `dns.servers` ask their default route's gateway (src/service/network-names.ts), so a member that
 * reaches the outside through the gateway also resolves its names. The host's resolvers are the
 * gateway's own business (often 127.0.0.53): the outbound policy governs members' flows, not these.
 *
 * A malformed query is answered as the resolver answers one (FORMERR, or nothing); counters:
 * queries, answered, dropped (no answer to give).
 */
import { HostResolvConf, kernelTransport, Resolver, stackTransport } from '../dns/index.js';
import { CryptoRandom, RealScheduler, type Ipv4Addr, type NetStack, type UdpSocket } from '../netstack/index.js';

export const DNS_PORT = 53;

export interface GatewayDnsCounters {
  queries: number;
  answered: number;
  dropped: number;
}

export class GatewayDns {
  readonly counters: GatewayDnsCounters = { queries: 0, answered: 0, dropped: 0 };
  private readonly resolver: Resolver;
  private socket: UdpSocket | null = null;
  private boundTo: Ipv4Addr | null = null;
  private closed = false;

  constructor(
    private readonly stack: NetStack,
    resolvConf?: string,
  ) {
    const scheduler = new RealScheduler();
    const host = new HostResolvConf(scheduler, resolvConf);
    this.resolver = new Resolver({
      scheduler,
      random: new CryptoRandom(),
      config: () => null,
      network: stackTransport(stack),
      host: { transport: kernelTransport(), servers: () => host.nameservers() },
    });
  }

  /**
   * Listens on port 53 of the stack's first IPv4 address (again when that address changed); false
   * when the port is taken there (a program of the gateway's container serving DNS itself).
   */
  refresh(): boolean {
    if (this.closed) return false;
    const own = this.stack.addresses().find((a) => typeof a.addr === 'number')?.addr as Ipv4Addr | undefined;
    if (own === this.boundTo && this.socket) return true;
    this.socket?.close();
    this.socket = null;
    this.boundTo = null;
    if (own === undefined) return false;
    const s = this.stack.udpSocket(4);
    if (s.bind(own, DNS_PORT) < 0) {
      s.close();
      return false;
    }
    s.handlers.onReadable = () => {
      for (let d = s.recv(); d; d = s.recv()) {
        this.counters.queries++;
        const from = d.from;
        void this.resolver.answer(d.data).then(
          (reply) => {
            if (reply && this.socket === s && s.sendTo(reply, from) >= 0) this.counters.answered++;
            else this.counters.dropped++;
          },
          () => this.counters.dropped++,
        );
      }
    };
    this.socket = s;
    this.boundTo = own;
    return true;
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.socket = null;
  }
}
