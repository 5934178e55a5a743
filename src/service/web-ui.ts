/**
 * The web UI's files on the local API at `/app/…` (where stock zerotier-one serves its static
 * files): a public route, so the browser can load the page before it has the auth token; the page
 * then asks for the token and sends it on every API call, which keeps requiring it. Files come from
 * the bundle `npm run build:ui` writes to `<package root>/dist/ui/` (ui/README.md).
 */
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiRequest, ApiResponse, Router } from './http/router.js';

/** The route the UI is served under; the server strips a trailing slash, so `/app/` is `/app`. */
export const WEB_UI_ROUTE = '/app(/.*)?';
export const WEB_UI_INDEX = 'index.html';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Sent with every file: the page runs only its own script and style (no inline code, nothing from
 * elsewhere), talks only to this API, and may not be framed by another site (clickjacking).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/**
 * index.html is checked on every load (it names the current bundle); the bundle's files are asked
 * for as `app.js?v=<content hash>` by it, so a versioned request may be kept for good, and an
 * unversioned one is checked again like the page.
 */
const REVALIDATE = 'no-cache';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** The nearest directory at or above `from` holding a package.json: the package root. */
function packageRoot(from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Where the built UI is: `dist/ui/` under the package root, found from this module's own file,
 * which is `dist/src/service/web-ui.js` when built and a bundle under `.test-build/` in tests.
 */
export function defaultWebUiDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(packageRoot(here) ?? resolve(here, '..', '..', '..'), 'dist', 'ui');
}

/**
 * The file a request path names inside `dir`, or null when the path is not one the UI could have:
 * every segment is percent-decoded and must be a plain name (no `.`/`..`, no hidden files, no
 * separators or NULs hiding inside an escape), and the result must stay inside `dir`.
 */
export function webUiFile(dir: string, path: string): string | null {
  const rest = path.replace(/^\/app(?=\/|$)/, '');
  if (rest === path) return null;
  const parts = rest.split('/').filter((s, i) => i > 0 || s !== '');
  if (parts.length === 0) return join(dir, WEB_UI_INDEX);
  const names: string[] = [];
  for (const raw of parts) {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (name === '' || name.startsWith('.') || /[/\\\0]/.test(name)) return null;
    names.push(name);
  }
  const base = resolve(dir);
  const file = resolve(base, ...names);
  return file.startsWith(base + sep) ? file : null;
}

function notFound(text: string): ApiResponse {
  return { status: 404, raw: { contentType: 'text/plain; charset=utf-8', data: `${text}\n` }, headers: { ...SECURITY_HEADERS } };
}

/** Reads `file` unless it (through a symlink) lies outside `dir` or is not a regular file. */
async function readInside(dir: string, file: string): Promise<Buffer | null> {
  try {
    const [realDir, realFile] = await Promise.all([realpath(dir), realpath(file)]);
    if (!realFile.startsWith(realDir + sep)) return null;
    return await readFile(realFile);
  } catch {
    // missing, a directory (EISDIR), unreadable: not a file the UI has
    return null;
  }
}

/** The handler for GET `/app(/.*)?` serving the files under `dir`. */
export function webUiHandler(dir: string): (req: ApiRequest) => Promise<ApiResponse> {
  return async (req) => {
    const file = webUiFile(dir, req.path);
    if (file === null) return notFound('no such file');
    const type = CONTENT_TYPES[extname(file).toLowerCase()];
    if (type === undefined) return notFound('no such file');
    const data = await readInside(dir, file);
    if (data === null) {
      return notFound(file.endsWith(`${sep}${WEB_UI_INDEX}`) ? 'the web UI is not built (npm run build:ui)' : 'no such file');
    }
    const versioned = req.query.has('v') && !file.endsWith('.html');
    return {
      status: 200,
      raw: { contentType: type, data },
      headers: { 'Cache-Control': versioned ? IMMUTABLE : REVALIDATE, ...SECURITY_HEADERS },
    };
  };
}

/** Mounts the web UI's files as a public route (the API behind them still needs the token). */
export function mountWebUi(router: Router, dir: string = defaultWebUiDir()): void {
  router.add('GET', WEB_UI_ROUTE, webUiHandler(dir), { public: true });
}
