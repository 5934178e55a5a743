/**
 * The daemon's local API as the page calls it: same origin, the auth token in `X-ZT1-Auth` on
 * every request, kept in sessionStorage (gone when the tab closes). Errors carry the status and
 * the API's `{error, field}` text, so pages can tell "no such route" (404) from a refusal.
 */

const TOKEN_KEY = 'ztnc.authToken';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage refused (private mode): the token lives only as long as the page
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
let onUnauthorized: Listener = () => undefined;

/** Called when the API refuses the token (401): the page goes back to the log-in form. */
export function setUnauthorizedListener(l: Listener): void {
  onUnauthorized = l;
}

async function request(method: string, path: string, body?: unknown, token = storedToken()): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['X-ZT1-Auth'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (res.ok) return res;
  let message = `${res.status} ${res.statusText}`;
  let field: string | undefined;
  try {
    const j = (await res.json()) as { error?: unknown; field?: unknown };
    if (typeof j.error === 'string') message = j.error;
    if (typeof j.field === 'string') field = j.field;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) onUnauthorized();
  throw new ApiError(res.status, message, field);
}

export async function apiJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  const text = await res.text();
  return (text.length > 0 ? JSON.parse(text) : undefined) as T;
}

export const apiGet = <T>(path: string): Promise<T> => apiJson<T>('GET', path);
export const apiPost = <T>(path: string, body: unknown): Promise<T> => apiJson<T>('POST', path, body);
export const apiDelete = <T>(path: string): Promise<T> => apiJson<T>('DELETE', path);

export async function apiText(path: string): Promise<string> {
  return (await request('GET', path)).text();
}

/** Whether `token` opens the API (it is not stored unless it does). */
export async function checkToken(token: string): Promise<boolean> {
  try {
    await request('GET', '/status', undefined, token);
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A 404 from a route this daemon may not serve (join tokens, metrics on an older build). */
export function isMissingRoute(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404;
}

/** Routes found missing (404) once, not asked for again while the page lives. */
const missingRoutes = new Set<string>();

/**
 * `fast()` (a route a build may lack: stock 1.12+'s `/unstable/…` lists, which answer whole
 * objects in one request) unless it answered 404 before, else `slow()`. `key` names the route.
 */
export async function preferRoute<T>(key: string, fast: () => Promise<T>, slow: () => Promise<T>): Promise<T> {
  if (!missingRoutes.has(key)) {
    try {
      return await fast();
    } catch (e) {
      // the server's own 404 for a path it has no route for, not the controller's "network … not found"
      if (!(isMissingRoute(e) && (e as ApiError).message.startsWith('no such path'))) throw e;
      missingRoutes.add(key);
    }
  }
  return slow();
}
