/**
 * One reverse proxy of the gateway (issue 19) at work. A listening proxy is a Node HTTP (or HTTPS)
 * server on the host; each request is routed by its Host header and path (proxy-members.ts) to a
 * member's address, looked up in the network's names as the last config push carried them, and
 * forwarded with Node's HTTP client over a TCP connection from the gateway's stack
 * (proxy-stream.ts), kept alive and reused per member address and port. The request gets
 * X-Forwarded-For, -Proto and -Host; answers the proxy makes itself:
 *   400  malformed request or no usable Host header (Node's parser; the connection then closes)
 *   421  no route takes the Host (RFC 9110 §15.5.20: this server does not answer for it)
 *   404  a route takes it but no member has the name (never joined, left or de-authorized)
 *   502  the member cannot be reached, or health checks mark all its upstreams down
 * An upstream-file proxy serves nothing itself: it keeps the file of proxy-upstream-file.ts.
 *
 * Following the network: a config push replaces the network's config object. Requests read the
 * names of the config in force, so a push applies to the next request; a watcher compares the
 * config object every CONFIG_WATCH_MS to re-aim health checks and rewrite the upstream file.
 */
import { readFileSync } from 'node:fs';
import {
  Agent,
  createServer as createHttpServer,
  request,
  type ClientRequestArgs,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { formatIpv4, parseIpv4, type NetStack } from '../netstack/index.js';
import type { NetworkConfig } from '../node/index.js';
import { HealthChecks, type UpstreamHealth } from './proxy-health.js';
import {
  allUpstreams,
  directoryOf,
  hostOfHeader,
  selectUpstreams,
  upstreamGroups,
  type MemberDirectory,
  type Upstream,
} from './proxy-members.js';
import { proxyKey, type ProxySpec } from './proxy-spec.js';
import { StackStream } from './proxy-stream.js';
import { renderUpstreamFile, UpstreamFileWriter, type UpstreamFileStats } from './proxy-upstream-file.js';

/** How long a connection to a member may take to open before the request is a 502. */
export const CONNECT_TIMEOUT_MS = 5000;
/** How often the watcher looks for a new config (health checks, upstream file). */
export const CONFIG_WATCH_MS = 250;
/** Largest request head the proxy reads (Node's default is 16 KiB). */
export const MAX_HEADER_BYTES = 32 * 1024;

/** What a proxy needs of the daemon. */
export interface ProxyContext {
  nwid: string;
  /** The network's stack, or null while the network is not up. */
  stack(): NetStack | null;
  /** The network's config in force, or null. */
  config(): NetworkConfig | null;
  log: Logger;
}

export interface ReverseProxyStats {
  requests: number;
  forwarded: number;
  /** 421: no route for the Host. */
  noRoute: number;
  /** 404: no member with the name. */
  noMember: number;
  /** 502: the member could not be reached or is marked down. */
  badGateway: number;
  /** 400: malformed requests. */
  badRequests: number;
  active: number;
}

export interface ReverseProxyView extends ProxySpec {
  nwid: string;
  key: string;
  stats: ReverseProxyStats;
  health: ProxySpec['health'];
  upstreams: UpstreamHealth[];
  upstreamFileStats: UpstreamFileStats | null;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

function forwardedHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

/** Node's HTTP Agent whose connections come from the network's stack (keep-alive pool per member address and port). */
class StackAgent extends Agent {
  constructor(private readonly stack: () => NetStack | null) {
    super({ keepAlive: true, maxFreeSockets: 16 });
  }

  override createConnection(options: ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const stack = this.stack();
    const addr = parseIpv4(String(options.host));
    if (!stack || addr === null) {
      cb?.(new Error('the network is not up'), null as unknown as Duplex);
      return null;
    }
    return StackStream.connect(stack, addr, Number(options.port), CONNECT_TIMEOUT_MS);
  }
}

export class ReverseProxy {
  readonly stats: ReverseProxyStats = { requests: 0, forwarded: 0, noRoute: 0, noMember: 0, badGateway: 0, badRequests: 0, active: 0 };
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly agent: StackAgent;
  private health: HealthChecks | null = null;
  private file: UpstreamFileWriter | null = null;
  private watcher: NodeJS.Timeout | null = null;
  private seenConfig: NetworkConfig | null | undefined = undefined;
  private readonly turn = new Map<string, number>();
  private closed = false;

  constructor(
    public spec: ProxySpec,
    private readonly ctx: ProxyContext,
  ) {
    this.agent = new StackAgent(() => ctx.stack());
  }

  get key(): string {
    return proxyKey(this.spec);
  }

  /** Listens (rejecting with the host's error, or a bad certificate's), or writes the upstream file. */
  async start(): Promise<void> {
    if (this.spec.health)
      this.health = new HealthChecks(
        this.spec.health,
        () => this.ctx.stack(),
        () => this.refresh(true),
      );
    if (this.spec.upstreamFile)
      this.file = new UpstreamFileWriter(this.spec.upstreamFile, (message) =>
        this.ctx.log.warn({ nwid: this.ctx.nwid, proxy: this.key, err: message }, 'upstream file'),
      );
    if (this.spec.listen) await this.listen(this.spec.listen);
    this.refresh(true);
    this.watcher = setInterval(() => this.refresh(false), CONFIG_WATCH_MS);
    this.watcher.unref();
  }

  private async listen(at: NonNullable<ProxySpec['listen']>): Promise<void> {
    const opts = { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5000 };
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    let server: Server;
    if (this.spec.tls) {
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(this.spec.tls.cert);
        key = readFileSync(this.spec.tls.key);
      } catch (e) {
        throw new Error(`cannot read the TLS certificate or key: ${(e as Error).message}`, { cause: e });
      }
      server = createHttpsServer({ ...opts, cert, key }, handler) as unknown as Server;
    } else server = createHttpServer(opts, handler);
    server.on('connection', (s: Socket) => {
      this.clients.add(s);
      s.on('close', () => this.clients.delete(s));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET') return void socket.destroy(); // the client went away: nothing to answer
      this.stats.badRequests++;
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage)
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    server.on('tlsClientError', () => {
      this.stats.badRequests++;
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.hostAddr, port: at.hostPort, backlog: 511 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.ctx.log.warn({ nwid: this.ctx.nwid, proxy: this.key, err: e.message }, 'reverse proxy server error'));
    this.server = server;
  }

  /** Re-aims health checks and rewrites the upstream file when the config (or, `force`, a health state) changed. */
  private refresh(force: boolean): void {
    if (this.closed) return;
    const cfg = this.ctx.config();
    if (!force && cfg === this.seenConfig) return;
    this.seenConfig = cfg;
    const dir = directoryOf(cfg);
    this.health?.watch(allUpstreams(this.spec, dir));
    if (this.file) {
      const groups = upstreamGroups(this.spec, dir);
      if (this.health)
        for (const [name, ups] of groups)
          groups.set(
            name,
            ups.filter((u) => this.health!.isUp(u)),
          );
      if (this.file.update(renderUpstreamFile(this.spec.upstreamFile!.format, this.ctx.nwid, groups)))
        this.ctx.log.info({ nwid: this.ctx.nwid, file: this.spec.upstreamFile!.path }, 'upstream file rewritten');
    }
  }

  /** New routes (or a default rule) in force from the next request on. */
  setSpec(spec: ProxySpec): void {
    this.spec = spec;
    this.refresh(true);
  }

  private reply(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(message) + 1 });
    res.end(`${message}\n`);
  }

  private pick(route: string, ups: Upstream[]): Upstream | null {
    const live = this.health ? ups.filter((u) => this.health!.isUp(u)) : ups;
    if (live.length === 0) return null;
    const n = this.turn.get(route) ?? 0;
    this.turn.set(route, (n + 1) % 1_000_000);
    return live[n % live.length]!;
  }

  /** The upstream a request goes to, or the answer the proxy gives itself. */
  private target(req: IncomingMessage): Upstream | { status: number; message: string } {
    this.stats.requests++;
    const host = hostOfHeader(req.headers.host);
    if (host === null) {
      this.stats.badRequests++;
      return { status: 400, message: 'the request has no usable Host header' };
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const dir: MemberDirectory = directoryOf(this.ctx.config());
    const m = selectUpstreams(this.spec, dir, host, path);
    if (m.kind === 'no-route') {
      this.stats.noRoute++;
      return { status: 421, message: `no route for host ${host}` };
    }
    if (m.kind === 'no-member') {
      this.stats.noMember++;
      return { status: 404, message: `no member named ${m.member} on network ${this.ctx.nwid}` };
    }
    const up = this.pick(m.route, m.upstreams);
    if (!up) {
      this.stats.badGateway++;
      return { status: 502, message: `every member for ${m.route} is down (health checks)` };
    }
    return up;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const t = this.target(req);
    if ('status' in t) this.reply(res, t.status, t.message);
    else this.forward(req, res, t, true);
  }

  /** The request's headers for the member: hop-by-hop ones out, X-Forwarded-* in. */
  private upstreamHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    const headers = forwardedHeaders(req.headers);
    const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client}` : client;
    headers['x-forwarded-proto'] = this.spec.tls ? 'https' : 'http';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    return headers;
  }

  /**
   * Forwards one request over a pooled connection. A request without a body that fails on a
   * reused connection before any answer (the member closed it while idle) is tried once more on a
   * new one, as browsers and Node's own clients do (RFC 9112 §9.3.1).
   */
  private forward(req: IncomingMessage, res: ServerResponse, up: Upstream, mayRetry: boolean): void {
    this.stats.active++;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.stats.active--;
    };
    const out = request(
      {
        host: formatIpv4(up.addr),
        port: up.port,
        method: req.method,
        path: req.url,
        headers: this.upstreamHeaders(req),
        agent: this.agent,
        setHost: false,
      },
      (answer) => {
        this.stats.forwarded++;
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedHeaders(answer.headers));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('end', end);
      },
    );
    const bodiless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
    out.on('error', (e) => {
      end();
      if (mayRetry && out.reusedSocket && bodiless && !res.headersSent && !res.destroyed) return this.forward(req, res, up, false);
      this.stats.badGateway++;
      this.reply(res, 502, `member ${up.member} (${formatIpv4(up.addr)}:${up.port}) cannot be reached: ${e.message}`);
    });
    res.on('close', () => {
      end();
      if (!res.writableFinished) out.destroy();
    });
    if (bodiless) out.end();
    else req.pipe(out);
  }

  /**
   * An Upgrade request (WebSocket): routed as any request, then the request head is written to a
   * new connection to the member and the two connections are joined byte for byte.
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const t = this.target(req);
    const stack = this.ctx.stack();
    if ('status' in t || !stack) {
      const [status, message] = 'status' in t ? [t.status, t.message] : [502, 'the network is not up'];
      if (status === 502) this.stats.badGateway++;
      socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const headers = this.upstreamHeaders(req);
    headers.connection = 'Upgrade';
    headers.upgrade = req.headers.upgrade ?? '';
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${String(one)}`);
    const member = StackStream.connect(stack, t.addr, t.port, CONNECT_TIMEOUT_MS);
    this.stats.active++;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.stats.active--;
      socket.destroy();
      member.destroy();
    };
    let connected = false;
    member.once('connect', () => {
      connected = true;
      this.stats.forwarded++;
    });
    member.on('error', (e: Error) => {
      if (connected) return finish();
      this.stats.badGateway++;
      done = true;
      this.stats.active--;
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\nX-Ztnc-Error: ${e.message.replace(/[^\x20-\x7e]/g, '')}\r\n\r\n`,
      );
    });
    member.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) member.write(head);
    socket.pipe(member);
    member.pipe(socket);
    socket.on('close', finish);
    member.on('close', finish);
  }

  view(): ReverseProxyView {
    return {
      nwid: this.ctx.nwid,
      key: this.key,
      ...this.spec,
      stats: { ...this.stats },
      upstreams: this.health?.snapshot() ?? [],
      upstreamFileStats: this.file ? { ...this.file.stats } : null,
    };
  }

  /** Stops listening, ends every connection and stops the checks (the upstream file stays). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.watcher) clearInterval(this.watcher);
    this.health?.close();
    for (const s of this.clients) s.destroy();
    this.agent.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
