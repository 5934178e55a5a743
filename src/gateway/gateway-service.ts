/**
 * The daemon's gateway roles, per network: whether this daemon is the network's gateway
 * (`gateway enable|disable`) and the ports it publishes (`publish`, `unpublish`), kept in
 * `<home>/gateway.d/` (gateway-store.ts) so that a restart listens again. Published ports listen
 * on the host at once; each client is forwarded through the network's stack as it is then (no
 * stack or no address yet: the client is refused, counted `failed`). While the role is on, the
 * stack also carries members' flows out (outbound.ts) and answers DNS on its address with the
 * host's resolvers (outbound-dns.ts).
 */
import type { Logger } from 'pino';
import { parseIpv4, type Ipv4Addr, type NetStack } from '../netstack/index.js';
import { readGatewayConf } from './gateway-conf.js';
import { GatewayStore, type GatewayNetworkState, type GatewayOutboundOptions } from './gateway-store.js';
import { GatewayDns, type GatewayDnsCounters } from './outbound-dns.js';
import { DEFAULT_OUTBOUND_POLICY, OutboundNat, type OutboundCounters, type OutboundPolicy } from './outbound.js';
import { PublishedPort, type PublishedPortStats } from './published-port.js';
import { describeSpec, sameHostEnd, type PublishSpec } from './publish-spec.js';
import type { NetworkConfig } from '../node/index.js';
import { ProxyService } from './proxy-service.js';

/** Names another resolv.conf for the gateway's DNS than /etc/resolv.conf (tests, special hosts). */
export const RESOLV_CONF_ENV = 'ZTNC_GATEWAY_RESOLV_CONF';

/** What the gateway needs of the daemon. */
export interface GatewayHost {
  homeDir: string;
  /** The stack of a joined network, or null. */
  stackOf(nwid: string): NetStack | null;
  /** A member name's IPv4 address on the network, through the network's names; null when unknown. */
  resolveName(nwid: string, name: string): Promise<Ipv4Addr | null>;
  logger: Logger;
  /** The network's config in force (its member names and DNS domain), for the reverse proxies; null when none. */
  configOf?(nwid: string): NetworkConfig | null;
}

/** An error the API answers with `status`. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface PublishedPortView extends PublishSpec {
  nwid: string;
  stats: PublishedPortStats;
}

interface NetworkGateway {
  enabled: boolean;
  ports: PublishedPort[];
  /** This network's outbound options over local.conf's. */
  outbound: GatewayOutboundOptions;
}

export class GatewayService {
  private readonly store: GatewayStore;
  private readonly nets = new Map<string, NetworkGateway>();
  private readonly log: Logger;
  /** Outbound NAT of each network whose stack is up while this daemon is its gateway. */
  private readonly nat = new Map<string, { stack: NetStack; nat: OutboundNat; dns: GatewayDns; policy: OutboundPolicy }>();
  private policy: OutboundPolicy = { ...DEFAULT_OUTBOUND_POLICY };
  private watch: NodeJS.Timeout | null = null;
  /** The reverse proxies (proxy-service.ts), on networks this daemon is the gateway of. */
  readonly proxies: ProxyService;

  constructor(private readonly host: GatewayHost) {
    this.store = new GatewayStore(host.homeDir);
    this.log = host.logger;
    this.proxies = new ProxyService({
      homeDir: host.homeDir,
      logger: host.logger,
      stackOf: (nwid) => host.stackOf(nwid),
      configOf: (nwid) => host.configOf?.(nwid) ?? null,
      isGateway: (nwid) => this.nets.get(nwid)?.enabled === true,
    });
  }

  /**
   * Outbound NAT follows the role: on while enabled and the network's stack exists (a network
   * joined later, or whose stack was remade, is picked up by a check every second).
   */
  private applyOutbound(nwid: string): void {
    const g = this.nets.get(nwid);
    const stack = g?.enabled === true ? this.host.stackOf(nwid) : null;
    const policy = this.policyOf(nwid);
    const cur = this.nat.get(nwid);
    if (cur && cur.stack === stack && samePolicy(cur.policy, policy)) {
      cur.dns.refresh();
      return;
    }
    if (cur) {
      cur.stack.setOutbound(null);
      cur.nat.close();
      cur.dns.close();
      this.nat.delete(nwid);
    }
    if (!stack) return;
    const nat = new OutboundNat(policy);
    stack.setOutbound(nat);
    const dns = new GatewayDns(stack, process.env[RESOLV_CONF_ENV]);
    dns.refresh();
    this.nat.set(nwid, { stack, nat, dns, policy });
  }

  /** local.conf's policy with the network's own outbound options over it. */
  private policyOf(nwid: string): OutboundPolicy {
    const o = this.nets.get(nwid)?.outbound ?? {};
    return {
      ...this.policy,
      ...(o.allowHostLoopback !== undefined ? { allowHostLoopback: o.allowHostLoopback } : {}),
      ...(o.hostLoopbackAlias !== undefined ? { hostLoopbackAlias: o.hostLoopbackAlias } : {}),
    };
  }

