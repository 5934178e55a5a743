/**
 * IPv6 name lookups under libztintercept.so (test/shim/names.c against the stand-in daemon
 * test/shim/names_daemon.py, in private namespaces as test/netcon/names-lookups.test.ts runs
 * them): AAAA answers by name for AF_INET6 and AF_UNSPEC, IPv6 and v4-mapped addresses back to
 * names. Where glibc's own answer from DNS is the reference, the library's must equal it; where
 * the library differs on purpose (AF_UNSPEC order, AI_ADDRCONFIG; README "Names"), its output is
 * pinned literally.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileC, plainEnv, ROOT, shimEnv, tempDir } from '../netcon/harness.js';
import { batch, type NamesDaemon, needNamesRig, nsDir, startNamesDaemon, writeTable } from '../netcon/names-fixture.js';
import { requireOrSkip } from '../support/requirements.js';
import { execFileSync } from 'node:child_process';

/** Cases whose output must equal glibc's against DNS. */
const REFERENCE_CASES = [
  'gai dual.test 80 inet6 stream canon',
  'gai six.test - inet6 dgram',
  'ghbn2 six.test inet6',
  'ghbn2 dual.test inet6',
  'ghbn2_r dual.test inet6',
  'ghba ::ffff:10.147.17.5',
  'ghba_r ::ffff:10.147.17.5',
  'gni ::ffff:10.147.17.5 80',
  'gni fd00::6 80 numerichost',
];

/** Where the library differs from glibc on purpose: IPv4 before IPv6, both families configured. */
const LIBRARY_CASES: Record<string, string> = {
  'gai dual.test - unspec stream':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.7:0\n  family inet6 type 1 proto 6 [fd00::7]:0\n',
  'gai six.test - unspec stream': 'getaddrinfo OK\n  family inet6 type 1 proto 6 [fd00::6]:0\n',
  'gai six.test - inet6 stream addrconfig': 'getaddrinfo OK\n  family inet6 type 1 proto 6 [fd00::6]:0\n',
  'gai dual.test - unspec stream addrconfig':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.7:0\n  family inet6 type 1 proto 6 [fd00::7]:0\n',
  'gai multi.test - unspec stream':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.21:0\n  family inet type 1 proto 6 10.147.17.22:0\n  family inet6 type 1 proto 6 [fd00::21]:0\n',
  'gai localhost - unspec stream': 'getaddrinfo OK\n  family inet type 1 proto 6 127.0.0.1:0\n  family inet6 type 1 proto 6 [::1]:0\n',
  'gai multi.test - unspec stream canon':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.21:0 canon multi.test\n  family inet type 1 proto 6 10.147.17.22:0\n  family inet6 type 1 proto 6 [fd00::21]:0\n',
  'gai alpha.test - inet6 stream addrconfig': 'getaddrinfo EAI_NODATA\n',
  'gai - 80 inet6 stream passive addrconfig': 'getaddrinfo OK\n  family inet6 type 1 proto 6 [::]:80\n',
};

describe.runIf(requireOrSkip(needNamesRig(), 'IPv6 name lookups under the library'))('IPv6 name lookups under libztintercept.so', () => {
  const tmp = tempDir('ztnc-names6-');
  let program: string;
  let table: string;
  let daemon: NamesDaemon;

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'intercept')], { stdio: 'inherit' });
    program = compileC('names', tmp.dir, ['-lresolv']);
    table = writeTable(tmp.dir);
    daemon = await startNamesDaemon(tmp.dir, join(tmp.dir, 'names.sock'));
  });

  afterAll(() => {
    daemon?.stop();
    tmp.remove();
  });

  describe('as glibc answers from DNS', () => {
    let reference: Map<string, string>;
    let library: Map<string, string>;
    beforeAll(async () => {
      const dir = nsDir(tmp.dir, 'reference');
      reference = await batch(dir, program, REFERENCE_CASES, plainEnv(), table);
      library = await batch(dir, program, REFERENCE_CASES, shimEnv(daemon.socketPath));
    }, 300_000);
    for (const c of REFERENCE_CASES) {
      it(c, () => {
        expect(reference.get(c)).toMatch(/getaddrinfo OK|getnameinfo OK|name \w+\.test/);
        expect(library.get(c)).toBe(reference.get(c));
      });
    }
    it('AAAA questions and a v4-mapped address reach the daemon as such', () => {
      const asked = daemon.requests();
      expect(asked).toContainEqual(expect.objectContaining({ op: 'RESOLVE', name: 'six.test', family: 10 }));
      expect(asked).toContainEqual(expect.objectContaining({ op: 'REVERSE', addr: '10.147.17.5' }));
    });
  });

  describe('what differs from glibc on purpose', () => {
    let library: Map<string, string>;
    beforeAll(async () => {
      library = await batch(nsDir(tmp.dir, 'library'), program, Object.keys(LIBRARY_CASES), shimEnv(daemon.socketPath));
    }, 300_000);
    for (const [c, expected] of Object.entries(LIBRARY_CASES)) {
      it(c, () => expect(library.get(c)).toBe(expected));
    }
    it('an AF_UNSPEC question asks the daemon for both families at once', () => {
      expect(daemon.requests()).toContainEqual(expect.objectContaining({ op: 'RESOLVE', name: 'dual.test', family: 0 }));
    });
  });
});
