#!/usr/bin/env node
/**
 * ztnc-cli [-D home] [-p port] [-T token] [-j] <command> [args]
 * Talks to a running ztnc-service through its local JSON API, as zerotier-cli does to
 * zerotier-one; `ztnc-cli -h` lists the commands.
 */
import { runCli } from './cli-commands.js';

// A reader that goes away (`| head`) ends the output, not the program with a stack trace.
process.stdout.on('error', () => process.exit(process.exitCode ?? 0));

const code = await runCli(
  process.argv.slice(2),
  (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`),
);
process.exitCode = code;
