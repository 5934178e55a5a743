/**
 * The default routes a network's `defaultRouteVia` setting stands for (issue 19): 0.0.0.0/0 via
 * the named member's IPv4 address and ::/0 via its IPv6 address, added to every other member's
 * config so that traffic beyond the network's routes goes to that member — the network's gateway,
 * which carries it out (src/gateway/outbound.ts). The gateway itself is not given them (it would
 * route to itself). A family the network already routes with an explicit /0 is left as the
 * network says; a gateway that is not authorized, or has no address of a family, gives no route
 * of that family.
 *
 * The routes are kept per network and worked out again when the network changes or the gateway
 * member does; when they differ, every member needs a fresh config (`apply` says so).
 */
import { formatIp, parseCidr, parseIp, rfc4193Address, routedBits } from './ip-assignment.js';
import type { ControllerStore, StoreChange } from './store.js';
import type { MemberSettings, NetworkSettings, RouteObject } from './types.js';

/** The routes `gateway` stands for in `network` (empty when it has none to give). */
export function defaultRoutesVia(network: NetworkSettings, gateway: MemberSettings | undefined): RouteObject[] {
  if (!gateway || !gateway.authorized) return [];
  const routedDefault = (family: 4 | 6): boolean =>
    network.routes.some((r) => {
      const c = parseCidr(r.target);
      return c !== null && c.family === family && c.bits === 0;
    });
  // its addresses on the network, as its own config gives them (those within a managed route)
  const own = gateway.ipAssignments.flatMap((t) => {
    const ip = parseIp(t);
    return ip !== null && routedBits(ip, network.routes) > 0 ? [ip] : [];
  });
  const v4 = own.find((ip) => ip.family === 4);
  const v6Static = own.find((ip) => ip.family === 6);
  const v6 = v6Static
    ? formatIp(v6Static)
    : network.v6AssignMode.rfc4193 && !gateway.noAutoAssignIps
      ? rfc4193Address(BigInt(`0x${network.id}`), BigInt(`0x${gateway.address}`)).ip
      : null;
  const out: RouteObject[] = [];
  if (v4 && !routedDefault(4)) out.push({ target: '0.0.0.0/0', via: formatIp(v4) });
  if (v6 !== null && !routedDefault(6)) out.push({ target: '::/0', via: v6 });
  return out;
}

/** Each network's default routes via its gateway member, kept until the network or that member changes. */
export class DefaultRoutes {
  private readonly byNetwork = new Map<string, { via: string | null; routes: RouteObject[] }>();

  constructor(private readonly store: ControllerStore) {}

  private compute(nwid: string): { via: string | null; routes: RouteObject[] } {
    const n = this.store.getNetworkSettings(nwid);
    const via = n?.defaultRouteVia ?? null;
    return { via, routes: n && via !== null ? defaultRoutesVia(n, this.store.getMember(nwid, via)) : [] };
  }

  /** The routes for `member`'s config: none for the gateway itself. */
  routesFor(nwid: string, member: string): RouteObject[] {
    let e = this.byNetwork.get(nwid);
    if (!e) this.byNetwork.set(nwid, (e = this.compute(nwid)));
    return e.via === member ? [] : e.routes;
  }

  /** Takes in one store change; true when the network's default routes changed (every member needs them). */
  apply(c: StoreChange): boolean {
    const e = this.byNetwork.get(c.nwid);
    if (c.kind === 'network') {
      this.byNetwork.delete(c.nwid); // its settings changed: every member is pushed anyway
      return false;
    }
    // not worked out since start: the next config works it out with this change in
    if (!e || e.via !== c.address) return false;
    const next = this.compute(c.nwid);
    this.byNetwork.set(c.nwid, next);
    return JSON.stringify(next.routes) !== JSON.stringify(e.routes);
  }
}
