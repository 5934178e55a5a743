/**
 * The connect filler at the RPC level (NetconServer in-process, the TypeScript RPC client in the
 * library's place): a non-blocking CONNECT announces filler bytes, the library writes them into
 * the app's end and reports how many it wrote (FLAG_FILLED); the daemon discards exactly those and
 * passes on what the app writes after them. See native/intercept/connect.c.
 */
import { writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeFd } from '../../src/native/binding.js';
import { CONNECT_FILLER_MAX, FLAG_FILLED, Op, RFLAG_FILLER } from '../../src/netcon/protocol.js';
import { NetconServer } from '../../src/netcon/server.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { Errno } from '../../src/netstack/errno.js';
import { createNetStack } from '../../src/netstack/index.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { tempDir, waitFor } from './harness.js';
import { acceptFrom, RpcClient, sockaddr } from './rpc-client.js';

const ADDR = parseIpv4('10.147.17.5')!;
const silent = pino({ level: 'silent' });

function connectPayload(port: number, filler: number): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(filler, 0);
  return Buffer.concat([sockaddr(ADDR, port), count]);
}

/** Collects what arrives on an fd until `n` bytes are there; closes the fd. */
async function receive(fd: number, n: number): Promise<Buffer> {
  const s = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await waitFor(() => Buffer.concat(chunks).length >= n, 10_000, `${n} bytes`);
  s.destroy();
  return Buffer.concat(chunks);
}

describe('connect filler', () => {
  const tmp = tempDir('ztnc-filler-');
  let stack: NetStack;
  let server: NetconServer;
  let c: RpcClient;
  const fds: number[] = [];
  const sockPath = join(tmp.dir, 'rpc', 'net.sock');

  beforeAll(async () => {
    stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 9]), name: 'test' });
    stack.addAddress(ADDR, 24);
    stack.setLinkOutput(() => {});
    server = new NetconServer(stack, sockPath, silent);
    await server.start();
    c = await RpcClient.connect(sockPath);
  });

  afterEach(() => {
    for (const fd of fds.splice(0)) closeFd(fd);
  });

  afterAll(async () => {
    c.close();
    await server.close();
    stack.close();
    tmp.remove();
  });

  /** A listener on the stack and a socket connecting to it with `announced` filler bytes. */
  async function connecting(announced: number): Promise<{ app: { fd: number; ino: number }; listenFd: number; port: number }> {
    const l = await c.socket();
    fds.push(l.fd);
    expect(await c.bind(l.ino, ADDR, 0)).toBe(0);
    expect(await c.listen(l.ino)).toBe(0);
    const port = (await c.name(l.ino)).port;
    const app = await c.socket();
    fds.push(app.fd);
    const r = await c.call(Op.CONNECT, app.ino, connectPayload(port, announced));
    expect(r.result).toBe(-Errno.EINPROGRESS);
    expect(r.flags & RFLAG_FILLER).toBe(RFLAG_FILLER);
    return { app, listenFd: l.fd, port };
  }

  it('the filler is discarded and the bytes the app writes after it reach the peer intact', async () => {
    const { app, listenFd, port } = await connecting(1000);
    expect(writeSync(app.fd, Buffer.alloc(1000, 0xee))).toBe(1000);
    expect((await c.call(Op.CONNECT, app.ino, connectPayload(port, 1000), FLAG_FILLED)).result).toBe(0);
    const peer = await acceptFrom(listenFd);
    writeSync(app.fd, 'hello');
    expect((await receive(peer.fd, 5)).toString()).toBe('hello');
  });

  it('a report of fewer bytes than announced discards only those', async () => {
    const { app, listenFd, port } = await connecting(1000);
    writeSync(app.fd, Buffer.alloc(600, 0xee));
    expect((await c.call(Op.CONNECT, app.ino, connectPayload(port, 600), FLAG_FILLED)).result).toBe(0);
    const peer = await acceptFrom(listenFd);
    writeSync(app.fd, 'hello');
    expect((await receive(peer.fd, 5)).toString()).toBe('hello');
  });

  it('a blocking CONNECT takes no filler, and a count beyond the limit is refused', async () => {
    const app = await c.socket();
    fds.push(app.fd);
    expect((await c.call(Op.CONNECT, app.ino, connectPayload(9, CONNECT_FILLER_MAX + 1))).result).toBe(-Errno.EINVAL);
    const l = await c.socket();
    fds.push(l.fd);
    expect(await c.bind(l.ino, ADDR, 0)).toBe(0);
    expect(await c.listen(l.ino)).toBe(0);
    const port = (await c.name(l.ino)).port;
    // FLAG_WAIT (blocking connect): the answer is the outcome and no filler is asked for.
    const r = await c.call(Op.CONNECT, app.ino, connectPayload(port, 1000), 0x1);
    expect(r.result).toBe(0);
    expect(r.flags & RFLAG_FILLER).toBe(0);
    const peer = await acceptFrom(l.fd);
    writeSync(app.fd, 'hello');
    expect((await receive(peer.fd, 5)).toString()).toBe('hello');
  });
});
