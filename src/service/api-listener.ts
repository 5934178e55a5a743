/**
 * Puts the local API on its addresses: `apiBind` when set; otherwise loopback (127.0.0.1, and ::1
 * where UIs that say "localhost" often land first), or every address when allowManagementFrom
 * lets other hosts in (stock listens on 0.0.0.0 and :: always). One router serves them all.
 */
import type { Logger } from 'pino';
import { ManagementAccess } from './http/management-access.js';
import type { Router } from './http/router.js';
import { ApiServer } from './http/server.js';
import type { LocalSettings } from './local-conf.js';
import { DaemonStartError } from './start-error.js';

export interface LocalApiListenOptions {
  router: Router;
  authToken: string;
  logger: Logger;
  settings: Pick<LocalSettings, 'apiBind' | 'apiPort' | 'allowManagementFrom'>;
  /** The port may move to a free one when the wanted one is taken (no port was asked for). */
  portFlexible: boolean;
}

function isAddrInUse(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

/** The IPv6 hosts chosen here are skipped with a log line when the host cannot have them. */
function apiHosts(settings: LocalApiListenOptions['settings']): { host: string; optional: boolean }[] {
  if (settings.apiBind.length > 0) return settings.apiBind.map((host) => ({ host, optional: false }));
  const [v4, v6] = settings.allowManagementFrom.length > 0 ? ['0.0.0.0', '::'] : ['127.0.0.1', '::1'];
  return [
    { host: v4, optional: false },
    { host: v6, optional: true },
  ];
}

/** The servers listening and their common port; a DaemonStartError when a required address fails. */
export async function listenLocalApi(opts: LocalApiListenOptions): Promise<{ servers: ApiServer[]; port: number }> {
  const { router, authToken, logger, settings } = opts;
  const access = new ManagementAccess(settings.allowManagementFrom);
  const allowRemote = (a: string | undefined): boolean => access.allows(a);
  const servers: ApiServer[] = [];
  let port = settings.apiPort;
  for (const { host, optional } of apiHosts(settings)) {
    let server = new ApiServer({ router, authToken, logger, host, port, allowRemote });
    try {
      try {
        port = (await server.listen()).port;
      } catch (e) {
        if (!opts.portFlexible || !isAddrInUse(e) || servers.length > 0) throw e;
        server = new ApiServer({ router, authToken, logger, host, port: 0, allowRemote });
        port = (await server.listen()).port;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      if (optional) {
        // no IPv6 on this host (or in this namespace): IPv4 serves alone
        const level = code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' ? 'debug' : 'warn';
        logger[level]({ host, port, code }, 'local API not listening on this address');
        continue;
      }
      await Promise.all(servers.map((s) => s.close()));
      throw new DaemonStartError(
        `local API: cannot listen on ${host}:${port} (${code})${isAddrInUse(e) ? '; choose another with --api-port' : ''}`,
      );
    }
    servers.push(server);
  }
  return { servers, port };
}
