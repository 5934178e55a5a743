/**
 * libztintercept.so's AF_INET6 sockets against the kernel: every case of test/shim/behave_v6.c runs
 * on the kernel's loopback (::1 and 127.0.0.1) in a network namespace of its own — the reference —
 * then under the library: the datagram cases in front of test/shim/dgram_bridge_daemon.py, which
 * carries each record to a kernel socket (the library's own part: sockaddr checks, truncation,
 * control messages, the error queue), and every case on the fixture daemon's stack. The printed
 * lines must be identical.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_VERSION } from '../../src/netcon/protocol.js';
import { compileC, type Daemon, NWID, plainEnv, ROOT, run, SHIM, shimEnv, STACK_ADDR, startDaemon, tempDir } from '../netcon/harness.js';
import { combine, needPrograms, needRootNetns, type Requirement, requireOrSkip } from '../support/requirements.js';

const CASES = ['flags', 'addr', 'dual', 'udp', 'mmsg', 'errqueue', 'ping', 'exec'];
/** The cases without TCP: the kernel-backed stand-in carries datagram sockets only. */
const DATAGRAM_CASES = ['udp', 'mmsg', 'errqueue', 'ping', 'exec'];
/** The stack's IPv6 address the library run uses (the fixture's loopback). */
const STACK_ADDR6 = '::1';

/** A shell prelude for a fresh network namespace: loopback up, ping sockets allowed for every group. */
const NETNS_PRELUDE = 'ip link set lo up && echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range';

function inNetns(program: string, args: string[], env: NodeJS.ProcessEnv, before = '') {
  const quoted = [program, ...args].map((a) => `'${a}'`).join(' ');
  return run('unshare', ['-n', 'sh', '-c', `${NETNS_PRELUDE} && ${before} exec ${quoted}`], env);
}

/** The daemon must speak the protocol version the library was built for (proto.h). */
function needSameProtocol(): Requirement {
  const m = /#define ZT_PROTO_VERSION (\d+)/.exec(readFileSync(join(ROOT, 'native', 'intercept', 'proto.h'), 'utf8'));
  const lib = Number(m?.[1]);
  return lib === PROTO_VERSION
    ? { ok: true, reason: '' }
    : { ok: false, reason: `the daemon speaks protocol ${PROTO_VERSION}, the library ${lib}` };
}

const RIG = combine(needRootNetns(), needPrograms('cc', 'make', 'python3', 'unshare', 'ip'));

describe.runIf(requireOrSkip(RIG, 'IPv6 socket behaviour'))('libztintercept.so AF_INET6 sockets behave as the kernel', () => {
  const tmp = tempDir('ztnc-ipv6-');
  let behave: string;
  const kernel = new Map<string, string>();

  beforeAll(() => {
    behave = compileC('behave_v6', tmp.dir);
  });

  afterAll(() => tmp.remove());

  async function kernelRun(name: string): Promise<string> {
    if (!kernel.has(name)) {
      const r = await inNetns(behave, [name, '::1', '127.0.0.1'], plainEnv());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('FATAL');
      kernel.set(name, r.stdout);
    }
    return kernel.get(name)!;
  }

  for (const name of CASES) {
    it(`${name}: the kernel's own run completes`, async () => {
      expect(await kernelRun(name)).not.toBe('');
    });
  }

  for (const name of DATAGRAM_CASES) {
    it(`${name}: the same through the kernel-backed stand-in daemon`, async () => {
      const want = await kernelRun(name);
      const sock = join(tmp.dir, `bridge-${name}.sock`);
      const bridge = join(ROOT, 'test', 'shim', 'dgram_bridge_daemon.py');
      const start = `(env -u LD_PRELOAD python3 '${bridge}' '${sock}' > '${sock}.out' 2>&1 &) && for i in $(seq 100); do grep -q READY '${sock}.out' 2>/dev/null && break; sleep 0.05; done &&`;
      const env = { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: NWID, ZT_NC_SOCKET: sock };
      const r = await inNetns(behave, [name, '::1', '127.0.0.1'], env, start);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(want);
      expect(r.code).toBe(0);
    });
  }

  describe.runIf(requireOrSkip(needSameProtocol(), 'IPv6 behaviour on the daemon'))('on the daemon', () => {
    let daemon: Daemon;
    beforeAll(async () => {
      daemon = await startDaemon(`${tmp.dir}/rpc/net.sock`);
    });
    afterAll(async () => {
      await daemon?.stop();
    });

    for (const name of CASES) {
      it(`${name}: the same on the daemon's stack as on the kernel`, async () => {
        const want = await kernelRun(name);
        const r = await inNetns(behave, [name, STACK_ADDR6, STACK_ADDR], shimEnv(daemon.socketPath));
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe(want);
        expect(r.code).toBe(0);
      });
    }
  });
});
