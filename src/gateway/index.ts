/**
 * Gateways (issue 19): a daemon that is a network's gateway member publishes host ports into the
 * network with the client's address preserved. `attachGateway` is what the daemon calls.
 */
import type { ResolveResult } from '../dns/resolver.js';
import type { Ipv4Addr } from '../netstack/index.js';
import type { Router } from '../service/http/router.js';
import { mountGatewayApi } from './gateway-api.js';
import { GatewayService, type GatewayHost } from './gateway-service.js';
import { mountProxyApi } from './proxy-api.js';

export { GatewayService, GatewayError, type GatewayHost, type PublishedPortView } from './gateway-service.js';
export { type PublishSpec, parseHostEnd, parseTarget, parseProtocol, PublishSpecError } from './publish-spec.js';

/** Restores the saved gateway roles and mounts the gateway's routes; returns the service (close it on stop). */
export async function attachGateway(router: Router, host: GatewayHost): Promise<GatewayService> {
  const g = new GatewayService(host);
  await g.start();
  mountGatewayApi(router, g);
  mountProxyApi(router, g.proxies);
  return g;
}

/** The resolver's family number for IPv4 (Linux's AF_INET, as the library's RESOLVE carries it). */
const AF_INET = 2;

/** A member name's IPv4 address through a network's resolver (null when unknown or not IPv4). */
export async function resolveMemberName(
  names: { resolve(name: string, family: number): Promise<ResolveResult> } | null,
  name: string,
): Promise<Ipv4Addr | null> {
  if (!names) return null;
  const r = await names.resolve(name, AF_INET);
  if ('errno' in r) return null;
  const a = r.addrs.find((x) => x.family === 4 && x.bytes.length === 4);
  return a ? ((a.bytes[0]! << 24) | (a.bytes[1]! << 16) | (a.bytes[2]! << 8) | a.bytes[3]!) >>> 0 : null;
}

export { ProxyService, ProxyError } from './proxy-service.js';
export { type ProxySpec, type ProxyRoute, ProxySpecError, parseRouteWords, describeRoute } from './proxy-spec.js';
export { type ReverseProxyView } from './reverse-proxy.js';
