#!/usr/bin/env node
/**
 * ztnc-cni: a CNI plugin (spec 1.0/1.1, type "ztnc") for ztnc's namespace mode. The command comes
 * in CNI_COMMAND, the network config on stdin, the answer on stdout (src/namespace/cni-protocol.ts):
 * VERSION, ADD (the result JSON), DEL, CHECK, GC and STATUS (nothing on success), or the spec's
 * error JSON with a non-zero status. The work is in src/namespace/cni-commands.ts.
 * `ztnc-cni --help` prints the usage.
 */
import { readFileSync } from 'node:fs';
import { add, check, del, gc, status } from '../namespace/cni-commands.js';
import {
  CNI_VERSION,
  CniCode,
  CniError,
  errorJson,
  parseNetConf,
  readCniEnv,
  SUPPORTED_VERSIONS,
  versionJson,
} from '../namespace/cni-protocol.js';

const HELP = `usage: CNI_COMMAND=VERSION|ADD|DEL|CHECK|GC|STATUS ztnc-cni < netconf.json
A CNI plugin (spec 0.4.0/1.0.0/1.1.0) putting a container's network namespace on a ztnc virtual
network: ADD creates the interface CNI_IFNAME inside CNI_NETNS as a TAP served by the home's daemon
(started if it is not running), with the member's managed addresses, routes and MTU, and prints
the spec's result (interfaces, ips, routes, dns). Each container is its own member: an endpoint of
the daemon named cni-<first 12 characters of CNI_CONTAINERID>-<12 hex digits of its SHA-256>. A
small process stays in the namespace and applies later config changes (addresses, routes, MTU).
DEL closes the interface, leaves the network and deletes the endpoint (idempotent; with the daemon
down it removes the endpoint's directory); CHECK verifies the interface and its addresses; GC
removes attachments not in "cni.dev/valid-attachments"; STATUS says whether the daemon answers
(starting it if needed).
Config: {"cniVersion":"1.1.0","name":"…","type":"ztnc","network":"<nwid>","home":"…","planet":"…"}
  network  16-hex-digit network id (required)
  home     the daemon's home directory (default ~/.ztnc of the user running the plugin)
  planet   planet file for a daemon the plugin starts (default: the home's, else the built-in one)
CNI_ARGS: IP=<address>[,<address>…] (podman --ip): ADD fails unless the network's controller
assigned these addresses to the container's member (the controller, not the plugin, assigns
them); IgnoreUnknown=1 lets other keys pass; K8S_POD_* are ignored; anything else is refused.
Errors: the spec's codes (1 version, 4 environment or CNI_ARGS, 6 decoding, 7 config, 3 unknown
container on CHECK, 50 STATUS not available) and ztnc's: 101 daemon, 102 network not ready
(authorize the member printed in msg, or assign the address CNI_ARGS asks for), 103 CHECK
mismatch, 104 namespace or interface.
`;

function answer(obj: Record<string, unknown> | null, code = 0): never {
  if (obj) process.stdout.write(`${JSON.stringify(obj)}\n`);
  process.exit(code);
}

/** The version to answer in: the config's when it names a supported one (errors in config included). */
function answerVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string' && SUPPORTED_VERSIONS.includes(v)) return v;
  } catch {
    // not JSON: the default
  }
  return CNI_VERSION;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  let version = CNI_VERSION;
  try {
    const env = readCniEnv(process.env);
    if (env.command === 'VERSION') answer(versionJson());
    let stdin: string;
    try {
      stdin = readFileSync(0, 'utf8');
    } catch (e) {
      throw new CniError(CniCode.IO_FAILURE, `cannot read the network config from stdin: ${(e as Error).message}`);
    }
    version = answerVersion(stdin);
    const conf = parseNetConf(stdin);
    version = conf.cniVersion;
    switch (env.command) {
      case 'ADD':
        answer(await add(conf, env));
      // eslint-disable-next-line no-fallthrough
      case 'DEL':
        await del(conf, env);
        answer(null);
      // eslint-disable-next-line no-fallthrough
      case 'CHECK':
        await check(conf, env);
        answer(null);
      // eslint-disable-next-line no-fallthrough
      case 'GC':
        await gc(conf);
        answer(null);
      // eslint-disable-next-line no-fallthrough
      case 'STATUS':
        await status(conf);
        answer(null);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new CniError(CniCode.INVALID_ENV, `unknown CNI_COMMAND "${env.command}"`);
    }
  } catch (e) {
    if (e instanceof CniError) answer(errorJson(e, version), 1);
    answer(errorJson(new CniError(CniCode.IO_FAILURE, (e as Error).message), version), 1);
  }
}

void main();
