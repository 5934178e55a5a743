/**
 * How a program picks one of a daemon's endpoints (ZT_NC_ENDPOINT, `ztnc-intercept -e`): the
 * endpoint's socket <home>/endpoints/<name>/sockets/<nwid>.sock, ZT_NC_HOME or else $HOME/.ztnc as
 * the home, `default` or empty as no endpoint, ZT_NC_SOCKET first, and an invalid name refused on
 * both ends. The library's location code (location.c) and socket-path.ts are compared case by
 * case; then the library runs against fixture daemons serving those paths.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptEnv } from '../../src/netcon/intercept-env.js';
import {
  checkEndpointName,
  EndpointNameError,
  isEndpointName,
  netconDefaultSocketPaths,
  netconSocketPath,
} from '../../src/netcon/socket-path.js';
import { TEST_BUILD_DIR } from '../support/programs.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, ROOT, run, SHIM, startDaemon, tempDir } from './harness.js';

const NW = '8056c2e21c0000e1';
const GOOD = ['a', '0', 'e1', 'web-1', 'db_2.x', 'a'.repeat(63), 'x.', 'default'];
const BAD = ['', 'A', 'Web', '-a', '_a', '.a', '..', '.', '../x', 'a/b', 'a b', 'é', 'a'.repeat(64), 'a\n'];

describe('endpoint names and socket paths (socket-path.ts)', () => {
  it('an endpoint name is ^[a-z0-9][a-z0-9_.-]{0,62}$, one path component that cannot climb', () => {
    for (const n of GOOD) expect(isEndpointName(n), n).toBe(true);
    for (const n of BAD) expect(isEndpointName(n), JSON.stringify(n)).toBe(false);
    expect(() => checkEndpointName('../x')).toThrow(EndpointNameError);
    expect(() => checkEndpointName('../x')).toThrow('"../x" is not an endpoint name');
  });

  it("an endpoint's socket is <home>/endpoints/<name>/sockets/<nwid>.sock; ZT_NC_SOCKET wins; default is the home's", () => {
    expect(netconSocketPath('8056C2E21C0000E1', { home: '/h', endpoint: 'e1' })).toBe(`/h/endpoints/e1/sockets/${NW}.sock`);
    expect(netconSocketPath(NW, { home: '/h', endpoint: 'default' })).toBe(`/h/sockets/${NW}.sock`);
    expect(netconSocketPath(NW, { home: '/h', endpoint: '' })).toBe(`/h/sockets/${NW}.sock`);
    expect(netconSocketPath(NW, { socket: '/s.sock', home: '/h', endpoint: 'e1' })).toBe('/s.sock');
    expect(netconSocketPath(NW, { endpoint: 'e1', runtimeDir: '/run/user/0' })).toMatch(
      new RegExp(`/\\.ztnc/endpoints/e1/sockets/${NW}\\.sock$`),
    );
    expect(() => netconSocketPath(NW, { home: '/h', endpoint: '../x' })).toThrow(EndpointNameError);
  });

  it('interceptEnv sets ZT_NC_ENDPOINT (dropping an inherited ZT_NC_SOCKET) and refuses a bad name', () => {
    const env = interceptEnv({ ZT_NC_SOCKET: '/old.sock' }, { nwid: NW, home: '/h', endpoint: 'e1', library: '/lib/z.so' });
    expect(env.ZT_NC_ENDPOINT).toBe('e1');
    expect(env.ZT_NC_HOME).toBe('/h');
    expect(env.ZT_NC_SOCKET).toBeUndefined();
    const noHome = interceptEnv({ ZT_NC_SOCKET: '/old.sock' }, { nwid: NW, endpoint: 'e1', library: '/lib/z.so' });
    expect(noHome.ZT_NC_SOCKET).toBeUndefined();
    expect(noHome.ZT_NC_HOME).toBeUndefined();
    expect(() => interceptEnv({}, { nwid: NW, endpoint: 'Bad' })).toThrow('"Bad" is not an endpoint name');
  });
});

describe.runIf(requireOrSkip(needPrograms('cc'), 'endpoint location: library vs socket-path.ts'))(
  'the library looks where socket-path.ts says',
  () => {
    const tmp = tempDir('ztnc-eploc-');
    let probe: string;
    beforeAll(() => {
      probe = join(tmp.dir, 'location_probe');
      const dir = join(ROOT, 'native', 'intercept');
      execFileSync('cc', [
        '-Wall',
        '-Werror',
        '-D_GNU_SOURCE',
        '-I',
        dir,
        '-o',
        probe,
        join(ROOT, 'test', 'shim', 'location_probe.c'),
        join(dir, 'location.c'),
      ]);
    });
    afterAll(() => tmp.remove());

    /** location.c's answer for the environment `env` (nothing else inherited). */
    function libraryAnswer(env: Record<string, string>): string {
      return execFileSync(probe, [NW], { env, encoding: 'utf8' }).trim();
    }

    /** socket-path.ts's answer for the same environment, in the probe's words. */
    function daemonAnswer(env: Record<string, string>): string {
      const endpoint = env.ZT_NC_ENDPOINT;
      if (env.ZT_NC_SOCKET) return `ok ${env.ZT_NC_SOCKET}`;
      if (endpoint && endpoint !== 'default') {
        if (!isEndpointName(endpoint)) return 'refused';
        if (!env.ZT_NC_HOME && !env.HOME) return 'no home';
        return `ok ${netconSocketPath(NW, { endpoint, home: env.ZT_NC_HOME || join(env.HOME!, '.ztnc') })}`;
      }
      if (env.ZT_NC_HOME) return `ok ${netconSocketPath(NW, { home: env.ZT_NC_HOME })}`;
      return `ok ${netconDefaultSocketPaths(NW, env).join(' ')}`;
    }

    /** The probe's "error 2 …" (ZT_LOC_BAD_ENDPOINT) and "error 3 …" (ZT_LOC_NO_HOME) in the words above. */
    function normalise(answer: string): string {
      if (answer.startsWith('error 2 ')) return 'refused';
      if (answer.startsWith('error 3 ')) return 'no home';
      return answer;
    }

    it('agrees for every combination of ZT_NC_SOCKET, ZT_NC_ENDPOINT, ZT_NC_HOME and HOME', () => {
      const sockets = [undefined, '/s/x.sock'];
      const endpoints = [undefined, '', 'default', 'e1', 'web-1.a_b', 'Bad', '../x', 'a'.repeat(64)];
      const homes = [undefined, '/srv/home'];
      const userHomes = [undefined, '/root'];
      let cases = 0;
      for (const s of sockets)
        for (const e of endpoints)
          for (const h of homes)
            for (const u of userHomes) {
              const env: Record<string, string> = {};
              if (s !== undefined) env.ZT_NC_SOCKET = s;
              if (e !== undefined) env.ZT_NC_ENDPOINT = e;
              if (h !== undefined) env.ZT_NC_HOME = h;
              if (u !== undefined) env.HOME = u;
              expect(normalise(libraryAnswer(env)), JSON.stringify(env)).toBe(daemonAnswer(env));
              cases++;
            }
      expect(cases).toBe(64);
      expect(libraryAnswer({ ZT_NC_ENDPOINT: '../x', HOME: '/root' })).toContain('ZT_NC_ENDPOINT="../x" is not an endpoint name');
      expect(libraryAnswer({ ZT_NC_ENDPOINT: 'e1' })).toContain('ZT_NC_ENDPOINT=e1 needs ZT_NC_HOME, or HOME');
    });

    it('the library and isEndpointName agree on every name', () => {
      const names = [...GOOD, ...BAD.filter((n) => n !== '' && !n.includes('\n'))];
      const lib = execFileSync(probe, ['--name', ...names], { encoding: 'utf8' })
        .trim()
        .split('\n');
      expect(lib).toEqual(names.map((n) => (isEndpointName(n) ? '1' : '0')));
    });
  },
);

