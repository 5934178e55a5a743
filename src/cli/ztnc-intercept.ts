#!/usr/bin/env node
/**
 * ztnc-intercept [-D home] -n <nwid> -- program args…
 * Runs a program with its IPv4 TCP sockets on the virtual network <nwid> served by the local
 * ztnc-service (libztintercept.so preloaded). Exits with the program's status.
 */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { interceptEnv } from '../netcon/intercept-env.js';

const program = new Command('ztnc-intercept')
  .description('run a program inside a ztnc network container')
  .requiredOption('-n, --network <nwid>', 'network id (16 hex digits)')
  .option('-D, --home <dir>', 'daemon home directory (default: $ZT_NC_HOME, else $XDG_RUNTIME_DIR/ztnc, else /tmp/.ztnc_<nwid>)')
  .option('-v, --verbose', 'trace intercepted calls to stderr (ZT_NC_DEBUG=1)')
  .argument('<program>', 'program to run')
  .argument('[args...]', 'its arguments')
  .passThroughOptions()
  .action((cmd: string, args: string[], opts: { network: string; home?: string; verbose?: boolean }) => {
    let env: NodeJS.ProcessEnv;
    try {
      env = interceptEnv(process.env, { nwid: opts.network, home: opts.home, debug: opts.verbose });
    } catch (e) {
      process.stderr.write(`ztnc-intercept: ${(e as Error).message}\n`);
      process.exit(2);
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
