/**
 * Name lookups under libztintercept.so (native/intercept/netdb.c, hostent.c, resquery.c): each
 * hooked function, called by test/shim/names.c under the library against the daemon's stand-in
 * for the name ops, must print exactly what glibc prints when the same names come from a DNS
 * server — glibc is the reference here as the kernel is for sockets. Both runs are inside a
 * private network namespace with the test's /etc/hosts, nsswitch.conf and resolv.conf (pointing
 * at 127.0.0.1, where only the reference has a server), so a lookup that reached for the host's
 * resolver would fail instead of escaping. Then: what differs on purpose (IPv4 only, AI_ADDRCONFIG),
 * nsswitch orders, a daemon that is absent, threads.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '../support/requirements.js';
import { compileC, plainEnv, ROOT, SHIM, shimEnv, tempDir } from './harness.js';
import { batch, type NamesDaemon, needNamesRig, nsDir, startNamesDaemon, writeTable } from './names-fixture.js';

/** Cases whose output must equal glibc's against DNS (arguments of test/shim/names.c). */
const REFERENCE_CASES = [
  'gai alpha.test - inet',
  'gai alpha.test. - inet stream',
  'gai www.test 80 inet stream canon',
  'gai www.test http inet 0 canon',
  'gai alpha.test 53 inet dgram',
  'gai nodata.test - inet',
  'gai nx.test - inet',
  'gai later.test - inet',
  'gai six.test - inet',
  'gai six.test - inet6',
  'gai alpha.test - inet6 0 v4mapped',
  'gai dual.test - inet6 0 v4mapped all',
  'gai alpha.test bogus-service inet',
  'gai alpha.test - inet stream numerichost',
  'gai 10.147.17.99 https inet stream',
  'gai 10.147.17.99 - inet6 0 v4mapped',
  'gai 10.147.17.99 - inet6',
  'gai filehost.test 22 inet 0 canon',
  'gai fh - inet stream canon',
  'gai multi.test - inet stream canon',
  'gai localhost - inet stream',
  'gai - 8080 inet stream passive',
  'gai_a wait alpha.test nx.test www.test',
  'gai_a nowait www.test later.test nodata.test fh',
  'ghbn alpha.test',
  'ghbn www.test',
  'ghbn nx.test',
  'ghbn nodata.test',
  'ghbn later.test',
  'ghbn fh',
  'ghbn multi.test',
  'ghbn 10.147.17.99',
  'ghbn2 six.test inet6',
  'ghbn2 alpha.test inet6',
  'ghbn2 m6 inet6',
  'ghbn_r www.test',
  'ghbn_r www.test 30',
  'ghbn_r nx.test',
  'ghbn_r later.test',
  'ghbn2_r dual.test inet6',
  'ghbn2_r dual.test inet',
  'ghba 10.147.17.5',
  'ghba 10.147.17.20',
  'ghba 10.147.17.9',
  'ghba_r 10.147.17.1',
  'ghba_r 10.147.17.5',
  'gni 10.147.17.5 80',
  'gni 10.147.17.5 53 dgram',
  'gni 10.147.17.20 22',
  'gni 10.147.17.1 80',
  'gni 10.147.17.1 80 namereqd',
  'gni 10.147.17.9 80',
  'gni 10.147.17.5 80 numerichost numericserv',
  'res_query alpha.test a',
  'res_query www.test a',
  'res_query nx.test a',
  'res_query nodata.test a',
  'res_query later.test a',
  'res_query big.test txt',
  'res_query big.test txt 512',
  'res_search alpha.test a',
  'res_search nx a',
  'res_nquery dual.test aaaa',
  'res_nsearch www.test a',
  'res_querydomain alpha test a',
  'res_nquerydomain www test a',
  'res_send alpha.test a',
  'res_send nx.test a',
  'res_nsend big.test txt',
  'res_nquery 5.17.147.10.in-addr.arpa ptr',
];

/** Literal outputs for some reference cases, so a broken reference cannot hide a failure. */
const ANCHORS: Record<string, string> = {
  'gai www.test 80 inet stream canon':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.5:80 canon alpha.test\n  family inet type 1 proto 6 10.147.17.6:80\n',
  'gai nodata.test - inet': 'getaddrinfo EAI_NODATA\n',
  'gai nx.test - inet': 'getaddrinfo EAI_NONAME\n',
  'gai later.test - inet': 'getaddrinfo EAI_AGAIN\n',
  'ghbn www.test': 'gethostbyname name alpha.test type inet len 4\n  alias www.test\n  addr 10.147.17.5\n  addr 10.147.17.6\n',
  'ghbn_r www.test 30': 'gethostbyname_r returns ERANGE result NULL h_errno NETDB_INTERNAL\n',
  'ghbn_r later.test': 'gethostbyname_r returns EAGAIN result NULL h_errno TRY_AGAIN\n',
  'gni 10.147.17.5 80': 'getnameinfo OK host alpha.test serv http\n',
  'gai_a wait alpha.test nx.test www.test':
    'getaddrinfo_a OK\n  alpha.test: OK 10.147.17.5:0\n  nx.test: EAI_NONAME\n  www.test: OK 10.147.17.5:0 10.147.17.6:0\n',
  'res_query big.test txt 512': 'res_query longer than the buffer\n  rcode 0 tc 1 ancount 1\n',
  'res_query nodata.test a': 'res_query -1 h_errno NO_DATA\n',
  'res_nquery 5.17.147.10.in-addr.arpa ptr': 'res_nquery fits\n  rcode 0 tc 0 ancount 1\n  PTR alpha.test\n',
};

