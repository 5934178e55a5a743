import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { BINDING_RELATIVE_PATH, raiseFdLimit } from '../../src/native/binding.js';

const dir = tempDir('ztnc-fdlimit-');
afterAll(() => removeDir(dir));

// A bare node process started under a hard limit of 4096 (Node lifts its soft limit to that at
// start), reporting what raiseFdLimit gives and what the kernel then says.
const script = join(dir, 'limit.mjs');
writeFileSync(
  script,
  `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(${JSON.stringify(pathToFileURL(join(process.cwd(), 'package.json')).href)});
const b = require(${JSON.stringify(join(process.cwd(), BINDING_RELATIVE_PATH))});
const kernel = () => readFileSync('/proc/self/limits', 'utf8').split('\\n').find((l) => l.startsWith('Max open files')).split(/\\s+/).slice(3, 5).map(Number);
const lower = b.raiseFdLimit(1000);
const higher = b.raiseFdLimit(Number(process.argv[2]));
process.stdout.write(JSON.stringify({ lower, higher, kernel: kernel() }));
`,
);

function underHardLimit(hard: number, want: number): { lower: unknown; higher: { soft: number; hard: number }; kernel: number[] } {
  const r = spawnSync('sh', ['-c', `ulimit -n ${hard} && exec "$0" "$@"`, process.execPath, script, String(want)], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { lower: unknown; higher: { soft: number; hard: number }; kernel: number[] };
}

/** CAP_SYS_RESOURCE (bit 24) in this process's effective set, which children started here inherit. */
function mayRaiseHardLimit(): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return eff !== undefined && ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n;
}

describe('raiseFdLimit', () => {
  it('never lowers the limit, and raises the soft limit up to the hard one', () => {
    const r = underHardLimit(4096, 3000);
    expect(r.lower).toEqual({ soft: 4096, hard: 4096 });
    expect(r.higher).toEqual({ soft: 4096, hard: 4096 });
    expect(r.kernel).toEqual([4096, 4096]);
  });

  it('raises the hard limit too where the process may (CAP_SYS_RESOURCE), and stays within it otherwise', () => {
    const r = underHardLimit(4096, 50_000);
    expect(r.higher).toEqual(mayRaiseHardLimit() ? { soft: 50_000, hard: 50_000 } : { soft: 4096, hard: 4096 });
    expect(r.kernel).toEqual([r.higher.soft, r.higher.hard]);
  });

  it('refuses what is not a count', () => {
    expect(() => raiseFdLimit(-1)).toThrow(RangeError);
    expect(() => raiseFdLimit(Number.NaN)).toThrow(RangeError);
    expect(() => (raiseFdLimit as (x: unknown) => unknown)('many')).toThrow(TypeError);
  });
});
