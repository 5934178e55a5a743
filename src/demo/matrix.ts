/**
 * The compatibility matrix without Docker: runs docker-test's entrypoint scripts as plain
 * processes with separate homes (one root+controller, then per test a server and a monitor
 * "container"), exactly the scripts the Docker images run. Each test's monitor writes
 * OK.<test> or FAIL.<test> to the results directory, holding what was checked.
 * In endpoints mode one shared daemon (a member of the root's network itself) hosts every
 * "container" as an endpoint of its own (ZTNC_SHARED_DAEMON; docker-test/lib/common.sh).
 * `node dist/src/demo/run-matrix.js` is its command line.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveToolsetIn, type Toolset, toolsetEnv } from './commands.js';
import { cleanupOnSignals, GiveUp, type LongRunning, run, start, terminatePid, waitFor } from './processes.js';

/** Every row of the matrix, in the order they run. */
export const MATRIX_TESTS = [
  'python',
  'node',
  'nginx',
  'apache2-prefork',
  'apache2-event',
  'redis',
  'sshd',
  'isolation',
  'ping',
  'haproxy',
  'dnsmasq',
  'names',
  'memcached-udp',
  'socat-udp',
  'iperf3-udp',
  'syslog',
  'quic',
  'ipv6-web',
  'ipv6-dualstack',
  'ipv6-services',
  'ipv6-iperf3',
  'ipv6-ping',
] as const;

/**
 * The rows that cannot run as endpoints of the shared daemon, and why: a daemon serves only
 * programs of its own user (the RPC socket's directory is 0700 and peers of another uid are
 * refused), and apache2's children run as www-data, so its rows need a daemon of www-data's own.
 */
export const NOT_AS_ENDPOINTS: Readonly<Record<string, string>> = {
  'apache2-prefork': "apache2's children drop to www-data, and the shared daemon (root's) serves only root's programs",
  'apache2-event': "apache2's children drop to www-data, and the shared daemon (root's) serves only root's programs",
};

/** The rows over IPv6 (the members' rfc4193 addresses; ::1 in the kernel reference). */
export const IPV6_MATRIX_TESTS = ['ipv6-web', 'ipv6-dualstack', 'ipv6-services', 'ipv6-iperf3', 'ipv6-ping'] as const;

/** The repository's docker-test directory (from src/demo or dist/src/demo). */
export function dockerTestDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'docker-test', 'lib', 'common.sh'))) return join(dir, 'docker-test');
    const up = dirname(dir);
    if (up === dir) throw new Error('docker-test/ not found above this module (the matrix runs from a checkout of the repository)');
    dir = up;
  }
}

export interface MatrixOptions {
  /** Where OK.<test> / FAIL.<test> go (default docker-test/_results). */
  resultsDir?: string;
  binDir?: string;
  library?: string;
  /** Parent of the runner's temp directory. */
  baseDir?: string;
  log?: (line: string) => void;
  /** Seconds each entrypoint waits for a hand-over; the monitor as a whole gets 3x this. */
  timeoutSec?: number;
  keep?: boolean;
  /** Run the scripts with no daemon and no library, over the kernel's loopback (the reference). */
  kernelReference?: boolean;
  /** Every container is an endpoint of one shared daemon instead of a daemon of its own. */
  endpoints?: boolean;
}