/** Where the library differs from glibc on purpose (README "Names"): its outputs, literally. */
const LIBRARY_CASES: Record<string, string> = {
  // The container's network is dual-stack: an AF_UNSPEC lookup of a name returns its IPv4 addresses, then its IPv6 ones.
  'gai dual.test - unspec stream':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.7:0\n  family inet6 type 1 proto 6 [fd00::7]:0\n',
  'gai six.test - unspec stream': 'getaddrinfo OK\n  family inet6 type 1 proto 6 [fd00::6]:0\n',
  'gai localhost - unspec stream': 'getaddrinfo OK\n  family inet type 1 proto 6 127.0.0.1:0\n  family inet6 type 1 proto 6 [::1]:0\n',
  'gai multi.test - unspec stream canon':
    'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.21:0 canon multi.test\n  family inet type 1 proto 6 10.147.17.22:0\n  family inet6 type 1 proto 6 [fd00::21]:0\n',
  // AI_ADDRCONFIG takes both families as configured, never the host's interfaces (the namespace has none):
  // alpha.test has no IPv6 address, so an AF_INET6 lookup of it finds no data.
  'gai alpha.test - unspec stream addrconfig': 'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.5:0\n',
  'gai alpha.test - inet stream addrconfig': 'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.5:0\n',
  'gai alpha.test - inet6 stream addrconfig': 'getaddrinfo EAI_NODATA\n',
  // No name at all: the wildcard (or loopback) of each family, IPv4 first, as glibc lists them on a host without IPv6 routes.
  'gai - 8080 unspec stream passive':
    'getaddrinfo OK\n  family inet type 1 proto 6 0.0.0.0:8080\n  family inet6 type 1 proto 6 [::]:8080\n',
  // Many threads at once, each on its own channel.
  'threads www.test 16': 'threads 16 of 16 answered every lookup\n',
};

