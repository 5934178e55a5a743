import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/temp-dir.js';
import {
  closeFd,
  fstatIno,
  isSystemError,
  peerCred,
  recvFds,
  sendFds,
  setNonBlocking,
  socketFromFd,
  socketpair,
  unixSocketFd,
  type SystemError,
} from '../../src/native/binding.js';

const opened: number[] = [];

function track(...fds: number[]): number[] {
  opened.push(...fds);
  return fds;
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // already closed by the test
  }
}

afterEach(() => {
  for (const fd of opened.splice(0)) closeQuietly(fd);
  removeTempDirs();
});

function thrown(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (e) {
    if (isSystemError(e)) return e;
    throw new Error(`expected a SystemError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a throw');
}

describe('socketpair and sendFds/recvFds data', () => {
  it('carries bytes both ways on a stream pair', () => {
    const [a, b] = track(...socketpair('stream', { nonBlocking: true }));
    expect(sendFds(a!, Buffer.from('ping'), [])).toBe(4);
    expect(sendFds(b!, Buffer.from('pong!'), [])).toBe(5);
    const atB = recvFds(b!, 100, 0);
    const atA = recvFds(a!, 100, 0);
    expect(atB?.data.toString()).toBe('ping');
    expect(atA?.data.toString()).toBe('pong!');
    expect(atB?.fds).toEqual([]);
    expect(atB?.ctrunc).toBe(false);
  });

  it('returns null when nothing is waiting (EAGAIN), and an empty read at end of stream', () => {
    const [a, b] = track(...socketpair('stream'));
    expect(recvFds(a!, 16, 1)).toBeNull();
    closeFd(b!);
    const eof = recvFds(a!, 16, 1);
    expect(eof).not.toBeNull();
    expect(eof!.data.length).toBe(0);
  });

  it('keeps message boundaries on seqpacket and reports MSG_TRUNC', () => {
    const [a, b] = track(...socketpair('seqpacket', { nonBlocking: true }));
    sendFds(a!, Buffer.from('first'), []);
    sendFds(a!, Buffer.from('second-message'), []);
    expect(recvFds(b!, 100, 0)?.data.toString()).toBe('first');
    const cut = recvFds(b!, 6, 0);
    expect(cut?.data.toString()).toBe('second');
    expect(cut?.trunc).toBe(true);
    expect(recvFds(b!, 100, 0)).toBeNull();
  });

  it('returns null from sendFds when the peer buffer is full', () => {
    const [a] = track(...socketpair('stream', { nonBlocking: true }));
    const chunk = Buffer.alloc(65536, 7);
    let sent = 0;
    let full = false;
    for (let i = 0; i < 10_000 && !full; i++) {
      const n = sendFds(a!, chunk, []);
      if (n === null) full = true;
      else sent += n;
    }
    expect(full).toBe(true);
    expect(sent).toBeGreaterThan(0);
  });
});

describe('fd passing with SCM_RIGHTS', () => {
  it('passes a pipe (FIFO) write end that works on the other side', () => {
    const fifo = join(tempDir('ztnc-fd-'), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const writer = openSync(fifo, fsConstants.O_WRONLY);
    track(reader, writer);
    const [a, b] = track(...socketpair('stream'));

    expect(sendFds(a!, Buffer.from([1]), [writer])).toBe(1);
    const got = recvFds(b!, 16, 4);
    expect(got?.data).toEqual(Buffer.from([1]));
    expect(got?.fds.length).toBe(1);
    const passed = got!.fds[0]!;
    track(passed);
    expect(passed).not.toBe(writer);
    expect(fstatIno(passed)).toEqual(fstatIno(writer));
    // Received fds are close-on-exec (MSG_CMSG_CLOEXEC).
    const fdinfo = readFileSync(`/proc/self/fdinfo/${passed}`, 'utf8');
    const flags = parseInt(/flags:\s+([0-7]+)/.exec(fdinfo)![1]!, 8);
    expect(flags & 0o2000000).not.toBe(0);

    // Writing through the received fd reaches the pipe's read end after the original is closed.
    closeFd(writer);
    opened.splice(opened.indexOf(writer), 1);
    writeSync(passed, 'through the passed fd');
    const buf = Buffer.alloc(64);
    const n = readSync(reader, buf, 0, 64, null);
    expect(buf.subarray(0, n).toString()).toBe('through the passed fd');
  });

  it('passes several fds in one message', () => {
    const dir = tempDir('ztnc-fd-');
    const files = [0, 1, 2].map((i) => openSync(join(dir, `f${i}`), 'w'));
    track(...files);
    const [a, b] = track(...socketpair('seqpacket'));
    sendFds(a!, Buffer.from('x'), files);
    const got = recvFds(b!, 4, 8);
    track(...got!.fds);
    expect(got!.fds.length).toBe(3);
    expect(got!.ctrunc).toBe(false);
    got!.fds.forEach((fd, i) => expect(fstatIno(fd)).toEqual(fstatIno(files[i]!)));
  });

  it('reports MSG_CTRUNC when more fds arrive than there is room for', () => {
    const dir = tempDir('ztnc-fd-');
    const files = [0, 1, 2].map((i) => openSync(join(dir, `g${i}`), 'w'));
    track(...files);
    const [a, b] = track(...socketpair('seqpacket'));
    sendFds(a!, Buffer.from('x'), files);
    sendFds(a!, Buffer.from('y'), [files[0]!]);
    const cut = recvFds(b!, 4, 1);
    track(...cut!.fds);
    expect(cut!.ctrunc).toBe(true);
    expect(cut!.fds.length).toBe(1);
    expect(fstatIno(cut!.fds[0]!)).toEqual(fstatIno(files[0]!));
    const none = recvFds(b!, 4, 0);
    expect(none!.data.toString()).toBe('y');
    expect(none!.ctrunc).toBe(true);
    expect(none!.fds).toEqual([]);
  });
});

describe('SO_PEERCRED', () => {
  it('names this process for a socketpair', () => {
    const [a] = track(...socketpair('stream'));
    expect(peerCred(a!)).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('names the connecting child process on an accepted Unix socket', async () => {
    const path = join(tempDir('ztnc-fd-'), 'ctl.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const child = spawn(process.execPath, [
      '-e',
      `const s=require('net').connect(${JSON.stringify(path)});s.on('connect',()=>s.write('hi'));s.on('data',()=>s.end());`,
    ]);
    try {
      const conn = await new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const fd = unixSocketFd(conn);
      expect(fd).toBeTypeOf('number');
      const cred = peerCred(fd!);
      expect(cred.pid).toBe(child.pid);
      expect(cred.uid).toBe(process.getuid!());
      conn.end('bye');
      await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    } finally {
      child.kill();
      server.close();
    }
  });
});

describe('errors come back as errno', () => {
  it('EBADF for a closed or invalid fd', () => {
    const [a, b] = socketpair('stream');
    closeFd(a);
    closeFd(b);
    for (const call of [
      () => recvFds(a, 8, 1),
      () => sendFds(a, Buffer.from('x'), []),
      () => peerCred(a),
      () => fstatIno(-1),
      () => closeFd(b),
      () => setNonBlocking(a),
    ]) {
      const e = thrown(call);
      expect(e.errno).toBe(9);
      expect(e.code).toBe('EBADF');
      expect(e.message).toContain('EBADF');
    }
  });

  it('ENOTSOCK, EPIPE and EINVAL with the failing syscall named', () => {
    const file = openSync(join(tempDir('ztnc-fd-'), 'plain'), 'w');
    track(file);
    const notSock = thrown(() => peerCred(file));
    expect(notSock.code).toBe('ENOTSOCK');
    expect(notSock.syscall).toBe('getsockopt');

    const [a, b] = track(...socketpair('stream'));
    closeFd(b!);
    opened.splice(opened.indexOf(b!), 1);
    // MSG_NOSIGNAL: EPIPE as an error, no SIGPIPE killing the process.
    const pipe = thrown(() => sendFds(a!, Buffer.from('x'), []));
    expect(pipe.code).toBe('EPIPE');
    expect(pipe.syscall).toBe('sendmsg');

    const tooMany = thrown(() => sendFds(a!, Buffer.from('x'), new Array<number>(300).fill(file)));
    expect(tooMany.code).toBe('EINVAL');
  });

  it('TypeError for wrong argument types', () => {
    expect(() => recvFds('x' as unknown as number, 1, 1)).toThrow(TypeError);
    expect(() => socketpair('dgram' as unknown as 'stream')).toThrow(TypeError);
  });
});

describe('net.Socket over a socketpair end', () => {
  it('moves 4 MB each way intact between two wrapped ends', async () => {
    const [a, b] = socketpair('stream');
    const left = socketFromFd(a);
    const right = socketFromFd(b);
    const payloadA = randomBytes(4 << 20);
    const payloadB = randomBytes(4 << 20);
    const collect = (s: net.Socket) =>
      new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => resolve(Buffer.concat(parts)));
        s.on('error', reject);
      });
    const atRight = collect(right);
    const atLeft = collect(left);
    left.end(payloadA);
    right.end(payloadB);
    const [gotRight, gotLeft] = await Promise.all([atRight, atLeft]);
    const sha = (x: Buffer) => createHash('sha256').update(x).digest('hex');
    expect(sha(gotRight)).toBe(sha(payloadA));
    expect(sha(gotLeft)).toBe(sha(payloadB));
    left.destroy();
    right.destroy();
  });

  it('reads what native sendFds wrote, with the fds discarded by the kernel', async () => {
    const [a, b] = socketpair('stream');
    track(b);
    const sock = socketFromFd(a);
    const file = openSync(join(tempDir('ztnc-fd-'), 'h'), 'w');
    track(file);
    const got = new Promise<Buffer>((resolve) => sock.once('data', resolve));
    sendFds(b, Buffer.from('hello'), [file]);
    expect((await got).toString()).toBe('hello');
    sock.destroy();
  });
});
