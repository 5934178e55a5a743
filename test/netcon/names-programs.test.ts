/**
 * Real programs look names up under libztintercept.so — getent, Python's socket module, Node's
 * dns.lookup/lookupService and dns.resolve, dig, curl to a name — and nothing of it reaches the kernel's
 * network: run under `strace -f` inside an empty network namespace, none opens an AF_INET/AF_INET6
 * socket or connects one (the leak test). Two daemons answer: a stand-in for the name ops
 * with the test's table (test/shim/names_daemon.py, every other op handed to the netcon fixture
 * daemon), and the fixture daemon itself with the daemon's resolver (src/dns) for a network's
 * names, which also answers the port-53 datagrams of programs that send their own queries.
 * curl's connection reaches a python http.server on the fixture's stack.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine, needPrograms, requireOrSkip } from '../support/requirements.js';
import { type Daemon, plainEnv, run, shimEnv, STACK_ADDR, startDaemon, startProgram, tempDir, waitFor } from './harness.js';
import { inNamespace, type NamesDaemon, needNamesRig, nsDir, startNamesDaemon } from './names-fixture.js';

/** A python program printing what the socket module's lookups return. */
const PYTHON = `
import socket
print(sorted({a[4][0] for a in socket.getaddrinfo('www.test', 80, socket.AF_INET, socket.SOCK_STREAM)}))
print(socket.gethostbyname('alpha.test'))
print(socket.gethostbyname_ex('www.test'))
print(socket.gethostbyaddr('${STACK_ADDR}'))
print(socket.getnameinfo(('${STACK_ADDR}', 22), 0))
for name in ('nx.test', 'nodata.test', 'later.test'):
    try:
        socket.getaddrinfo(name, None, socket.AF_INET)
    except socket.gaierror as e:
        print(name, e.errno)
`;
const PYTHON_OUT = [
  "['10.147.17.5', '10.147.17.6']",
  '10.147.17.5',
  "('alpha.test', ['www.test'], ['10.147.17.5', '10.147.17.6'])",
  "('alpha.test', [], ['10.147.17.5'])",
  "('alpha.test', 'ssh')",
  'nx.test -2',
  'nodata.test -5',
  'later.test -3',
  '',
].join('\n');

/** The same through Node's dns.lookup (libuv's getaddrinfo on its thread pool) and lookupService. */
const NODE = `
const dns = require('node:dns').promises;
(async () => {
  console.log(JSON.stringify(await dns.lookup('www.test', { all: true, family: 4 })));
  console.log(JSON.stringify(await dns.lookupService('${STACK_ADDR}', 22)));
  for (const name of ['nx.test', 'later.test']) await dns.lookup(name).catch((e) => console.log(name, e.code));
})();
`;
const NODE_OUT = [
  '[{"address":"10.147.17.5","family":4},{"address":"10.147.17.6","family":4}]',
  '{"hostname":"alpha.test","service":"ssh"}',
  'nx.test ENOTFOUND',
  'later.test EAI_AGAIN',
  '',
].join('\n');