describe.runIf(requireOrSkip(needNamesRig(), 'name lookups under the library'))('name lookups under libztintercept.so', () => {
  const tmp = tempDir('ztnc-names-');
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

  describe('each hooked function answers as glibc does from DNS', () => {
    let reference: Map<string, string>;
    let library: Map<string, string>;
    let passThrough: Map<string, string>;

    beforeAll(async () => {
      const dir = nsDir(tmp.dir, 'reference');
      reference = await batch(dir, program, REFERENCE_CASES, plainEnv(), table);
      library = await batch(dir, program, REFERENCE_CASES, shimEnv(daemon.socketPath));
      // Preloaded without ZT_NC_NWID the library does nothing: the real functions answer.
      passThrough = await batch(dir, program, REFERENCE_CASES, { ...plainEnv(), LD_PRELOAD: SHIM }, table);
    }, 600_000);

    for (const c of REFERENCE_CASES) {
      it(c, () => {
        expect(reference.get(c)).toBeDefined();
        if (ANCHORS[c] !== undefined) expect(reference.get(c)).toBe(ANCHORS[c]);
        expect(library.get(c)).toBe(reference.get(c));
        expect(passThrough.get(c)).toBe(reference.get(c));
      });
    }

    it('files names never reach the daemon; DNS names do', () => {
      const asked = daemon.requests().map((r) => r.name ?? r.addr);
      expect(asked).toContain('alpha.test');
      for (const local of ['filehost.test', 'fh', 'multi.test', 'm6', 'localhost', '10.147.17.20']) expect(asked).not.toContain(local);
    });
  });

  describe("resolv.conf's search list, as glibc applies it", () => {
    const CASES = [
      'gai alpha - inet stream canon',
      'gai www - inet stream canon',
      'gai nodata - inet',
      'gai nx - inet',
      'gai later - inet',
      'gai nx.test - inet',
      'ghbn www',
      'ghbn2 six inet6',
      'ghbn2 alpha inet6',
      'ghbn_r nodata',
      'res_search alpha a',
      'res_nsearch www a',
      'res_search nx a',
      'res_nsearch alpha.test a',
      'res_search alpha. a',
    ];
    let reference: Map<string, string>;
    let library: Map<string, string>;
    beforeAll(async () => {
      const dir = nsDir(tmp.dir, 'search', 'files dns', 'search nowhere test\n');
      reference = await batch(dir, program, CASES, plainEnv(), table);
      library = await batch(dir, program, CASES, shimEnv(daemon.socketPath));
    }, 300_000);
    for (const c of CASES) it(c, () => expect(library.get(c)).toBe(reference.get(c)));
    it('a short name is found under a search domain', () => {
      expect(library.get('res_search alpha a')).toBe('res_search fits\n  rcode 0 tc 0 ancount 1\n  A 10.147.17.5\n');
      expect(library.get('gai alpha - inet stream canon')).toBe(
        'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.5:0 canon alpha.test\n',
      );
    });
    // glibc reports "no such name" when the name as is got no answer and a search domain then said
    // no such name; the library keeps the daemon's "try again" (README "Names").
    it('a name without an answer now stays EAI_AGAIN', async () => {
      const out = await batch(
        nsDir(tmp.dir, 'search-later', 'files dns', 'search nowhere test\n'),
        program,
        ['gai later.test - inet'],
        shimEnv(daemon.socketPath),
      );
      expect(out.get('gai later.test - inet')).toBe('getaddrinfo EAI_AGAIN\n');
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
  });

  describe('/etc/nsswitch.conf decides the order of /etc/hosts and the daemon', () => {
    // both.test: 10.147.17.30 in /etc/hosts, 10.147.17.31 from the daemon.
    const ORDERS: Array<{ line: string; both: string; fh: string; nxAsked: boolean }> = [
      { line: 'files dns', both: '10.147.17.30', fh: '10.147.17.20', nxAsked: true },
      { line: 'dns files', both: '10.147.17.31', fh: '10.147.17.20', nxAsked: true },
      { line: 'files', both: '10.147.17.30', fh: '10.147.17.20', nxAsked: false },
      { line: 'dns', both: '10.147.17.31', fh: 'EAI_NONAME', nxAsked: true },
      { line: 'files [NOTFOUND=return] dns', both: '10.147.17.30', fh: '10.147.17.20', nxAsked: false },
      // Modules that would answer from the host are skipped; files and dns keep their places.
      {
        line: 'mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] files myhostname dns',
        both: '10.147.17.30',
        fh: '10.147.17.20',
        nxAsked: true,
      },
    ];
    const answer = (out: string | undefined): string => (/10\.147\.17\.\d+/.exec(out ?? '') ?? /EAI_\w+/.exec(out ?? '') ?? [''])[0];

    ORDERS.forEach(({ line, both, fh, nxAsked }, i) => {
      it(`hosts: ${line}`, async () => {
        const before = daemon.requests().length;
        const cases: [string, string, string, string] = [
          'gai both.test - inet stream',
          'gai fh - inet stream',
          `gai nx${i}.test - inet stream`,
          'gai localhost - inet stream',
        ];
        const out = await batch(nsDir(tmp.dir, `order${i}`, line), program, cases, shimEnv(daemon.socketPath));
        expect(answer(out.get(cases[0]))).toBe(both);
        expect(answer(out.get(cases[1]))).toBe(fh);
        expect(answer(out.get(cases[2]))).toBe('EAI_NONAME');
        // localhost answers in every order (from /etc/hosts twice, as glibc: `::1` reads as 127.0.0.1
        // for AF_INET), and is never asked of the daemon.
        expect(out.get(cases[3])).toMatch(/^getaddrinfo OK\n( {2}family inet type 1 proto 6 127\.0\.0\.1:0\n)+$/);
        const asked = daemon
          .requests()
          .slice(before)
          .map((r) => r.name);
        expect(asked.includes(`nx${i}.test`)).toBe(nxAsked);
        expect(asked).not.toContain('localhost');
      });
    });
  });

  describe('no daemon: lookups fail as "try again", never through the host', () => {
    const CASES: Record<string, string> = {
      'gai alpha.test - inet': 'getaddrinfo EAI_AGAIN\n',
      'ghbn alpha.test': 'gethostbyname NULL h_errno TRY_AGAIN\n',
      'ghbn_r alpha.test': 'gethostbyname_r returns EAGAIN result NULL h_errno TRY_AGAIN\n',
      'ghba 10.147.17.5': 'gethostbyaddr NULL h_errno TRY_AGAIN\n',
      'gni 10.147.17.5 80': 'getnameinfo EAI_AGAIN\n',
      'gni 10.147.17.5 80 numerichost': 'getnameinfo OK host 10.147.17.5 serv http\n',
      'res_query alpha.test a': 'res_query -1 h_errno TRY_AGAIN\n',
      'res_send alpha.test a': 'res_send -1 h_errno OK\n',
      // /etc/hosts still answers.
      'gai fh - inet stream': 'getaddrinfo OK\n  family inet type 1 proto 6 10.147.17.20:0\n',
    };
    for (const [what, env] of [
      ['nothing serves the socket', () => shimEnv(join(tmp.dir, 'nobody.sock'))],
      ['ZT_NC_NWID is no network id', () => shimEnv(daemon.socketPath, { ZT_NC_NWID: 'not-a-network' })],
    ] as const) {
      it(what, async () => {
        const out = await batch(nsDir(tmp.dir, `absent-${what.length}`), program, Object.keys(CASES), env());
        for (const [c, expected] of Object.entries(CASES)) expect(`${c}: ${out.get(c)}`).toBe(`${c}: ${expected}`);
      });
    }
  });
});
