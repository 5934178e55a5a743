#!/usr/bin/env node
/**
 * ztnc-service [options] [home]: the ztnc daemon. Runs a ZeroTier-compatible node with a userspace
 * network stack per joined network, serves those networks to programs under libztintercept.so and
 * answers the local JSON API. Foreground by default (pretty logs on a terminal, JSON otherwise);
 * -d runs it detached with logs in <home>/ztnc.log.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { Daemon } from '../service/daemon.js';
import { daemonize, DAEMON_CHILD_ENV, reportToParent } from '../service/daemonize.js';
import { defaultHome, Home } from '../service/home.js';
import { createServiceLogger, type ServiceLogger } from '../service/logger.js';
import { raiseOpenFileLimit } from '../service/fd-limit.js';
import { ensureDaemonV8Flags } from '../service/v8-heap.js';

interface Options {
  daemon?: boolean;
  port?: number;
  apiPort?: number;
  privatePlanet?: boolean;
  planet?: string;
  logFile?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/**
 * ztnc-fdkeeper, the program beside this one (src/service/fd-keeper.ts: listeners across
 * restarts); without it, listeners end with the daemon as they did before.
 */
function fdKeeperCommand(): string[] | undefined {
  const self = fileURLToPath(import.meta.url);
  const keeper = join(dirname(self), `ztnc-fdkeeper${extname(self)}`);
  return existsSync(keeper) ? [process.execPath, keeper] : undefined;
}

function fail(message: string, code = 1): never {
  process.stderr.write(`ztnc-service: ${message}\n`);
  process.exit(code);
}

async function runDetached(home: Home, opts: Options): Promise<void> {
  try {
    home.ensure();
  } catch (e) {
    fail((e as Error).message);
  }
  const args = [home.dir, '--log-file', opts.logFile ?? home.logFile];
  if (opts.port !== undefined) args.push('-p', String(opts.port));
  if (opts.apiPort !== undefined) args.push('--api-port', String(opts.apiPort));
  if (opts.privatePlanet) args.push('--private-planet');
  if (opts.planet) args.push('--planet', opts.planet);
  try {
    await daemonize({ script: fileURLToPath(import.meta.url), args, logFile: home.logFile, authTokenFile: home.authToken });
  } catch (e) {
    fail((e as Error).message);
  }
  process.exit(0);
}

async function runForeground(home: Home, opts: Options): Promise<void> {
  const child = process.env[DAEMON_CHILD_ENV] === '1';
  delete process.env[DAEMON_CHILD_ENV];
  const logs: ServiceLogger = createServiceLogger({ file: opts.logFile });
  const log = logs.logger;
  if (v8FlagsProblem) log.warn({ reason: v8FlagsProblem }, 'running without the V8 heap flags (more garbage collection)');
  raiseOpenFileLimit(log);
  // Handlers first: the daemon writes its port file while it starts, and a SIGINT/SIGTERM that
  // comes then must stop it cleanly once it has started, not kill it halfway (status 130).
  let stopSignal: NodeJS.Signals | null = null;
  let onStopSignal = (signal: NodeJS.Signals): void => {
    stopSignal ??= signal;
  };
  process.on('SIGTERM', (signal) => onStopSignal(signal));
  process.on('SIGINT', (signal) => onStopSignal(signal));
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      home: home.dir,
      port: opts.port,
      apiPort: opts.apiPort,
      privatePlanet: opts.privatePlanet,
      planetFile: opts.planet,
      logger: log,
      fdKeeperCommand: fdKeeperCommand(),
    });
  } catch (e) {
    const message = (e as Error).message;
    log.fatal({ err: message }, 'cannot start');
    logs.flush();
    if (child) await reportToParent({ kind: 'failed', message });
    fail(message);
  }

  // Input from the network, apps or the API must never take the daemon down: log and count.
  const fault = (kind: string) => (e: unknown) => {
    const n = (daemon.faults.get(kind) ?? 0) + 1;
    daemon.faults.set(kind, n);
    // a fault that repeats per packet must not flood the log: the first ten, then every power of two
    if (n <= 10 || (n & (n - 1)) === 0) {
      log.error(
        { err: e instanceof Error ? { message: e.message, stack: e.stack } : String(e), kind, count: n },
        'unexpected error caught; continuing',
      );
    }
  };
  process.on('uncaughtException', fault('uncaughtException'));
  process.on('unhandledRejection', fault('unhandledRejection'));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      logs.flush();
      process.exit(1);
    }, 15_000);
    force.unref();
    daemon.stop().then(
      () => {
        logs.flush();
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'shutdown failed');
        logs.flush();
        process.exit(1);
      },
    );
  };
  onStopSignal = shutdown;
  if (stopSignal !== null) shutdown(stopSignal);
  process.on('SIGHUP', () => {
    logs.reopen();
    log.info('log reopened');
  });
  if (child) await reportToParent({ kind: 'ready', pid: process.pid, apiPort: daemon.apiPort });
}

/** Why the daemon runs without its V8 heap flags, when it does (logged once it has a logger). */
let v8FlagsProblem: string | null = null;

const program = new Command('ztnc-service')
  .description('the ztnc daemon: ZeroTier-compatible node and userspace network containers')
  .argument('[home]', 'home directory', defaultHome())
  .option('-d, --daemon', 'run detached; logs go to <home>/ztnc.log')
  .option('-p, --port <port>', 'primary UDP port (0 = any free port; default 9993 or local.conf)', port)
  .option('--api-port <port>', 'local API TCP port (0 = any free port; default the primary port)', port)
  .option('--private-planet', 'be the root of a private planet written to <home>/planet, with the controller on')
  .option('--planet <file>', 'use this planet file (copied to <home>/planet)')
  .option('--log-file <file>', 'append JSON logs to this file (SIGHUP reopens it)')
  .action(async (homeDir: string, opts: Options) => {
    if (opts.privatePlanet && opts.planet) fail('--private-planet and --planet exclude each other', 2);
    // before anything is opened: this may run the program again (a -d child inherits the flags)
    v8FlagsProblem = ensureDaemonV8Flags();
    const home = new Home(resolve(homeDir));
    if (opts.daemon) await runDetached(home, opts);
    else await runForeground(home, opts);
  });

await program.parseAsync();
