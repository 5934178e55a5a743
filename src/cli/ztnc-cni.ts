#!/usr/bin/env node
/**
 * ztnc-cni: a CNI plugin (spec 1.0/1.1, type "ztnc") for ztnc's namespace mode. The command comes
 * in CNI_COMMAND, the network config on stdin, the answer on stdout (src/namespace/cni-protocol.ts).
 * VERSION is answered; ADD, DEL, CHECK, GC and STATUS are not implemented yet and answer the spec's
 * error JSON (code 100, or 50 for STATUS: plugin not available) — DEL, which must be idempotent and
 * best effort, succeeds. `ztnc-cni --help` prints this.
 */
import { readFileSync } from 'node:fs';
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
A CNI plugin (spec 1.0.0/1.1.0) putting a container's network namespace on a ztnc virtual network.
Config: {"cniVersion":"1.1.0","name":"…","type":"ztnc","network":"<nwid>","home":"…","planet":"…"}
VERSION answers the supported versions. ADD/CHECK/GC/STATUS are not implemented yet (error JSON,
code 100 / 50); DEL succeeds (nothing to undo). For one program, ztnc-run does the same today.
`;

function answer(obj: Record<string, unknown>, code = 0): never {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
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

function main(): void {
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
      case 'DEL':
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      case 'STATUS':
        throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, 'ztnc-cni cannot attach containers yet');
      case 'ADD':
      case 'CHECK':
      case 'GC':
        throw new CniError(CniCode.NOT_IMPLEMENTED, `${env.command} is not implemented yet`, 'use ztnc-run for now');
      default:
        throw new CniError(CniCode.INVALID_ENV, `unknown CNI_COMMAND "${env.command}"`);
    }
  } catch (e) {
    if (e instanceof CniError) answer(errorJson(e, version), 1);
    answer(errorJson(new CniError(CniCode.IO_FAILURE, (e as Error).message), version), 1);
  }
}

main();
