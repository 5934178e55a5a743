/**
 * `ztnc-service -d`: the parent starts the daemon as a detached child (stdout and stderr appended to
 * the home's log), waits for the child to report that it runs, checks that the local API answers,
 * and only then exits 0. A child that fails to start reports why, and the parent prints it and exits
 * non-zero. The report travels over the child's IPC channel, which the child closes afterwards.
 */
import { fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** Set in the child's environment so it reports to its parent. */
export const DAEMON_CHILD_ENV = 'ZTNC_SERVICE_DAEMON_CHILD';

export type ChildReport = { kind: 'ready'; pid: number; apiPort: number } | { kind: 'failed'; message: string };

export interface DaemonizeOptions {
  /** The service's entry script and its arguments for the child (without -d). */
  script: string;
  args: string[];
  logFile: string;
  authTokenFile: string;
  /** How long to wait for the child (identity generation can take seconds on a loaded machine). */
  timeoutMs?: number;
}

async function apiAnswers(port: number, tokenFile: string): Promise<string | null> {
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (e) {
    return `${tokenFile}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, { headers: { 'X-ZT1-Auth': token }, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status === 200 ? null : `local API on port ${port} answered ${res.status}`;
  } catch (e) {
    return `local API on port ${port} does not answer (${(e as Error).message})`;
  }
}

/** Starts the detached daemon; resolves with its pid once its API answers, or rejects with the reason. */
export async function daemonize(opts: DaemonizeOptions): Promise<{ pid: number; apiPort: number }> {
  const out = openSync(opts.logFile, 'a', 0o600);
  let child;
  try {
    child = fork(opts.script, opts.args, {
      detached: true,
      stdio: ['ignore', out, out, 'ipc'],
      env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
    });
  } finally {
    closeSync(out);
  }
  const report = await new Promise<ChildReport>((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          kind: 'failed',
          message: `the daemon did not start within ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s (see ${opts.logFile})`,
        }),
      opts.timeoutMs ?? 120_000,
    );
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      const r = m as ChildReport;
      resolve(
        r && (r.kind === 'ready' || r.kind === 'failed') ? r : { kind: 'failed', message: 'the daemon sent a report not understood' },
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ kind: 'failed', message: `the daemon exited during start-up (${signal ?? `status ${code}`}; see ${opts.logFile})` });
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ kind: 'failed', message: `cannot start the daemon: ${e.message}` });
    });
  });
  if (report.kind === 'failed') {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    throw new Error(report.message);
  }
  if (child.connected) child.disconnect();
  child.unref();
  const problem = await apiAnswers(report.apiPort, opts.authTokenFile);
  if (problem) {
    child.kill('SIGTERM');
    throw new Error(problem);
  }
  return { pid: report.pid, apiPort: report.apiPort };
}

/** In the child (started with DAEMON_CHILD_ENV): tells the waiting parent how start-up went, then lets go of the channel. */
export function reportToParent(report: ChildReport): Promise<void> {
  if (!process.send || !process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    process.send!(report, undefined, {}, () => {
      if (process.connected) process.disconnect();
      resolve();
    });
  });
}
