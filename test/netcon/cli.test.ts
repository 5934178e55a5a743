/**
 * How programs find the daemon: ztnc-intercept's environment, ZT_NC_HOME and the default
 * /tmp/.ztnc_<nwid> location, each checked against a running daemon.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptEnv } from '../../src/netcon/intercept-env.js';
import { netconSocketPath } from '../../src/netcon/socket-path.js';
import { TEST_BUILD_DIR } from '../support/programs.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, ROOT, run, SHIM, STACK_ADDR, startDaemon, tempDir } from './harness.js';

describe('interceptEnv', () => {
  it('preloads the library first, keeps other preloads, sets the network and the home', () => {
    const env = interceptEnv(
      { LD_PRELOAD: '/x/other.so', ZT_NC_SOCKET: '/old.sock', PATH: '/bin' },
      { nwid: '8056C2E21C000001', home: '/h', library: '/lib/z.so' },
    );
    expect(env.LD_PRELOAD).toBe('/lib/z.so:/x/other.so');
    expect(env.ZT_NC_NWID).toBe('8056c2e21c000001');
    expect(env.ZT_NC_HOME).toBe('/h');
    expect(env.ZT_NC_SOCKET).toBeUndefined();
    expect(env.PATH).toBe('/bin');
  });

  it('rejects a network id that is not 16 hex digits', () => {
    expect(() => interceptEnv({}, { nwid: 'xyz' })).toThrow(/16 hex digits/);
  });

  it('names the socket files the library looks for', () => {
    expect(netconSocketPath('8056C2E21C000001', { home: '/h' })).toBe('/h/sockets/8056c2e21c000001.sock');
    expect(netconSocketPath('8056c2e21c000001')).toBe('/tmp/.ztnc_8056c2e21c000001/8056c2e21c000001.sock');
    expect(netconSocketPath('8056c2e21c000001', { socket: '/s.sock', home: '/h' })).toBe('/s.sock');
  });
});

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'ztnc-intercept'))('finding the daemon', () => {
  const tmp = tempDir('ztnc-cli-');
  let behave: string;
  let cli: string;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    behave = compileC('behave', tmp.dir);
    cli = join(tmp.dir, 'ztnc-intercept.mjs');
    // Bundled next to the package so the library path resolves from the package root.
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
  });

  afterAll(async () => {
    for (const d of daemons) await d.stop();
    tmp.remove();
  });

  it('ztnc-intercept -D <home> -n <nwid> runs a program on that daemon', async () => {
    const nwid = '8056c2e21c0000aa';
    const home = join(tmp.dir, 'home');
    daemons.push(await startDaemon(netconSocketPath(nwid, { home })));
    const kernel = await run(behave, ['accept', '127.0.0.1'], plainEnv());
    const r = await run(process.execPath, [cli, '-D', home, '-n', nwid, '--', behave, 'accept', STACK_ADDR], plainEnv());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(kernel.stdout);
    expect(r.code).toBe(0);
    const bad = await run(process.execPath, [cli, '-n', 'nope', '--', behave, 'flags'], plainEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('16 hex digits');
  });

  it('with only ZT_NC_NWID set the library uses /tmp/.ztnc_<nwid>/<nwid>.sock', async () => {
    const nwid = randomBytes(8).toString('hex');
    const path = netconSocketPath(nwid);
    try {
      daemons.push(await startDaemon(path));
      const r = await run(behave, ['bind', STACK_ADDR], { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: nwid });
      const kernel = await run(behave, ['bind', '127.0.0.1'], plainEnv());
      expect(r.stdout).toBe(kernel.stdout);
    } finally {
      await daemons.pop()?.stop();
      rmSync(`/tmp/.ztnc_${nwid}`, { recursive: true, force: true });
    }
  });
});
