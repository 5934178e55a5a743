/**
 * The gateway's saved state: one JSON file per network in `<home>/gateway.d/`, named
 * `<nwid><suffix>` (`.json` for the roles and published ports, `.proxies.json` for the reverse
 * proxies). Listing and parsing are shared here; each store checks its own shape.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../service/home.js';

/** Calls `take(nwid, parsed JSON, file)` for each `<nwid><suffix>` in `dir`; what fails (unreadable, not JSON, `take` throws) goes to `problem`. */
export function forEachNetworkFile(
  dir: string,
  suffix: string,
  take: (nwid: string, json: unknown, file: string) => void,
  problem: (file: string, message: string) => void,
): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // nothing saved yet
  }
  for (const n of names) {
    const nwid = n.slice(0, 16);
    if (n.length !== 16 + suffix.length || !n.endsWith(suffix) || !/^[0-9a-f]{16}$/.test(nwid)) continue;
    const file = join(dir, n);
    try {
      take(nwid, JSON.parse(readFileSync(file, 'utf8')) as unknown, file);
    } catch (e) {
      problem(file, (e as Error).message);
    }
  }
}

/** Writes `value` as `<dir>/<nwid><suffix>` atomically (0600), or removes the file when `value` is null. */
export function saveNetworkFile(dir: string, nwid: string, suffix: string, value: unknown): void {
  const file = join(dir, `${nwid}${suffix}`);
  if (value === null) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}