export interface MatrixResult {
  test: string;
  ok: boolean;
  /** The OK./FAIL. file the monitor wrote (null when it wrote none). */
  resultFile: string | null;
  /** Its content, or why there is none, with the tails of the entrypoints' logs on failure. */
  text: string;
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function pidIn(home: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(home, 'ztnc.pid'), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

export class MatrixRunner {
  readonly dir: string;
  readonly shared: string;
  readonly resultsDir: string;
  readonly scripts: string;
  private readonly toolset: Toolset;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: (line: string) => void;
  private readonly timeoutSec: number;
  private readonly keep: boolean;
  private readonly kernelReference: boolean;
  /** Endpoints mode: the shared daemon's home (set once it is up). */
  private readonly endpoints: boolean;
  private sharedDaemon: string | null = null;
  private root: LongRunning | null = null;
  private readonly homes: string[] = [];
  private started = false;
  private stopping: Promise<void> | null = null;
  nwid = '';

  constructor(opts: MatrixOptions = {}) {
    this.scripts = dockerTestDir();
    this.dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'ztnc-matrix-'));
    // Unprivileged server sides (apache2 drops to www-data) must reach their homes under it.
    chmodSync(this.dir, 0o755);
    this.shared = join(this.dir, 'shared');
    mkdirSync(join(this.shared, 'members'), { recursive: true });
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.resultsDir = opts.resultsDir ?? join(this.scripts, '_results');
    mkdirSync(this.resultsDir, { recursive: true });
    this.toolset = resolveToolsetIn(this.dir, opts);
    this.env = toolsetEnv(this.toolset);
    this.log = opts.log ?? (() => undefined);
    this.timeoutSec = opts.timeoutSec ?? 120;
    this.keep = opts.keep ?? false;
    this.kernelReference = opts.kernelReference ?? false;
    if (this.kernelReference) this.env.ZTNC_KERNEL_REFERENCE = '1';
    this.endpoints = (opts.endpoints ?? false) && !this.kernelReference;
  }

