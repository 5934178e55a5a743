/**
 * The local API's endpoint routes (ztnc's own; stock has one identity per process):
 *   GET    /endpoint                               every endpoint, default first
 *   GET    /endpoint/<name>                        one
 *   POST   /endpoint/<name>                        create: with the client's identity, body
 *                                                  {"identity": "<identity.secret text>"} (checked:
 *                                                  400 when forged or malformed, 409 when another
 *                                                  endpoint has its address), else a new one made here
 *   DELETE /endpoint/<name>                        leave its networks, remove it and its files
 *   GET    /endpoint/<name>/network[/<nwid>]       its networks, as GET /network shows the default's
 *   POST   /endpoint/<name>/network/<nwid>         join (body as POST /network/<nwid>)
 *   DELETE /endpoint/<name>/network/<nwid>         leave
 *   POST   /endpoint/<name>/network/<nwid>/ping    ICMP echo from its stack (body as /network/<nwid>/ping)
 *   GET    /endpoint/<name>/moon[/<world id>]      its moons, as GET /moon shows the default's
 *   POST   /endpoint/<name>/moon/<world id>        orbit (body as POST /moon/<world id>)
 *   DELETE /endpoint/<name>/moon/<world id>        deorbit
 */
import type { Logger } from 'pino';
import { NWID_PATTERN } from './home.js';
import type { HostedEndpoint } from './hosted-endpoint.js';
import { EndpointError, type Endpoints, parseClientIdentity } from './endpoints.js';
import type { ApiRequest, ApiResponse, Router } from './http/router.js';
import { parseJoinToken, parseNetworkSettings, parsePingBody } from './local-api.js';
import { mountMoonRoutes } from './moons.js';

function error(status: number, message: string): ApiResponse {
  return { status, body: { error: message } };
}

/** The endpoint named by the first parameter, or the answer to give when there is none. */
function endpointOf(endpoints: Endpoints, req: ApiRequest): HostedEndpoint | ApiResponse {
  const name = req.params[0] ?? '';
  return endpoints.get(name) ?? error(404, `no endpoint ${name}`);
}

function nwidOf(req: ApiRequest): string | null {
  const id = (req.params[1] ?? '').toLowerCase();
  return NWID_PATTERN.test(id) ? id : null;
}

function isResponse(x: HostedEndpoint | ApiResponse): x is ApiResponse {
  return 'status' in x;
}

export function mountEndpointApi(router: Router, endpoints: Endpoints, log: Logger): void {
  const refused = (e: unknown): ApiResponse => {
    if (e instanceof EndpointError) return error(e.status, e.message);
    log.warn({ err: (e as Error).message }, 'endpoint request failed');
    return error(500, (e as Error).message);
  };
  router
    .add('GET', '/endpoint', () => ({ status: 200, body: endpoints.all().map((ep) => ep.json()) }))
    .add('GET', '/endpoint/([^/]+)', (req) => {
      const ep = endpointOf(endpoints, req);
      return isResponse(ep) ? ep : { status: 200, body: ep.json() };
    })
    .add('POST', '/endpoint/([^/]+)', async (req) => {
      try {
        const name = req.params[0] ?? '';
        return { status: 200, body: (await endpoints.create(name, parseClientIdentity(req.body))).json() };
      } catch (e) {
        return refused(e);
      }
    })
    .add('DELETE', '/endpoint/([^/]+)', async (req) => {
      try {
        await endpoints.delete(req.params[0] ?? '');
        return { status: 200, body: { deleted: true } };
      } catch (e) {
        return refused(e);
      }
    })
    .add('GET', '/endpoint/([^/]+)/network', (req) => {
      const ep = endpointOf(endpoints, req);
      return isResponse(ep) ? ep : { status: 200, body: ep.networks() };
    })
    .add('GET', '/endpoint/([^/]+)/network/([^/]+)', (req) => {
      const ep = endpointOf(endpoints, req);
      if (isResponse(ep)) return ep;
      const nwid = nwidOf(req);
      if (!nwid) return error(400, 'network id must be 16 hex digits');
      const n = ep.network(nwid);
      return n ? { status: 200, body: n } : error(404, `network ${nwid} not joined by endpoint ${ep.name}`);
    })
    .add('POST', '/endpoint/([^/]+)/network/([^/]+)', async (req) => {
      const ep = endpointOf(endpoints, req);
      if (isResponse(ep)) return ep;
      const nwid = nwidOf(req);
      if (!nwid) return error(400, 'network id must be 16 hex digits');
      const settings = parseNetworkSettings(req.body);
      if (typeof settings === 'string') return error(400, settings);
      const token = parseJoinToken(req.body);
      if (typeof token === 'object') return error(400, token.error);
      try {
        return { status: 200, body: await ep.joinNetwork(nwid, settings, token) };
      } catch (e) {
        return refused(e);
      }
    })
    .add('DELETE', '/endpoint/([^/]+)/network/([^/]+)', async (req) => {
      const ep = endpointOf(endpoints, req);
      if (isResponse(ep)) return ep;
      const nwid = nwidOf(req);
      if (!nwid) return error(400, 'network id must be 16 hex digits');
      return (await ep.leaveNetwork(nwid))
        ? { status: 200, body: { left: true } }
        : error(404, `network ${nwid} not joined by endpoint ${ep.name}`);
    })
    .add('POST', '/endpoint/([^/]+)/network/([^/]+)/ping', async (req) => {
      const ep = endpointOf(endpoints, req);
      if (isResponse(ep)) return ep;
      const nwid = nwidOf(req);
      if (!nwid) return error(400, 'network id must be 16 hex digits');
      const ping = parsePingBody(req.body);
      if (typeof ping === 'string') return error(400, ping);
      const r = await ep.ping(nwid, ping);
      return r.status === 200 ? { status: 200, body: r.report } : error(r.status, r.error);
    });
  mountMoonRoutes(router, '/endpoint/([^/]+)', (req) => {
    const ep = endpointOf(endpoints, req);
    return isResponse(ep) ? ep : ep.moons;
  });
}
