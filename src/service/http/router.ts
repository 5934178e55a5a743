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
}

export type ApiHandler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  method: HttpMethod;
  pattern: RegExp;
  handler: ApiHandler;
}

export type RouteMatch =
  { kind: 'found'; handler: ApiHandler; params: string[] } | { kind: 'no-route' } | { kind: 'bad-method'; allowed: HttpMethod[] };

export class Router {
  private readonly routes: Route[] = [];

  /** `pattern` is matched against the whole path (anchors are added). */
  add(method: HttpMethod, pattern: string, handler: ApiHandler): this {
    this.routes.push({ method, pattern: new RegExp(`^${pattern}$`), handler });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const allowed: HttpMethod[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method === method) return { kind: 'found', handler: r.handler, params: m.slice(1) };
      allowed.push(r.method);
    }
    return allowed.length > 0 ? { kind: 'bad-method', allowed } : { kind: 'no-route' };
  }
}
