/**
 * Issue 22's proof that the compatibility matrix holds with its containers as endpoints of one
 * shared daemon (docker-test/lib/common.sh with ZTNC_SHARED_DAEMON), row checks as in
 * matrix.test.ts (matrix-rows.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { endpointName, MATRIX_TESTS, MatrixRunner, NOT_AS_ENDPOINTS } from '../../src/demo/matrix.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { requireOrSkip } from '../support/requirements.js';
import { processesMentioning } from './leftovers.js';
import { checkRow, MATRIX_REQUIREMENT } from './matrix-rows.js';

/**
 * Issue 22: rows again with their containers as endpoints of one daemon. CI runs a representative
 * subset (a row takes 20-65 s here, by the machine's load): TCP apps with 10 MB transfers (python's
 * http.server, nginx, redis with Lua and redis-benchmark), the isolation checks, ICMP (ztnc-cli ping
 * and iputils under the library), UDP datagrams up to 64 KB (socat), and nginx over IPv6 and IPv4
 * with names. ZTNC_MATRIX_ENDPOINTS=all runs every row that can be an endpoint (all but apache2's:
 * see NOT_AS_ENDPOINTS).
 */
const ENDPOINT_ROWS: readonly (typeof MATRIX_TESTS)[number][] =
  process.env.ZTNC_MATRIX_ENDPOINTS === 'all'
    ? MATRIX_TESTS.filter((t) => !(t in NOT_AS_ENDPOINTS))
    : ['python', 'nginx', 'redis', 'isolation', 'ping', 'socat-udp', 'ipv6-web'];

describe.runIf(requireOrSkip(MATRIX_REQUIREMENT, 'compatibility matrix as endpoints'))(
  'compatibility matrix: every container an endpoint of one shared daemon',
  () => {
    const results = tempDir('ztnc-matrix-endpoints-results-');
    let runner: MatrixRunner | null = null;

    beforeAll(async () => {
      interceptLibrary();
      const binDir = await programBinDir();
      runner = new MatrixRunner({ binDir, resultsDir: results, timeoutSec: 90, endpoints: true });
      await runner.start();
    }, 240_000);

    afterAll(async () => {
      await runner?.stop();
      removeDir(results);
    }, 60_000);

    for (const test of ENDPOINT_ROWS) {
      it(
        test,
        async () => {
          const text = checkRow(test, await runner!.runTest(test), results);
          // The monitor was an endpoint of the shared daemon, not a daemon of its own; neither
          // container's home got a daemon.
          expect(text).toMatch(new RegExp(`^member: [0-9a-f]{10} endpoint ${endpointName(test, 'monitor')}$`, 'm'));
          for (const role of ['server', 'monitor']) expect(existsSync(join(runner!.dir, `${test}.${role}`, 'identity.secret'))).toBe(false);
        },
        300_000,
      );
    }

    it('refuses the apache2 rows, saying why (their children run as www-data)', async () => {
      expect(Object.keys(NOT_AS_ENDPOINTS).sort()).toEqual(['apache2-event', 'apache2-prefork']);
      await expect(runner!.runTest('apache2-event')).rejects.toThrow(/www-data/);
    });

    it('stops the shared daemon and every app, and removes its homes', async () => {
      const dir = runner!.dir;
      await runner!.stop();
      expect(processesMentioning(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    }, 60_000);
  },
);
