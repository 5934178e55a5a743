import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { BINDING_RELATIVE_PATH, execve, isSystemError } from '../../src/native/binding.js';

const dir = tempDir('ztnc-execve-');
afterAll(() => removeDir(dir));

// a plain .mjs loading the built addon directly, so the script runs under bare node
const script = join(dir, 'rerun.mjs');
writeFileSync(
  script,
  `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(pathToFileURL(join(process.cwd(), 'package.json')).href)});
const b = require(${JSON.stringify(join(process.cwd(), BINDING_RELATIVE_PATH))});
if (process.env.STEP === '2') {
  process.stdout.write('second ' + process.pid + ' ' + process.execArgv.join(',') + '\\n');
  process.stderr.write('stderr kept\\n');
} else {
  process.stdout.write('first ' + process.pid + '\\n');
  b.execve(process.execPath, ['node', '--initial-old-space-size=16', process.argv[1]], [...Object.entries(process.env).map(([k, v]) => k + '=' + v), 'STEP=2']);
}
`,
);

describe('execve', () => {
  it('runs the new program in the same process, with stdout and stderr kept', () => {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('stderr kept\n');
    const [first, second] = r.stdout.trim().split('\n');
    const pid = /^first (\d+)$/.exec(first!)?.[1];
    expect(pid).toBeDefined();
    expect(second).toBe(`second ${pid} --initial-old-space-size=16`);
  });

  it('throws the errno error when the kernel refuses, and the process goes on', () => {
    let err: unknown = null;
    try {
      execve(join(dir, 'no-such-program'), ['x'], { PATH: '/usr/bin' });
    } catch (e) {
      err = e;
    }
    expect(isSystemError(err) && err.code === 'ENOENT' && err.syscall === 'execve').toBe(true);
    expect(() => execve('/bin/true', [], {})).toThrow(/argv must name the program/);
    // stdout still works after a refused execve (its close-on-exec flag is restored, not lost)
    expect(execFileSync('/bin/echo', ['still here'], { encoding: 'utf8' })).toBe('still here\n');
  });
});
