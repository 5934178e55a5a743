/**
 * The project's commands (src/cli/<name>.ts) as files plain `node` runs, for tests that start
 * daemons and run CLIs as real processes. Each is bundled from the current sources with esbuild
 * (dependencies stay external), so tests never run a stale dist/ build.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INTERCEPT_LIBRARY = join(ROOT, 'native', 'intercept', 'libztintercept.so');
/**
 * Where tests put what they bundle: inside the checkout, never under node_modules, which may be a
 * symlink shared by several checkouts — a bundle there would find the other checkout's native
 * binding (the package root is looked up from the bundle's real path) and run its programs.
 */
export const TEST_BUILD_DIR = join(ROOT, '.test-build');
const OUT_DIR = join(TEST_BUILD_DIR, 'programs');

export type ProgramName = 'ztnc-service' | 'ztnc-cli' | 'ztnc-idtool' | 'ztnc-intercept';

const bundled = new Map<string, Promise<string>>();

/** Bundles src/cli/<name>.ts (once per test process) and returns the .mjs path. */
export function programPath(name: ProgramName): Promise<string> {
  let p = bundled.get(name);
  if (!p) {
    p = (async () => {
      mkdirSync(OUT_DIR, { recursive: true });
      const out = await bundle(name, OUT_DIR);
      // ztnc-service starts the program beside it as its fd keeper
      if (name === 'ztnc-service') await bundle('ztnc-fdkeeper', dirname(out));
      return out;
    })();
    bundled.set(name, p);
  }
  return p;
}

/** Bundles src/cli/<name>.ts to <dir>/<name>.mjs; parallel test files each write their own file, then rename over. */
async function bundle(name: string, dir: string): Promise<string> {
  const out = join(dir, `${name}.mjs`);
  const tmp = `${out}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`;
  await build({
    entryPoints: [join(ROOT, 'src', 'cli', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: tmp,
    logLevel: 'warning',
  });
  renameSync(tmp, out);
  return out;
}

/**
 * A directory holding executable `ztnc-service`, `ztnc-cli`, `ztnc-idtool` and `ztnc-intercept`
 * wrappers around the bundles, to put first on PATH for scripts (docker-test entrypoints) that
 * call the commands by name.
 */
export async function programBinDir(): Promise<string> {
  const dir = join(OUT_DIR, 'bin');
  mkdirSync(dir, { recursive: true });
  for (const name of ['ztnc-service', 'ztnc-cli', 'ztnc-idtool', 'ztnc-intercept'] as const) {
    const file = await programPath(name).catch(() => null);
    if (!file) continue;
    const wrapper = join(dir, name);
    const tmp = `${wrapper}.${process.pid}.tmp`;
    writeFileSync(tmp, `#!/bin/sh\nexec "${process.execPath}" "${file}" "$@"\n`);
    chmodSync(tmp, 0o755);
    renameSync(tmp, wrapper);
  }
  return dir;
}

let libraryBuilt = false;

/** Builds the intercept library with make (once per test process) and returns its path. */
export function interceptLibrary(): string {
  if (!libraryBuilt) {
    execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'intercept')], { stdio: 'inherit' });
    libraryBuilt = true;
  }
  return INTERCEPT_LIBRARY;
}
