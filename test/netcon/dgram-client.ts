/**
 * The library's side of datagram sockets, in TypeScript, for tests of the daemon: SOCKET of a
 * datagram type over the RPC, records written to and read from the app's seqpacket end as
 * libztintercept.so does, and the in-process server with its stack that the datagram suites share.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { closeFd, recvFds, sendFds } from '../../src/native/binding.js';
import {
  decodeDgramHeader,
  DGRAM_HEADER,
  type DgramHeader,
  DgramType,
  encodeDgramHeader,
  encodeSocketRequest,
  type Family,
  Op,
} from '../../src/netcon/protocol.js';
import { NetconServer, type NetconServerOptions } from '../../src/netcon/server.js';
import { type IpAddr, parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { createNetStack, type NetStack } from '../../src/netstack/index.js';
import { tempDir } from './harness.js';
import { RpcClient } from './rpc-client.js';

export const STACK = parseIpv4('10.147.17.5')!;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const IPPROTO_ICMP = 1;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** A record as the IPv4 suites read it: addresses are numbers on an AF_INET socket. */
export interface Record {
  header: DgramHeader & { addr: number; local: number };
  payload: Buffer;
}

export interface AppDgram {
  fd: number;
  ino: number;
}

/** SOCKET with a type, protocol and family: the app's end or the negative errno. */
export async function dgramSocket(c: RpcClient, type = SOCK_DGRAM, protocol = 0, family: Family = 4): Promise<AppDgram | number> {
  const r = await c.call(Op.SOCKET, 0, encodeSocketRequest(type, protocol, family));
  if (r.result < 0) return r.result;
  if (r.fds.length !== 1) throw new Error('SOCKET without an fd');
  return { fd: r.fds[0]!, ino: Number(r.payload.readBigUInt64LE(0)) };
}

/** As dgramSocket, failing the test when the daemon refuses. */
export async function udpSocket(c: RpcClient): Promise<AppDgram> {
  const s = await dgramSocket(c);
  if (typeof s === 'number') throw new Error(`SOCKET failed: ${s}`);
  return s;
}

/** One DATA record to addr:port (sendto), or to the connected peer when `to` is null. */
export function sendDatagram(
  fd: number,
  payload: Buffer,
  to: { addr: IpAddr; port: number } | null,
  extra: Partial<DgramHeader> = {},
): void {
  const h: DgramHeader = {
    type: DgramType.DATA,
    flags: to ? 0x01 : 0,
    port: to?.port ?? 0,
    addr: to?.addr ?? 0,
    local: 0,
    tos: 0,
    ttl: 0,
    err: 0,
    info: 0,
    scope: 0,
    ...extra,
  };
  sendRaw(fd, Buffer.concat([encodeDgramHeader(h), payload]));
}

export function sendRaw(fd: number, message: Buffer): void {
  if (sendFds(fd, message, []) !== message.length) throw new Error('record not sent whole');
}

/** Sends every message in order, waiting while the app's end is full (the daemon runs in this process). */
export async function sendAll(fd: number, messages: Buffer[]): Promise<void> {
  for (const m of messages) {
    for (;;) {
      const n = sendFds(fd, m, []);
      if (n === m.length) break;
      if (n !== null) throw new Error('record not sent whole');
      await new Promise((res) => setTimeout(res, 1));
    }
  }
}

/** A DATA record (header and payload) as sendDatagram writes it. */
export function dataRecord(payload: Buffer, to: { addr: IpAddr; port: number } | null): Buffer {
  return Buffer.concat([
    encodeDgramHeader({
      type: DgramType.DATA,
      flags: to ? 0x01 : 0,
      port: to?.port ?? 0,
      addr: to?.addr ?? 0,
      local: 0,
      tos: 0,
      ttl: 0,
      err: 0,
      info: 0,
      scope: 0,
    }),
    payload,
  ]);
}

/**
 * The next record on the app's end, or null when none comes within `timeoutMs`; its addresses are
 * read for a socket of `family` (numbers for 4, 32 hex digits for 6; typed as the IPv4 suites use them).
 */
