/**
 * How ztnc-cli reaches the daemon: the home directory, the local API's port (-p, else
 * `<home>/ztnc.port`, else local.conf, else 9993) and token (-T, else `<home>/authtoken.secret`),
 * and one JSON request over HTTP with every failure turned into a one-line CliError; and
 * `createEndpoint`, which makes a new endpoint's identity here rather than in the daemon.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { defaultHome } from '../service/home.js';
import { DEFAULT_PRIMARY_PORT, loadLocalConf } from '../service/local-conf.js';
import { parseJson, stringifyJson } from '../service/http/json-text.js';

/** A failure reported as one line on stderr; `exitCode` 2 means bad usage, 1 anything else. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const PORT_FILE = 'ztnc.port';
export const AUTH_TOKEN_FILE = 'authtoken.secret';
/** The whole exchange, connection to last byte; a daemon that stalls longer is reported. */
export const REQUEST_TIMEOUT_MS = 60_000;
const MAX_RESPONSE_BYTES = 16 << 20;

export interface ConnectionOptions {
  home?: string;
  port?: number;
  token?: string;
  host?: string;
}

export interface Connection {
  home: string;
  host: string;
  port: number;
  /** Where the port came from, for error messages. */
  portSource: string;
  token: string;
  tokenSource: string;
}

function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

