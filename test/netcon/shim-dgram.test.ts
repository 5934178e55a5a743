/**
 * libztintercept.so's datagram sockets (UDP, ICMP ping, raw ICMP) against the kernel: every case
 * of test/shim/behave_udp.c runs on the kernel's loopback in a network namespace of its own (the
 * reference), then under the library on the fixture daemon's stack; the printed lines must be
 * identical. A second run puts the library in front of test/shim/dgram_bridge_daemon.py, which
 * carries each record to a kernel socket: there the library's data path alone is compared with
 * the kernel's (names, truncation, control messages, errors), whatever the stack does.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, NWID, plainEnv, ROOT, run, SHIM, shimEnv, STACK_ADDR, startDaemon, tempDir } from './harness.js';

const CASES = ['flags', 'bind', 'connect', 'data', 'mmsg', 'gso', 'readiness', 'refused', 'cmsg', 'dup-fork', 'exec', 'shutdown', 'ping'];

/** A shell prelude for a fresh network namespace: loopback up, ping sockets allowed for every group. */
const NETNS_PRELUDE = 'ip link set lo up && echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range';

/** Runs `program args…` in a network namespace of its own. */
function inNetns(program: string, args: string[], env: NodeJS.ProcessEnv, before = '') {
  const quoted = [program, ...args].map((a) => `'${a}'`).join(' ');
  return run('unshare', ['-n', 'sh', '-c', `${NETNS_PRELUDE} && ${before} exec ${quoted}`], env);
}

describe.runIf(
  requireOrSkip(combine(needRootNetns(), needPrograms('cc', 'make', 'python3', 'unshare', 'ip')), 'netcon datagram behaviour'),
)('libztintercept.so datagram sockets behave as the kernel', () => {
  const tmp = tempDir('ztnc-dgram-');
  let daemon: Daemon;
  let behave: string;
  const kernel = new Map<string, string>();

  beforeAll(async () => {
    behave = compileC('behave_udp', tmp.dir);
    daemon = await startDaemon(`${tmp.dir}/rpc/net.sock`);
  });

  afterAll(async () => {
    await daemon?.stop();
    tmp.remove();
  });

  async function kernelRun(name: string): Promise<string> {
    if (!kernel.has(name)) {
      const r = await inNetns(behave, [name, '127.0.0.1'], plainEnv());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('FATAL');
      kernel.set(name, r.stdout);
    }
    return kernel.get(name)!;
  }

  for (const name of CASES) {
    it(`${name}: the same on the daemon's stack as on the kernel`, async () => {
      const want = await kernelRun(name);
      const r = await inNetns(behave, [name, STACK_ADDR], shimEnv(daemon.socketPath));
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(want);
      expect(r.code).toBe(0);
    });
  }

  for (const name of CASES) {
    it(`${name}: the same through the kernel-backed stand-in daemon`, async () => {
      const want = await kernelRun(name);
      const sock = join(tmp.dir, `bridge-${name}.sock`);
      const bridge = join(ROOT, 'test', 'shim', 'dgram_bridge_daemon.py');
      // The stand-in and the program share the namespace; the program starts once it listens.
      const start = `(env -u LD_PRELOAD python3 '${bridge}' '${sock}' > '${sock}.out' 2>&1 &) && for i in $(seq 100); do grep -q READY '${sock}.out' 2>/dev/null && break; sleep 0.05; done &&`;
      const env = { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: NWID, ZT_NC_SOCKET: sock };
      const r = await inNetns(behave, [name, '127.0.0.1'], env, start);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(want);
      expect(r.code).toBe(0);
    });
  }
});
