/**
 * Runs a program to completion with its stdout and stderr collected, SIGKILLed when it outlives
 * its bound (the bound turns a hang into a failure; it says nothing of speed). The netcon and
 * service harnesses build their runners on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CollectedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when the bound ran out and the program was killed. */
  timedOut: boolean;
}

export interface RunCollectingOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  cwd?: string;
  /** Told of the child once it is spawned and again once it has closed (for a harness's kill-all list). */
  onSpawn?: (child: ChildProcess) => void;
  onClose?: (child: ChildProcess) => void;
}

export function runCollecting(cmd: string, args: string[], opts: RunCollectingOptions): Promise<CollectedRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    opts.onSpawn?.(p);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, opts.timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      opts.onClose?.(p);
      reject(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.onClose?.(p);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}