/** A syscall strace saw that would reach the kernel's network: an IPv4/IPv6 socket or connect. */
function networkSyscalls(trace: string): string[] {
  return trace.split('\n').filter((l) => /\bsocket\(AF_INET6?\b/.test(l) || /\bconnect\(\d+, \{sa_family=AF_INET6?\b/.test(l));
}

/** Where a suite's programs run: the namespace's files, the library's environment, where traces go. */
interface Container {
  dir: string;
  env: NodeJS.ProcessEnv;
  traces: string;
}

/** Runs a program in the container's namespace under the library; with `traceTo`, under strace -f recording socket calls. */
function inContainer(c: Container, cmd: string[], traceTo?: string) {
  return inNamespace(c.dir, traceTo ? ['strace', '-f', '-qq', '-e', 'trace=socket,connect', '-o', traceTo, ...cmd] : cmd, c.env);
}

interface ProgramCase {
  what: string;
  cmd: string[];
  out: string;
}

/** Per program: it prints `out` under the library, and under strace -f nothing reaches the kernel's network. */
function programCases(container: () => Container, programs: ProgramCase[]): void {
  for (const { what, cmd, out } of programs) {
    it(`${what}: answered through the daemon`, async () => {
      const r = await inContainer(container(), cmd);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(out);
      expect(r.code).toBe(0);
    });

    it(`${what}: no IPv4/IPv6 socket reaches the kernel (strace -f)`, async () => {
      const trace = join(container().traces, `trace-${what.replace(/\W+/g, '-')}`);
      const r = await inContainer(container(), cmd, trace);
      expect(r.stdout).toBe(out);
      expect(networkSyscalls(readFileSync(trace, 'utf8'))).toEqual([]);
    });
  }
}

/** python3 -m http.server on the fixture's stack (STACK_ADDR:8080) serving hello.txt; resolves once it answers. */
async function startWebServer(fixture: Daemon, dir: string): Promise<{ stop: () => Promise<void> }> {
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'hello.txt'), 'hello by name\n');
  const server = startProgram(
    'python3',
    ['-m', 'http.server', '--bind', STACK_ADDR, '8080', '--directory', www],
    shimEnv(fixture.socketPath),
  );
  const url = `http://${STACK_ADDR}:8080/hello.txt`;
  await waitFor(
    async () => (await run('curl', ['-sS', '-o', '/dev/null', '--max-time', '2', url], shimEnv(fixture.socketPath))).code === 0,
    15_000,
    url,
  );
  return server;
}

const CURL: ProgramCase = {
  what: 'curl to a name',
  cmd: ['curl', '-sS', '--max-time', '10', 'http://alpha.test:8080/hello.txt'],
  out: 'hello by name\n',
};

const TRACE = ['strace', '-f', '-qq', '-e', 'trace=socket,connect', '-o'];
const needs = combine(needNamesRig(), needPrograms('getent', 'curl', 'strace'));

describe.runIf(requireOrSkip(needs, 'name lookups of real programs under the library'))(
  'real programs resolve names through the daemon, and nothing leaks',
  () => {
    const tmp = tempDir('ztnc-names-prog-');
    let fixture: Daemon;
    let names: NamesDaemon;
    let server: { stop: () => Promise<void> } | undefined;
    let dir: string;
    const container = (): Container => ({ dir, env: shimEnv(names.socketPath), traces: tmp.dir });

    beforeAll(async () => {
      fixture = await startDaemon(join(tmp.dir, 'rpc', 'net.sock'));
      names = await startNamesDaemon(tmp.dir, join(tmp.dir, 'names.sock'), fixture.socketPath);
      dir = nsDir(tmp.dir, 'ns');
      server = await startWebServer(fixture, tmp.dir);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      names?.stop();
      await fixture?.stop();
      tmp.remove();
    });

    programCases(container, [
      { what: 'getent hosts', cmd: ['getent', 'hosts', 'alpha.test'], out: '10.147.17.5     alpha.test\n' },
      { what: 'getent hosts (reverse)', cmd: ['getent', 'hosts', STACK_ADDR], out: '10.147.17.5     alpha.test\n' },
      {
        what: 'getent ahosts',
        cmd: ['getent', 'ahosts', 'www.test'],
        out: [
          '10.147.17.5     STREAM alpha.test',
          '10.147.17.5     DGRAM  ',
          '10.147.17.5     RAW    ',
          '10.147.17.6     STREAM ',
          '10.147.17.6     DGRAM  ',
          '10.147.17.6     RAW    ',
          '',
        ].join('\n'),
      },
      { what: 'python socket', cmd: ['python3', '-c', PYTHON], out: PYTHON_OUT },
      { what: 'node dns.lookup', cmd: [process.execPath, '-e', NODE], out: NODE_OUT },
      CURL,
    ]);

    it("the trace sees a leak: without the library getent asks resolv.conf's nameserver over UDP", async () => {
      const trace = join(tmp.dir, 'trace-plain');
      await inNamespace(dir, [...TRACE, trace, 'getent', 'hosts', 'alpha.test'], plainEnv());
      expect(networkSyscalls(readFileSync(trace, 'utf8'))).not.toEqual([]);
    });

    it('a failing lookup does not try the host: not found at once, "try again" with no daemon', async () => {
      const nx = await inContainer(container(), ['getent', 'hosts', 'nx.test']);
      expect(nx.code).toBe(2); // getent: key not found
      const trace = join(tmp.dir, 'trace-absent');
      const absent = await inNamespace(dir, [...TRACE, trace, 'getent', 'hosts', 'alpha.test'], shimEnv(join(tmp.dir, 'nobody.sock')));
      expect(absent.code).toBe(2);
      expect(networkSyscalls(readFileSync(trace, 'utf8'))).toEqual([]);
    });
  },
);

/** Node's dns.resolve (c-ares: its own UDP queries to resolv.conf's nameserver, 127.0.0.1 in the namespace). */
const NODE_RESOLVE = `
const dns = require('node:dns').promises;
(async () => {
  console.log(JSON.stringify(await dns.resolve4('beta.test')));
  console.log(JSON.stringify(await dns.reverse('${STACK_ADDR}')));
  await dns.resolve4('nx.test').catch((e) => console.log('nx.test', e.code));
})();
`;

describe.runIf(requireOrSkip(combine(needs, needPrograms('dig')), "real programs and the daemon's resolver"))(
  "real programs resolve a network's names with the daemon's resolver, and nothing leaks",
  () => {
    const tmp = tempDir('ztnc-names-resolver-');
    let fixture: Daemon;
    let server: { stop: () => Promise<void> } | undefined;
    let dir: string;
    const container = (): Container => ({ dir, env: shimEnv(fixture.socketPath), traces: tmp.dir });

    beforeAll(async () => {
      const spec = {
        domain: 'test',
        names: [
          { name: 'alpha', addrs: [STACK_ADDR] },
          { name: 'beta', addrs: ['10.147.17.6'] },
        ],
      };
      writeFileSync(join(tmp.dir, 'names.json'), JSON.stringify(spec));
      fixture = await startDaemon(join(tmp.dir, 'rpc', 'net.sock'), ['--names', join(tmp.dir, 'names.json')]);
      dir = nsDir(tmp.dir, 'ns');
      server = await startWebServer(fixture, tmp.dir);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      await fixture?.stop();
      tmp.remove();
    });

    programCases(container, [
      { what: 'getent hosts', cmd: ['getent', 'hosts', 'alpha.test'], out: '10.147.17.5     alpha.test\n' },
      { what: 'getent hosts (reverse)', cmd: ['getent', 'hosts', '10.147.17.6'], out: '10.147.17.6     beta.test\n' },
      {
        what: 'python socket',
        cmd: ['python3', '-c', "import socket; print(socket.gethostbyname('beta.test'), socket.gethostbyaddr('10.147.17.5')[0])"],
        out: '10.147.17.6 alpha.test\n',
      },
      {
        what: 'node dns.resolve',
        cmd: [process.execPath, '-e', NODE_RESOLVE],
        out: '["10.147.17.6"]\n["alpha.test"]\nnx.test ENOTFOUND\n',
      },
      // dig sends its own queries too; it is also linked with jemalloc, whose start-up calls syscall()
      // under its init lock, so the library's initialisation must not allocate (fdtable.c).
      { what: 'dig', cmd: ['dig', '+short', '+tries=1', 'beta.test'], out: '10.147.17.6\n' },
      { what: 'dig -x', cmd: ['dig', '+short', '+tries=1', '-x', '10.147.17.5'], out: 'alpha.test.\n' },
      CURL,
    ]);
  },
);
