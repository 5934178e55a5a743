#!/usr/bin/env node
/**
 * ztnc-idtool <command> [args]
 * Identities, signatures, moons and private planets in zerotier-idtool's formats;
 * `ztnc-idtool -h` lists the commands.
 */
import { closeMemoryHardHashWorker } from '../node/index.js';
import { runIdtool } from './idtool.js';

// A reader that goes away (`| head`) ends the output, not the program with a stack trace.
process.stdout.on('error', () => process.exit(process.exitCode ?? 0));

const code = await runIdtool(
  process.argv.slice(2),
  (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`),
);
await closeMemoryHardHashWorker();
process.exitCode = code;
