/**
 * Temporary directories for tests: made private under the OS temp dir (mkdtemp gives mode 0700,
 * which the daemon requires of its socket directory) and removed with `removeDir`, or all at
 * once with `removeTempDirs()` in an afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh directory named `<prefix>XXXXXX`, remembered for `removeTempDirs()`. */
export function tempDir(prefix = 'ztnc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes a directory tree; a missing one is fine. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes every directory `tempDir` made in this test file's process so far. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) removeDir(dir);
}
