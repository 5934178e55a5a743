/**
 * libztintercept.so against test/shim/hostile_daemon.py for the replies that carry a ZT_SOCKADDR
 * (protocol version 2): a name of a family that is neither AF_INET nor AF_INET6 must end as EIO,
 * an accept record of such a family must be dropped with its fd, the next one accepted — under
 * the AddressSanitizer build and the plain one, with no fd leaked.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileC, NWID, ROOT, run, SHIM, tempDir } from '../netcon/harness.js';
import { combine, needPrograms, type Requirement, requireOrSkip } from '../support/requirements.js';

const ASAN_SHIM = join(ROOT, 'native', 'intercept', 'libztintercept-asan.so');

function libasan(): string | null {
  try {
    const p = execFileSync('cc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    return p.startsWith('/') && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function needLibasan(): Requirement {
  return libasan() ? { ok: true, reason: '' } : { ok: false, reason: 'needs libasan (cc -print-file-name=libasan.so)' };
}

/** Case name (hostile_daemon.py) → what the app must print. */
const EXPECTED: Record<string, string> = {
  'name-bad-family': 'getsockname EIO\nthen socket OK\nfds leaked 0\n',
  'accept-bad-family': 'listen OK\naccept OK family 10 len 28 port 4242\nthen socket OK\nfds leaked 0\n',
};

async function hostileDaemon(socketPath: string, name: string): Promise<ChildProcess> {
  const proc = spawn('python3', [join(ROOT, 'test', 'shim', 'hostile_daemon.py'), socketPath, name], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LD_PRELOAD: '' },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`hostile daemon exited (${code}): ${err}`)));
  });
  return proc;
}

describe.runIf(requireOrSkip(combine(needPrograms('cc', 'make', 'python3'), needLibasan()), 'IPv6 addresses from a hostile daemon'))(
  'libztintercept.so checks the family of every address the daemon sends',
  () => {
    const tmp = tempDir('ztnc-hostile6-');
    let client: string;

    beforeAll(() => {
      execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'intercept'), 'libztintercept.so', 'libztintercept-asan.so'], {
        stdio: 'inherit',
      });
      client = compileC('hostile', tmp.dir);
    });

    afterAll(() => tmp.remove());

    for (const [name, expected] of Object.entries(EXPECTED)) {
      it(name, async () => {
        const socketPath = join(tmp.dir, `${name}.sock`);
        const daemon = await hostileDaemon(socketPath, name);
        try {
          const base: NodeJS.ProcessEnv = { ...process.env, ZT_NC_NWID: NWID, ZT_NC_SOCKET: socketPath };
          delete base.ZT_NC_HOME;
          const asan = await run(client, [name], {
            ...base,
            LD_PRELOAD: `${libasan()}:${ASAN_SHIM}`,
            ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:exitcode=99',
          });
          expect(asan.stderr).not.toContain('AddressSanitizer');
          expect(asan.stdout).toBe(expected);
          expect(asan.code).toBe(0);
          const plain = await run(client, [name], { ...base, LD_PRELOAD: SHIM });
          expect(plain.stdout).toBe(expected);
          expect(plain.code).toBe(0);
        } finally {
          daemon.kill('SIGKILL');
        }
      });
    }
  },
);
