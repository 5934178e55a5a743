/** The daemon's resolver: DNS codec, the zone of a network's names, forwarding, and the NameService contract. */
export {
  type NameService,
  type ResolveResult,
  type ReverseResult,
  type ResolverConfig,
  type ResolverOptions,
  type ResolverCounters,
  Resolver,
  fitAnswer,
  NAME_EAGAIN,
  NAME_ENODATA,
  NAME_ENOENT,
  MAX_IN_FLIGHT,
  EDNS_UDP_SIZE,
} from './resolver.js';
export { NetworkZone, type NetworkName, ZONE_TTL, ZONE_NEGATIVE_TTL } from './zone.js';
export { type NameAddress, normalDomain, parseAddressText, reverseName, addressOfReverseName } from './names.js';
export { type DnsTransport, type DnsExchange, Forwarder, DNS_PORT, TRY_MS, TOTAL_MS } from './forwarder.js';
export { stackTransport, kernelTransport } from './transports.js';
export { HostResolvConf, parseResolvConf, RESOLV_CONF } from './host-resolvers.js';
export { makeDnsRedirect, type DnsRedirect, SYSTEMD_RESOLVED_STUB } from './redirect.js';
export { DnsCache } from './cache.js';
export * from './message.js';
