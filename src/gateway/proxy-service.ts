/**
 * The gateway's reverse proxies, per network (`ztnc-cli proxy add|route|unroute|remove|list`):
 * each one is a ReverseProxy (reverse-proxy.ts), kept in `<home>/gateway.d/<nwid>.proxies.json`
 * (proxy-store.ts) so that a restart serves them again. Adding one needs the gateway role, as
 * publishing a port does. A proxy is known by its key: `<host-addr>:<port>` (or just the port),
 * or the path of its upstream file.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NetStack } from '../netstack/index.js';
import type { NetworkConfig } from '../node/index.js';
import { ProxyStore } from './proxy-store.js';
import { describeRoute, keyNames, MAX_ROUTES, proxyKey, type ProxyRoute, type ProxySpec } from './proxy-spec.js';
import { ReverseProxy, type ReverseProxyView } from './reverse-proxy.js';

export interface ProxyHost {
  homeDir: string;
  stackOf(nwid: string): NetStack | null;
  /** The network's config in force (its names, domain), or null. */
  configOf(nwid: string): NetworkConfig | null;
  /** Whether this daemon is the network's gateway. */
  isGateway(nwid: string): boolean;
  logger: Logger;
}

/** An error the API answers with `status`. */
export class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads and checks a certificate and its key, so a bad pair is a clear 400 rather than a server that fails each handshake. */
function checkTls(tls: NonNullable<ProxySpec['tls']>): void {
  try {
    const cert = new X509Certificate(readFileSync(tls.cert));
    const key = createPrivateKey(readFileSync(tls.key));
    if (!cert.checkPrivateKey(key)) throw new Error('the key is not the certificate’s');
  } catch (e) {
    throw new ProxyError(400, `tls: ${(e as Error).message}`);
  }
}

export class ProxyService {
  private readonly store: ProxyStore;
  private readonly nets = new Map<string, ReverseProxy[]>();
  private readonly log: Logger;

  constructor(private readonly host: ProxyHost) {
    this.store = new ProxyStore(host.homeDir);
    this.log = host.logger;
  }

  private proxyFor(nwid: string, spec: ProxySpec): ReverseProxy {
    return new ReverseProxy(spec, { nwid, stack: () => this.host.stackOf(nwid), config: () => this.host.configOf(nwid), log: this.log });
  }

  /** Serves the saved proxies again (one that cannot listen is logged and kept). */
  async start(): Promise<void> {
    const saved = this.store.loadAll((file, message) => this.log.error({ file, err: message }, 'reverse proxy state unreadable; ignored'));
    for (const [nwid, specs] of saved) {
      const list: ReverseProxy[] = [];
      this.nets.set(nwid, list);
      for (const spec of specs) {
        const p = this.proxyFor(nwid, spec);
        list.push(p);
        await p
          .start()
          .catch((e: unknown) => this.log.error({ nwid, proxy: p.key, err: (e as Error).message }, 'reverse proxy cannot start'));
      }
    }
  }

  private save(nwid: string): void {
    this.store.save(
      nwid,
      (this.nets.get(nwid) ?? []).map((p) => p.spec),
    );
  }

  list(nwid?: string): ReverseProxyView[] {
    const out: ReverseProxyView[] = [];
    for (const [id, list] of this.nets) if (nwid === undefined || id === nwid) for (const p of list) out.push(p.view());
    return out;
  }

  private find(nwid: string, key: string): ReverseProxy {
    const p = this.nets.get(nwid)?.find((x) => keyNames(x.spec, key));
    if (!p) throw new ProxyError(404, `no reverse proxy ${key} on ${nwid}`);
    return p;
  }

  async add(nwid: string, spec: ProxySpec): Promise<ReverseProxyView> {
    if (!this.host.isGateway(nwid))
      throw new ProxyError(409, `this daemon is not the gateway of ${nwid} (ztnc-cli gateway enable ${nwid} first)`);
    for (const [id, list] of this.nets)
      for (const p of list) {
        const same = spec.listen
          ? p.spec.listen?.hostPort === spec.listen.hostPort &&
            (p.spec.listen.hostAddr === spec.listen.hostAddr || p.spec.listen.hostAddr === '0.0.0.0' || spec.listen.hostAddr === '0.0.0.0')
          : p.spec.upstreamFile?.path === spec.upstreamFile!.path;
        if (same)
          throw new ProxyError(409, `a reverse proxy ${p.key} of ${id} already ${spec.listen ? 'listens there' : 'writes that file'}`);
      }
    if (spec.tls) checkTls(spec.tls);
    const p = this.proxyFor(nwid, spec);
    try {
      await p.start();
    } catch (e) {
      await p.close();
      throw new ProxyError(409, `cannot start the reverse proxy ${proxyKey(spec)}: ${(e as Error).message}`);
    }
    let list = this.nets.get(nwid);
    if (!list) this.nets.set(nwid, (list = []));
    list.push(p);
    this.save(nwid);
    this.log.info({ nwid, proxy: p.key }, 'reverse proxy added');
    return p.view();
  }

  async remove(nwid: string, key: string): Promise<ReverseProxyView> {
    const p = this.find(nwid, key);
    const list = this.nets.get(nwid)!;
    list.splice(list.indexOf(p), 1);
    await p.close();
    this.save(nwid);
    this.log.info({ nwid, proxy: p.key }, 'reverse proxy removed');
    return p.view();
  }

  /** Adds a route, or replaces the one with the same host and path prefix. */
  route(nwid: string, key: string, route: ProxyRoute): ReverseProxyView {
    const p = this.find(nwid, key);
    const routes = p.spec.routes.filter((r) => r.host !== route.host || r.pathPrefix !== route.pathPrefix);
    if (routes.length >= MAX_ROUTES) throw new ProxyError(409, `a reverse proxy has at most ${MAX_ROUTES} routes`);
    p.setSpec({ ...p.spec, routes: [...routes, route] });
    this.save(nwid);
    this.log.info({ nwid, proxy: p.key, route: describeRoute(route) }, 'reverse proxy route set');
    return p.view();
  }

  unroute(nwid: string, key: string, host: string, pathPrefix: string): ReverseProxyView {
    const p = this.find(nwid, key);
    const routes = p.spec.routes.filter((r) => r.host !== host || r.pathPrefix !== pathPrefix);
    if (routes.length === p.spec.routes.length)
      throw new ProxyError(404, `the reverse proxy ${p.key} has no route for ${host}${pathPrefix === '/' ? '' : pathPrefix}`);
    p.setSpec({ ...p.spec, routes });
    this.save(nwid);
    return p.view();
  }

  async close(): Promise<void> {
    for (const list of this.nets.values()) for (const p of list) await p.close();
  }
}
