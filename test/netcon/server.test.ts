/**
 * NetconServer in-process, driven by the TypeScript RPC client: socket file safety, hostile and
 * malformed input, the accept hand-over, the socket table's life cycle, backpressure both ways.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeFd } from '../../src/native/binding.js';
import { nativePlumbing } from '../../src/netcon/fd-plumbing.js';
import { FLAG_WAIT, Op } from '../../src/netcon/protocol.js';
import { NetconServer } from '../../src/netcon/server.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { Errno } from '../../src/netstack/errno.js';
import { createNetStack } from '../../src/netstack/index.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { acceptFrom, RpcClient } from './rpc-client.js';
import { tempDir, waitFor } from './harness.js';

const ADDR = parseIpv4('10.147.17.5')!;
const silent = pino({ level: 'silent' });

function makeStack(): NetStack {
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 9]), name: 'test' });
  stack.addAddress(ADDR, 24);
  stack.setLinkOutput(() => {});
  return stack;
}

function streamOf(fd: number): net.Socket {
  return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('NetconServer', () => {
  const tmp = tempDir('ztnc-server-');
  let stack: NetStack;
  let server: NetconServer;
  const clients: RpcClient[] = [];
  const sockPath = join(tmp.dir, 'rpc', 'net.sock');

  async function client(): Promise<RpcClient> {
    const c = await RpcClient.connect(sockPath);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    stack = makeStack();
    server = new NetconServer(stack, sockPath, silent);
    await server.start();
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await server.close();
    stack.close();
    tmp.remove();
  });

  it('serves from a 0700 directory with a 0600 socket and refuses a second server or an open directory', async () => {
    expect(statSync(join(tmp.dir, 'rpc')).mode & 0o777).toBe(0o700);
    expect(statSync(sockPath).mode & 0o777).toBe(0o600);
    const second = new NetconServer(stack, sockPath, silent);
    await expect(second.start()).rejects.toThrow(/another daemon/);
    const openDir = join(tmp.dir, 'open');
    mkdirSync(openDir);
    chmodSync(openDir, 0o755);
    await expect(new NetconServer(stack, join(openDir, 'x.sock'), silent).start()).rejects.toThrow(/0700/);
  });

  it('closes a connection that sends malformed frames, counts it, and keeps serving', async () => {
    const before = server.counters.get('malformedRpc');
    const bad = [
      Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 1, 0, 0]), // absurd length
      (() => {
        const b = Buffer.alloc(16);
        b.writeUInt32LE(12, 0);
        b[4] = 99; // wrong version
        b[5] = Op.WHOIS;
        return b;
      })(),
      (() => {
        const b = Buffer.alloc(16);
        b.writeUInt32LE(12, 0);
        b[4] = 1;
        b[5] = 200; // unknown op
        return b;
      })(),
      Buffer.from([3, 0, 0, 0, 1, 2, 3]), // shorter than a header
    ];
    for (const frame of bad) {
      const c = await client();
      c.sendRaw(frame);
      expect(await c.closedByServer()).toBe(true);
    }
    expect(server.counters.get('malformedRpc') - before).toBe(bad.length);
    // Random junk on many connections at once: never a crash.
    for (let i = 0; i < 20; i++) (await client()).sendRaw(randomBytes(64 + i * 7));
    const good = await client();
    const s = await good.socket();
    expect((await good.call(Op.WHOIS, s.ino)).result).toBe(1);
    closeFd(s.fd);
  });

  it('answers bad requests on a good connection with errno values', async () => {
    const c = await client();
    expect((await c.call(Op.WHOIS, 123456789)).result).toBe(-Errno.EBADF);
    expect((await c.call(Op.BIND, 123456789, Buffer.alloc(6))).result).toBe(-Errno.ENETDOWN);
    const s = await c.socket();
    expect((await c.call(Op.BIND, s.ino, Buffer.alloc(2))).result).toBe(-Errno.EINVAL);
    expect((await c.call(Op.SHUTDOWN, s.ino, Buffer.from([7, 0, 0, 0]))).result).toBe(-Errno.EINVAL);
    expect((await c.call(Op.GETPEERNAME, s.ino)).result).toBe(-Errno.ENOTCONN);
    const opt = Buffer.alloc(16);
    opt.writeInt32LE(41, 0); // IPPROTO_IPV6
    opt.writeInt32LE(26, 4); // IPV6_V6ONLY: no such option on an IPv4 socket
    opt.writeUInt32LE(4, 8);
    expect((await c.call(Op.SETSOCKOPT, s.ino, opt)).result).toBe(-Errno.ENOPROTOOPT);
    expect((await c.call(Op.WHOIS, s.ino)).result).toBe(1);
    closeFd(s.fd);
    expect(server.counters.snapshot()['errno.ENETDOWN']).toBeGreaterThanOrEqual(1);
  });

  it('refuses a peer of another uid', async () => {
    const path2 = join(tmp.dir, 'rpc', 'other.sock');
    const otherUid = { ...nativePlumbing, peerUid: (fd: number) => nativePlumbing.peerUid(fd) + 1 };
    const s2 = new NetconServer(stack, path2, silent, { plumbing: otherUid });
    await s2.start();
    try {
      const c = await RpcClient.connect(path2);
      clients.push(c);
      expect(await c.closedByServer()).toBe(true);
      expect(s2.counters.get('rejectedPeers')).toBe(1);
    } finally {
      await s2.close();
    }
  });

  it('hands accepted connections over the listening socket with the peer address; data flows both ways', async () => {
    const c = await client();
    const base = server.socketCount();
    const l = await c.socket();
    expect(await c.bind(l.ino, ADDR, 7000)).toBe(0);
    expect(await c.listen(l.ino)).toBe(0);
    expect((await c.call(Op.WHOIS, l.ino)).result).toBe(2);
    const a = await c.socket();
    expect(await c.connectTo(a.ino, ADDR, 7000, FLAG_WAIT)).toBe(0);
    expect(await c.connectTo(a.ino, ADDR, 7000)).toBe(-Errno.EISCONN);
    const local = await c.name(a.ino);
    const acc = await acceptFrom(l.fd);
    expect({ addr: acc.addr, port: acc.port }).toEqual(local);
    expect(server.socketCount()).toBe(base + 3);
    const sa = streamOf(a.fd);
    const sb = streamOf(acc.fd);
    const got = new Promise<string>((resolve) => {
      let t = '';
      sb.on('data', (d: Buffer) => (t += d.toString()));
      sb.on('end', () => resolve(t));
    });
    // A half-close is announced first (as the library's shutdown() does); a bare end of stream means close.
    expect((await c.call(Op.SHUTDOWN, a.ino, Buffer.from([1, 0, 0, 0]))).result).toBe(0);
    sa.end('hello through the stack');
    expect(await got).toBe('hello through the stack');
    const back = new Promise<string>((resolve) => {
      let t = '';
      sa.on('data', (d: Buffer) => (t += d.toString()));
      sa.on('end', () => resolve(t));
    });
    sb.end('and back');
    expect(await back).toBe('and back');
    expect(server.socketCount()).toBeLessThanOrEqual(base + 3);
    sa.destroy();
    sb.destroy();
    await waitFor(() => server.socketCount() === base + 1, 3000, 'closed sockets leave the table');
    closeFd(l.fd);
    await waitFor(() => server.socketCount() === base, 3000, 'a closed listener leaves the table');
    const snap = server.counters.snapshot();
    expect(snap['rpc.CONNECT']).toBeGreaterThanOrEqual(2);
    expect(snap.accepted).toBeGreaterThanOrEqual(1);
  });

  it('backpressure: a reader that stops stalls the writer instead of filling the daemon, and nothing is lost', async () => {
    const c = await client();
    const l = await c.socket();
    await c.bind(l.ino, ADDR, 7001);
    await c.listen(l.ino);
    const a = await c.socket();
    expect(await c.connectTo(a.ino, ADDR, 7001, FLAG_WAIT)).toBe(0);
    const acc = await acceptFrom(l.fd);
    const total = 48 * 1024 * 1024;
    const data = randomBytes(total);
    const sa = streamOf(a.fd);
    const sb = streamOf(acc.fd);
    sb.pause(); // the receiving app does not read
    const fromAppsAtStart = server.counters.bytesFromApps;
    sa.end(data);
    // Wait until the daemon stops taking bytes from the writer.
    let last = -1;
    await waitFor(
      () => {
        const now = server.counters.bytesFromApps - fromAppsAtStart;
        const stalled = now === last && now > 0;
        last = now;
        return stalled;
      },
      10_000,
      'the writer to stall',
    );
    await new Promise((r) => setTimeout(r, 300));
    const taken = server.counters.bytesFromApps - fromAppsAtStart;
    expect(taken).toBe(last);
    // What the daemon took is bounded by socket and TCP buffers, far below the 48 MB offered.
    expect(taken).toBeLessThan(16 * 1024 * 1024);
    const hash = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve) => {
      sb.on('data', (d: Buffer) => {
        hash.update(d);
        received += d.length;
      });
      sb.on('end', () => resolve());
    });
    sb.resume();
    await done;
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(sha(data));
    sa.destroy();
    sb.destroy();
    closeFd(l.fd);
  });

  it('socket options reach the stack: SO_RCVBUF sets the advertised window, SO_LINGER 0 makes close a reset', async () => {
    const c = await client();
    // The far end is a socket of the stack itself, so the test sees what the app's TCP does.
    const listener = stack.tcpSocket();
    expect(listener.bind(ADDR, 7003)).toBe(0);
    expect(listener.listen(4)).toBe(0);
    const SOL_SOCKET = 1;
    const SO_RCVBUF = 8;
    const SO_LINGER = 13;
    const sockopt = (level: number, name: number, ...ints: number[]): Buffer => {
      const b = Buffer.alloc(12 + 4 * ints.length);
      b.writeInt32LE(level, 0);
      b.writeInt32LE(name, 4);
      b.writeUInt32LE(4 * ints.length, 8);
      ints.forEach((v, i) => b.writeInt32LE(v, 12 + 4 * i));
      return b;
    };
    /** Connects a new app socket (after `setup`) to the listener; returns its fd and the far end. */
    const connectApp = async (setup: (ino: number) => Promise<void>) => {
      const a = await c.socket();
      await setup(a.ino);
      expect(await c.connectTo(a.ino, ADDR, 7003, FLAG_WAIT)).toBe(0);
      let peer: ReturnType<typeof listener.accept> = null;
      await waitFor(() => (peer = listener.accept()) !== null, 3000, 'the stack to accept');
      const far = peer!;
      const seen = { error: 0, eof: false };
      far.handlers = {
        onError: (e) => (seen.error = e),
        onReadable: () => {
          if (far.read() === 0) seen.eof = true;
        },
      };
      return { fd: a.fd, far, seen };
    };

    const small = await connectApp(async (ino) => {
      expect((await c.call(Op.SETSOCKOPT, ino, sockopt(SOL_SOCKET, SO_RCVBUF, 16384))).result).toBe(0);
    });
    // The default buffer is megabytes; the app asked for 16 KiB and its window says so.
    const wnd = Number(small.far.info().sndWnd);
    expect(wnd).toBeGreaterThan(0);
    expect(wnd).toBeLessThanOrEqual(16384);
    closeFd(small.fd);

    const lingering = await connectApp(async (ino) => {
      expect((await c.call(Op.SETSOCKOPT, ino, sockopt(SOL_SOCKET, SO_LINGER, 1, 0))).result).toBe(0);
    });
    const plain = await connectApp(async () => {});
    expect(Number(plain.far.info().sndWnd)).toBeGreaterThan(16384);
    const resetsBefore = stack.counters().tcp?.['tx_rst'] ?? 0;
    // The app's last copy goes with nothing unread: SO_LINGER 0 resets, the plain socket closes.
    closeFd(lingering.fd);
    closeFd(plain.fd);
    await waitFor(() => lingering.seen.error !== 0 && plain.seen.eof, 3000, 'both far ends to see the close');
    expect(lingering.seen.error).toBe(Errno.ECONNRESET);
    expect(plain.seen.error).toBe(0);
    expect(stack.counters().tcp?.['tx_rst'] ?? 0).toBeGreaterThan(resetsBefore);
    for (const x of [small, lingering, plain]) x.far.close();
    listener.close();
  });

  it('an app closing with unread data resets the peer; data written before a close arrives in full', async () => {
    const c = await client();
    const l = await c.socket();
    await c.bind(l.ino, ADDR, 7002);
    await c.listen(l.ino);
    const a = await c.socket();
    await c.connectTo(a.ino, ADDR, 7002, FLAG_WAIT);
    const acc = await acceptFrom(l.fd);
    const sa = streamOf(a.fd);
    const sb = streamOf(acc.fd);
    const payload = randomBytes(3 * 1024 * 1024);
    const got: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      sb.on('data', (d: Buffer) => got.push(d));
      sb.on('end', () => resolve());
    });
    sa.end(payload, () => sa.destroy());
    await ended;
    expect(sha(Buffer.concat(got))).toBe(sha(payload));

    // Now b's peer is gone; b writes, a second connection is reset by a close with unread data.
    const a2 = await c.socket();
    await c.connectTo(a2.ino, ADDR, 7002, FLAG_WAIT);
    const acc2 = await acceptFrom(l.fd);
    const s1 = streamOf(a2.fd);
    const s1End = new Promise<string>((resolve) => {
      s1.on('end', () => resolve('end'));
      s1.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s1.resume();
    });
    const resetsBefore = stack.counters().tcp?.['tx_rst'] ?? 0;
    s1.write('unread by the other side');
    await new Promise((r) => setTimeout(r, 100));
    closeFd(acc2.fd); // never read: closes with the bytes above unread
    expect(['end', 'ECONNRESET']).toContain(await s1End);
    expect(stack.counters().tcp?.['tx_rst'] ?? 0).toBeGreaterThan(resetsBefore);
    s1.destroy();
    sb.destroy();
    closeFd(l.fd);
  });
});