export async function nextRecord(fd: number, timeoutMs = 3000, family: Family = 4): Promise<Record | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = recvFds(fd, 70000, 0);
    if (r !== null) {
      const header = decodeDgramHeader(r.data, family);
      if (header === null) throw new Error(`short record (${r.data.length} bytes)`);
      return { header: header as Record['header'], payload: r.data.subarray(DGRAM_HEADER) };
    }
    if (Date.now() > end) return null;
    await new Promise((res) => setTimeout(res, 2));
  }
}

/** Like nextRecord, failing when nothing comes. */
export async function expectRecord(fd: number, timeoutMs = 3000, family: Family = 4): Promise<Record> {
  const r = await nextRecord(fd, timeoutMs, family);
  if (r === null) throw new Error('no record arrived');
  return r;
}

/** Every record waiting now (after a short settle). */
export async function drainRecords(fd: number, settleMs = 200): Promise<Record[]> {
  const out: Record[] = [];
  for (let r = await nextRecord(fd, settleMs); r !== null; r = await nextRecord(fd, settleMs)) out.push(r);
  return out;
}

export function sockopt(level: number, name: number, value: Buffer | number, len?: number): Buffer {
  let v: Buffer;
  if (typeof value === 'number') {
    v = Buffer.alloc(4);
    v.writeInt32LE(value, 0);
  } else v = value;
  const b = Buffer.alloc(12 + v.length);
  b.writeInt32LE(level, 0);
  b.writeInt32LE(name, 4);
  b.writeUInt32LE(len ?? v.length, 8);
  v.copy(b, 12);
  return b;
}

export async function setOpt(c: RpcClient, ino: number, level: number, name: number, value: Buffer | number): Promise<number> {
  return (await c.call(Op.SETSOCKOPT, ino, sockopt(level, name, value))).result;
}

/** getsockopt as an int (or the negative errno). */
export async function getOpt(c: RpcClient, ino: number, level: number, name: number, len = 4): Promise<number> {
  const r = await c.call(Op.GETSOCKOPT, ino, sockopt(level, name, Buffer.alloc(0), len));
  if (r.result < 0) return r.result;
  if (r.payload.length === 4) return r.payload.readInt32LE(0);
  if (r.payload.length === 1) return r.payload[0]!;
  throw new Error(`getsockopt gave ${r.payload.length} bytes`);
}

export function makeStack(): NetStack {
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 0x0d]), name: 'dgram-test' });
  stack.addAddress(STACK, 24);
  stack.setLinkOutput(() => {});
  return stack;
}

/** For a describe block: a server on its own stack, a client factory, and cleanup of fds and clients. */
export function dgramSuite(prefix: string, opts: NetconServerOptions = {}) {
  const tmp = tempDir(prefix);
  const sockPath = join(tmp.dir, 'rpc', 'net.sock');
  const clients: RpcClient[] = [];
  const fds: number[] = [];
  const ctx = {
    stack: null as unknown as NetStack,
    server: null as unknown as NetconServer,
    async client(): Promise<RpcClient> {
      const c = await RpcClient.connect(sockPath);
      clients.push(c);
      return c;
    },
    /** A UDP socket whose app end is closed after the test. */
    async udp(c: RpcClient): Promise<AppDgram> {
      const s = await udpSocket(c);
      fds.push(s.fd);
      return s;
    },
    /** Closes fds now (and forgets them). */
    close(fd: number): void {
      const i = fds.indexOf(fd);
      if (i >= 0) fds.splice(i, 1);
      closeFd(fd);
    },
    track(fd: number): void {
      fds.push(fd);
    },
  };
  beforeAll(async () => {
    ctx.stack = makeStack();
    ctx.server = new NetconServer(ctx.stack, sockPath, pino({ level: 'silent' }), opts);
    await ctx.server.start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const fd of fds.splice(0)) closeFd(fd);
  });
  afterAll(async () => {
    await ctx.server.close();
    ctx.stack.close();
    tmp.remove();
  });
  return ctx;
}
