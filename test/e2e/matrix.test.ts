/**
 * Issue 7's compatibility matrix, with issue 15's UDP, ping and name rows and issue 16's IPv6 rows
 * (on the root's dual-stack network): every row runs docker-test's own entrypoint scripts as plain
 * processes with separate homes (a private root+controller, then per app a server "container"
 * and a monitor "container", each its own ztnc-service), and the monitor's OK.<test> file must
 * hold what was checked (matrix-rows.ts). Results go to a temp dir. The same rows with every
 * container an endpoint of one daemon: matrix-endpoints.test.ts.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { MATRIX_TESTS, MatrixRunner } from '../../src/demo/matrix.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { requireOrSkip } from '../support/requirements.js';
import { processesMentioning } from './leftovers.js';
import { checkRow, MATRIX_REQUIREMENT } from './matrix-rows.js';

describe.runIf(requireOrSkip(MATRIX_REQUIREMENT, 'compatibility matrix'))(
  'compatibility matrix: real servers in one container, clients in another, across daemons',
  () => {
    const results = tempDir('ztnc-matrix-results-');
    let runner: MatrixRunner | null = null;

    beforeAll(async () => {
      interceptLibrary();
      const binDir = await programBinDir();
      runner = new MatrixRunner({ binDir, resultsDir: results, timeoutSec: 90 });
      await runner.start();
    }, 180_000);

    afterAll(async () => {
      await runner?.stop();
      removeDir(results);
    }, 60_000);

    for (const test of MATRIX_TESTS) {
      it(
        test,
        async () => {
          checkRow(test, await runner!.runTest(test), results);
        },
        300_000,
      );
    }

    it('stops every daemon and app the entrypoints started, and removes its homes', async () => {
      const dir = runner!.dir;
      await runner!.stop();
      expect(processesMentioning(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    }, 60_000);
  },
);
