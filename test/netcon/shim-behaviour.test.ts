/**
 * libztintercept.so against the kernel: every case of test/shim/behave.c runs twice, once on the
 * host's loopback without the library (the reference) and once under the library on the fixture
 * daemon's network; the printed lines must be identical. probe.c covers what has no kernel twin.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, type Daemon, plainEnv, run, shimEnv, STACK_ADDR, startDaemon, tempDir } from './harness.js';

const CASES = [
  'flags',
  'options',
  'posted-options',
  'ip-options',
  'tcp-info',
  'cc-info',
  'fastopen-sendto',
  'bind',
  'connect',
  'accept',
  'eintr',
  'readiness',
  'multiproc',
  'multiproc-exclusive',
  'threads',
  'thread-exit',
  'fork',
  'dup',
  'close-range',
  'daemon',
  'exec',
  'exec-listener',
  'transfer',
  'stream',
  'backlog',
  'reuse',
  'after-end',
];

/**
 * Cases about the stack's own TCP, run with the same-daemon fast path turned off (their two ends
 * are programs on one daemon): TCP_INFO's byte and segment counters, TCP_CC_INFO's congestion
 * model, and TIME_WAIT holding a port after the connection. A fast-path connection is a kernel
 * socketpair: it counts neither, has no congestion control and leaves no TIME_WAIT (test/netcon/fast-path.test.ts, native/intercept/README.md).
 */