describe.runIf(requireOrSkip(needPrograms('cc', 'make', 'python3'), 'endpoint location: library against daemons'))(
  'a program under the library reaches the endpoint it names',
  () => {
    const tmp = tempDir('ztnc-ep-');
    const daemons: Daemon[] = [];
    let probe: string;
    let cli: string;
    const home = join(tmp.dir, 'home');
    // Each daemon's stack has an address of its own: binding to it tells which daemon answered.
    const HOME_ADDR = '10.147.17.5';
    const E1_ADDR = '10.147.17.61';
    const USER_E1_ADDR = '10.147.17.62';
    const SOCKET_ADDR = '10.147.17.63';
    const userHome = join(tmp.dir, 'user');

    async function daemonAt(path: string, addr: string): Promise<void> {
      daemons.push(await startDaemon(path, ['--addr', `${addr}/24`]));
    }

    beforeAll(async () => {
      probe = compileC('probe', tmp.dir);
      cli = join(TEST_BUILD_DIR, 'netcon', 'ztnc-intercept.mjs');
      await build({
        entryPoints: [join(ROOT, 'src', 'cli', 'ztnc-intercept.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        outfile: cli,
        logLevel: 'warning',
      });
      await daemonAt(netconSocketPath(NW, { home }), HOME_ADDR);
      await daemonAt(netconSocketPath(NW, { home, endpoint: 'e1' }), E1_ADDR);
      await daemonAt(join(userHome, '.ztnc', 'endpoints', 'e1', 'sockets', `${NW}.sock`), USER_E1_ADDR);
      await daemonAt(join(tmp.dir, 'explicit', 'x.sock'), SOCKET_ADDR);
    });
    afterAll(async () => {
      for (const d of daemons) await d.stop();
      tmp.remove();
    });

    /** Which fixture daemon the program reached: the address its stack lets a socket bind to. */
    const WHICH = [
      'import socket',
      `for a in ${JSON.stringify([HOME_ADDR, E1_ADDR, USER_E1_ADDR, SOCKET_ADDR])}:`,
      '  s = socket.socket()',
      '  try:',
      '    s.bind((a, 0)); print(a)',
      '  except OSError: pass',
      '  s.close()',
    ].join('\n');

    function libEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
      return { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: NW, HOME: userHome, ...extra };
    }

    async function reached(env: NodeJS.ProcessEnv): Promise<string> {
      const r = await run('python3', ['-c', WHICH], env);
      expect(r.stderr).toBe('');
      return r.stdout.trim();
    }

    it('ZT_NC_ENDPOINT=e1 with ZT_NC_HOME: the endpoint, not the home', async () => {
      expect(await reached(libEnv({ ZT_NC_HOME: home }))).toBe(HOME_ADDR);
      expect(await reached(libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: 'e1' }))).toBe(E1_ADDR);
    });

    it('ZT_NC_ENDPOINT "default" or empty: the home as before', async () => {
      expect(await reached(libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: 'default' }))).toBe(HOME_ADDR);
      expect(await reached(libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: '' }))).toBe(HOME_ADDR);
    });

    it('ZT_NC_ENDPOINT without ZT_NC_HOME: $HOME/.ztnc is the home', async () => {
      expect(await reached(libEnv({ ZT_NC_ENDPOINT: 'e1' }))).toBe(USER_E1_ADDR);
    });

    it('ZT_NC_SOCKET wins over ZT_NC_ENDPOINT', async () => {
      const env = libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: 'e1', ZT_NC_SOCKET: join(tmp.dir, 'explicit', 'x.sock') });
      expect(await reached(env)).toBe(SOCKET_ADDR);
    });

    it('an endpoint the daemon does not host is an absent daemon (ENETDOWN)', async () => {
      const r = await run(probe, ['absent'], libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: 'e2' }));
      expect(r.stdout).toBe('socket ENETDOWN fast 1\nunix still OK\n');
    });

    it('an invalid name: one line on stderr, IPv4/IPv6 sockets fail with EACCES, local ones work', async () => {
      for (const name of ['Bad', '../e1', '-x', 'a'.repeat(64)]) {
        const r = await run(probe, ['absent'], libEnv({ ZT_NC_HOME: home, ZT_NC_ENDPOINT: name }));
        expect(r.stdout, name).toBe('socket EACCES fast 1\nunix still OK\n');
        const lines = r.stderr.split('\n').filter(Boolean);
        expect(lines, name).toEqual([
          `ztnc: ZT_NC_ENDPOINT="${name}" is not an endpoint name (^[a-z0-9][a-z0-9_.-]{0,62}$): IPv4/IPv6 sockets fail with EACCES`,
        ]);
      }
      const py = await run(
        'python3',
        ['-c', 'import socket\ntry:\n  socket.socket()\nexcept OSError as e: print(e.errno)'],
        libEnv({ ZT_NC_ENDPOINT: 'Bad' }),
      );
      expect(py.stdout.trim()).toBe('13');
    });

    it('ztnc-intercept -D <home> -e <name> -n <nwid> runs the program on that endpoint; a bad name is refused before it runs', async () => {
      const base = { ...plainEnv(), HOME: userHome, ZT_NC_SOCKET: join(tmp.dir, 'explicit', 'x.sock') };
      const r = await run(process.execPath, [cli, '-D', home, '-e', 'e1', '-n', NW, '--', 'python3', '-c', WHICH], base);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(E1_ADDR);
      const noHome = await run(process.execPath, [cli, '-e', 'e1', '-n', NW, '--', 'python3', '-c', WHICH], base);
      expect(noHome.stdout.trim()).toBe(USER_E1_ADDR);
      const bad = await run(process.execPath, [cli, '-D', home, '-e', '../e1', '-n', NW, '--', 'python3', '-c', WHICH], base);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toContain('ztnc-intercept: "../e1" is not an endpoint name');
      const help = await run(process.execPath, [cli, '--help'], base);
      expect(help.stdout).toMatch(/-e, --endpoint <name>/);
    });
  },
);
