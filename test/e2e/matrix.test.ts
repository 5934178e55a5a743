/**
 * Issue 7's compatibility matrix: every row runs docker-test's own entrypoint scripts as plain
 * processes with separate homes (a private root+controller, then per app a server "container"
 * and a monitor "container", each its own ztnc-service), and the monitor's OK.<test> file must
 * hold what was checked. Results go to a temp dir.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { MATRIX_TESTS, MatrixRunner } from '../../src/demo/matrix.js';
import { interceptLibrary, programBinDir } from '../support/programs.js';
import { combine, needPrograms, requireOrSkip, type Requirement } from '../support/requirements.js';
import { processesMentioning } from './leftovers.js';

const root: Requirement =
  process.getuid?.() === 0
    ? { ok: true, reason: '' }
    : { ok: false, reason: 'needs root (sshd privilege separation, apache2 dropping to www-data)' };

const MATRIX_PROGRAMS = [
  'bash',
  'curl',
  'python3',
  'nginx',
  'apache2',
  'redis-server',
  'redis-cli',
  'redis-benchmark',
  'sshd',
  'ssh',
  'scp',
  'ssh-keygen',
  'ss',
  'setpriv',
  'sha256sum',
  'haproxy',
];

/** The checks each row's OK file must contain (what issue 7's table asks of the row). */
const EXPECTED_CHECKS: Record<(typeof MATRIX_TESTS)[number], RegExp[]> = {
  python: [/^ok +curl GET .*payload\.bin: 10485760 bytes, SHA-256/m],
  node: [/^ok +curl GET .*payload\.bin: 10485760 bytes, SHA-256/m, /^ok +echo of 10 MB .* 10485760\)$/m],
  nginx: [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m, /^ok +keep-alive: .*\(1 0\)$/m],
  'apache2-prefork': [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m],
  'apache2-event': [/^ok +curl GET .*10485760 bytes/m, /^ok +50 concurrent curl clients .* \(50\)$/m],
  redis: [
    /^ok +redis-cli -x SET of a 10 MB value \(OK\)$/m,
    /^ok +redis-cli GET of the 10 MB value: SHA-256/m,
    /^ok +EVAL .*\(10485760\)$/m,
    /^ok +EVAL .*\(42\)$/m,
    /^ok +redis-benchmark .*SET: [0-9.]+ requests per second/m,
    /^ok +redis-benchmark .*GET: [0-9.]+ requests per second/m,
  ],
  sshd: [
    /^ok +ssh login runs a command .*\(ztnc-ssh 42\)$/m,
    /^ok +scp of 10 MB to the server: SHA-256/m,
    /^ok +scp of 10 MB from the server: SHA-256/m,
  ],
  isolation: [
    /^ok +curl GET .*10485760 bytes/m,
    /^ok +curl under the library to the host's loopback server .* is refused/m,
    /^ok +the other container's server is reachable by its virtual IP only/m,
    /^ok +nothing listens on the host at port \d+ \(ss -ltn\)$/m,
  ],
  ping: [
    /^ok +ping from the monitor's daemon to the server's [\d.]+: 5 packets transmitted, 5 received, 0% packet loss \(min\/avg\/max\/mdev = [\d./]+ ms\)$/m,
    /^ok +ping to [\d.]+, which no container holds, gets no reply and exits 1 \(2 packets transmitted, 0 received, .*100% packet loss\)$/m,
  ],
  // Fail-over on the refusal itself: a check that waited out its timeout would read L4TOUT/L7TOUT.
  // "Layer7 invalid response": haproxy had written its HTTP check before the refusal arrived (a
  // connecting socket is writable at once under the library; docker-test/README.md).
  haproxy: [
    /^ok +both backends UP in haproxy's health checks \(L7OK, L7OK\)$/m,
    /^ok +requests through haproxy are spread over both backends \(s1 s2 \)$/m,
    /^ok +haproxy marks the killed backend s1 DOWN for the refused connection, not a timeout: Server backends\/s1 is DOWN, reason: (Layer4 connection problem, info: "Connection refused"|Layer7 invalid response), /m,
    /^ok +haproxy's stats for s1 after the kill: DOWN (L4CON Connection refused|L7RSP)/m,
    /^ok +requests through haproxy after the kill all succeed, from s2 \(s2x4 \)$/m,
    /^ok +backend s2 stays UP$/m,
    /^ok +backend s1 stays DOWN$/m,
  ],
};

describe.runIf(requireOrSkip(combine(root, needPrograms('make', 'cc', ...MATRIX_PROGRAMS)), 'compatibility matrix'))(
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
          const r = await runner!.runTest(test);
          expect(r.ok, r.text).toBe(true);
          expect(existsSync(join(results, `OK.${test}`))).toBe(true);
          expect(existsSync(join(results, `FAIL.${test}`))).toBe(false);
          const text = readFileSync(join(results, `OK.${test}`), 'utf8');
          expect(text).toMatch(new RegExp(`^test: ${test}$`, 'm'));
          expect(text).not.toMatch(/^FAILED/m);
          // Server and monitor had distinct addresses on the virtual network.
          const m = /server: (\d+\.\d+\.\d+\.\d+) +monitor: (\d+\.\d+\.\d+\.\d+)/.exec(text);
          expect(m, text).not.toBeNull();
          expect(m![1]).not.toBe(m![2]);
          expect(m![1]).not.toMatch(/^127\./);
          for (const check of EXPECTED_CHECKS[test]) expect(text).toMatch(check);
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
