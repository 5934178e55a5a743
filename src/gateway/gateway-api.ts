/**
 * The gateway's local API routes (daemon's auth token):
 * - `GET /gateway` → every network's role and published ports; `GET /gateway/<nwid>` → one network's.
 * - `POST /gateway/<nwid>` `{ "enabled": true|false, "allowHostLoopback"?: bool, "hostLoopbackAlias"?: "a.b.c.d"|null }`
 *   → this daemon is (no longer) the network's gateway, with these outbound options for it.
 * - `GET /gateway/<nwid>/publish` → that network's published ports with their counters.
 * - `POST /gateway/<nwid>/publish` `{ "protocol": "tcp"|"udp", "hostAddr"?: "0.0.0.0", "hostPort", "target", "targetPort" }`.
 * - `DELETE /gateway/<nwid>/publish/<tcp|udp>/<hostPort>[?hostAddr=A]`.
 * Bad bodies are 400 naming the field; conflicts (not the gateway, port taken) 409; unknown 404.
 */
import type { ApiResponse, Router } from '../service/http/router.js';
import { GatewayError, type GatewayService } from './gateway-service.js';
import { outboundOptionsFromJson } from './gateway-store.js';
import { PublishSpecError, specFromJson } from './publish-spec.js';

const NWID = '([0-9a-fA-F]{16})';

async function answer(fn: () => unknown): Promise<ApiResponse> {
  try {
    return { status: 200, body: await fn() };
  } catch (e) {
    if (e instanceof PublishSpecError) return { status: 400, body: { error: e.message } };
    if (e instanceof GatewayError) return { status: e.status, body: { error: e.message } };
    throw e;
  }
}

export function mountGatewayApi(router: Router, gateway: GatewayService): void {
  router.add('GET', '/gateway', () => answer(() => gateway.list()));
  router.add('GET', `/gateway/${NWID}`, (req) => answer(() => gateway.status(req.params[0]!.toLowerCase())));
  router.add('POST', `/gateway/${NWID}`, (req) =>
    answer(() => {
      const b = req.body as { enabled?: unknown } | undefined;
      if (typeof b !== 'object' || b === null || typeof b.enabled !== 'boolean')
        throw new PublishSpecError('enabled: must be true or false');
      const nwid = req.params[0]!.toLowerCase();
      let outbound;
      try {
        outbound = outboundOptionsFromJson(b);
      } catch (e) {
        throw new PublishSpecError((e as Error).message);
      }
      gateway.setEnabled(nwid, b.enabled, outbound);
      return gateway.status(nwid);
    }),
  );
  router.add('GET', `/gateway/${NWID}/publish`, (req) => answer(() => gateway.list(req.params[0]!.toLowerCase())));
  router.add('POST', `/gateway/${NWID}/publish`, (req) =>
    answer(() => gateway.publish(req.params[0]!.toLowerCase(), specFromJson(req.body))),
  );
  router.add('DELETE', `/gateway/${NWID}/publish/(tcp|udp)/([0-9]{1,5})`, (req) =>
    answer(() =>
      gateway.unpublish(req.params[0]!.toLowerCase(), req.params[1]!, Number(req.params[2]), req.query.get('hostAddr') ?? undefined),
    ),
  );
}
