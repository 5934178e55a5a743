/**
 * ztnc-intercept refuses, before running it, a program the library cannot contain (it would reach
 * the host's network while looking contained), and --allow-uncontained overrides that.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElf } from '../support/elf-builder.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { TEST_BUILD_DIR } from '../support/programs.js';
import { plainEnv, prepare, ROOT, run, tempDir } from './harness.js';

const NWID = '8056c2e21c0000bb';

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'ztnc-intercept refusals'))(
  'ztnc-intercept and programs it cannot contain',
  () => {
    const tmp = tempDir('ztnc-refusal-');
    const bin = join(tmp.dir, 'bin');
    let cli: string;
    let realStatic = false;
    const env = (): NodeJS.ProcessEnv => ({ ...plainEnv(), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    const intercept = (...args: string[]) => run(process.execPath, [cli, '-D', join(tmp.dir, 'home'), '-n', NWID, ...args], env());

    beforeAll(async () => {
      await prepare();
      mkdirSync(bin);
      // Bundled inside the package so the library path resolves from the package root.
      cli = join(TEST_BUILD_DIR, 'netcon', 'ztnc-intercept-refusal.mjs');
      await build({
        entryPoints: [join(ROOT, 'src', 'cli', 'ztnc-intercept.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        outfile: cli,
        logLevel: 'warning',
      });
      writeFileSync(join(tmp.dir, 'hi.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
      execFileSync('cc', ['-o', join(bin, 'hi-dynamic'), join(tmp.dir, 'hi.c')]);
      try {
        execFileSync('cc', ['-static', '-o', join(bin, 'hi-static'), join(tmp.dir, 'hi.c')], { stdio: 'ignore' });
        realStatic = true;
      } catch {
        writeFileSync(join(bin, 'hi-static'), buildElf({ type: 2, sections: ['.text'] }).bytes);
        chmodSync(join(bin, 'hi-static'), 0o755);
      }
      writeFileSync(join(bin, 'go-program'), buildElf({ interpreter: '/lib64/ld-linux-x86-64.so.2', sections: ['.go.buildinfo'] }).bytes);
      chmodSync(join(bin, 'go-program'), 0o755);
      writeFileSync(join(bin, 'static-script'), `#!/usr/bin/env hi-static\n`);
      chmodSync(join(bin, 'static-script'), 0o755);
    });

    afterAll(() => tmp.remove());

    it('refuses a static program with exit status 126, saying why and what to do instead', async () => {
      const r = await intercept('--', 'hi-static');
      expect(r.code).toBe(126);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`ztnc-intercept: refusing to run hi-static: ${join(bin, 'hi-static')} is statically linked`);
      expect(r.stderr).toContain('bypass the container');
      expect(r.stderr).toContain('namespace mode instead (ztnc-run, planned)');
    });

    it('refuses a Go program and a script whose interpreter is static', async () => {
      const go = await intercept('go-program');
      expect(go.code).toBe(126);
      expect(go.stderr).toContain('is a Go program');
      const script = await intercept('static-script', 'arg');
      expect(script.code).toBe(126);
      expect(script.stderr).toContain(`(the interpreter of ${join(bin, 'static-script')}, through /usr/bin/env) is statically linked`);
    });

    it('runs a dynamic program as before', async () => {
      const r = await intercept('--', 'hi-dynamic');
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hi\n');
      expect(r.code).toBe(0);
    });

    it('--allow-uncontained runs it anyway, with a warning', async () => {
      const r = await intercept('--allow-uncontained', '--', 'hi-static');
      expect(r.stderr).toContain('ztnc-intercept: warning: hi-static runs outside the container (--allow-uncontained): static');
      if (realStatic) {
        expect(r.stdout).toBe('hi\n');
        expect(r.code).toBe(0);
      } else {
        // A crafted header cannot run; what matters is that the check let it through.
        expect(r.code).not.toBe(126);
      }
    });
  },
);
