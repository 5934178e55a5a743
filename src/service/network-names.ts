/**
 * One network's resolver as the daemon assembles it: the network's config (domain, servers,
 * member names) read at every question, queries to the network's servers over the network's own
 * stack, the host's resolvers only when local.conf's `allowHostResolvers` is on, and the port-53
 * redirect the datagram path asks about (host nameservers, 127.0.0.53, addresses off the
 * network's routes). See "Names" in the project README for the path a lookup takes.
 */
import {
  HostResolvConf,
  kernelTransport,
  makeDnsRedirect,
  parseAddressText,
  Resolver,
  stackTransport,
  type DnsRedirect,
  type NameAddress,
  type ResolverConfig,
} from '../dns/index.js';
import type { NetStack, RandomSource, Scheduler } from '../netstack/index.js';
import type { NetworkConfig } from '../node/index.js';

/** What a network's netcon servers are given (NetconServerOptions: names, and the datagram path's redirect). */
export interface NetworkNames {
  names: Resolver;
  /** Which datagrams to port 53 the resolver answers (their answers come from `names.answer`). */
  dnsRedirect: DnsRedirect;
}

export interface NetworkNamesOptions {
  scheduler: Scheduler;
  random: RandomSource;
  /** The network's config now (null before the first, or when refused). */
  config: () => NetworkConfig | null;
  allowHostResolvers: boolean;
  /** The host's resolv.conf (tests point it elsewhere). */
  resolvConf?: string;
}

function addresses(list: readonly { ip: string }[]): NameAddress[] {
  return list.flatMap((a) => {
    const p = parseAddressText(a.ip);
    return p ? [p] : [];
  });
}

/**
 * The gateways a config routes everything else through: the `via` of its default routes
 * (0.0.0.0/0, ::/0), which answer DNS on their network address with the host's resolvers
 * (src/gateway/outbound-dns.ts).
 */
function defaultGateways(c: NetworkConfig): NameAddress[] {
  return addresses(c.routes.flatMap((r) => (r.target.port === 0 && r.via !== null ? [r.via] : [])));
}

/**
 * The resolver's view of a config. Names outside the network go to the network's `dns.servers`;
 * a network without servers whose members reach beyond it through a gateway (a default route via
 * a member) asks that gateway, so a member behind a gateway resolves what it can reach.
 */
export function resolverConfigOf(c: NetworkConfig): ResolverConfig {
  const servers = addresses(c.dns?.servers ?? []);
  return {
    domain: c.dns?.domain ?? '',
    servers: servers.length > 0 ? servers : defaultGateways(c),
    names: (c.names ?? []).map((n) => ({ name: n.name, addrs: addresses(n.addrs) })),
    serial: Number(BigInt.asUintN(32, c.revision)),
  };
}

/** A factory for NetworkAttachment: the resolver of the network whose stack it is given. */
export function networkNames(opts: NetworkNamesOptions): (stack: NetStack) => NetworkNames {
  return (stack) => {
    const host = new HostResolvConf(opts.scheduler, opts.resolvConf);
    let seen: NetworkConfig | null = null;
    let view: ResolverConfig | null = null;
    const config = (): ResolverConfig | null => {
      const c = opts.config();
      // one view per config object: the resolver rebuilds its zone when the view changes
      if (c !== seen) {
        seen = c;
        view = c ? resolverConfigOf(c) : null;
      }
      return view;
    };
    const names = new Resolver({
      scheduler: opts.scheduler,
      random: opts.random,
      config,
      network: stackTransport(stack),
      host: opts.allowHostResolvers ? { transport: kernelTransport(), servers: () => host.nameservers() } : null,
    });
    return {
      names,
      dnsRedirect: makeDnsRedirect(
        () => stack.routes(),
        () => host.nameservers(),
      ),
    };
  };
}
