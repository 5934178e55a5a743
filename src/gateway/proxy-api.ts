/**
 * The reverse proxies' local API routes (daemon's auth token), beside the gateway's (gateway-api.ts):
 * - `GET /gateway/proxy` → every network's proxies; `GET /gateway/<nwid>/proxy` → one network's,
 *   each with its routes, counters, upstreams' health and upstream-file counters.
 * - `POST /gateway/<nwid>/proxy` `{ "listen"?: { "hostAddr"?, "hostPort" }, "tls"?: { "cert", "key" },
 *   "upstreamFile"?: { "path", "format"?: "nginx"|"haproxy", "reloadPid"? | "reloadCmd"?: [words] },
 *   "namesPort"?, "health"?: { "kind": "tcp"|"http", "path"?, "intervalMs"? }, "routes"?: [route] }`
 *   (one of listen and upstreamFile; paths absolute).
 * - `DELETE /gateway/<nwid>/proxy?key=<proxy>` — key: `[host-addr:]port` or the upstream file's path.
 * - `POST /gateway/<nwid>/proxy/route` `{ "proxy": key, "host", "pathPrefix"?, "member", "port" }`
 *   adds a route (replacing the one with the same host and prefix).
 * - `DELETE /gateway/<nwid>/proxy/route?proxy=<key>&host=<pattern>[&pathPrefix=/p]`.
 * Bad bodies are 400 naming the field; not the gateway, taken port or file 409; unknown 404.
 */
import type { ApiResponse, Router } from '../service/http/router.js';
import { ProxyError, type ProxyService } from './proxy-service.js';
import { parseHostPattern, parsePathPrefix, ProxySpecError, proxySpecFromJson, routeFromJson } from './proxy-spec.js';

const NWID = '([0-9a-fA-F]{16})';

async function answer(fn: () => unknown): Promise<ApiResponse> {
  try {
    return { status: 200, body: await fn() };
  } catch (e) {
    if (e instanceof ProxySpecError) return { status: 400, body: { error: e.message } };
    if (e instanceof ProxyError) return { status: e.status, body: { error: e.message } };
    throw e;
  }
}

function needed(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw new ProxySpecError(`${name}: missing (query parameter)`);
  return v;
}

export function mountProxyApi(router: Router, proxies: ProxyService): void {
  router.add('GET', '/gateway/proxy', () => answer(() => proxies.list()));
  router.add('GET', `/gateway/${NWID}/proxy`, (req) => answer(() => proxies.list(req.params[0]!.toLowerCase())));
  router.add('POST', `/gateway/${NWID}/proxy`, (req) =>
    answer(() => proxies.add(req.params[0]!.toLowerCase(), proxySpecFromJson(req.body))),
  );
  router.add('DELETE', `/gateway/${NWID}/proxy`, (req) =>
    answer(() => proxies.remove(req.params[0]!.toLowerCase(), needed(req.query, 'key'))),
  );
  router.add('POST', `/gateway/${NWID}/proxy/route`, (req) =>
    answer(() => {
      const b = req.body as { proxy?: unknown } | undefined;
      if (typeof b !== 'object' || b === null || typeof b.proxy !== 'string' || b.proxy === '') throw new ProxySpecError('proxy: missing');
      return proxies.route(req.params[0]!.toLowerCase(), b.proxy, routeFromJson(b));
    }),
  );
  router.add('DELETE', `/gateway/${NWID}/proxy/route`, (req) =>
    answer(() =>
      proxies.unroute(
        req.params[0]!.toLowerCase(),
        needed(req.query, 'proxy'),
        parseHostPattern(needed(req.query, 'host')),
        parsePathPrefix(req.query.get('pathPrefix') ?? '/'),
      ),
    ),
  );
}
