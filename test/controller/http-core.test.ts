import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthTokenError, loadOrCreateAuthToken } from '../../src/service/http/auth-token.js';
import { type ControllerHarness, removeDir, startController, tempDir } from './harness.js';

describe('local API server core', () => {
  let h: ControllerHarness;
  beforeAll(async () => {
    h = await startController(tempDir(), { maxBodyBytes: 4096 });
  });
  afterAll(async () => {
    await h.stop();
    removeDir(h.dir);
  });

  it('creates authtoken.secret with mode 0600 and reuses it', () => {
    const file = join(h.dir, 'authtoken.secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(h.token);
    expect(h.token).toMatch(/^[a-z0-9]{24}$/);
    expect(loadOrCreateAuthToken(file)).toBe(h.token);
  });

  it('refuses an empty token file clearly', () => {
    const file = join(h.dir, 'empty.secret');
    writeFileSync(file, '');
    expect(() => loadOrCreateAuthToken(file)).toThrow(AuthTokenError);
    expect(() => loadOrCreateAuthToken(file)).toThrow(/empty\.secret: is empty/);
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const variants: Record<string, string>[] = [
      { 'X-ZT1-Auth': '' },
      { 'X-ZT1-Auth': 'wrong' },
      { 'X-ZT1-Auth': '', Authorization: 'Bearer nope' },
    ];
    for (const headers of variants) {
      const r = await h.call('GET', '/controller', undefined, headers);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: 'missing or wrong auth token' });
    }
    const noHeader = await fetch(`${h.base}/controller/network`, { method: 'POST', body: '{}' });
    expect(noHeader.status).toBe(401);
    expect(await h.call('GET', '/controller?auth=bad', undefined, { 'X-ZT1-Auth': '' })).toMatchObject({ status: 401 });
  });

  it('accepts the token by header, ?auth= and bearer', async () => {
    expect((await h.call('GET', '/controller')).status).toBe(200);
    expect((await h.call('GET', `/controller?auth=${h.token}`, undefined, { 'X-ZT1-Auth': '' })).status).toBe(200);
    expect((await h.call('GET', '/controller', undefined, { 'X-ZT1-Auth': '', Authorization: `Bearer ${h.token}` })).status).toBe(200);
  });

  it('answers malformed JSON with 400 and oversized bodies with 413', async () => {
    const bad = await h.call('POST', '/controller/network', '{"name": ');
    expect(bad.status).toBe(400);
    expect(obj(bad.body).error).toMatch(/malformed JSON/);
    const big = await h.call('POST', '/controller/network', JSON.stringify({ name: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    // The server still serves afterwards.
    expect((await h.call('GET', '/controller')).status).toBe(200);
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.base}/controller/network`);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'X-ZT1-Auth': h.token } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"name":"');
      req.write('y'.repeat(8000));
      req.end('"}');
    });
    expect(status).toBe(413);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expect((await h.call('GET', '/nothing/here')).status).toBe(404);
    const r = await h.call('DELETE', '/controller');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect((await h.call('PATCH', '/controller')).status).toBe(405);
  });

  it('treats a JSON body that is not an object as a 400 naming the body', async () => {
    const r = await h.call('POST', '/controller/network', '[1,2]');
    expect(r.status).toBe(400);
    expect(obj(r.body).field).toBe('body');
  });
});

function obj(v: unknown): Record<string, unknown> {
  return v as Record<string, unknown>;
}
