/**
 * The web UI's shell: the log-in form (the daemon's auth token, kept in sessionStorage), the
 * header and navigation, and hash routes (`#/`, `#/network/<id>[/settings|/tokens]`, `#/node`),
 * so the daemon serves one page and the back button works.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { checkToken, errorText, setUnauthorizedListener, storedToken, storeToken } from './api.js';
import { Notice, PageBoundary } from './components.js';
import { NetworkPage, type NetworkTab } from './pages/network.js';
import { NetworksPage } from './pages/networks.js';
import { NodePage } from './pages/node.js';

type Route = { page: 'networks' } | { page: 'network'; id: string; tab: NetworkTab } | { page: 'node' };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'network' && parts[1] && /^[0-9a-f]{16}$/.test(parts[1])) {
    const tab = parts[2] === 'settings' || parts[2] === 'tokens' ? parts[2] : 'members';
    return { page: 'network', id: parts[1], tab };
  }
  if (parts[0] === 'node') return { page: 'node' };
  return { page: 'networks' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Login({ onToken, why }: { onToken: (t: string) => void; why: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(why);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError('Enter the auth token.');
    setBusy(true);
    try {
      if (await checkToken(t)) onToken(t);
      else setError('The daemon refused this token.');
    } catch (err) {
      setError(`Could not reach the daemon: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <h1>ztnc</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="login-help">
        <label for="token">Auth token</label>
        <input
          id="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
          autofocus
        />
        <p id="login-help" class="help">
          The daemon's token is in <code>authtoken.secret</code> in its home (<code>~/.ztnc</code> by default). It stays in this tab only.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
        {error && <Notice ok={false}>{error}</Notice>}
      </form>
    </main>
  );
}

export function App() {
  const [token, setToken] = useState<string | null>(() => storedToken());
  const [why, setWhy] = useState<string | null>(null);
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    setUnauthorizedListener(() => {
      storeToken(null);
      setWhy('The daemon no longer accepts the token: log in again.');
      setToken(null);
    });
  }, []);

  // a new page: move focus to its content, as a page load would, for keyboard and screen readers
  useEffect(() => {
    main.current?.focus();
  }, [route.page, route.page === 'network' ? route.id : '']);

  if (token === null) {
    return (
      <Login
        why={why}
        onToken={(t) => {
          storeToken(t);
          setWhy(null);
          setToken(t);
        }}
      />
    );
  }
  const logout = (): void => {
    storeToken(null);
    setToken(null);
  };
  const current = (page: Route['page']) => (route.page === page || (page === 'networks' && route.page === 'network') ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">ztnc</span>
        <nav aria-label="Main">
          <a href="#/" aria-current={current('networks')}>
            Networks
          </a>
          <a href="#/node" aria-current={current('node')}>
            This node
          </a>
        </nav>
        <button type="button" class="small secondary" onClick={logout}>
          Log out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <PageBoundary key={location.hash}>
          {route.page === 'networks' && <NetworksPage />}
          {route.page === 'network' && <NetworkPage id={route.id} tab={route.tab} />}
          {route.page === 'node' && <NodePage />}
        </PageBoundary>
      </main>
    </>
  );
}
