/**
 * libztintercept.so against a hostile daemon (test/shim/hostile_daemon.py): every malformed reply
 * shape — lengths at and past every limit, truncated frames, a wrong op or version, a reply to an
 * earlier request, results that are no errno, stray descriptors — must end as an errno for the
 * app (or, for a well-formed maximal reply, exactly its bytes), with no fd leaked and the library
 * still working after. test/shim/hostile.c runs under the AddressSanitizer build of the library,
 * and any ASan report fails the case.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_PAYLOAD } from '../../src/netcon/protocol.js';
import { combine, needPrograms, type Requirement, requireOrSkip } from '../support/requirements.js';
import { compileC, NWID, ROOT, run, SHIM, tempDir } from './harness.js';

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

const GETSOCKOPT_FAILS = 'getsockopt ENETDOWN\nthen socket OK\nfds leaked 0\n';

/** Case name (hostile_daemon.py) → what the app must print. */
const EXPECTED: Record<string, string> = {
  'len-zero': GETSOCKOPT_FAILS,
  'len-below-header': GETSOCKOPT_FAILS,
  // The largest reply a frame can hold is accepted whole: MAX_RESPONSE_PAYLOAD (4100) bytes, exactly as sent.
  'len-max': `getsockopt OK optlen ${MAX_RESPONSE_PAYLOAD} bytes as sent\nthen socket OK\nfds leaked 0\n`,
  'len-past-max': GETSOCKOPT_FAILS,
  'len-huge': GETSOCKOPT_FAILS,
  'truncated-header': GETSOCKOPT_FAILS,
  'truncated-payload': GETSOCKOPT_FAILS,
  'wrong-op': GETSOCKOPT_FAILS,
  'earlier-reply': GETSOCKOPT_FAILS,
  'wrong-version': GETSOCKOPT_FAILS,
  'errno-out-of-range': GETSOCKOPT_FAILS,
  'errno-min': GETSOCKOPT_FAILS,
  'more-than-asked': 'getsockopt OK optlen 4 untouched after 1\nthen socket OK\nfds leaked 0\n',
  'fd-on-getsockopt': GETSOCKOPT_FAILS,
  'name-short': 'getsockname EIO\nthen socket OK\nfds leaked 0\n',
  'socket-no-fd': 'socket EIO\nfds leaked 0\nthen unix socket OK\n',
  'socket-short-payload': 'socket EIO\nfds leaked 0\nthen unix socket OK\n',
  'socket-many-fds': 'socket ENETDOWN\nfds leaked 0\nthen unix socket OK\n',
  // Name ops: a reply that cannot be right is "no answer now"; one within bounds is used as far as it goes.
  'resolve-count-mismatch': 'getaddrinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'resolve-wrong-family': 'getaddrinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'resolve-nul-in-name': 'getaddrinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'resolve-name-past-payload': 'getaddrinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'resolve-many': 'getaddrinfo OK 64 entries\nthen socket OK\nfds leaked 0\n',
  'resolve-no-canonical': 'getaddrinfo OK 1 entries\nthen socket OK\nfds leaked 0\n',
  'resolve-no-addresses': 'getaddrinfo No address associated with hostname\nthen socket OK\nfds leaked 0\n',
  'reverse-mismatch': 'getnameinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'reverse-empty': 'getnameinfo EAI_AGAIN\nthen socket OK\nfds leaked 0\n',
  'dns-short': 'res_send -1 ETIMEDOUT\nthen socket OK\nfds leaked 0\n',
  'dns-mismatch': 'res_send -1 ETIMEDOUT\nthen socket OK\nfds leaked 0\n',
  'dns-wrong-id': 'res_send -1 ETIMEDOUT\nthen socket OK\nfds leaked 0\n',
  'dns-max': `res_send ${MAX_RESPONSE_PAYLOAD} tc 1\nthen socket OK\nfds leaked 0\n`,
  // Posted setsockopt: the app goes on without the answers; the next call reads them first (and a
  // wrong one drops the channel: that call fails, the next works on a fresh one).
  'posted-held': 'setsockopt OK 3 of 3\ngetsockopt OK\nthen socket OK\nfds leaked 0\n',
  'posted-wrong-op': 'setsockopt OK 3 of 3\ngetsockopt ENETDOWN\nthen socket OK\nfds leaked 0\n',
  'posted-payload': 'setsockopt OK 3 of 3\ngetsockopt ENETDOWN\nthen socket OK\nfds leaked 0\n',
  // A non-blocking connect's filler report is posted too: connect returns while its answer is held.
  'posted-filled': 'connect EINPROGRESS\ngetsockopt OK\nthen socket OK\nfds leaked 0\n',
};

/** Starts the hostile daemon for one case; resolves once it listens. */
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

describe.runIf(requireOrSkip(combine(needPrograms('cc', 'make', 'python3'), needLibasan()), 'netcon shim vs hostile daemon'))(
  'libztintercept.so answers every malformed reply with an errno',
  () => {
    const tmp = tempDir('ztnc-hostile-');
    let client: string;

    beforeAll(() => {
      execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'intercept'), 'libztintercept.so', 'libztintercept-asan.so'], {
        stdio: 'inherit',
      });
      client = compileC('hostile', tmp.dir);
    });

    afterAll(() => tmp.remove());

    for (const [name, expected] of Object.entries(EXPECTED)) {
      it(`${name}`, async () => {
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
