/**
 * Who the library trusts with its calls, and where it finds the daemon. A socket served by another
 * user (a squatter who created the path first) receives nothing — not one byte — and socket()
 * fails with EACCES and a ZT_NC_DEBUG line saying why; a default directory must be the user's own
 * with mode 0700. The daemon refuses to serve in a directory it cannot trust, naming it. Default
 * order without ZT_NC_SOCKET/ZT_NC_HOME: $XDG_RUNTIME_DIR/ztnc/<nwid>.sock, then /tmp/.ztnc_<nwid>.
 * The squatter cases need root (to run a server as uid 65534).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkSocketDir, RpcSocketDirError } from '../../src/netcon/socket-dir.js';
import { netconDefaultSocketPaths, netconSocketPath } from '../../src/netcon/socket-path.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { CryptoRandom } from '../../src/netstack/random.js';
import { NetworkAttachment } from '../../src/service/network-attachment.js';
import { needPrograms, type Requirement, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, run, SHIM, STACK_ADDR, startDaemon, tempDir, waitFor } from './harness.js';

const NOBODY = 65534;

function needRoot(): Requirement {
  return process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root (a server running as uid 65534)' };
}

/** A network id of this test run's own, so /tmp/.ztnc_<nwid> is no one else's. */
function freshNwid(): string {
  return `8056c2e21c${(Math.floor(Math.random() * 0xffffff) + 0x1000000).toString(16).slice(1)}`;
}

/** Environment with only ZT_NC_NWID (+ extra): the library looks in the default places. */
function defaultEnv(nwid: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: nwid };
  delete env.XDG_RUNTIME_DIR;
  return { ...env, ...extra };
}

/** A Unix socket server running as uid 65534 that records how many bytes each connection sent. */
async function squatter(socketPath: string, log: string): Promise<ChildProcess> {
  const script = [
    'import os, socket, sys',
    `os.setgroups([]); os.setgid(${NOBODY}); os.setuid(${NOBODY})`,
    's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(8)',
    'print("READY", flush=True)',
    'while True:',
    '  c, _ = s.accept(); n = 0',
    '  while True:',
    '    d = c.recv(4096)',
    '    if not d: break',
    '    n += len(d)',
    '  open(sys.argv[2], "a").write(str(n) + "\\n"); c.close()',
  ].join('\n');
  const proc = spawn('python3', ['-c', script, socketPath, log], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LD_PRELOAD: '' },
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    proc.once('exit', (code) => reject(new Error(`squatter exited (${code})`)));
  });
  return proc;
}

/** What the squatter received, one number per connection. */
function received(log: string): number[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}