  private entryEnv(test: string, role: string): NodeJS.ProcessEnv {
    const home = join(this.dir, `${test}.${role}`);
    this.homes.push(home);
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      ZTNC_TEST: test,
      ZTNC_SHARED: this.shared,
      ZTNC_RESULTS: this.resultsDir,
      ZT_HOME: home,
      ZTNC_WORK: join(this.dir, `${test}.${role}.work`),
      ZTNC_TIMEOUT: String(this.timeoutSec),
    };
    if (this.sharedDaemon !== null) {
      env.ZTNC_SHARED_DAEMON = this.sharedDaemon;
      env.ZTNC_ENDPOINT = endpointName(test, role);
    }
    return env;
  }

  private logFile(test: string, role: string): string {
    return join(this.dir, 'logs', `${test}.${role}.log`);
  }

  /** Starts the root+controller entrypoint and waits until it has published the network. */
  async start(): Promise<void> {
    if (this.kernelReference) {
      this.nwid = 'kernel';
      this.started = true;
      return;
    }
    this.root = start('bash', [join(this.scripts, 'root', 'entrypoint.sh')], {
      env: this.entryEnv('root', 'root'),
      logFile: this.logFile('root', 'root'),
    });
    const nwidFile = join(this.shared, 'nwid');
    this.nwid = await waitFor(
      'the root entrypoint to publish its network',
      () => {
        if (this.root!.exited()) throw new GiveUp(`root entrypoint exited:\n${this.root!.output()}`);
        return existsSync(nwidFile) ? readFileSync(nwidFile, 'utf8').trim() || false : false;
      },
      this.timeoutSec * 1000,
    );
    this.log(`root+controller up, network ${this.nwid}`);
    if (this.endpoints) await this.startSharedDaemon();
    this.started = true;
  }

  /**
   * Endpoints mode: starts the daemon every container becomes an endpoint of, joined to the
   * root's network as a container's daemon is (common.sh's zt_join); its own identity is a member
   * too (the ping row's `ztnc-cli ping` sends from it).
   */
  private async startSharedDaemon(): Promise<void> {
    const env = this.entryEnv('endpoints', 'daemon');
    const p = start('bash', ['-c', '. "$0/lib/common.sh" && zt_join', this.scripts], {
      env: { ...env, ZTNC_ROLE: 'daemon' },
      logFile: this.logFile('endpoints', 'daemon'),
    });
    const code = await Promise.race([p.wait(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), this.timeoutSec * 1000))]);
    if (code !== 0) {
      await p.stop(2000);
      throw new Error(`the shared daemon did not join the network (${code === 'timeout' ? 'timed out' : `exit ${code}`}):\n${p.output()}`);
    }
    this.sharedDaemon = env.ZT_HOME!;
    this.log(`shared daemon up in ${this.sharedDaemon}`);
  }

  /** Endpoints mode: deletes a container's endpoint (its monitor's teardown may have done so). */
  private async deleteEndpoint(name: string): Promise<void> {
    await run('ztnc-cli', ['-D', this.sharedDaemon!, 'endpoint', 'delete', name], { env: this.env, timeoutMs: 30_000 });
  }

  /** Runs one matrix row: its server and monitor entrypoints; resolves with the monitor's verdict. */
  async runTest(test: string): Promise<MatrixResult> {
    const dir = join(this.scripts, test);
    if (!existsSync(join(dir, 'server.sh')) || !existsSync(join(dir, 'monitor.sh'))) throw new Error(`no such matrix test: ${test}`);
    if (!this.started) throw new Error('start() the runner first');
    if (this.endpoints && test in NOT_AS_ENDPOINTS) throw new Error(`${test} does not run as endpoints: ${NOT_AS_ENDPOINTS[test]}`);
    for (const f of [`OK.${test}`, `FAIL.${test}`]) rmSync(join(this.resultsDir, f), { force: true });
    const serverEnv = this.entryEnv(test, 'server');
    const monitorEnv = this.entryEnv(test, 'monitor');
    this.log(`${test}: starting server and monitor`);
    const server = start('bash', [join(dir, 'server.sh')], { env: serverEnv, logFile: this.logFile(test, 'server') });
    const monitor = start('bash', [join(dir, 'monitor.sh')], { env: monitorEnv, logFile: this.logFile(test, 'monitor') });
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      void monitor.stop(2000);
    }, this.timeoutSec * 3000);
    // A server that ends first has failed (they all run in the foreground): don't let the monitor
    // wait out its hand-over timeouts.
    const serverEnded = server.wait().then(() => 'server' as const);
    if ((await Promise.race([monitor.wait().then(() => 'monitor' as const), serverEnded])) === 'server') {
      await Promise.race([monitor.wait(), new Promise((r) => setTimeout(r, 5000))]);
      await monitor.stop(2000);
    }
    const code = await monitor.wait();
    clearTimeout(deadline);
    await server.stop(5000);
    if (this.sharedDaemon !== null) await Promise.all([serverEnv, monitorEnv].map((e) => this.deleteEndpoint(e.ZTNC_ENDPOINT!)));
    else await Promise.all([serverEnv.ZT_HOME!, monitorEnv.ZT_HOME!].map((h) => this.stopDaemon(h)));
    const ok = existsSync(join(this.resultsDir, `OK.${test}`));
    const failFile = join(this.resultsDir, `FAIL.${test}`);
    const resultFile = ok ? join(this.resultsDir, `OK.${test}`) : existsSync(failFile) ? failFile : null;
    let text = resultFile ? readFileSync(resultFile, 'utf8') : `no result written (monitor ${timedOut ? 'timed out' : `exited ${code}`})`;
    if (!ok) {
      text += `\n--- server log (${test}) ---\n${tail(this.logFile(test, 'server'))}\n--- monitor log (${test}) ---\n${tail(this.logFile(test, 'monitor'))}`;
      text += `\n--- root log ---\n${tail(this.logFile('root', 'root'), 10)}`;
      if (!resultFile) {
        writeFileSync(failFile, `test: ${test}\nFAILED  ${text}\n`);
      }
    }
    this.log(`${test}: ${ok ? 'OK' : 'FAIL'}`);
    return { test, ok, resultFile: resultFile ?? failFile, text };
  }

  private async stopDaemon(home: string): Promise<void> {
    const pid = pidIn(home);
    if (pid !== null) await terminatePid(pid, 10_000);
  }

  /** Stops the root entrypoint and every daemon the scripts started; removes the temp dir. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    writeFileSync(join(this.shared, 'stop'), '');
    if (this.root) {
      await waitFor('the root entrypoint to stop', () => this.root!.exited(), 10_000).catch(() => undefined);
      await this.root.stop(3000);
    }
    await Promise.all(this.homes.map((h) => this.stopDaemon(h)));
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The endpoint a matrix container is in endpoints mode: `<test>-<role>`. */
export function endpointName(test: string, role: string): string {
  return `${test}-${role}`;
}

/** Runs the named tests (all by default) in one runner; returns every result. */
export async function runMatrix(tests: readonly string[], opts: MatrixOptions = {}): Promise<MatrixResult[]> {
  const runner = new MatrixRunner(opts);
  const release = cleanupOnSignals(() => runner.stop());
  const results: MatrixResult[] = [];
  try {
    await runner.start();
    for (const t of tests) results.push(await runner.runTest(t));
  } finally {
    await runner.stop();
    release();
  }
  return results;
}