export function parsePort(text: string, what: string, allowZero = false): number {
  const t = text.trim();
  const n = /^\d{1,5}$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n > 65535 || (n === 0 && !allowZero))
    throw new CliError(`${what}: ${JSON.stringify(text)} is not a TCP port (1-65535)`, 2);
  return n;
}

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${file} (${errnoCode(e)})`);
  }
}

function findPort(home: string): { port: number; source: string } {
  const portFile = join(home, PORT_FILE);
  const text = readOptional(portFile);
  if (text !== null) {
    const t = text.trim();
    const n = /^\d{1,5}$/.test(t) ? Number(t) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new CliError(`${portFile} does not hold a TCP port (found ${JSON.stringify(t.slice(0, 40))})`);
    return { port: n, source: portFile };
  }
  const confFile = join(home, 'local.conf');
  let apiPort: number;
  try {
    apiPort = loadLocalConf(confFile).apiPort;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  // 0 asks the daemon for any free port: only ztnc.port can tell which it got.
  if (apiPort > 0) return { port: apiPort, source: apiPort === DEFAULT_PRIMARY_PORT ? 'the default' : confFile };
  return { port: DEFAULT_PRIMARY_PORT, source: 'the default' };
}

/** Works out where the daemon listens and the token it wants; a missing token is an error. */
export function resolveConnection(opts: ConnectionOptions): Connection {
  const home = opts.home ?? process.env.ZTNC_HOME ?? defaultHome();
  const found = opts.port !== undefined ? { port: opts.port, source: '-p' } : findPort(home);
  let token = opts.token;
  let tokenSource = '-T';
  if (token === undefined) {
    const file = join(home, AUTH_TOKEN_FILE);
    const text = readOptional(file);
    if (text === null) {
      throw new CliError(`${file} not found: is ztnc-service running with home ${home}? (use -D <home>, or -T <token>)`);
    }
    token = text.trim();
    if (token.length === 0) throw new CliError(`${file} is empty`);
    tokenSource = file;
  }
  if (token.length === 0) throw new CliError('-T: the token is empty', 2);
  return { home, host: opts.host ?? '127.0.0.1', port: found.port, portSource: found.source, token, tokenSource };
}

export interface ApiAnswer {
  status: number;
  /** Parsed JSON; undefined for an empty body. */
  body: unknown;
  text: string;
}

/** The error text of an API answer: its `error` field, else the body itself. */
export function answerError(a: ApiAnswer): string {
  const b = a.body;
  if (typeof b === 'object' && b !== null && typeof (b as { error?: unknown }).error === 'string') return (b as { error: string }).error;
  const t = a.text.trim();
  return t.length > 0 ? t.slice(0, 200) : 'empty answer';
}

/**
 * A 200 answer to one request, else a CliError `<what>: <error> (HTTP <status>)`; `missing` is said
 * instead when the daemon has no such route at all (one older than the command).
 */
export async function okAnswer(
  c: ConnectionSource,
  what: string,
  method: string,
  path: string,
  body?: unknown,
  missing?: string,
): Promise<ApiAnswer> {
  return requireOk(await apiRequest(c, method, path, body), what, missing);
}

/** The answer when it is a 200, else the CliError okAnswer throws. */
export function requireOk(a: ApiAnswer, what: string, missing?: string): ApiAnswer {
  if (missing !== undefined && a.status === 404 && answerError(a).startsWith('no such path')) throw new CliError(`${what}: ${missing}`);
  if (a.status !== 200) throw new CliError(`${what}: ${answerError(a)} (HTTP ${a.status})`);
  return a;
}

/** A network id: 16 hex digits. */
export const NWID_PATTERN = /^[0-9a-f]{16}$/i;

/** A network id argument (16 hex digits), lower-cased; a usage error when missing or malformed. */
export function checkNwid(text: string | undefined, what = 'network id'): string {
  if (text === undefined) throw new CliError(`missing ${what} (16 hex digits)`, 2);
  if (!NWID_PATTERN.test(text)) throw new CliError(`invalid ${what} ${JSON.stringify(text)}: must be 16 hex digits`, 2);
  return text.toLowerCase();
}

/** A 200 answer from the controller's API, or the command's error line (saying so when the daemon has no controller). */
export async function controllerCall(c: ConnectionSource, what: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const missing =
    'this daemon has no network controller (start ztnc-service with --private-planet, or set controllerEnabled in local.conf)';
  return okAnswer(c, what, method, path, body, missing);
}

/** A connection, or how to work it out on first use (so usage errors come before daemon lookup). */
export type ConnectionSource = Connection | (() => Connection);

/** One request to the local API. Connection problems and non-JSON answers throw CliError. */
export function apiRequest(source: ConnectionSource, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const c = typeof source === 'function' ? source() : source;
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : stringifyJson(body));
  const where = `${c.host}:${c.port}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: c.host,
        port: c.port,
        method,
        path,
        agent: false,
        headers: {
          'X-ZT1-Auth': c.token,
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new CliError(`the answer from ${where} is larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(d);
        });
        res.on('error', (e) => reject(e instanceof CliError ? e : new CliError(`reading the answer from ${where}: ${e.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status === 401) {
            reject(new CliError(`the daemon at ${where} refused the auth token from ${c.tokenSource} (HTTP 401)`));
            return;
          }
          let parsed: unknown;
          if (text.trim().length > 0) {
            try {
              // 64-bit integers (planetWorldId) stay exact
              parsed = parseJson(text);
            } catch {
              reject(new CliError(`${method} ${path}: the daemon at ${where} answered HTTP ${status} with a body that is not JSON`));
              return;
            }
          }
          resolve({ status, body: parsed, text });
        });
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new CliError(`no answer from ${where} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (e) => {
      if (e instanceof CliError) return reject(e);
      const code = errnoCode(e);
      if (code === 'ECONNREFUSED') {
        reject(
          new CliError(
            `cannot connect to ztnc-service at ${where} (port from ${c.portSource}): connection refused; is the daemon running?`,
          ),
        );
      } else {
        reject(new CliError(`cannot talk to ztnc-service at ${where}: ${code}`));
      }
    });
    req.end(payload);
  });
}

/** makeEndpointIdentity calls under way: the hash worker is stopped when the last ends. */
let identitiesInProgress = 0;

/**
 * A new identity's identity.secret text, made in this process: the memory-hard search (some
 * fifteen hashes) runs in a worker thread here, not in the daemon.
 */
export async function makeEndpointIdentity(): Promise<string> {
  // loaded here: the node's modules cost the other commands' start-up nothing
  const { Identity, closeMemoryHardHashWorker } = await import('../node/index.js');
  identitiesInProgress++;
  try {
    return (await Identity.generate()).toString(true);
  } finally {
    // a long-lived caller (ztnc-run) keeps no idle hash thread and its 2 MiB
    if (--identitiesInProgress === 0) await closeMemoryHardHashWorker();
  }
}

/**
 * Creates the daemon's endpoint `name` with an identity made by the caller (`identity`, else
 * makeEndpointIdentity's), so the daemon spends one hash checking it instead of the search
 * (SPEC §1: `POST /endpoint/<name>` with `{"identity": "<identity.secret text>"}`). Answers as
 * apiRequest does: 200 with the endpoint's JSON, 409 when the name (or the address) is taken,
 * 400 with the reason when the identity is refused.
 */
export async function createEndpoint(source: ConnectionSource, name: string, identity?: string): Promise<ApiAnswer> {
  return apiRequest(source, 'POST', `/endpoint/${name}`, { identity: identity ?? (await makeEndpointIdentity()) });
}
