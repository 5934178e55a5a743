/**
 * Method + path routing for the local JSON API. Routes are regular expressions over the path
 * (anchored), so their captures become the handler's parameters, as in stock zerotier-one.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  path: string;
  /** Captures of the route's pattern, in order. */
  params: string[];
  query: URLSearchParams;
  /** Parsed JSON body; undefined when the request had none. */
  body: unknown;
}

export interface ApiResponse {
  status: number;
  /** Serialised as JSON; omitted for an empty body. */
  body?: unknown;
  /** A body sent as it is (metrics text, the web UI's files) instead of `body`'s JSON. */
  raw?: { contentType: string; data: string | Buffer };
  /** Extra response headers (Cache-Control, …). */
  headers?: Record<string, string>;
}

export type ApiHandler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** Who may call a route. The default is whoever presents the daemon's auth token. */
export interface RouteAccess {
  /** Anyone the server lets in at all (allowManagementFrom still applies): the web UI's files. */
  public?: boolean;
  /** A second secret that also admits to this route (metricstoken.secret for /metrics). */
  alsoAccepts?: () => string | undefined;
}

interface Route {
  method: HttpMethod;
  pattern: RegExp;
  handler: ApiHandler;
  access: RouteAccess;
}

export type RouteMatch =
  | { kind: 'found'; handler: ApiHandler; params: string[]; access: RouteAccess }
  | { kind: 'no-route' }
  | { kind: 'bad-method'; allowed: HttpMethod[] };

export class Router {
  private readonly routes: Route[] = [];

  /** `pattern` is matched against the whole path (anchors are added). */
  add(method: HttpMethod, pattern: string, handler: ApiHandler, access: RouteAccess = {}): this {
    this.routes.push({ method, pattern: new RegExp(`^${pattern}$`), handler, access });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const allowed: HttpMethod[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method === method) return { kind: 'found', handler: r.handler, params: m.slice(1), access: r.access };
      allowed.push(r.method);
    }
    return allowed.length > 0 ? { kind: 'bad-method', allowed } : { kind: 'no-route' };
  }
}