describe.runIf(requireOrSkip(needPrograms('cc', 'make', 'python3'), 'netcon socket trust'))(
  "the library talks only to its own user's daemon",
  () => {
    const tmp = tempDir('ztnc-trust-');
    let probe: string;
    let behave: string;
    const cleanup: (() => void | Promise<void>)[] = [];

    beforeAll(() => {
      probe = compileC('probe', tmp.dir);
      behave = compileC('behave', tmp.dir);
    });
    afterEach(async () => {
      for (const f of cleanup.splice(0).reverse()) await f();
    });
    afterAll(() => tmp.remove());

    function tmpDefaultDir(nwid: string): string {
      const dir = `/tmp/.ztnc_${nwid}`;
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    }

    async function daemonAt(path: string): Promise<Daemon> {
      const d = await startDaemon(path);
      cleanup.push(async () => void (await d.stop()));
      return d;
    }

    describe.runIf(requireOrSkip(needRoot(), 'netcon socket trust: squatters'))('squatters', () => {
      it('ZT_NC_SOCKET served by another uid (0755 dir, 0777 socket) receives not one byte; socket() fails with EACCES', async () => {
        const dir = join(tmp.dir, 'sq');
        mkdirSync(dir, { mode: 0o755 });
        chmodSync(dir, 0o755);
        chmodSync(tmp.dir, 0o755); // the squatter must reach its directory
        chownSync(dir, NOBODY, NOBODY);
        const log = join(dir, 'got');
        const sq = await squatter(join(dir, 'x.sock'), log);
        cleanup.push(() => {
          sq.kill('SIGKILL');
          chmodSync(tmp.dir, 0o700);
        });
        const env = { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: freshNwid(), ZT_NC_SOCKET: join(dir, 'x.sock'), ZT_NC_DEBUG: '1' };
        const r = await run(probe, ['absent'], env);
        expect(r.stdout).toBe('socket EACCES fast 1\nunix still OK\n');
        expect(r.stderr).toMatch(/refusing daemon socket .*x\.sock: served by uid 65534 \(pid \d+\), not this user \(uid 0\)/);
        const py = await run('python3', ['-c', 'import socket; socket.socket()'], env);
        expect(py.code).not.toBe(0);
        await waitFor(() => received(log).length >= 2, 5000, 'the squatter to see both connections close');
        expect(received(log).every((n) => n === 0)).toBe(true);
      });

      it('a default directory owned by another uid is refused before connecting; the daemon will not serve there', async () => {
        const nwid = freshNwid();
        const dir = tmpDefaultDir(nwid);
        mkdirSync(dir, { mode: 0o755 });
        chmodSync(dir, 0o755);
        chownSync(dir, NOBODY, NOBODY);
        const log = join(tmp.dir, `got-${nwid}`);
        const sq = await squatter(netconSocketPath(nwid), log);
        cleanup.push(() => void sq.kill('SIGKILL'));
        const r = await run(probe, ['absent'], defaultEnv(nwid, { ZT_NC_DEBUG: '1' }));
        expect(r.stdout).toBe('socket EACCES fast 1\nunix still OK\n');
        expect(r.stderr).toContain(`refusing daemon socket ${netconSocketPath(nwid)}: ${dir}: owned by uid 65534, not this user (uid 0)`);
        expect(received(log)).toEqual([]);
        expect(() => checkSocketDir(dir)).toThrow(RpcSocketDirError);
        expect(() => checkSocketDir(dir)).toThrow(`${dir}: owned by uid 65534`);
      });

      it('the daemon logs an error naming a squatted default path, serves the others and its home', async () => {
        const nwid = freshNwid();
        const dir = tmpDefaultDir(nwid);
        mkdirSync(dir, { mode: 0o755 });
        chownSync(dir, NOBODY, NOBODY);
        const home = join(tmp.dir, `home-${nwid}`);
        const runtime = join(tmp.dir, `run-${nwid}`);
        mkdirSync(runtime, { mode: 0o700 });
        const lines: string[] = [];
        const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
        const att = new NetworkAttachment({
          nwid,
          mac: Buffer.from([0x02, 0, 0, 0, 0, 1]),
          scheduler: new RealScheduler(),
          random: new CryptoRandom(),
          home,
          logger,
          defaultSocketPaths: netconDefaultSocketPaths(nwid, { XDG_RUNTIME_DIR: runtime }),
        });
        await att.start();
        cleanup.push(() => att.close());
        expect(att.defaultSocketPaths).toEqual([join(runtime, 'ztnc', `${nwid}.sock`)]);
        const err = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level >= 50);
        expect(err?.msg).toContain(`default socket path ${netconSocketPath(nwid)} refused: ${dir}: owned by uid 65534`);
        const r = await run(behave, ['bind', STACK_ADDR], defaultEnv(nwid, { XDG_RUNTIME_DIR: runtime }));
        expect(r.stdout).not.toContain('FATAL');
      });
    });

    it('a default directory of this user that others may enter (0755) is refused by the library', async () => {
      const nwid = freshNwid();
      const dir = tmpDefaultDir(nwid);
      await daemonAt(netconSocketPath(nwid));
      chmodSync(dir, 0o755);
      const r = await run(probe, ['absent'], defaultEnv(nwid, { ZT_NC_DEBUG: '1' }));
      expect(r.stdout).toBe('socket EACCES fast 1\nunix still OK\n');
      expect(r.stderr).toContain(`${dir}: mode 755 lets others in (must be 0700)`);
    });

    it('the daemon refuses a directory of its own that others may enter, naming it', () => {
      for (const mode of [0o755, 0o777, 0o710]) {
        const dir = join(tmp.dir, `open-${mode.toString(8)}`);
        mkdirSync(dir);
        chmodSync(dir, mode);
        expect(() => checkSocketDir(dir)).toThrow(RpcSocketDirError);
        expect(() => checkSocketDir(dir)).toThrow(`${dir}: others may enter it (mode ${mode.toString(8)}); it must be 0700`);
        expect(statSync(dir).mode & 0o777).toBe(mode);
      }
    });

    it('with XDG_RUNTIME_DIR of the user, the library finds the daemon at $XDG_RUNTIME_DIR/ztnc/<nwid>.sock', async () => {
      const nwid = freshNwid();
      const runtime = join(tmp.dir, `xdg-${nwid}`);
      mkdirSync(runtime, { mode: 0o700 });
      const [first] = netconDefaultSocketPaths(nwid, { XDG_RUNTIME_DIR: runtime });
      expect(first).toBe(join(runtime, 'ztnc', `${nwid}.sock`));
      await daemonAt(first!);
      const r = await run(behave, ['bind', STACK_ADDR], defaultEnv(nwid, { XDG_RUNTIME_DIR: runtime, ZT_NC_DEBUG: '1' }));
      const kernel = await run(behave, ['bind', '127.0.0.1'], plainEnv());
      expect(r.stdout).toBe(kernel.stdout);
      expect(r.stderr).toContain(`active for network ${nwid} via ${first}, else ${netconSocketPath(nwid)}`);
    });

    it('when nothing serves the runtime path, the library falls back to /tmp/.ztnc_<nwid>', async () => {
      const nwid = freshNwid();
      const runtime = join(tmp.dir, `xdg-empty-${nwid}`);
      mkdirSync(runtime, { mode: 0o700 });
      tmpDefaultDir(nwid);
      await daemonAt(netconSocketPath(nwid));
      const r = await run(behave, ['bind', STACK_ADDR], defaultEnv(nwid, { XDG_RUNTIME_DIR: runtime }));
      const kernel = await run(behave, ['bind', '127.0.0.1'], plainEnv());
      expect(r.stdout).toBe(kernel.stdout);
    });

    it('an XDG_RUNTIME_DIR that is not an absolute directory of the user is ignored by both ends', () => {
      const nwid = freshNwid();
      expect(netconDefaultSocketPaths(nwid, { XDG_RUNTIME_DIR: 'relative/dir' })).toEqual([netconSocketPath(nwid)]);
      expect(netconDefaultSocketPaths(nwid, { XDG_RUNTIME_DIR: join(tmp.dir, 'missing') })).toEqual([netconSocketPath(nwid)]);
      expect(netconDefaultSocketPaths(nwid, {})).toEqual([netconSocketPath(nwid)]);
    });
  },
);
