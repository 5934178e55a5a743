/**
 * NetconServer with a ListenerKeeper, in-process: a listener's daemon end goes to the keeper with
 * its metadata; a server closed for a restart leaves it there (the app's end sees no end of
 * stream), and the next server on a new stack takes it back, waits for the stack's address when
 * the listener was bound to one, and hands new connections to the same app end. A server closed
 * for good (leave) and an app closing its listener let the keeper's copy go.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, dupFd, recvFds } from '../../src/native/binding.js';
import { type KeptListener, type KeptListenerMeta, type ListenerKeeper, parseKeptMeta } from '../../src/netcon/kept-listeners.js';
import { FLAG_WAIT, Op } from '../../src/netcon/protocol.js';
import { NetconServer } from '../../src/netcon/server.js';
import { IPV6_ANY, parseIpv4, v4Mapped } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { createNetStack } from '../../src/netstack/index.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { tempDir, waitFor } from './harness.js';
import { acceptFrom, RpcClient } from './rpc-client.js';

const ADDR = parseIpv4('10.147.17.5')!;
const PORT = 7100;
const silent = pino({ level: 'silent' });

/** Holds duplicates as the fd keeper process does. */
class MemoryKeeper implements ListenerKeeper {
  readonly held = new Map<string, { meta: KeptListenerMeta; fd: number }>();
  readonly dropped: number[] = [];

  keep(meta: KeptListenerMeta, daemonFd: number): void {
    const old = this.held.get(`${meta.socket}#${meta.ino}`);
    if (old) closeFd(old.fd);
    this.held.set(`${meta.socket}#${meta.ino}`, { meta, fd: dupFd(daemonFd) });
  }

  drop(socket: string, ino: number): void {
    const h = this.held.get(`${socket}#${ino}`);
    if (!h) return;
    this.held.delete(`${socket}#${ino}`);
    closeFd(h.fd);
    this.dropped.push(ino);
  }

  claim(socket: string): KeptListener[] {
    return [...this.held.values()].filter((h) => h.meta.socket === socket).map((h) => ({ meta: h.meta, fd: dupFd(h.fd) }));
  }

  release(): void {
    for (const h of this.held.values()) closeFd(h.fd);
    this.held.clear();
  }
}

function makeStack(withAddress: boolean): NetStack {
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 10]), name: 'kept' });
  if (withAddress) stack.addAddress(ADDR, 24);
  stack.setLinkOutput(() => {});
  return stack;
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // the test closed it already
  }
}

/** What a blocking accept() on the app end would see now: 'waits', a connection, or 'end'. */
function appEndState(fd: number): 'waits' | 'end' | 'data' {
  const r = recvFds(fd, 64, 4);
  if (r === null) return 'waits';
  for (const f of r.fds) closeFd(f);
  return r.data.length === 0 ? 'end' : 'data';
}

