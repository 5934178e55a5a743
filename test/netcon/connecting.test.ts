/**
 * A socket whose non-blocking connect is under way, under libztintercept.so against the kernel
 * (test/shim/connecting.c on the host's loopback without the library, then on the fixture daemon's
 * network under it). A socketpair is writable at once; the library's connect filler keeps the
 * app's end unwritable until the outcome, so event loops that take writability for "connected"
 * (haproxy's TCP checks) see what the kernel shows: POLLOUT alone on success, and
 * POLLIN|POLLOUT|POLLERR|POLLHUP on failure. Data written right after the outcome arrives intact
 * both ways (the filler never reaches the peer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, run, shimEnv, STACK_ADDR, startDaemon, tempDir } from './harness.js';

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'connecting sockets under the library'))(
  'a connecting socket is not writable',
  () => {
    const tmp = tempDir('ztnc-connecting-');
    let daemon: Daemon;
    let prog: string;

    beforeAll(async () => {
      prog = compileC('connecting', tmp.dir);
      daemon = await startDaemon(`${tmp.dir}/rpc/net.sock`);
    });

    afterAll(async () => {
      await daemon?.stop();
      tmp.remove();
    });

    for (const name of ['success', 'success-epollet', 'refused']) {
      it(`${name}: same events and data as the kernel`, async () => {
        const kernel = await run(prog, [name, '127.0.0.1'], plainEnv());
        expect(kernel.code, kernel.stderr).toBe(0);
        expect(kernel.stdout).not.toContain('FATAL');
        const shim = await run(prog, [name, STACK_ADDR], shimEnv(daemon.socketPath));
        expect(shim.stderr).toBe('');
        expect(shim.stdout).toBe(kernel.stdout);
        expect(shim.code).toBe(0);
      });
    }

    it('an address nobody answers: not writable while the attempt runs, then the failure events', async () => {
      const r = await run(prog, ['pending', '10.147.17.99'], shimEnv(daemon.socketPath), 90_000);
      expect(r.stdout).toBe('connect EINPROGRESS\nwhile connecting none\nfirst events IN OUT ERR HUP\n');
    });
  },
);
