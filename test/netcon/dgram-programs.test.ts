/**
 * Unmodified programs with datagram sockets under libztintercept.so on one fixture daemon, each
 * in a network namespace of its own with only loopback (so a socket that escaped the library
 * would find no network): iputils ping (a copy without file capabilities, which the loader would
 * honour LD_PRELOAD for, as root and as another user), a Python UDP echo of every size up to the
 * largest datagram, socat's UDP client and server, and Node's dgram (libuv).
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { daemonForSuite, run, shimEnv, STACK_ADDR, startDaemon } from './harness.js';

/** Runs a shell script in a network namespace of its own (loopback up) under the library. */
function inNetns(script: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000) {
  return run('unshare', ['-n', 'sh', '-c', `ip link set lo up && ${script}`], env, timeoutMs);
}

describe.runIf(
  requireOrSkip(
    combine(needRootNetns(), needPrograms('cc', 'make', 'unshare', 'ping', 'python3', 'socat', 'setpriv')),
    'datagram programs',
  ),
)('programs with UDP and ICMP sockets on one daemon', () => {
  const { tmp, daemon } = daemonForSuite('ztnc-dgram-apps-');

  it('ping: two echo replies from the stack, over an ICMP datagram socket', async () => {
    const ping = join(tmp.dir, 'ping');
    copyFileSync('/usr/bin/ping', ping); // a copy carries no file capabilities
    const r = await inNetns(`${ping} -c 2 -W 3 ${STACK_ADDR}`, shimEnv(daemon().socketPath, { ZT_NC_DEBUG: '1' }));
    expect(r.stdout, r.stderr).toContain('2 packets transmitted, 2 received');
    expect(r.stderr).toMatch(/socket\(AF_INET, 2, 1\) = \d+/);
    expect(r.code).toBe(0);
  });

  it('ping as an unprivileged user, with its own daemon: the same', async () => {
    // nobody's daemon, in a directory of nobody's own (the library trusts only its own user's daemon).
    const home = join(tmp.dir, 'nobody');
    mkdirSync(join(home, 'rpc'), { recursive: true });
    chmodSync(tmp.dir, 0o711);
    for (const d of [home, join(home, 'rpc')]) {
      chownSync(d, 65534, 65534);
      chmodSync(d, 0o700);
    }
    const ping = join(tmp.dir, 'ping-copy');
    copyFileSync('/usr/bin/ping', ping);
    chmodSync(ping, 0o755);
    const d = await startDaemon(join(home, 'rpc', 'net.sock'), [], '65534');
    try {
      const r = await inNetns(
        `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${ping} -c 2 -W 3 ${STACK_ADDR}`,
        shimEnv(d.socketPath),
      );
      expect(r.stdout, r.stderr).toContain('2 packets transmitted, 2 received');
    } finally {
      await d.stop();
    }
  });

  it('python: a UDP echo of every size, 0 to 1,400 bytes, 8,000 and 65,507, with the right source', async () => {
    const script = join(tmp.dir, 'echo.py');
    writeFileSync(
      script,
      `import os, socket, sys
A = sys.argv[1]
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); srv.bind((A, 7000))
pid = os.fork()
if pid == 0:
    while True:
        d, a = srv.recvfrom(65535); srv.sendto(d, a)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(3); bad = 0
for n in list(range(0, 1400, 7)) + [8000, 65507]:
    d = os.urandom(n); c.sendto(d, (A, 7000))
    try:
        r, a = c.recvfrom(65535)
    except OSError:
        bad += 1; continue
    if r != d or a != (A, 7000): bad += 1
print('bad', bad, flush=True)
os.kill(pid, 9)
os._exit(0)
`,
    );
    const r = await inNetns(`python3 ${script} ${STACK_ADDR}`, shimEnv(daemon().socketPath));
    expect(r.stdout, r.stderr).toBe('bad 0\n');
  });

  it('socat: a UDP client sends its input and shuts down; the forking UDP server echoes it back whole', async () => {
    const input = join(tmp.dir, 'in.bin');
    writeFileSync(input, Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff)));
    const script = `socat UDP4-RECVFROM:7001,bind=${STACK_ADDR},fork EXEC:cat & sleep 1; socat -t 2 - UDP4:${STACK_ADDR}:7001 < ${input} | cmp - ${input} && echo same; kill $!`;
    const r = await inNetns(script, shimEnv(daemon().socketPath));
    expect(r.stdout, r.stderr).toContain('same');
  });

  it('node: dgram (libuv) echoes 50 datagrams', async () => {
    const script = join(tmp.dir, 'echo.js');
    writeFileSync(
      script,
      `const dgram = require('dgram'); const A = process.argv[2];
const s = dgram.createSocket('udp4'); const c = dgram.createSocket('udp4'); let got = 0;
s.on('message', (m, r) => s.send(m, r.port, r.address));
c.on('message', () => { if (++got === 50) { console.log('echoed 50'); process.exit(0); } });
s.bind(7100, A, () => { for (let i = 0; i < 50; i++) c.send(Buffer.alloc(i * 20, i), 7100, A); });
`,
    );
    const r = await inNetns(`${process.execPath} ${script} ${STACK_ADDR}`, shimEnv(daemon().socketPath));
    expect(r.stdout, r.stderr).toBe('echoed 50\n');
  });
});
