#!/usr/bin/env node
/**
 * ztnc-intercept [-D home] [-e endpoint] -n <nwid> -- program args…
 * Runs a program with its IPv4/IPv6 sockets on the virtual network <nwid> served by the local
 * ztnc-service (libztintercept.so preloaded), as the daemon's own member or as one of the
 * endpoints it hosts (-e, ZT_NC_ENDPOINT). Exits with the program's status.
 *
 * Programs the library cannot enter (static, Go, another architecture, set-user-ID; see
 * netcon/program-check.ts) are refused with exit status 126 before they run, since they would
 * otherwise reach the host's network while looking contained; --allow-uncontained runs them anyway.
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { interceptEnv, interceptLibraryPath } from '../netcon/intercept-env.js';
import { checkProgram } from '../netcon/program-check.js';

/** Exit status for a program refused before it ran (as a shell's "cannot execute"). */
const EXIT_REFUSED = 126;

const ENDPOINT_HELP =
  "the daemon's endpoint to be (sets ZT_NC_ENDPOINT): the socket is <home>/endpoints/<name>/sockets/<nwid>.sock, " +
  "the home $HOME/.ztnc without -D or $ZT_NC_HOME (default: the daemon's own identity, endpoint 'default')";

interface CliOptions {
  network: string;
  home?: string;
  endpoint?: string;
  verbose?: boolean;
  allowUncontained?: boolean;
}

const program = new Command('ztnc-intercept')
  .description('run a program inside a ztnc network container')
  .requiredOption('-n, --network <nwid>', 'network id (16 hex digits)')
  .option('-D, --home <dir>', 'daemon home directory (default: $ZT_NC_HOME, else $XDG_RUNTIME_DIR/ztnc, else /tmp/.ztnc_<nwid>)')
  .option('-e, --endpoint <name>', ENDPOINT_HELP)
  .option('-v, --verbose', 'trace intercepted calls to stderr (ZT_NC_DEBUG=1)')
  .option('--allow-uncontained', 'run a program the library cannot contain (static, Go…) anyway, outside the container')
  .argument('<program>', 'program to run')
  .argument('[args...]', 'its arguments')
  .passThroughOptions()
  .action((cmd: string, args: string[], opts: CliOptions) => {
    let env: NodeJS.ProcessEnv;
    const library = interceptLibraryPath();
    try {
      env = interceptEnv(process.env, { nwid: opts.network, home: opts.home, endpoint: opts.endpoint, debug: opts.verbose, library });
    } catch (e) {
      process.stderr.write(`ztnc-intercept: ${(e as Error).message}\n`);
      process.exit(2);
    }
    const verdict = checkProgram(cmd, { env, library });
    if (!verdict.ok) {
      if (!opts.allowUncontained) {
        process.stderr.write(`ztnc-intercept: refusing to run ${cmd}: ${verdict.message}\n`);
        process.exit(EXIT_REFUSED);
      }
      process.stderr.write(`ztnc-intercept: warning: ${cmd} runs outside the container (--allow-uncontained): ${verdict.reason}\n`);
    }
    const child = spawn(cmd, args, { env, stdio: 'inherit' });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
    child.on('error', (e) => {
      process.stderr.write(`ztnc-intercept: ${cmd}: ${e.message}\n`);
      process.exit(127);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        // Die of the same signal, as a shell would report it.
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
        return;
      }
      process.exit(code ?? 1);
    });
  });

program.parse();
