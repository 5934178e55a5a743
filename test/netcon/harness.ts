/**
 * Shared pieces of the netcon suites: a daemon process (daemon-fixture.ts bundled with esbuild so
 * it runs under plain node), the intercept library built with make, C test programs compiled
 * into a temp dir, and child processes run with or without the library.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';
import { TEST_BUILD_DIR } from '../support/programs.js';
import { runCollecting, type CollectedRun } from '../support/run-collecting.js';
import { removeDir, tempDir as makeTempDir } from '../support/temp-dir.js';

// The netcon suites get the shared wait from here too.
export { waitFor } from '../support/wait.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHIM = join(ROOT, 'native', 'intercept', 'libztintercept.so');
export const NWID = '8056c2e21c000001';
export const STACK_ADDR = '10.147.17.5';
const FIXTURE_OUT = join(TEST_BUILD_DIR, 'netcon', 'daemon-fixture.mjs');

let prepared: Promise<void> | null = null;

/** Builds the intercept library and bundles the daemon fixture (once per test file). */
export function prepare(): Promise<void> {
  prepared ??= (async () => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'intercept')], { stdio: 'inherit' });
    mkdirSync(dirname(FIXTURE_OUT), { recursive: true });
    await build({
      entryPoints: [join(ROOT, 'test', 'netcon', 'daemon-fixture.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: FIXTURE_OUT,
      logLevel: 'warning',
    });
  })();
  return prepared;
}

/** A private temp dir (mode 0700, as the daemon requires for its socket directory) with its remover. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = makeTempDir(prefix);
  return { dir, remove: () => removeDir(dir) };
}

export interface Daemon {
  socketPath: string;
  proc: ChildProcess;
  /** Stops the daemon (SIGTERM, then SIGKILL) and returns its counters when it printed them. */
  stop(): Promise<Record<string, number> | null>;
  kill9(): Promise<void>;
}

/**
 * Starts the fixture daemon serving `socketPath` (more fixture options in `extraArgs`); resolves once
 * it is ready. `user`: run it as that user (root only, setpriv).
 */
export async function startDaemon(socketPath: string, extraArgs: string[] = [], user?: string): Promise<Daemon> {
  await prepare();
  const daemonArgs = [FIXTURE_OUT, '--socket', socketPath, '--addr', `${STACK_ADDR}/24`, ...extraArgs];
  const [cmd, args] = user
    ? ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', process.execPath, ...daemonArgs]]
    : [process.execPath, daemonArgs];
  const proc = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ZTNC_FIXTURE_COUNTERS: '1', LD_PRELOAD: '' },
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`daemon not ready: ${stderr}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}): ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    socketPath,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      const m = /COUNTERS (\{.*\})/.exec(stderr);
      return m ? (JSON.parse(m[1]!) as Record<string, number>) : null;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * For a describe block: a temp dir (`prefix`) and one fixture daemon serving a socket in it,
 * started before the block's tests and stopped, with the dir removed, after them.
 */
export function daemonForSuite(prefix: string): { tmp: { dir: string; remove: () => void }; daemon: () => Daemon } {
  const tmp = tempDir(prefix);
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    daemon = await startDaemon(join(tmp.dir, 'rpc', 'net.sock'));
  });
  afterAll(async () => {
    await daemon?.stop();
    tmp.remove();
  });
  return {
    tmp,
    daemon: () => {
      if (!daemon) throw new Error('the fixture daemon is not running (its beforeAll failed or has not run)');
      return daemon;
    },
  };
}

/** Environment that puts a program on the daemon's network. */
export function shimEnv(socketPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LD_PRELOAD: SHIM, ZT_NC_NWID: NWID, ZT_NC_SOCKET: socketPath, ...extra };
}

/** Environment without the library (the kernel reference). */
export function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.ZT_NC_NWID;
  delete env.ZT_NC_SOCKET;
  delete env.ZT_NC_HOME;
  delete env.ZT_NC_ENDPOINT;
  return env;
}

export type RunResult = Omit<CollectedRun, 'timedOut'>;

/** Runs a program to completion (killed after `timeoutMs`). */
export async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000, cwd?: string): Promise<RunResult> {
  const { code, signal, stdout, stderr, ms } = await runCollecting(cmd, args, { env, timeoutMs, cwd });
  return { code, signal, stdout, stderr, ms };
}

/** Starts a long-running program; `stop` kills it (and waits). */
export function startProgram(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): { proc: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const proc = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Compiles test/shim/<name>.c into `dir` (linked with `libs` too, e.g. '-lresolv'); returns the binary's path. */
export function compileC(name: string, dir: string, libs: string[] = []): string {
  const out = join(dir, name);
  execFileSync('cc', ['-O1', '-g', '-Wall', '-o', out, join(ROOT, 'test', 'shim', `${name}.c`), '-lpthread', ...libs], {
    stdio: 'inherit',
  });
  return out;
}
