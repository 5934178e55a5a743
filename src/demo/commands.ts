/**
 * Where the scenario runner finds this package's commands (ztnc-service, ztnc-cli, ztnc-idtool,
 * ztnc-intercept) and the intercept library. Scripts call the commands by name, so the runner puts
 * a directory holding them first on PATH: one given by the caller or ZTNC_BIN_DIR (tests pass
 * bundles of the current sources), else wrappers around this package's compiled dist/src/cli/*.js, else whatever
 * PATH already has (an installed package).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interceptLibraryPath } from '../netcon/intercept-env.js';

export const COMMAND_NAMES = ['ztnc-service', 'ztnc-cli', 'ztnc-idtool', 'ztnc-intercept'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface Toolset {
  /** Directory to put first on PATH (null: the commands are already on PATH). */
  binDir: string | null;
  /** libztintercept.so */
  library: string;
}

/** The compiled CLI entry points next to this module when it runs from dist/src/demo/. */
function compiledCli(name: CommandName): string | null {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', `${name}.js`);
  return existsSync(file) ? file : null;
}

function onPath(name: string, path: string | undefined): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { ...process.env, PATH: path ?? '' } });
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the commands. `binDir` wins when given; otherwise wrappers for the compiled commands
 * are written to `<scratch>/bin`; otherwise the commands must already be on PATH.
 */
export function resolveToolset(opts: { binDir?: string; library?: string; scratch: string }): Toolset {
  const library = opts.library ?? process.env.ZTNC_INTERCEPT_LIBRARY ?? interceptLibraryPath();
  if (!existsSync(library)) throw new Error(`intercept library ${library} not found (build it with \`npm run build:native\`)`);
  const binDir = opts.binDir ?? process.env.ZTNC_BIN_DIR;
  if (binDir) {
    for (const n of COMMAND_NAMES) {
      if (n !== 'ztnc-idtool' && !existsSync(join(binDir, n))) throw new Error(`${n} not found in ${binDir}`);
    }
    return { binDir, library };
  }
  if (compiledCli('ztnc-service') && compiledCli('ztnc-cli')) {
    const dir = join(opts.scratch, 'bin');
    mkdirSync(dir, { recursive: true });
    for (const n of COMMAND_NAMES) {
      const file = compiledCli(n);
      if (!file) continue;
      writeFileSync(join(dir, n), `#!/bin/sh\nexec "${process.execPath}" "${file}" "$@"\n`);
      chmodSync(join(dir, n), 0o755);
    }
    return { binDir: dir, library };
  }
  for (const n of ['ztnc-service', 'ztnc-cli'] as const) {
    if (!onPath(n, process.env.PATH)) throw new Error(`${n} is neither built (dist/src/cli) nor on PATH`);
  }
  return { binDir: null, library };
}

/** resolveToolset for a runner's fresh scratch directory, which is removed again when it fails. */
export function resolveToolsetIn(scratch: string, opts: { binDir?: string; library?: string }): Toolset {
  try {
    return resolveToolset({ binDir: opts.binDir, library: opts.library, scratch });
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}

/** `base` with the toolset's commands first on PATH and the built-in planet refused. */
export function toolsetEnv(t: Toolset, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ZTNC_REFUSE_BUILTIN_PLANET: '1', ZTNC_INTERCEPT_LIBRARY: t.library };
  if (t.binDir) env.PATH = [t.binDir, base.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(delimiter);
  // The runner's own environment must not put the scripts themselves inside a container.
  delete env.LD_PRELOAD;
  delete env.ZT_NC_NWID;
  delete env.ZT_NC_SOCKET;
  delete env.ZT_NC_HOME;
  delete env.ZT_NC_ENDPOINT;
  return env;
}
