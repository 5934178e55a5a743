/** A real controller behind a real local API server, over a database file in a temp dir. */
import { join } from 'node:path';
import pino from 'pino';
import { NetworkController } from '../../src/controller/index.js';
import { loadOrCreateAuthToken } from '../../src/service/http/auth-token.js';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';

// The controller suites get the shared temp dirs from here too.
export { removeDir, tempDir } from '../support/temp-dir.js';

export const NODE_ADDRESS = '3ce329f872';

export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

export interface ControllerHarness {
  dir: string;
  base: string;
  token: string;
  controller: NetworkController;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  stop(): Promise<void>;
}

export async function startController(dir: string, opts: { maxBodyBytes?: number; now?: () => number } = {}): Promise<ControllerHarness> {
  const logger = pino({ level: 'silent' });
  const token = loadOrCreateAuthToken(join(dir, 'authtoken.secret'));
  const controller = new NetworkController({
    dbFile: join(dir, 'controller.db'),
    nodeAddress: NODE_ADDRESS,
    logger,
    now: opts.now,
    backupIntervalMs: 0,
  });
  const router = new Router();
  controller.mount(router);
  const server = new ApiServer({ router, authToken: token, logger, maxBodyBytes: opts.maxBodyBytes });
  const addr = await server.listen();
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    dir,
    base,
    token,
    controller,
    async call(method, path, body, headers) {
      const res = await fetch(base + path, {
        method,
        headers: { 'X-ZT1-Auth': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async stop() {
      await server.close();
      await controller.close();
    },
  };
}

export function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}
