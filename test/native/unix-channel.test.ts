import { createHash, randomBytes } from 'node:crypto';
import { openSync, readdirSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';
import { closeFd, peerCred, socketpair, takeUnixSocket } from '../../src/native/binding.js';
import { UnixChannel } from '../../src/native/unix-channel.js';

const channels: UnixChannel[] = [];

afterEach(() => {
  for (const c of channels.splice(0)) c.close();
  removeTempDirs();
});

function pair(type: 'stream' | 'seqpacket', opts: ConstructorParameters<typeof UnixChannel>[1] = {}): [UnixChannel, UnixChannel] {
  const [a, b] = socketpair(type);
  const ca = new UnixChannel(a, opts);
  const cb = new UnixChannel(b, opts);
  channels.push(ca, cb);
  return [ca, cb];
}

function tempFile(name: string): { path: string; fd: number } {
  const d = tempDir('ztnc-chan-');
  const path = join(d, name);
  return { path, fd: openSync(path, 'w') };
}

/** How many of this process's fds refer to `path` (fd numbers are reused, so count, not probe). */
function fdsOpenOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // the fd used to list the directory is gone by now
    }
  }
  return n;
}

describe('UnixChannel', () => {
  it('delivers seqpacket messages in order, each with its fds, and the fds work', async () => {
    const [a, b] = pair('seqpacket');
    const files = [tempFile('one'), tempFile('two')];
    const got: { text: string; fds: number[] }[] = [];
    const done = new Promise<void>((resolve) => {
      b.handlers.onMessage = (data, fds) => {
        got.push({ text: data.toString(), fds });
        if (got.length === 3) resolve();
      };
    });
    expect(a.send(Buffer.from('plain'))).toBe(true);
    expect(a.send(Buffer.from('with-one'), [files[0]!.fd], { closeFds: true })).toBe(true);
    a.send(Buffer.from('with-two'), [files[1]!.fd]);
    await done;
    expect(got.map((g) => g.text)).toEqual(['plain', 'with-one', 'with-two']);
    expect(got.map((g) => g.fds.length)).toEqual([0, 1, 1]);
    // closeFds closed the sender's copy (only the received fd is left); without it both remain.
    expect(fdsOpenOn(files[0]!.path)).toBe(1);
    expect(fdsOpenOn(files[1]!.path)).toBe(2);
    closeFd(files[1]!.fd);
    writeSync(got[1]!.fds[0]!, 'written through the received fd');
    closeFd(got[1]!.fds[0]!);
    closeFd(got[2]!.fds[0]!);
    expect(readFileSync(files[0]!.path, 'utf8')).toBe('written through the received fd');
  });

  it('moves 8 MB over a stream pair with backpressure, byte-exact', async () => {
    const [a, b] = pair('stream', { highWaterMark: 256 * 1024 });
    const payload = randomBytes(8 << 20);
    const hash = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve) => {
      b.handlers.onMessage = (data) => {
        hash.update(data);
        received += data.length;
        if (received === payload.length) resolve();
      };
    });
    let off = 0;
    let sawBackpressure = false;
    const pump = () => {
      while (off < payload.length) {
        const chunk = payload.subarray(off, off + 64 * 1024);
        off += chunk.length;
        if (!a.send(chunk)) {
          sawBackpressure = true;
          return;
        }
      }
    };
    a.handlers.onDrain = pump;
    pump();
    await done;
    expect(sawBackpressure).toBe(true);
    expect(a.queuedBytes).toBe(0);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('reports the peer’s close as onClose(0), and a send to a closed peer as EPIPE', async () => {
    const [a, b] = pair('stream');
    const ended = new Promise<number>((resolve) => (b.handlers.onClose = resolve));
    a.close();
    expect(await ended).toBe(0);
    expect(b.isClosed).toBe(true);

    const [c, d] = pair('stream');
    d.close();
    const failed = new Promise<number>((resolve) => (c.handlers.onClose = resolve));
    const file = tempFile('x');
    expect(c.send(Buffer.from('into the void'), [file.fd], { closeFds: true })).toBe(false);
    expect(await failed).toBe(32);
    expect(fdsOpenOn(file.path)).toBe(0);
    // Sending after close is refused without throwing.
    expect(c.send(Buffer.from('late'))).toBe(false);
  });

  it('reports a reset (peer closed with our data unread) as ECONNRESET', async () => {
    const [a, b] = pair('stream');
    b.pause();
    a.send(Buffer.from('never read'));
    await new Promise((r) => setTimeout(r, 20));
    const reset = new Promise<number>((resolve) => (a.handlers.onClose = resolve));
    b.close();
    expect(await reset).toBe(104);
  });

  it('takes over a connection accepted by net.Server and passes a socketpair end both ways', async () => {
    const d = tempDir('ztnc-chan-');
    const path = join(d, 'ctl.sock');
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const client = net.connect(path);
      await new Promise<void>((resolve) => client.once('connect', resolve));
      const serverSide = new UnixChannel(takeUnixSocket(await accepted));
      const clientSide = new UnixChannel(takeUnixSocket(client));
      channels.push(serverSide, clientSide);
      expect(peerCred(serverSide.fd).pid).toBe(process.pid);

      // The daemon's pattern: keep one end of a socketpair, hand the other to the app.
      const [daemonEnd, appEnd] = socketpair('stream');
      const received = new Promise<number[]>((resolve) => (clientSide.handlers.onMessage = (_d, fds) => resolve(fds)));
      serverSide.send(Buffer.from([0x01]), [appEnd!], { closeFds: true });
      const [appFd] = await received;
      const fromApp = new UnixChannel(appFd!);
      const toApp = new UnixChannel(daemonEnd!);
      channels.push(fromApp, toApp);
      const echoed = new Promise<string>((resolve) => (toApp.handlers.onMessage = (data) => resolve(data.toString())));
      fromApp.send(Buffer.from('hello over the passed socketpair'));
      expect(await echoed).toBe('hello over the passed socketpair');
    } finally {
      server.close();
    }
  });

  it('pushes back on queued fds, not only queued bytes, and sends them all once drained', async () => {
    const [a, b] = pair('seqpacket', { fdHighWaterMark: 4 });
    b.pause();
    const file = tempFile('many');
    // Fill the socket so later sends queue in the channel.
    let accepted = 0;
    for (; accepted < 100_000 && a.queuedFdCount === 0; accepted++) a.send(Buffer.from([2]), [file.fd]);
    const queuedBefore = a.queuedFdCount;
    expect(queuedBefore).toBe(1);
    let refused = 0;
    for (let i = 0; i < 10; i++) if (!a.send(Buffer.from([3]), [file.fd])) refused++;
    expect(a.queuedFdCount).toBe(11);
    expect(refused).toBe(7);
    let fdsReceived = 0;
    const total = accepted + 10;
    const drained = new Promise<void>((resolve) => (a.handlers.onDrain = resolve));
    const all = new Promise<void>((resolve) => {
      b.handlers.onMessage = (_d, fds) => {
        fdsReceived += fds.length;
        for (const fd of fds) closeFd(fd);
        if (fdsReceived === total) resolve();
      };
    });
    b.resume();
    await drained;
    await all;
    expect(a.queuedFdCount).toBe(0);
    closeFd(file.fd);
  });

  it('closes fds beyond maxFds and flags ctrunc', async () => {
    const [a, b] = pair('seqpacket', { maxFds: 1 });
    const files = [tempFile('p'), tempFile('q'), tempFile('r')];
    const got = new Promise<{ fds: number[]; ctrunc: boolean }>((resolve) => {
      b.handlers.onMessage = (_data, fds, info) => resolve({ fds, ctrunc: info.ctrunc });
    });
    a.send(
      Buffer.from('m'),
      files.map((f) => f.fd),
      { closeFds: true },
    );
    const msg = await got;
    expect(msg.ctrunc).toBe(true);
    expect(msg.fds.length).toBe(1);
    closeFd(msg.fds[0]!);
  });

  it('pause() holds messages back until resume()', async () => {
    const [a, b] = pair('seqpacket');
    const got: string[] = [];
    b.handlers.onMessage = (data) => got.push(data.toString());
    b.pause();
    a.send(Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([]);
    const arrived = new Promise<void>((resolve) => (b.handlers.onMessage = (data) => (got.push(data.toString()), resolve())));
    b.resume();
    await arrived;
    expect(got).toEqual(['held']);
  });
});
