/**
 * A program whose daemon has gone for good must not spin. When the daemon's end of a socket
 * closes (the daemon stopped and no fd keeper holds the listener, or the keeper gave up), the app's
 * end would report end of stream — readable — for ever, and a server's event loop would wake, fail
 * accept() (or "receive" an empty datagram) and wake again: python's http.server was seen at 77%
 * CPU. The library reports the end once (accept: EINVAL; recv: ENETDOWN) and from then on the
 * socket is quiet, as a kernel socket whose network has gone: poll/epoll never report it
 * readable, accept and recv block or give EAGAIN. test/shim/ended_sockets.c counts the event
 * loop's wake-ups; nothing here is timed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { compileC, plainEnv, SHIM, startDaemon, STACK_ADDR, tempDir, waitFor } from './harness.js';

const NWID = '8056c2e21c0000e9';

/** Starts `cmd` with the library on a fresh fixture daemon; once it listens, stops the daemon (`how`), says "down" and collects the rest. */
async function runThroughEnd(cmd: string, args: string[], socketPath: string, how: 'stop' | 'kill9'): Promise<string> {
  const daemon = await startDaemon(socketPath);
  const env = { ...plainEnv(), LD_PRELOAD: SHIM, ZT_NC_NWID: NWID, ZT_NC_SOCKET: socketPath };
  const proc: ChildProcess = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    await waitFor(() => out.includes('listening') || proc.exitCode !== null, 20_000, `${cmd} to listen`);
    if (how === 'stop') await daemon.stop();
    else await daemon.kill9();
    proc.stdin!.write('down\n');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
    return out;
  } finally {
    proc.kill('SIGKILL');
    await daemon.stop();
  }
}

describe.runIf(requireOrSkip(needPrograms('cc', 'make', 'python3'), 'ended sockets'))('a socket whose daemon has gone', () => {
  const tmp = tempDir('ztnc-ended-');
  let prog: string;
  beforeAll(() => {
    prog = compileC('ended_sockets', tmp.dir);
  });
  afterAll(() => tmp.remove());

  it('poll: accept reports the end once (EINVAL), then the loop sleeps; a blocking accept waits for a signal', async () => {
    const out = await runThroughEnd(prog, ['poll', STACK_ADDR], join(tmp.dir, 'p', 'net.sock'), 'stop');
    expect(out).toBe(
      ['listening', 'first accept EINVAL', 'accepted 0', 'wakeups at most 1', 'quiet 1', 'blocking accept EINTR', ''].join('\n'),
    );
  });

  it('epoll, non-blocking listener, daemon killed: quiet after the end; the listener keeps its flags and answers EAGAIN', async () => {
    const out = await runThroughEnd(prog, ['epoll', STACK_ADDR], join(tmp.dir, 'e', 'net.sock'), 'kill9');
    expect(out).toBe(
      [
        'listening',
        'first accept EINVAL',
        'accepted 0',
        'wakeups at most 1',
        'quiet 1',
        'still non-blocking 1',
        'still close-on-exec 1',
        'accept now EAGAIN',
        '',
      ].join('\n'),
    );
  });

  it('epoll with the listener shared by another process: still quiet (the epoll registration follows the stand-in)', async () => {
    const out = await runThroughEnd(prog, ['shared', STACK_ADDR], join(tmp.dir, 's', 'net.sock'), 'stop');
    expect(out).toContain('first accept EINVAL\naccepted 0\nwakeups at most 1\nquiet 1\n');
    expect(out).toContain('accept now EAGAIN\n');
  });

  it('UDP: recvfrom reports the end once (ENETDOWN), no empty datagrams, then the loop sleeps; a blocking recv waits for a signal', async () => {
    const out = await runThroughEnd(prog, ['udp', STACK_ADDR], join(tmp.dir, 'u', 'net.sock'), 'stop');
    expect(out).toBe(
      ['listening', 'first recvfrom ENETDOWN', 'received 0', 'wakeups at most 1', 'quiet 1', 'blocking recv EINTR', ''].join('\n'),
    );
  });

  it("python's socketserver loop (selectors, as http.server) sleeps once its daemon has gone", async () => {
    const script = [
      'import selectors, socket, sys',
      's = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(8)',
      'print("listening", flush=True); sys.stdin.readline()',
      'sel = selectors.DefaultSelector(); sel.register(s, selectors.EVENT_READ)',
      'wakeups = timeouts = 0',
      'while timeouts < 5 and wakeups < 5000:',
      '  if sel.select(0.1):',
      '    wakeups += 1',
      '    try: s.accept()',
      '    except OSError: pass',
      '  else: timeouts += 1',
      'print("wakeups", "spinning" if wakeups >= 5000 else "at most 1" if wakeups <= 1 else "several", flush=True)',
    ].join('\n');
    const out = await runThroughEnd('python3', ['-c', script, STACK_ADDR], join(tmp.dir, 'py', 'net.sock'), 'stop');
    expect(out).toBe('listening\nwakeups at most 1\n');
  });
});
