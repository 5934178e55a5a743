/**
 * Live data for the pages: `usePoll` loads at once, then again every few seconds while the tab is
 * visible (and at once when it becomes visible again), so the page follows the daemon without a
 * reload; `reload()` after a change shows its result without waiting for the next round.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api.js';

export const POLL_MS = 3000;

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** When the last successful load finished (ms since the epoch); 0 before. */
  at: number;
  reload: () => void;
}

export function usePoll<T>(load: () => Promise<T>, deps: readonly unknown[], everyMs = POLL_MS): Polled<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; at: number }>({ data: undefined, error: undefined, at: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const busy = useRef(false);
  // a reload asked for during a load (which may have read the data before a change) runs after it
  const again = useRef(false);

  const run = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    again.current = false;
    const mine = generation.current;
    loadRef
      .current()
      .then(
        (data) => {
          if (mine === generation.current) setState({ data, error: undefined, at: Date.now() });
        },
        (error: unknown) => {
          if (mine === generation.current) setState((s) => ({ ...s, error }));
        },
      )
      .finally(() => {
        busy.current = false;
        if (again.current && mine === generation.current) run();
      });
  }, []);

  useEffect(() => {
    // new deps (another network): forget what the old ones showed
    generation.current += 1;
    busy.current = false;
    setState({ data: undefined, error: undefined, at: 0 });
    run();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, everyMs);
    const onVisible = (): void => {
      if (document.visibilityState === 'visible') run();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);

  return { ...state, reload: run };
}

/** Runs an action (a POST, a DELETE), remembering whether it is under way and how it ended. */
export function useAction(): {
  busy: boolean;
  message: { ok: boolean; text: string } | null;
  run: (what: () => Promise<unknown>, done?: string) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const run = useCallback(async (what: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    setMessage(null);
    try {
      await what();
      if (done) setMessage({ ok: true, text: done });
      return true;
    } catch (e) {
      setMessage({ ok: false, text: errorText(e) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, message, run, clear: () => setMessage(null) };
}