describe('listeners kept across a restart', () => {
  const cleanups: Array<() => Promise<void> | void> = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function serve(stack: NetStack, path: string, keeper: ListenerKeeper): Promise<NetconServer> {
    const server = new NetconServer(stack, path, silent, { keeper, nwid: '8056c2e21c000001' });
    await server.start();
    return server;
  }

  it('the next server takes a kept listener back, once the stack has its address, and serves the same app end', async () => {
    const tmp = tempDir('ztnc-kept-');
    const path = join(tmp.dir, 'rpc', 'net.sock');
    const keeper = new MemoryKeeper();
    cleanups.push(
      () => tmp.remove(),
      () => keeper.release(),
    );

    const stack1 = makeStack(true);
    const first = await serve(stack1, path, keeper);
    const c1 = await RpcClient.connect(path);
    const l = await c1.socket();
    cleanups.push(() => closeQuietly(l.fd));
    expect(await c1.bind(l.ino, ADDR, PORT)).toBe(0);
    expect(await c1.listen(l.ino, 8)).toBe(0);
    const meta = [...keeper.held.values()][0]!.meta;
    expect(meta).toMatchObject({
      v: 2,
      family: 4,
      nwid: '8056c2e21c000001',
      socket: path,
      ino: l.ino,
      addr: '10.147.17.5',
      port: PORT,
      backlog: 8,
    });
    expect(meta.options.NODELAY).toBe(0);
    // an option set after listen() is kept too
    const nodelay = Buffer.alloc(16);
    nodelay.writeInt32LE(6, 0); // IPPROTO_TCP
    nodelay.writeInt32LE(1, 4); // TCP_NODELAY
    nodelay.writeUInt32LE(4, 8);
    nodelay.writeInt32LE(1, 12);
    expect((await c1.call(Op.SETSOCKOPT, l.ino, nodelay)).result).toBe(0);
    expect([...keeper.held.values()][0]!.meta.options.NODELAY).toBe(1);
    expect(keeper.held.size).toBe(1);

    c1.close();
    await first.close({ keepListeners: true });
    stack1.close();
    expect(keeper.dropped).toEqual([]);
    // the daemon is gone, the listener is not: accept() would block
    expect(appEndState(l.fd)).toBe('waits');

    // a new daemon: its network has not given the stack the address yet
    const stack2 = makeStack(false);
    const second = await serve(stack2, path, keeper);
    cleanups.push(async () => {
      await second.close();
      stack2.close();
    });
    const c2 = await RpcClient.connect(path);
    cleanups.push(() => c2.close());
    expect(second.socketCount()).toBe(1);
    // still the app's listening socket while it waits (a process classifying the fd now must see that)
    expect((await c2.call(Op.WHOIS, l.ino)).result).toBe(2);
    expect(second.counters.get('listenersRestored')).toBe(0);
    stack2.addAddress(ADDR, 24);
    await waitFor(() => second.counters.get('listenersRestored') === 1, 5000, 'the kept listener to listen again');
    expect((await c2.call(Op.WHOIS, l.ino)).result).toBe(2);

    const a = await c2.socket();
    cleanups.push(() => closeQuietly(a.fd));
    expect(await c2.connectTo(a.ino, ADDR, PORT, FLAG_WAIT)).toBe(0);
    const acc = await acceptFrom(l.fd);
    closeFd(acc.fd);
    expect(acc.port).toBe((await c2.name(a.ino)).port);

    // the app closes its listener: the keeper lets its copy go
    closeFd(l.fd);
    await waitFor(() => keeper.dropped.includes(l.ino), 5000, 'the keeper to be told');
  });

  it('an AF_INET6 listener on :: with V6ONLY 0 is kept with its family and serves IPv4 peers as ::ffff:a.b.c.d again', async () => {
    const tmp = tempDir('ztnc-kept-');
    const path = join(tmp.dir, 'rpc', 'net.sock');
    const keeper = new MemoryKeeper();
    cleanups.push(
      () => tmp.remove(),
      () => keeper.release(),
    );
    const stack1 = makeStack(true);
    const first = await serve(stack1, path, keeper);
    const c1 = await RpcClient.connect(path);
    const l = await c1.socket(6);
    cleanups.push(() => closeQuietly(l.fd));
    expect(await c1.bind(l.ino, IPV6_ANY, PORT + 1)).toBe(0);
    expect(await c1.listen(l.ino, 4)).toBe(0);
    const meta = [...keeper.held.values()][0]!.meta;
    expect(meta).toMatchObject({ v: 2, family: 6, addr: '::', port: PORT + 1 });
    expect(meta.options.V6ONLY).toBe(0);
    c1.close();
    await first.close({ keepListeners: true });
    stack1.close();

    const stack2 = makeStack(true);
    const second = await serve(stack2, path, keeper);
    cleanups.push(async () => {
      await second.close();
      stack2.close();
    });
    await waitFor(() => second.counters.get('listenersRestored') === 1, 5000, 'the kept listener to listen again');
    const c2 = await RpcClient.connect(path);
    cleanups.push(() => c2.close());
    expect(await c2.nameOf(Op.GETSOCKNAME, l.ino)).toMatchObject({ family: 6, addr: IPV6_ANY, port: PORT + 1 });
    const a = await c2.socket(4);
    cleanups.push(() => closeQuietly(a.fd));
    expect(await c2.connectTo(a.ino, ADDR, PORT + 1, FLAG_WAIT)).toBe(0);
    const acc = await acceptFrom(l.fd);
    closeFd(acc.fd);
    expect([acc.family, acc.addr]).toEqual([6, v4Mapped(ADDR)]);
  });

  it('reads kept-listener records of both versions and refuses an address of the wrong family', () => {
    const base = { nwid: '8056c2e21c000001', socket: '/x.sock', ino: 7, port: 80, backlog: 8, options: {} };
    expect(parseKeptMeta({ ...base, v: 1, addr: ADDR })).toMatchObject({ v: 2, family: 4, addr: '10.147.17.5' });
    expect(parseKeptMeta({ ...base, v: 2, family: 6, addr: '::ffff:10.147.17.5' })).toMatchObject({
      family: 6,
      addr: '::ffff:10.147.17.5',
    });
    expect(parseKeptMeta({ ...base, v: 2, family: 6, addr: 'fd00::5' })?.addr).toBe('fd00::5');
    expect(parseKeptMeta({ ...base, v: 2, family: 6, addr: '10.147.17.5' })).toBeNull();
    expect(parseKeptMeta({ ...base, v: 2, family: 4, addr: '::' })).toBeNull();
    expect(parseKeptMeta({ ...base, v: 2, family: 5, addr: '0.0.0.0' })).toBeNull();
    expect(parseKeptMeta({ ...base, v: 2, family: 4, addr: 'not an address' })).toBeNull();
    expect(parseKeptMeta({ ...base, v: 1, addr: '10.147.17.5' })).toBeNull();
  });

  it('a server closed for good (the network is left) lets its listeners go and the app sees the end', async () => {
    const tmp = tempDir('ztnc-kept-');
    const path = join(tmp.dir, 'rpc', 'net.sock');
    const keeper = new MemoryKeeper();
    cleanups.push(
      () => tmp.remove(),
      () => keeper.release(),
    );
    const stack = makeStack(true);
    const server = await serve(stack, path, keeper);
    const c = await RpcClient.connect(path);
    const l = await c.socket();
    cleanups.push(() => closeQuietly(l.fd));
    expect(await c.listen(l.ino)).toBe(0);
    expect(keeper.held.size).toBe(1);
    c.close();
    await server.close();
    stack.close();
    expect(keeper.dropped).toEqual([l.ino]);
    await waitFor(() => appEndState(l.fd) === 'end', 5000, 'the end of the listener');
  });

  it('a kept listener whose port is taken on the new stack is let go', async () => {
    const tmp = tempDir('ztnc-kept-');
    const path = join(tmp.dir, 'rpc', 'net.sock');
    const keeper = new MemoryKeeper();
    cleanups.push(
      () => tmp.remove(),
      () => keeper.release(),
    );
    const stack1 = makeStack(true);
    const first = await serve(stack1, path, keeper);
    const c = await RpcClient.connect(path);
    const l = await c.socket();
    cleanups.push(() => closeQuietly(l.fd));
    expect(await c.bind(l.ino, ADDR, PORT)).toBe(0);
    expect(await c.listen(l.ino)).toBe(0);
    c.close();
    await first.close({ keepListeners: true });
    stack1.close();

    const stack2 = makeStack(true);
    const squatter = stack2.tcpSocket();
    expect(squatter.bind(ADDR, PORT)).toBe(0);
    expect(squatter.listen(1)).toBe(0);
    const second = await serve(stack2, path, keeper);
    cleanups.push(async () => {
      await second.close();
      stack2.close();
    });
    expect(keeper.dropped).toEqual([l.ino]);
    await waitFor(() => appEndState(l.fd) === 'end', 5000, 'the end of the listener');
  });
});
