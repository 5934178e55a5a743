/**
 * What the namespace's interface should look like, worked out from the network's local-API JSON
 * (GET /network/<nwid>), and the `ip` commands that take the interface from one such state to the
 * next: MAC and MTU, the member's managed addresses, the network's managed routes. Pure: the
 * agent inside the namespace runs the commands (ns-agent.ts), tests read them.
 * A network that is not OK (refused, not found, left) has no addresses and no routes: the
 * interface stays but carries nothing, as stock takes a de-authorized member's addresses away.
 */

export interface LinkRoute {
  /** CIDR, e.g. 10.147.99.0/24 or 0.0.0.0/0. */
  target: string;
  via: string | null;
}

export interface LinkState {
  mac: string;
  mtu: number;
  /** CIDR: 10.147.99.12/24, fd00::1/88. */
  addresses: string[];
  routes: LinkRoute[];
  dns: { domain: string; servers: string[] };
}

const CIDR = /^[0-9a-fA-F.:]+\/\d{1,3}$/;
const IP = /^[0-9a-fA-F.:]+$/;

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Stock's `addr/bits` (the JSON's slash form) as CIDR; null for anything else. */
function cidr(v: unknown): string | null {
  const t = text(v);
  return CIDR.test(t) ? t : null;
}

/** The interface state a network's JSON asks for. Unknown or malformed fields are left out. */
export function linkState(network: Record<string, unknown>): LinkState {
  const ok = network.status === 'OK';
  const mtu = typeof network.mtu === 'number' && network.mtu >= 1280 && network.mtu <= 10000 ? network.mtu : 2800;
  const addresses = ok && Array.isArray(network.assignedAddresses) ? network.assignedAddresses.map(cidr).filter((a) => a !== null) : [];
  const routes: LinkRoute[] = [];
  if (ok && Array.isArray(network.routes)) {
    for (const r of network.routes as Array<Record<string, unknown>>) {
      const target = cidr(r?.target);
      if (!target) continue;
      const via = typeof r.via === 'string' && IP.test(r.via) ? r.via : null;
      routes.push({ target, via });
    }
  }
  const dnsIn = (network.dns ?? {}) as { domain?: unknown; servers?: unknown };
  const servers = Array.isArray(dnsIn.servers) ? dnsIn.servers.filter((s): s is string => typeof s === 'string' && IP.test(s)) : [];
  return { mac: text(network.mac), mtu, addresses, routes, dns: { domain: text(dnsIn.domain), servers } };
}

const family = (cidrOrIp: string): string => (cidrOrIp.includes(':') ? '-6' : '-4');
const routeKey = (r: LinkRoute): string => `${r.target} ${r.via ?? ''}`;
const routeTarget = (t: string): string => (t === '0.0.0.0/0' || t === '::/0' ? 'default' : t);

/**
 * `ip` argument lists that take interface `ifname` from `prev` (null: freshly created, down) to
 * `next`, in an order that works: link settings, addresses, direct routes, then routes via a gateway.
 */
export function linkCommands(ifname: string, prev: LinkState | null, next: LinkState): string[][] {
  const out: string[][] = [];
  if (prev === null) {
    if (next.mac) out.push(['link', 'set', 'dev', ifname, 'address', next.mac]);
    out.push(['link', 'set', 'dev', ifname, 'mtu', String(next.mtu), 'up']);
  } else if (prev.mtu !== next.mtu) out.push(['link', 'set', 'dev', ifname, 'mtu', String(next.mtu)]);
  const before = new Set(prev?.addresses ?? []);
  const after = new Set(next.addresses);
  const nextRoutes = new Set(next.routes.map(routeKey));
  for (const r of prev?.routes ?? []) {
    if (!nextRoutes.has(routeKey(r)))
      out.push([family(r.target), 'route', 'del', routeTarget(r.target), ...(r.via ? ['via', r.via] : []), 'dev', ifname]);
  }
  for (const a of before) if (!after.has(a)) out.push([family(a), 'addr', 'del', a, 'dev', ifname]);
  for (const a of after) if (!before.has(a)) out.push([family(a), 'addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
  const prevRoutes = new Set((prev?.routes ?? []).map(routeKey));
  const added = next.routes.filter((r) => !prevRoutes.has(routeKey(r)));
  for (const r of [...added.filter((x) => !x.via), ...added.filter((x) => x.via)]) {
    out.push([family(r.target), 'route', 'replace', routeTarget(r.target), ...(r.via ? ['via', r.via] : []), 'dev', ifname]);
  }
  return out;
}

/** /etc/resolv.conf for the namespace: the network's resolvers, else one inside the namespace that nothing answers (never the host's). */
export function resolvConf(state: LinkState): string {
  const servers = state.dns.servers.length > 0 ? state.dns.servers : ['127.0.0.1'];
  const lines = ['# written by ztnc-run for this namespace', ...servers.map((s) => `nameserver ${s}`)];
  if (state.dns.domain) lines.push(`search ${state.dns.domain}`);
  return `${lines.join('\n')}\n`;
}

/** /etc/hosts for the namespace: localhost and this member's name on its addresses. */
export function hostsFile(state: LinkState, hostname: string): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const a of state.addresses) lines.push(`${a.split('/')[0]}\t${hostname}`);
  return `${lines.join('\n')}\n`;
}
