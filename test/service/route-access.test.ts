// The local API's per-route access (public routes, a route's second secret) and raw bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';
import { rawHttp } from '../support/raw-http.js';

describe('local API route access', () => {
  let server: ApiServer;
  let port = 0;
  let secondSecret: string | undefined = 'metrics-secret';
  beforeAll(async () => {
    const router = new Router();
    router.add('GET', '/private', () => ({ status: 200, body: { ok: true } }));
    router.add('GET', '/app(/.*)?', () => ({ status: 200, raw: { contentType: 'text/html; charset=utf-8', data: '<html></html>' } }), {
      public: true,
    });
    router.add(
      'GET',
      '/metrics',
      () => ({ status: 200, raw: { contentType: 'text/plain; version=0.0.4', data: 'm 1\n' }, headers: { 'Cache-Control': 'no-store' } }),
      { alsoAccepts: () => secondSecret },
    );
    server = new ApiServer({ router, authToken: 'main-token', logger: pino({ level: 'silent' }) });
    port = (await server.listen()).port;
  });
  afterAll(() => server.close());

  const get = (path: string, token?: string) =>
    rawHttp('127.0.0.1', port, `GET ${path} HTTP/1.1\r\n${token ? `X-ZT1-Auth: ${token}\r\n` : ''}Connection: close\r\n\r\n`);

  it('serves a public route without a token, with its raw body and type', async () => {
    const r = await get('/app/');
    expect(r.status).toBe(200);
    expect(r.body).toBe('<html></html>');
    expect(r.text).toMatch(/\r\nContent-Type: text\/html; charset=utf-8\r\n/);
    expect((await get('/app/index.js')).status).toBe(200);
  });

  it('answers HEAD as GET without the body', async () => {
    const r = await rawHttp('127.0.0.1', port, 'HEAD /app/ HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/\r\nContent-Length: 13\r\n/);
    expect(r.body).toBe('');
    expect((await rawHttp('127.0.0.1', port, 'HEAD /private HTTP/1.1\r\nConnection: close\r\n\r\n')).status).toBe(401);
  });

  it('admits a route with its second secret, and only that route', async () => {
    const m = await get('/metrics', 'metrics-secret');
    expect(m.status).toBe(200);
    expect(m.body).toBe('m 1\n');
    expect(m.text).toMatch(/\r\nCache-Control: no-store\r\n/);
    expect((await get('/private', 'metrics-secret')).status).toBe(401);
    expect((await get('/metrics', 'wrong')).status).toBe(401);
    expect((await get('/metrics', 'main-token')).status).toBe(200);
  });

  it('refuses an empty or absent second secret, and hides unknown paths behind the token', async () => {
    secondSecret = undefined;
    expect((await get('/metrics', '')).status).toBe(401);
    expect((await get('/metrics')).status).toBe(401);
    secondSecret = 'metrics-secret';
    expect((await get('/nothing-here')).status).toBe(401);
    expect((await get('/nothing-here', 'main-token')).status).toBe(404);
    expect((await get('/private')).status).toBe(401);
  });
});
