/** The checkout's root (where package.json is), from bench/ or dist/bench/: the benches build C programs from it. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'test', 'shim'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package root not found above this module (the benches run from a checkout)');
    dir = up;
  }
  return dir;
}
