/**
 * Failed connects under libztintercept.so against the kernel: every case of test/shim/refused.c
 * runs on the host's loopback without the library (the reference) and under the library on the
 * fixture daemon's network. A failed non-blocking connect must raise POLLHUP (the kernel adds
 * POLLERR) so event loops that wait for readability or hang-up see it, while SO_ERROR and the
 * next connect still answer as the kernel's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, run, shimEnv, STACK_ADDR, startDaemon, tempDir } from './harness.js';

const SAME_AS_KERNEL = ['nonblocking', 'unread', 'epoll', 'blocking-retry'];

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'failed connects under the library'))(
  'failed connects behave as the kernel',
  () => {
    const tmp = tempDir('ztnc-refused-');
    let daemon: Daemon;
    let refused: string;

    beforeAll(async () => {
      refused = compileC('refused', tmp.dir);
      daemon = await startDaemon(`${tmp.dir}/rpc/net.sock`);
    });

    afterAll(async () => {
      await daemon?.stop();
      tmp.remove();
    });

    for (const name of SAME_AS_KERNEL) {
      it(`${name}: same result as the kernel`, async () => {
        const kernel = await run(refused, [name, '127.0.0.1'], plainEnv());
        expect(kernel.code, kernel.stderr).toBe(0);
        expect(kernel.stdout).not.toContain('FATAL');
        const shim = await run(refused, [name, STACK_ADDR], shimEnv(daemon.socketPath));
        expect(shim.stderr).toBe('');
        expect(shim.stdout).toBe(kernel.stdout);
        expect(shim.code).toBe(0);
      });
    }

    it('the stack loopback 127.0.0.1 refuses like the kernel one', async () => {
      const kernel = await run(refused, ['nonblocking', '127.0.0.1'], plainEnv());
      const shim = await run(refused, ['nonblocking', '127.0.0.1'], shimEnv(daemon.socketPath));
      expect(shim.stdout).toBe(kernel.stdout);
    });

    it('a failed non-blocking connect ends the data path: the attempt after the one that reported it gets EBADFD', async () => {
      // The kernel starts afresh there; under the library the daemon's end of the socketpair is
      // closed (that is what raised POLLHUP), so a new attempt could carry no data.
      const kernel = await run(refused, ['reconnect', '127.0.0.1'], plainEnv());
      expect(kernel.stdout).toBe('connect EINPROGRESS\nso_error ECONNREFUSED\nconnect again ECONNABORTED\nthird connect EINPROGRESS\n');
      const shim = await run(refused, ['reconnect', STACK_ADDR], shimEnv(daemon.socketPath));
      expect(shim.stdout).toBe('connect EINPROGRESS\nso_error ECONNREFUSED\nconnect again ECONNABORTED\nthird connect EBADFD\n');
    });

    it('an address nobody answers for hangs up too, with the reason in SO_ERROR', async () => {
      const r = await run(refused, ['unreachable', '10.147.17.99'], shimEnv(daemon.socketPath), 60_000);
      expect(r.stdout).toMatch(/^connect EINPROGRESS\nhangup 1 so_error (EHOSTUNREACH|ETIMEDOUT)\n$/);
    });

    it('the daemon counts the ended attempts and keeps no socket for them', async () => {
      const counters = await daemon.stop();
      expect(counters?.failedConnectsEnded ?? 0).toBeGreaterThan(0);
      expect(counters?.socketsOpen).toBe(0);
      daemon = await startDaemon(daemon.socketPath);
    });
  },
);
