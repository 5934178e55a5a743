/**
 * Where the stock ZeroTier One 1.14.1 test vectors live. They are never copied into the
 * repository. Looked up in order: $ZTNC_VECTORS_DIR, `../shared/zt-vectors` beside the repository,
 * and /work/shared/zt-vectors (the machine's shared folder, for clones made elsewhere). When none
 * exists the suites that use them fail, never skip: a vector test that does not run proves nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function findVectorsDir(): string {
  const candidates = [process.env.ZTNC_VECTORS_DIR, resolve(repoRoot, '..', 'shared', 'zt-vectors'), '/work/shared/zt-vectors'].filter(
    (c): c is string => typeof c === 'string' && c.length > 0,
  );
  return candidates.find((c) => existsSync(resolve(c, 'README.md'))) ?? candidates[0]!;
}

export const VECTORS_DIR = findVectorsDir();

/** `items[key]` from a loaded vector file, or an error naming the entry the file lacks. */
export function vectorEntry<T>(items: Readonly<Record<string, T>> | readonly T[], key: string | number, what: string): T {
  const v = (items as Readonly<Record<string | number, T | undefined>>)[key];
  if (v === undefined) throw new Error(`test vectors in ${VECTORS_DIR} have no ${what}[${JSON.stringify(key)}]`);
  return v;
}
