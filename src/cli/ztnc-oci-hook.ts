#!/usr/bin/env node
/**
 * ztnc-oci-hook: an OCI runtime hook (runc, crun: config.json `hooks`) putting a container on a
 * ztnc network without CNI. At `createRuntime` (or the older `prestart`) it reads the container's
 * state from stdin and does what ztnc-cni ADD does in /proc/<pid>/ns/net: the container becomes
 * its own member (an endpoint of the home's daemon), with an interface carrying the member's
 * addresses, routes and MTU, kept up to date. At `poststop` it undoes that as DEL does. The network,
 * home and planet come from the hook's args or the container's annotations (src/namespace/oci-hook.ts).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { add, del } from '../namespace/cni-commands.js';
import { CniError } from '../namespace/cni-protocol.js';
import { ANNOTATION, hookRequest, parseOciState, type HookOptions } from '../namespace/oci-hook.js';

function fail(message: string): never {
  process.stderr.write(`ztnc-oci-hook: ${message}\n`);
  process.exit(1);
}

async function run(stage: string, opts: HookOptions): Promise<void> {
  const command = ['createRuntime', 'prestart'].includes(stage) ? 'ADD' : stage === 'poststop' ? 'DEL' : null;
  if (command === null) fail(`unknown hook stage "${stage}" (createRuntime, prestart or poststop)`);
  let stdin: string;
  try {
    stdin = readFileSync(0, 'utf8');
  } catch (e) {
    fail(`cannot read the container state from stdin: ${(e as Error).message}`);
  }
  const { conf, env } = hookRequest(parseOciState(stdin), opts, command);
  if (command === 'ADD') await add(conf, env);
  else await del(conf, env);
}

new Command('ztnc-oci-hook')
  .description('OCI runtime hook: puts the container on the ztnc network <nwid> at createRuntime, takes it off at poststop')
  .argument('<stage>', 'createRuntime (or prestart) | poststop')
  .option('-n, --network <nwid>', `network id (16 hex digits); default: the container's annotation ${ANNOTATION.network}`)
  .option('-D, --home <dir>', `the daemon's home (default: annotation ${ANNOTATION.home}, else the usual ztnc home of the runtime's user)`)
  .option('--planet <file>', `planet file for a daemon the hook starts (default: annotation ${ANNOTATION.planet})`)
  .option('--ifname <name>', `the interface's name in the container (default: annotation ${ANNOTATION.ifname}, else eth0)`)
  .addHelpText(
    'after',
    `
In config.json (the runtime passes the container's state on stdin):
  "hooks": {
    "createRuntime": [{"path": "/usr/bin/node", "args": ["node", "<ztnc>/dist/src/cli/ztnc-oci-hook.js", "createRuntime", "-n", "<nwid>"]}],
    "poststop": [{"path": "/usr/bin/node", "args": ["node", "<ztnc>/dist/src/cli/ztnc-oci-hook.js", "poststop", "-n", "<nwid>"]}]
  }
The container needs its own network namespace ("linux": {"namespaces": [{"type": "network"}]}).
Each container is its own member (endpoint cni-…, as with ztnc-cni); a member that is not
authorized or addressed within 30 s fails the hook, and with it the container's start.
Exit status 0 on success, 1 with the reason on stderr.`,
  )
  .action((stage: string, opts: HookOptions) =>
    run(stage, opts).catch((e: unknown) => fail(e instanceof CniError ? `${e.message} (code ${e.code})` : (e as Error).message)),
  )
  .parseAsync(process.argv)
  .catch((e: unknown) => fail((e as Error).message));