const STACK_PATH_ONLY = new Set(['tcp-info', 'cc-info', 'reuse']);

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'netcon shim behaviour'))('libztintercept.so behaves as the kernel', () => {
  const tmp = tempDir('ztnc-shim-');
  let daemon: Daemon;
  let behave: string;
  let probe: string;

  beforeAll(async () => {
    behave = compileC('behave', tmp.dir);
    probe = compileC('probe', tmp.dir);
    daemon = await startDaemon(`${tmp.dir}/rpc/net.sock`);
  });

  afterAll(async () => {
    await daemon?.stop();
    tmp.remove();
  });

  for (const name of CASES) {
    it(`${name}: same result as the kernel`, async () => {
      const kernel = await run(behave, [name, '127.0.0.1'], plainEnv());
      expect(kernel.code, kernel.stderr).toBe(0);
      expect(kernel.stdout).not.toContain('FATAL');
      const shim = await run(
        behave,
        [name, STACK_ADDR],
        shimEnv(daemon.socketPath, STACK_PATH_ONLY.has(name) ? { ZT_NC_FASTPATH: '0' } : {}),
      );
      expect(shim.stderr).toBe('');
      expect(shim.stdout).toBe(kernel.stdout);
      expect(shim.code).toBe(0);
    });
  }

  it('the stack loopback 127.0.0.1 works like the kernel one', async () => {
    for (const name of ['bind', 'accept', 'connect']) {
      const kernel = await run(behave, [name, '127.0.0.1'], plainEnv());
      const shim = await run(behave, [name, '127.0.0.1'], shimEnv(daemon.socketPath));
      expect(shim.stdout, name).toBe(kernel.stdout);
    }
  });

  it('peer reset: the kernel reports ECONNRESET; under the library the app sees the stream end', async () => {
    // A socketpair cannot carry an error to the app unless it has unsent data; see intercept.md.
    const kernel = await run(behave, ['reset', '127.0.0.1'], plainEnv());
    expect(kernel.stdout.trim()).toBe('read after peer reset ECONNRESET');
    const shim = await run(behave, ['reset', STACK_ADDR], shimEnv(daemon.socketPath));
    expect(['read after peer reset ECONNRESET', 'read after peer reset EOF']).toContain(shim.stdout.trim());
  });

  it('IPv6 sockets are carried (the stack is dual-stack); UDP is carried; AF_UNIX is untouched', async () => {
    const r = await run(probe, ['families', STACK_ADDR], shimEnv(daemon.socketPath));
    expect(r.stdout.split('\n')).toEqual(['inet6 OK', 'udp OK', 'unix OK', 'unix pair OK', 'unix pair domain 1', '']);
  });

  it('nothing reaches around the container: packet, raw (but ICMP), vsock and network-configuring netlink sockets are refused', async () => {
    const expected = [
      'packet raw EAFNOSUPPORT',
      'packet dgram EAFNOSUPPORT',
      // Raw ICMP(v6) and ICMP "ping" sockets are carried on the virtual network; raw TCP is not.
      'inet raw OK',
      'inet raw tcp EPROTONOSUPPORT',
      'inet ping OK',
      'inet6 raw OK',
      'inet6 raw tcp EPROTONOSUPPORT',
      'inet6 ping OK',
      'vsock EAFNOSUPPORT',
      'xdp EAFNOSUPPORT',
      'netlink route OK',
      'netlink netfilter EPROTONOSUPPORT',
      'netlink sock_diag EPROTONOSUPPORT',
      'syscall packet EAFNOSUPPORT',
      'syscall inet raw EPROTONOSUPPORT',
      'syscall inet udp OK',
      'syscall inet ping OK',
      'syscall inet6 raw EPROTONOSUPPORT',
      'syscall inet6 udp OK',
      'socketpair unix OK',
      'socketpair inet EOPNOTSUPP',
      'socketpair inet6 EOPNOTSUPP',
      'socketpair packet EAFNOSUPPORT',
      'syscall socketpair tipc EAFNOSUPPORT',
      'getifaddrs OK',
      '',
    ];
    const r = await run(probe, ['containment', STACK_ADDR], shimEnv(daemon.socketPath));
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(expected);
    // A name that is not a network id refuses them too.
    const bad = await run(probe, ['containment', STACK_ADDR], shimEnv(daemon.socketPath, { ZT_NC_NWID: 'nonsense' }));
    expect(bad.stdout.split('\n').slice(0, 2)).toEqual(expected.slice(0, 2));
    if (process.getuid?.() === 0) {
      // As root the kernel hands these out: the refusals above are the library's.
      const kernel = await run(probe, ['containment', '127.0.0.1'], plainEnv());
      expect(kernel.stdout).toContain('packet raw OK');
      expect(kernel.stdout).toContain('inet raw tcp OK');
    }
    const py = await run('python3', ['-c', 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'], shimEnv(daemon.socketPath));
    expect(py.code).not.toBe(0);
    expect(py.stderr).toContain('Address family not supported');
  });

  it('a port nobody listens on is refused at once; an address nobody has fails within the ARP time', async () => {
    const refused = await run(behave, ['connect', STACK_ADDR], shimEnv(daemon.socketPath));
    expect(refused.stdout).toContain('blocking refused ECONNREFUSED fast 1');
    const r = await run(probe, ['unreachable', '10.147.17.99'], shimEnv(daemon.socketPath), 60_000);
    const m = /connect (\w+) after ([\d.]+) s/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(['EHOSTUNREACH', 'ETIMEDOUT']).toContain(m![1]);
    expect(Number(m![2])).toBeLessThan(10);
    const off = await run(probe, ['unreachable', '192.0.2.1'], shimEnv(daemon.socketPath));
    expect(off.stdout).toMatch(/connect ENETUNREACH after 0\.\d s/);
  });

  it('each thread has a control channel, closed when it exits; a forked child closes the ones it inherited', async () => {
    const r = await run(probe, ['fork-channels', STACK_ADDR], shimEnv(daemon.socketPath));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'threads opened channels 4\nchild closed inherited channels 5, opened its own 1\nchannels after threads exit 0\n',
    );
  });

  it('with no daemon, socket() fails at once with ENETDOWN and AF_UNIX still works', async () => {
    const r = await run(probe, ['absent'], shimEnv(`${tmp.dir}/nobody-here.sock`));
    expect(r.stdout).toBe('socket ENETDOWN fast 1\nunix still OK\n');
  });

  it('survives a daemon restart: old sockets end, calls fail fast while it is down, new ones work after', async () => {
    // A stack connection ends with its daemon; a fast-path one outlives it (fast-path.test.ts).
    const env = shimEnv(daemon.socketPath, { ZT_NC_FASTPATH: '0' });
    const p = spawn(probe, ['restart', STACK_ADDR], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitLine = async (text: string): Promise<void> => {
      const end = Date.now() + 15_000;
      while (!out.includes(text)) {
        if (Date.now() > end) throw new Error(`no "${text}" in: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await waitLine('phase1');
      await daemon.kill9();
      p.stdin.write('down\n');
      await waitLine('socket while down');
      daemon = await startDaemon(daemon.socketPath);
      p.stdin.write('up\n');
      await waitLine('phase2');
      p.stdin.end();
      expect(out).toBe('phase1 1\nold connection ended 1\nold listener accept fails 1\nsocket while down ENETDOWN fast 1\nphase2 1\n');
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('ZT_NC_DEBUG=1 traces calls to stderr; without ZT_NC_NWID the library does nothing', async () => {
    const traced = await run(behave, ['flags', STACK_ADDR], shimEnv(daemon.socketPath, { ZT_NC_DEBUG: '1' }));
    expect(traced.stderr).toMatch(/\[ztnc \d+\] active for network 8056c2e21c000001/);
    expect(traced.stderr).toMatch(/listen\(\d+\) = 0/);
    const env = shimEnv(daemon.socketPath);
    delete env.ZT_NC_NWID;
    const inactive = await run(behave, ['bind', '127.0.0.1'], env);
    const kernel = await run(behave, ['bind', '127.0.0.1'], plainEnv());
    expect(inactive.stdout).toBe(kernel.stdout);
    // A name that is not a network id fails loudly instead of leaking to the host.
    const bad = await run(probe, ['absent'], shimEnv(daemon.socketPath, { ZT_NC_NWID: 'nonsense' }));
    expect(bad.stdout).toContain('socket ENETDOWN');
  });
});
