/**
 * Loads the stock ZeroTier 1.14.1 vectors from ../shared/zt-vectors beside the repository. They
 * are not copied into the repo; when the folder is missing the suites that use them fail (never
 * skip), because a vector test that silently does not run proves nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { VECTORS_DIR } from '../support/vectors.js';

export { repoRoot } from '../support/vectors.js';
export const vectorsDir = VECTORS_DIR;

export function loadVectors<T>(file: string): T {
  const p = resolve(vectorsDir, file);
  if (!existsSync(p)) throw new Error(`ZeroTier test vectors missing: ${p} (expected ../shared/zt-vectors beside the repository)`);
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
