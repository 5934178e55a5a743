/**
 * The matrix harness itself, with no daemon and no library (the kernel reference): a row's
 * scripts pass over the kernel's loopback, and a monitor pointed at a server whose bytes differ
 * from the checksum it was promised writes FAIL.<test> naming the check, not OK; the IPv6 rows over
 * ::1, and an IPv6 row failing clearly without an IPv6 address. Plus the docker-test layout the
 * Docker path relies on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { dockerTestDir, IPV6_MATRIX_TESTS, MATRIX_TESTS, MatrixRunner } from '../../src/demo/matrix.js';
import { programBinDir } from '../support/programs.js';
import { run } from '../../src/demo/processes.js';
import { combine, needPrograms, requireOrSkip, type Requirement } from '../support/requirements.js';

describe.runIf(requireOrSkip(needPrograms('bash', 'curl', 'python3', 'sha256sum'), 'matrix monitor'))('matrix monitor', () => {
  const dir = tempDir('ztnc-monitor-');
  let server: Server | null = null;

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    removeDir(dir);
  });

  it('writes OK.<test> over the kernel loopback (no daemon, no library): the checks themselves hold', async () => {
    const results = join(dir, 'kernel-results');
    const runner = new MatrixRunner({ binDir: await programBinDir(), kernelReference: true, resultsDir: results, timeoutSec: 60 });
    try {
      await runner.start();
      const r = await runner.runTest('python');
      expect(r.ok, r.text).toBe(true);
      const text = readFileSync(join(results, 'OK.python'), 'utf8');
      expect(text).toMatch(/server: 127\.0\.0\.1 +monitor: 127\.0\.0\.1/);
      expect(text).toMatch(/^ok +curl GET http:\/\/127\.0\.0\.1:\d+\/payload\.bin: 10485760 bytes, SHA-256/m);
    } finally {
      await runner.stop();
    }
  }, 120_000);

  it('writes FAIL.<test> naming the check when the fetched bytes differ', async () => {
    const promised = randomBytes(4096);
    const served = Buffer.from(promised);
    served[100] = served[100]! ^ 0xff;
    server = createServer((_req, res) => res.end(served));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const shared = join(dir, 'shared');
    const results = join(dir, 'results');
    mkdirSync(shared, { recursive: true });
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    writeFileSync(join(shared, 'python.server-ip'), '127.0.0.1\n');
    writeFileSync(join(shared, 'python.port'), `${port}\n`);
    writeFileSync(join(shared, 'python.sha256'), `${sha(promised)}\n`);
    writeFileSync(join(shared, 'python.small.sha256'), `${sha(promised)}\n`);
    const r = await run('bash', [join(dockerTestDir(), 'python', 'monitor.sh')], {
      env: {
        ...process.env,
        ZTNC_KERNEL_REFERENCE: '1',
        ZTNC_TEST: 'python',
        ZTNC_SHARED: shared,
        ZTNC_RESULTS: results,
        ZT_HOME: join(dir, 'home'),
        ZTNC_TIMEOUT: '30',
      },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).not.toBe(0);
    expect(existsSync(join(results, 'OK.python'))).toBe(false);
    const text = readFileSync(join(results, 'FAIL.python'), 'utf8');
    expect(text).toMatch(
      /^FAILED +curl GET http:\/\/127\.0\.0\.1:\d+\/payload\.bin: 4096 bytes, SHA-256: got '[0-9a-f]{64}', expected '[0-9a-f]{64}'$/m,
    );
    expect(text).toContain(sha(served));
    expect(text).toContain(sha(promised));
  });
});

// The IPv6 rows over the kernel's loopback (::1 and 127.0.0.1): their scripts and apps hold with
// the kernel's own dual stack. Root: sshd's privilege separation.
const kernelIpv6: Requirement =
  process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root (sshd privilege separation)' };
describe.runIf(
  requireOrSkip(
    combine(
      kernelIpv6,
      needPrograms(
        'bash',
        'curl',
        'python3',
        'node',
        'sha256sum',
        'nginx',
        'redis-server',
        'redis-cli',
        'redis-benchmark',
        'sshd',
        'ssh',
        'scp',
        'ssh-keygen',
        'iperf3',
        'ping',
        'fping',
        'getent',
      ),
    ),
    'IPv6 matrix rows over the kernel loopback',
  ),
)('IPv6 matrix rows over the kernel loopback (the reference)', () => {
  const dir = tempDir('ztnc-monitor6-');
  const results = join(dir, 'results');
  let runner: MatrixRunner | null = null;

  afterAll(async () => {
    await runner?.stop();
    removeDir(dir);
  }, 60_000);

  for (const test of IPV6_MATRIX_TESTS) {
    it(`${test} writes OK.${test} over ::1 and 127.0.0.1`, async () => {
      if (!runner) {
        runner = new MatrixRunner({ binDir: await programBinDir(), kernelReference: true, resultsDir: results, timeoutSec: 60 });
        await runner.start();
      }
      const r = await runner.runTest(test);
      expect(r.ok, r.text).toBe(true);
      const text = readFileSync(join(results, `OK.${test}`), 'utf8');
      expect(text).toMatch(/^ipv6: server: ::1 +monitor: ::1$/m);
      expect(text).not.toMatch(/^FAILED/m);
    }, 240_000);
  }

  it('fails an IPv6 row saying so when the server has no IPv6 address on the network', async () => {
    const shared = join(dir, 'shared-none');
    mkdirSync(shared, { recursive: true });
    writeFileSync(join(shared, 'ipv6-web.server-ip'), '127.0.0.1\n');
    writeFileSync(join(shared, 'ipv6-web.port'), '9\n');
    writeFileSync(join(shared, 'ipv6-web.server-ip6'), 'none\n');
    const r = await run('bash', [join(dockerTestDir(), 'ipv6-web', 'monitor.sh')], {
      env: {
        ...process.env,
        ZTNC_KERNEL_REFERENCE: '1',
        ZTNC_TEST: 'ipv6-web',
        ZTNC_SHARED: shared,
        ZTNC_RESULTS: join(dir, 'results-none'),
        ZT_HOME: join(dir, 'home-none'),
        ZTNC_TIMEOUT: '30',
      },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).not.toBe(0);
    expect(existsSync(join(dir, 'results-none', 'OK.ipv6-web'))).toBe(false);
    const text = readFileSync(join(dir, 'results-none', 'FAIL.ipv6-web'), 'utf8');
    expect(text).toMatch(/^FAILED +IPv6: the server's member has no rfc4193 address on the network/m);
    expect(text).toMatch(/^ipv6: server: none +monitor: ::1$/m);
  }, 90_000);
});

describe('docker-test layout', () => {
  const dir = dockerTestDir();

  it('has a Dockerfile, a server and a monitor entrypoint for every matrix row, listed in tests.list', () => {
    const listed = readFileSync(join(dir, 'tests.list'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(listed).toEqual([...MATRIX_TESTS]);
    for (const t of MATRIX_TESTS) {
      for (const f of ['Dockerfile', 'server.sh', 'monitor.sh']) expect(existsSync(join(dir, t, f)), `${t}/${f}`).toBe(true);
      const dockerfile = readFileSync(join(dir, t, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^FROM \$\{BASE\}$/m);
      expect(dockerfile).toContain(`CMD ["/opt/ztnc/docker-test/${t}/server.sh"]`);
    }
    expect(readFileSync(join(dir, 'base.Dockerfile'), 'utf8')).toMatch(/^FROM node:20-bookworm/m);
  });

  it('has shell scripts that bash parses', async () => {
    const scripts = [
      'build.sh',
      'test.sh',
      'run-local.sh',
      'lib/common.sh',
      'lib/http.sh',
      'lib/http-monitor.sh',
      'lib/apache2-server.sh',
      'lib/sshd.sh',
      'root/entrypoint.sh',
    ];
    for (const t of MATRIX_TESTS) scripts.push(`${t}/server.sh`, `${t}/monitor.sh`);
    for (const s of scripts) {
      const r = await run('bash', ['-n', join(dir, s)]);
      expect(r.code, `${s}: ${r.stderr}`).toBe(0);
    }
  });
});
