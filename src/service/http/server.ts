/**
 * The daemon's local HTTP API server core: token auth, JSON bodies with a size limit, routing,
 * and errors answered as JSON. A handler that throws gets a 500 and is logged; the server keeps
 * serving. Other modules mount their routes on the Router.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { presentedToken, tokenMatches } from './auth-token.js';
import { parseJson, stringifyJson } from './json-text.js';
import type { ApiRequest, HttpMethod, Router, RouteMatch } from './router.js';

export interface ApiServerOptions {
  router: Router;
  /** The secret every request must present. */
  authToken: string;
  logger: Logger;
  /** Largest accepted request body; larger is 413. */
  maxBodyBytes?: number;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * Whether a client at this address may use the API at all (stock's loopback +
   * allowManagementFrom check); others get 401 before their token is looked at. Default: anyone.
   */
  allowRemote?: (remoteAddress: string | undefined) => boolean;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;
const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** How much of a refused (413) body is read and thrown away, at most, before the answer goes out. */
const DISCARD_MAX_BYTES = 64 << 20;
const DISCARD_MAX_MS = 5_000;

/**
 * Reads and throws away what is left of a refused body, within bounds, so that a client still
 * uploading reads our 413 instead of a reset: closing with its bytes unread resets the connection.
 */
function discardBody(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) {
      resolve();
      return;
    }
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      resolve();
    };
    const onData = (c: Buffer): void => {
      seen += c.length;
      if (seen > DISCARD_MAX_BYTES) done();
    };
    const timer = setTimeout(done, DISCARD_MAX_MS);
    req.on('data', onData);
    req.on('end', done);
    req.on('error', done);
    req.resume();
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `body larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(new HttpError(400, `request body: ${e.message}`));
    });
  });
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (text.trim().length === 0) return undefined;
  try {
    // 64-bit integers stay exact (bigint) past Number.MAX_SAFE_INTEGER
    return parseJson(text);
  } catch (e) {
    throw new HttpError(400, `malformed JSON body: ${(e as Error).message}`);
  }
}

export class ApiServer {
  private readonly server: Server;
  private readonly maxBody: number;

  constructor(private readonly opts: ApiServerOptions) {
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    // Stock zerotier-cli speaks HTTP/1.1 without a Host header (stock's server does not require
    // one); Node answers such requests 400 unless told not to (option since Node 20.0).
    this.server = createServer({ requireHostHeader: false }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        opts.logger.error({ err: e }, 'local API request failed');
        if (!res.headersSent) this.send(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(): Promise<AddressInfo> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      // an IPv6 address serves IPv6 only, so "::" sits beside "0.0.0.0" on the same port
      this.server.listen({ port: this.opts.port ?? 0, host, ipv6Only: host.includes(':') }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, status: number, body?: unknown, extraHeaders: Record<string, string> = {}): void {
    // bigints (64-bit ids and counters) are written as bare digits, exactly, as stock writes them
    const text = body === undefined ? '' : stringifyJson(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...extraHeaders,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.opts.allowRemote && !this.opts.allowRemote(req.socket.remoteAddress)) {
      req.resume();
      this.send(res, 401, {
        error: `management from ${req.socket.remoteAddress ?? 'an unknown address'} is not allowed (local.conf allowManagementFrom)`,
      });
      return;
    }
    // HEAD is answered as GET; Node's response leaves the body out by itself
    const asked = (req.method ?? 'GET').toUpperCase();
    const method = asked === 'HEAD' ? 'GET' : asked;
    let path = url.pathname;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const route = METHODS.has(method) ? this.opts.router.match(method, path) : undefined;
    if (!this.admits(route, presentedToken(req, url.searchParams))) {
      req.resume();
      this.send(res, 401, { error: 'missing or wrong auth token' });
      return;
    }
    if (route === undefined) {
      req.resume();
      this.send(res, 405, { error: `method ${asked} not supported` });
      return;
    }
    if (route.kind !== 'found') {
      req.resume();
      if (route.kind === 'bad-method')
        this.send(res, 405, { error: `method ${method} not allowed here` }, { Allow: route.allowed.join(', ') });
      else this.send(res, 404, { error: `no such path ${path}` });
      return;
    }
    let body: unknown;
    try {
      body = parseJsonBody(await readBody(req, this.maxBody));
    } catch (e) {
      if (e instanceof HttpError) {
        if (e.status === 413) await discardBody(req);
        this.send(res, e.status, { error: e.message }, e.status === 413 ? { Connection: 'close' } : {});
        return;
      }
      throw e;
    }
    const apiReq: ApiRequest = { method: method as HttpMethod, path, params: route.params, query: url.searchParams, body };
    const answer = await route.handler(apiReq);
    if (answer.raw) {
      const data = answer.raw.data;
      res.writeHead(answer.status, {
        'Content-Type': answer.raw.contentType,
        'Content-Length': Buffer.byteLength(data),
        ...answer.headers,
      });
      res.end(data);
    } else this.send(res, answer.status, answer.body, answer.headers);
  }

  /**
   * Whether the request may go on: the auth token admits to every route; a public route admits
   * anyone; a route's second secret admits to that route only. Unknown paths need the token, so
   * that which paths exist is not told to strangers.
   */
  private admits(route: RouteMatch | undefined, presented: string | undefined): boolean {
    if (tokenMatches(presented, this.opts.authToken)) return true;
    if (route?.kind !== 'found') return false;
    if (route.access.public) return true;
    const second = route.access.alsoAccepts?.();
    return second !== undefined && second.length > 0 && tokenMatches(presented, second);
  }
}
