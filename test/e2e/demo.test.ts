/**
 * The offline quickstart (`npm run demo`, src/demo/demo.ts): a private root+controller, a private
 * network, two container daemons, python3's http.server under the library in A and curl under the
 * library in B. Every step is printed, the page arrives intact, and nothing is left behind.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { runDemo } from '../../src/demo/demo.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { processesMentioning } from './leftovers.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';

describe.runIf(requireOrSkip(needPrograms('make', 'cc', 'python3', 'curl'), 'demo'))('npm run demo', () => {
  it('serves a page from container A to curl in container B, prints each step, and cleans up', async () => {
    interceptLibrary();
    const binDir = await programBinDir();
    const lines: string[] = [];
    const r = await runDemo({ binDir, log: (l) => lines.push(l) });
    const out = lines.join('\n');

    for (let step = 1; step <= 7; step++) expect(out).toMatch(new RegExp(`^\\[${step}\\] `, 'm'));
    expect(r.nwid).toMatch(/^[0-9a-f]{16}$/);
    expect(r.serverIp).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(r.clientIp).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(r.serverIp).not.toBe(r.clientIp);
    // Same /24 from the controller's pool.
    expect(r.serverIp.split('.').slice(0, 3)).toEqual(r.clientIp.split('.').slice(0, 3));
    expect(r.url).toBe(`http://${r.serverIp}:8080/index.html`);
    expect(r.bytes).toBeGreaterThan(64 * 1024);
    expect(out).toContain(`SHA-256 ${r.sha256.slice(0, 16)}… equal`);
    expect(out).toMatch(/ztnc-cli listnetworks shows OK/);
    expect(out).toContain('first line: hello from container A over ztnc');

    // Torn down: the temp homes are gone and no daemon or server of the demo still runs.
    const dir = /planet (\/\S+)\/root\/planet/.exec(out)?.[1];
    expect(dir, out).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    expect(processesMentioning(dir!)).toEqual([]);
  }, 240_000);

  it('names the failing step, stops at once when a daemon dies, and still cleans up', async () => {
    interceptLibrary();
    // Commands that exist but whose daemon dies at start, as with a broken home or planet.
    const bin = tempDir('ztnc-broken-bin-');
    try {
      writeFileSync(join(bin, 'ztnc-service'), '#!/bin/sh\necho "ztnc-service: planet: truncated file" >&2\nexit 1\n');
      for (const n of ['ztnc-cli', 'ztnc-intercept']) writeFileSync(join(bin, n), '#!/bin/sh\nexit 1\n');
      for (const n of ['ztnc-service', 'ztnc-cli', 'ztnc-intercept']) chmodSync(join(bin, n), 0o755);
      const base = join(bin, 'clusters');
      mkdirSync(base);
      const lines: string[] = [];
      const failure = await runDemo({ binDir: bin, baseDir: base, log: (l) => lines.push(l) }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(failure?.message).toMatch(/ztnc-service exited: ztnc-service: planet: truncated file/);
      // Gave up as soon as the daemon exited rather than waiting out the start-up timeout.
      expect(failure?.message).not.toMatch(/timed out/);
      const out = lines.join('\n');
      expect(out).toMatch(/^\[1\] /m);
      expect(out).not.toMatch(/^\[2\] /m);
      expect(out).toMatch(/^\[7\] cleaning up/m);
      // The cluster's temp dir (made under `base`) is gone again.
      expect(readdirSync(base)).toEqual([]);
    } finally {
      removeDir(bin);
    }
  }, 60_000);
});
