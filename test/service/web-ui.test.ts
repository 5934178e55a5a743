// The web UI's file server (src/service/web-ui.ts) behind the real API server: content types,
// caching, 404s, refusal of every way out of the bundle directory, and the token still required
// for the API beside the public /app route.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';
import { mountLocalApi, type LocalService } from '../../src/service/local-api.js';
import { defaultWebUiDir, mountWebUi, webUiFile } from '../../src/service/web-ui.js';
import { ROOT } from '../support/programs.js';
import { rawHttp, type RawHttpAnswer } from '../support/raw-http.js';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';

const TOKEN = 'web-ui-test-token';

const service: LocalService = {
  status: () => ({ address: '0123456789', online: true }),
  networks: () => [],
  network: () => null,
  join: () => ({ error: 'not in this test' }),
  leave: () => false,
  peers: () => [],
  peer: () => null,
  ping: async () => ({ status: 404, error: 'not in this test' }),
};

function header(r: RawHttpAnswer, name: string): string | undefined {
  const m = new RegExp(`\\r\\n${name}: ([^\\r]*)\\r\\n`, 'i').exec(r.text);
  return m?.[1];
}

describe('web UI file server', () => {
  let server: ApiServer;
  let port = 0;
  let uiDir = '';
  let outside = '';

  beforeAll(async () => {
    const base = tempDir('ztnc-webui-');
    uiDir = join(base, 'ui');
    outside = join(base, 'outside');
    mkdirSync(join(uiDir, 'img'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(uiDir, 'index.html'), '<!doctype html><html><body>ui</body></html>');
    writeFileSync(join(uiDir, 'app.js'), 'console.log(1);');
    writeFileSync(join(uiDir, 'app.css'), 'body{}');
    writeFileSync(join(uiDir, 'img', 'logo.svg'), '<svg/>');
    writeFileSync(join(uiDir, '.hidden.js'), 'secret');
    writeFileSync(join(uiDir, 'data.bin'), 'x');
    writeFileSync(join(base, 'secret.js'), 'secret');
    writeFileSync(join(outside, 'escape.js'), 'secret');
    symlinkSync(join(base, 'secret.js'), join(uiDir, 'link.js'));
    symlinkSync(outside, join(uiDir, 'out'));
    const router = new Router();
    mountLocalApi(router, service, uiDir);
    server = new ApiServer({ router, authToken: TOKEN, logger: pino({ level: 'silent' }) });
    port = (await server.listen()).port;
  });
  afterAll(async () => {
    await server.close();
    removeTempDirs();
  });

  const get = (path: string, token?: string) =>
    rawHttp('127.0.0.1', port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${token ? `X-ZT1-Auth: ${token}\r\n` : ''}Connection: close\r\n\r\n`);

  it('serves index.html for /app and /app/ without a token, checked again on every load', async () => {
    for (const path of ['/app', '/app/', '/app/index.html']) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(r.body).toContain('<html');
      expect(header(r, 'Content-Type')).toBe('text/html; charset=utf-8');
      expect(header(r, 'Cache-Control')).toBe('no-cache');
      expect(header(r, 'X-Content-Type-Options')).toBe('nosniff');
      expect(header(r, 'Content-Security-Policy')).toContain("script-src 'self'");
    }
  });

  it('answers each file with its content type; a versioned asset may be cached for good', async () => {
    const js = await get('/app/app.js');
    expect(js.status).toBe(200);
    expect(js.body).toBe('console.log(1);');
    expect(header(js, 'Content-Type')).toBe('text/javascript; charset=utf-8');
    expect(header(js, 'Cache-Control')).toBe('no-cache');
    const css = await get('/app/app.css?v=abc123');
    expect(header(css, 'Content-Type')).toBe('text/css; charset=utf-8');
    expect(header(css, 'Cache-Control')).toBe('public, max-age=31536000, immutable');
    const svg = await get('/app/img/logo.svg');
    expect(svg.status).toBe(200);
    expect(header(svg, 'Content-Type')).toBe('image/svg+xml');
  });

  it('answers 404 for unknown files, directories, hidden files and unknown types', async () => {
    for (const path of ['/app/nothing.js', '/app/img', '/app/img/', '/app/.hidden.js', '/app/data.bin', '/app//app.js']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(header(r, 'Content-Type'), path).toBe('text/plain; charset=utf-8');
    }
    // a path that only begins with the same letters is not the UI's: it needs the token
    expect((await get('/apps')).status).toBe(401);
  });

  it('never serves a file outside its directory', async () => {
    // `..` (plain or escaped) is resolved by URL parsing before routing: the path then leaves
    // /app and needs the token like any API path
    for (const path of ['/app/../secret.js', '/app/%2e%2e/secret.js', '/app/.%2E/secret.js']) {
      const r = await get(path);
      expect(r.status, path).toBe(401);
      expect(r.body).not.toContain('secret');
    }
    // escaped separators and NULs inside one segment, and symlinks pointing out, are refused
    for (const path of [
      '/app/..%2fsecret.js',
      '/app/%2e%2e%2fsecret.js',
      '/app/..%5csecret.js',
      '/app/app.js%00.css',
      '/app/link.js',
      '/app/out/escape.js',
      '/app/%E0%A4%A.js',
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('secret');
    }
  });

  it('keeps requiring the token for the API beside it', async () => {
    expect((await get('/status')).status).toBe(401);
    expect((await get('/status', 'wrong')).status).toBe(401);
    const ok = await get('/status', TOKEN);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ address: '0123456789' });
  });

  it('maps request paths to files inside the directory only', () => {
    expect(webUiFile('/srv/ui', '/app')).toBe('/srv/ui/index.html');
    expect(webUiFile('/srv/ui', '/app/a/b.js')).toBe('/srv/ui/a/b.js');
    expect(webUiFile('/srv/ui', '/app/a%20b.js')).toBe('/srv/ui/a b.js');
    expect(webUiFile('/srv/ui', '/app/../x')).toBeNull();
    expect(webUiFile('/srv/ui', '/app/a/./b.js')).toBeNull();
    expect(webUiFile('/srv/ui', '/application')).toBeNull();
  });

  it('finds the built bundle under the package root', () => {
    expect(defaultWebUiDir()).toBe(join(ROOT, 'dist', 'ui'));
  });
});

describe('web UI not built', () => {
  it('says so instead of failing', async () => {
    const router = new Router();
    mountWebUi(router, join(tempDir('ztnc-webui-empty-'), 'missing'));
    // the daemon's API mounts it with the rest (mountLocalApi), from the package's dist/ui
    const daemonRouter = new Router();
    mountLocalApi(daemonRouter, service);
    expect(daemonRouter.match('GET', '/app').kind).toBe('found');
    const server = new ApiServer({ router, authToken: TOKEN, logger: pino({ level: 'silent' }) });
    const { port } = await server.listen();
    try {
      const r = await rawHttp('127.0.0.1', port, 'GET /app/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(r.status).toBe(404);
      expect(r.body).toContain('npm run build:ui');
    } finally {
      await server.close();
      removeTempDirs();
    }
  });
});
