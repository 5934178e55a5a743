/** Small pieces the pages share: notices, a live-update line, badges and a copy button. */
import type { ComponentChildren } from 'preact';
import { useErrorBoundary, useState } from 'preact/hooks';
import { errorText, isMissingRoute } from './api.js';

/** An action's outcome or a load error; announced to screen readers as it appears. */
export function Notice({ ok, children }: { ok: boolean; children: ComponentChildren }) {
  return (
    <p class={ok ? 'notice ok' : 'notice error'} role={ok ? 'status' : 'alert'}>
      {children}
    </p>
  );
}

/** A load error, unless it is a 404 the page explains itself. */
export function LoadError({ error, missing }: { error: unknown; missing?: string }) {
  if (error === undefined) return null;
  if (missing !== undefined && isMissingRoute(error)) return <p class="notice info">{missing}</p>;
  return <Notice ok={false}>Could not load: {errorText(error)}</Notice>;
}

/** "Updated 2 s ago", so a reader knows the data is live (not announced: it changes all the time). */
export function Freshness({ at }: { at: number }) {
  if (!at) return <p class="freshness">Loading…</p>;
  return <p class="freshness">Live; updated {new Date(at).toLocaleTimeString()}</p>;
}

export function Badge({ tone, children }: { tone: 'good' | 'bad' | 'neutral'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = (): void => {
    navigator.clipboard?.writeText(text).then(
      () => {
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      },
      () => setDone(false),
    );
  };
  return (
    <button type="button" class="small" onClick={copy} aria-label={label}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

/** Keeps a page's failure to render (an answer of an unexpected shape) inside that page. */
export function PageBoundary({ children }: { children: ComponentChildren }) {
  const [error, reset] = useErrorBoundary() as [unknown, () => void];
  if (error) {
    return (
      <Notice ok={false}>
        This page failed: {errorText(error)}{' '}
        <button type="button" class="small" onClick={reset}>
          Try again
        </button>
      </Notice>
    );
  }
  return <>{children}</>;
}
