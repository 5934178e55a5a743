/**
 * Child processes for the scenario runner: run to completion with a deadline, or keep running
 * in a process group of its own so that stopping it also stops what it forked (nginx workers,
 * sshd sessions, a shell's children).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Bytes written to the program's stdin (then closed); stdin is /dev/null otherwise. */
  input?: string | Buffer;
}

/** Runs a program to completion; killed (and reported with its signal) after `timeoutMs`. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) {
      p.stdin!.on('error', () => undefined);
      p.stdin!.end(opts.input);
    }
    const timer = setTimeout(() => killGroup(p, 'SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout: '', stderr: `${cmd}: ${e.message}` });
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Signals a child's whole process group (it was started detached, so it leads one). */
export function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    try {
      p.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

export interface LongRunning {
  proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr interleaved), also kept in `logFile`. */
  output(): string;
  exited(): boolean;
  /** Resolves with the exit code (or null when killed by a signal) once it has ended. */
  wait(): Promise<number | null>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves once it has ended. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A copy of the program's output goes here. */
  logFile?: string;
}

/** Starts a long-running program as the leader of a new process group. */
export function start(cmd: string, args: readonly string[], opts: StartOptions = {}): LongRunning {
  const proc = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  let log: WriteStream | null = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
  log?.on('error', () => (log = null));
  const onData = (d: Buffer): void => {
    // Keep the in-memory copy bounded; the log file has everything.
    text = (text + d.toString()).slice(-256 * 1024);
    log?.write(d);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  let ended = false;
  const done = new Promise<number | null>((resolve) => {
    proc.on('error', (e) => {
      text += `${cmd}: ${e.message}\n`;
      ended = true;
      resolve(127);
    });
    proc.on('close', (code) => {
      ended = true;
      log?.end();
      resolve(code);
    });
  });
  return {
    proc,
    output: () => text,
    exited: () => ended,
    wait: () => done,
    async stop(graceMs = 5000) {
      if (ended) return;
      killGroup(proc, 'SIGTERM');
      const t = setTimeout(() => killGroup(proc, 'SIGKILL'), graceMs);
      await done;
      clearTimeout(t);
      // Stragglers of the group that ignored SIGTERM (the leader may have gone first).
      killGroup(proc, 'SIGKILL');
    },
  };
}

/** Thrown by a waitFor check to stop waiting at once (what it waits for can no longer happen). */
export class GiveUp extends Error {}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`.
 * Errors the check throws count as "not yet" (the last one is reported), except GiveUp.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = null;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      lastError = e;
    }
    if (Date.now() >= end) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Is a process with this pid still alive? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM to a process we did not start as a child (a daemonized one), SIGKILL after `graceMs`. */
export async function terminatePid(pid: number, graceMs = 10_000): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone meanwhile.
  }
}

/**
 * Until the returned function is called, SIGINT/SIGTERM/SIGHUP run `cleanup` and then end this
 * process with the signal's status: the programs and daemons a runner starts sit in process
 * groups of their own, so a Ctrl-C at the terminal would not reach them.
 */
export function cleanupOnSignals(cleanup: () => Promise<void>): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
  const handlers = signals.map((sig) => {
    const h = (): void => {
      process.stderr.write(`${sig}: stopping everything started so far\n`);
      void cleanup().finally(() => process.exit(codes[sig]));
    };
    process.once(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
}