  /** Restores the saved roles: every published port listens again (one that cannot is logged and kept). */
  async start(): Promise<void> {
    const saved = this.store.loadAll((file, message) => this.log.error({ file, err: message }, 'gateway state unreadable; ignored'));
    try {
      const conf = readGatewayConf(this.host.homeDir);
      this.policy = conf.policy;
      for (const nwid of conf.networks) if (!saved.has(nwid)) saved.set(nwid, { enabled: true, publish: [] });
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'gateway settings ignored');
    }
    for (const [nwid, state] of saved) {
      const g: NetworkGateway = { enabled: state.enabled, ports: [], outbound: state.outbound ?? {} };
      this.nets.set(nwid, g);
      for (const spec of state.publish) {
        const p = this.portFor(nwid, spec);
        g.ports.push(p);
        await p
          .start()
          .catch((e: unknown) =>
            this.log.error({ nwid, port: describeSpec(spec), err: (e as Error).message }, 'published port cannot listen'),
          );
      }
    }
    for (const nwid of this.nets.keys()) this.applyOutbound(nwid);
    this.watch = setInterval(() => {
      for (const nwid of this.nets.keys()) this.applyOutbound(nwid);
    }, 1000).unref();
    await this.proxies.start();
  }

  private portFor(nwid: string, spec: PublishSpec): PublishedPort {
    return new PublishedPort(spec, {
      stack: () => this.host.stackOf(nwid),
      resolve: async (target) => parseIpv4(target) ?? (await this.host.resolveName(nwid, target)),
    });
  }

  private net(nwid: string): NetworkGateway {
    let g = this.nets.get(nwid);
    if (!g) this.nets.set(nwid, (g = { enabled: false, ports: [], outbound: {} }));
    return g;
  }

  private save(nwid: string): void {
    const g = this.net(nwid);
    const state: GatewayNetworkState = { enabled: g.enabled, publish: g.ports.map((p) => p.spec) };
    if (Object.keys(g.outbound).length > 0) state.outbound = g.outbound;
    this.store.save(nwid, state);
  }

  status(nwid: string): {
    nwid: string;
    enabled: boolean;
    outbound: OutboundCounters | null;
    dns: GatewayDnsCounters | null;
    policy: OutboundPolicy;
    published: PublishedPortView[];
  } {
    const g = this.nets.get(nwid);
    const cur = this.nat.get(nwid);
    return {
      nwid,
      enabled: g?.enabled ?? false,
      outbound: cur ? { ...cur.nat.counters } : null,
      dns: cur ? { ...cur.dns.counters } : null,
      policy: this.policyOf(nwid),
      published: this.list(nwid),
    };
  }

  /** The role on or off; `outbound` options given are kept for the network (over local.conf's). */
  setEnabled(nwid: string, enabled: boolean, outbound: GatewayOutboundOptions = {}): void {
    const g = this.net(nwid);
    g.enabled = enabled;
    g.outbound = { ...g.outbound, ...outbound };
    this.save(nwid);
    this.applyOutbound(nwid);
    this.log.info({ nwid, enabled, outbound: g.outbound }, 'gateway role changed');
  }

  list(nwid?: string): PublishedPortView[] {
    const out: PublishedPortView[] = [];
    for (const [id, g] of this.nets) {
      if (nwid !== undefined && id !== nwid) continue;
      for (const p of g.ports) out.push({ nwid: id, ...p.spec, stats: { ...p.stats } });
    }
    return out;
  }

  async publish(nwid: string, spec: PublishSpec): Promise<PublishedPortView> {
    const g = this.net(nwid);
    if (!g.enabled) throw new GatewayError(409, `this daemon is not the gateway of ${nwid} (ztnc-cli gateway enable ${nwid} first)`);
    for (const other of this.nets.values())
      for (const p of other.ports)
        if (sameHostEnd(p.spec, spec))
          throw new GatewayError(409, `${spec.protocol} port ${spec.hostPort} is already published (${p.description})`);
    const p = this.portFor(nwid, spec);
    try {
      await p.start();
    } catch (e) {
      throw new GatewayError(409, `cannot listen on ${spec.hostAddr}:${spec.hostPort}/${spec.protocol}: ${(e as Error).message}`);
    }
    g.ports.push(p);
    this.save(nwid);
    this.log.info({ nwid, port: p.description }, 'port published');
    return { nwid, ...spec, stats: { ...p.stats } };
  }

  /** Unpublishes the port listening on hostPort (and hostAddr when given); 404 when none. */
  async unpublish(nwid: string, protocol: string, hostPort: number, hostAddr?: string): Promise<PublishedPortView> {
    const g = this.nets.get(nwid);
    const i =
      g?.ports.findIndex(
        (p) => p.spec.protocol === protocol && p.spec.hostPort === hostPort && (hostAddr === undefined || p.spec.hostAddr === hostAddr),
      ) ?? -1;
    if (!g || i < 0)
      throw new GatewayError(404, `no ${protocol} port ${hostAddr ? `${hostAddr}:` : ''}${hostPort} is published on ${nwid}`);
    const [p] = g.ports.splice(i, 1);
    await p!.close();
    this.save(nwid);
    this.log.info({ nwid, port: p!.description }, 'port unpublished');
    return { nwid, ...p!.spec, stats: { ...p!.stats } };
  }

  async close(): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    for (const { stack, nat, dns } of this.nat.values()) {
      stack.setOutbound(null);
      nat.close();
      dns.close();
    }
    this.nat.clear();
    for (const g of this.nets.values()) for (const p of g.ports) await p.close();
    await this.proxies.close();
  }
}

function samePolicy(a: OutboundPolicy, b: OutboundPolicy): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
