/**
 * The same-daemon fast path (src/netcon/fast-path.ts): two programs under libztintercept.so on one
 * daemon end up on one kernel socketpair. Every case of test/shim/fastpath.c runs on the kernel's
 * loopback (the reference) and under the library against a daemon in this process, whose
 * counters show the fast path was taken (so no case passes through the stack by accident); the
 * printed lines must be identical. ZT_NC_FASTPATH=0 still goes through the stack, and records are
 * swept once both ends are closed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetconServer } from '../../src/netcon/server.js';
import { parseUnixInodes } from '../../src/netcon/unix-inodes.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { createNetStack, type NetStack } from '../../src/netstack/index.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, plainEnv, prepare, run, shimEnv, STACK_ADDR, tempDir, waitFor } from './harness.js';

/** Each case with the fast-path connections it makes. */
const CASES: Array<[string, number]> = [
  ['blocking', 1],
  ['nonblocking', 1],
  ['large', 1],
  ['shutdown', 1],
  ['reset', 2],
  ['accept4', 2],
  ['ipv6', 1],
  ['dual', 1],
  ['fork', 1],
  ['tcp-info', 1],
];
/** Cases whose lines the stack path gives as the kernel does too (the opt-out run). */
const STACK_CASES = ['blocking', 'large', 'accept4', 'dual', 'fork'];

describe('/proc/net/unix', () => {
  it('lists inodes from the 7th column, skipping the header and malformed lines', () => {
    const text =
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
      '00000000fa40bd11: 00000003 00000000 00000000 0001 03 6155802\n' +
      '0000000085b71992: 00000003 00000000 00010000 0001 01  1059 /run/x.sock\n' +
      'garbage\n';
    expect([...parseUnixInodes(text)]).toEqual([6155802, 1059]);
    expect(parseUnixInodes('').size).toBe(0);
  });
});

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'same-daemon fast path'))('same-daemon fast path', () => {
  const tmp = tempDir('ztnc-fastpath-');
  const socketPath = join(tmp.dir, 'rpc', 'net.sock');
  let stack: NetStack;
  let server: NetconServer;
  let prog: string;
  const kernel = new Map<string, string>();
  const counter = (name: string): number => server.counters.snapshot()[name] ?? 0;

  beforeAll(async () => {
    await prepare();
    prog = compileC('fastpath', tmp.dir);
    stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 7]), name: 'fastpath' });
    stack.addAddress(parseIpv4(STACK_ADDR)!, 24);
    stack.setLinkOutput(() => {});
    server = new NetconServer(stack, socketPath, pino({ level: 'silent' }), { fastPath: { sweepMs: 20 } });
    await server.start();
  });

  afterAll(async () => {
    await server?.close();
    stack?.close();
    tmp.remove();
  });

  async function kernelLines(name: string): Promise<string> {
    if (!kernel.has(name)) {
      const r = await run(prog, [name, '127.0.0.1', '::1'], plainEnv());
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('FATAL');
      kernel.set(name, r.stdout);
    }
    return kernel.get(name)!;
  }

  for (const [name, connections] of CASES) {
    it(`${name}: same as the kernel, through the fast path`, async () => {
      const expected = await kernelLines(name);
      const before = counter('fastPath.connects');
      const r = await run(prog, [name, STACK_ADDR, '::1'], shimEnv(socketPath));
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(expected);
      expect(r.code).toBe(0);
      expect(counter('fastPath.connects') - before).toBe(connections);
    });
  }

  it('ZT_NC_FASTPATH=0 goes through the stack, with the same results', async () => {
    for (const name of STACK_CASES) {
      const expected = await kernelLines(name);
      const before = counter('fastPath.connects');
      const opens = stack.counters().tcp!.active_opens ?? 0;
      const r = await run(prog, [name, STACK_ADDR, '::1'], shimEnv(socketPath, { ZT_NC_FASTPATH: '0' }));
      expect(r.stdout, name).toBe(expected);
      expect(counter('fastPath.connects'), name).toBe(before);
      expect(stack.counters().tcp!.active_opens, name).toBeGreaterThan(opens);
    }
  });

  it('keeps the records while an end is open and sweeps them once both are closed', async () => {
    const open = counter('fastPathOpen');
    const closed = counter('fastPath.closed');
    const p = spawn(prog, ['hold', STACK_ADDR, '::1'], { env: shimEnv(socketPath), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('held'), 10_000, 'the held connection');
      expect(counter('fastPathOpen')).toBe(open + 1);
      // Two whole sweeps later the connection, still open, still has its records.
      const sweeps = counter('fastPath.sweeps');
      await waitFor(() => counter('fastPath.sweeps') >= sweeps + 2, 10_000, 'two sweeps');
      expect(counter('fastPathOpen')).toBe(open + 1);
      expect(counter('fastPath.closed')).toBe(closed);
      p.stdin.end();
      expect(await exited).toBe(0);
      await waitFor(() => counter('fastPath.closed') >= closed + 1, 10_000, 'the closed connection swept');
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('has swept every connection of the cases above once their programs ended', async () => {
    await waitFor(() => counter('fastPathOpen') === 0, 10_000, 'no fast-path records left');
    expect(counter('fastPath.closed')).toBe(counter('fastPath.connects'));
  });

  it('a fast-path connection outlives a daemon restart; calls that need the daemon then fail with ENETDOWN', async () => {
    const p = spawn(prog, ['survive', STACK_ADDR, '::1'], { env: shimEnv(socketPath), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('held'), 10_000, 'the held connection');
      await server.close();
      server = new NetconServer(stack, socketPath, pino({ level: 'silent' }), { fastPath: { sweepMs: 20 } });
      await server.start();
      p.stdin.end();
      expect(await exited).toBe(0);
      expect(out).toBe('server got ping\nclient got pong\nheld\nserver got ping\nclient got pong\npeer ENETDOWN\n');
    } finally {
      p.kill('SIGKILL');
    }
  });
});

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'same-daemon fast path turned off'))(
  'same-daemon fast path turned off in the daemon',
  () => {
    const tmp = tempDir('ztnc-nofast-');
    const socketPath = join(tmp.dir, 'rpc', 'net.sock');
    let stack: NetStack;
    let server: NetconServer;

    beforeAll(async () => {
      await prepare();
      stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 8]), name: 'nofast' });
      stack.addAddress(parseIpv4(STACK_ADDR)!, 24);
      stack.setLinkOutput(() => {});
      server = new NetconServer(stack, socketPath, pino({ level: 'silent' }), { fastPath: { enabled: false } });
      await server.start();
    });

    afterAll(async () => {
      await server?.close();
      stack?.close();
      tmp.remove();
    });

    it('fastPath.enabled false: every connection goes through the stack', async () => {
      const prog = compileC('fastpath', tmp.dir);
      const kernel = await run(prog, ['blocking', '127.0.0.1', '::1'], plainEnv());
      const r = await run(prog, ['blocking', STACK_ADDR, '::1'], shimEnv(socketPath));
      expect(r.stdout).toBe(kernel.stdout);
      expect(server.counters.snapshot()['fastPath.connects'] ?? 0).toBe(0);
      expect(stack.counters().tcp!.active_opens).toBeGreaterThan(0);
    });
  },
);
