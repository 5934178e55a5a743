/**
 * ztnc-fdkeeper as a real process, driven the way a daemon drives it: it hands what it holds to
 * the next daemon, and it ends by itself — at once when it holds nothing and no daemon is
 * connected, and as soon as the apps close every kept listener, well before its timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeFd, recvFds, sendFds, socketpair, takeUnixSocket } from '../../src/native/binding.js';
import { UnixChannel } from '../../src/native/unix-channel.js';
import { encodeKeeperMessage, KeeperReader } from '../../src/service/fd-keeper-wire.js';
import { programPath } from '../support/programs.js';
import { tempDir, waitFor } from './service-harness.js';

const LONG_TIMEOUT_MS = 600_000;

interface Keeper {
  proc: ChildProcess;
  daemon: UnixChannel;
  exited: Promise<number | null>;
}

async function startKeeper(socket: string): Promise<Keeper> {
  const program = join(dirname(await programPath('ztnc-service')), 'ztnc-fdkeeper.mjs');
  const [mine, theirs] = socketpair('stream');
  const proc = spawn(process.execPath, [program, '--socket', socket, '--timeout-ms', String(LONG_TIMEOUT_MS)], {
    stdio: ['ignore', 'ignore', 'inherit', theirs],
  });
  closeFd(theirs);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await waitFor(() => existsSync(socket), 20_000, 'the keeper socket');
  return { proc, daemon: new UnixChannel(mine), exited };
}

/** Connects as the next daemon and reads what the keeper hands over. */
async function takeBack(socket: string): Promise<{ channel: UnixChannel; held: Array<{ meta: unknown; fd: number }> }> {
  const conn = net.connect(socket);
  conn.pause();
  await new Promise<void>((resolve, reject) => {
    conn.once('connect', resolve);
    conn.once('error', reject);
  });
  const channel = new UnixChannel(takeUnixSocket(conn));
  const reader = new KeeperReader();
  const held: Array<{ meta: unknown; fd: number }> = [];
  await new Promise<void>((resolve, reject) => {
    channel.handlers = {
      onMessage: (data, fds) => {
        reader.push(data, fds);
        for (let m = reader.next(); m !== null; m = reader.next()) {
          if (m.msg.t === 'held') held.push({ meta: m.msg.meta, fd: m.fd });
          if (m.msg.t === 'end') resolve();
        }
      },
      onClose: () => reject(new Error('the keeper closed the connection')),
    };
  });
  return { channel, held };
}

describe('ztnc-fdkeeper', () => {
  const tmp = tempDir('ztnc-fdkeeper-');
  const started: ChildProcess[] = [];

  afterAll(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  it('exits at once when its daemon goes and it holds nothing', async () => {
    const socket = join(tmp, 'empty.sock');
    const k = await startKeeper(socket);
    started.push(k.proc);
    k.daemon.close();
    expect(await k.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });

  it('hands a held listener to the next daemon, and exits once the app closes it', async () => {
    const socket = join(tmp, 'held.sock');
    const k = await startKeeper(socket);
    started.push(k.proc);
    const [appEnd, daemonEnd] = socketpair('stream');
    const meta = { v: 1, port: 8080 };
    k.daemon.send(encodeKeeperMessage({ t: 'keep', id: 'x#1', meta, fd: true }), [daemonEnd], { closeFds: true });
    await new Promise((r) => setTimeout(r, 200));
    k.daemon.close();
    // no daemon: the app's end stays open (no end of stream)
    await new Promise((r) => setTimeout(r, 200));
    expect(recvFds(appEnd, 64, 1)).toBeNull();

    const next = await takeBack(socket);
    expect(next.held.map((h) => h.meta)).toEqual([meta]);
    // the descriptor handed back is the daemon's end of the app's socket
    expect(sendFds(next.held[0]!.fd, Buffer.from('x'), [])).toBe(1);
    expect(recvFds(appEnd, 64, 1)?.data.toString()).toBe('x');
    next.held.forEach((h) => closeFd(h.fd));
    next.channel.close();

    closeFd(appEnd);
    expect(await k.exited).toBe(0);
  });
});
