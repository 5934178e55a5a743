/**
 * The library's side of the RPC, in TypeScript, for in-process tests of the server: sends
 * requests, receives replies and fds with recvFds, and takes accepted connections off a
 * listening socket the way libztintercept.so does.
 */
import net from 'node:net';
import { recvFds, unixSocketFd } from '../../src/native/binding.js';
import {
  ACCEPT_RECORD_SIZE,
  decodeAcceptRecord,
  decodeResponse,
  decodeSockaddr,
  encodeRequest,
  encodeSockaddr,
  encodeSocketRequest,
  type Family,
  Op,
  type Response,
  SOCK_STREAM,
} from '../../src/netcon/protocol.js';
import type { IpAddr } from '../../src/netstack/addr.js';

/** A sockaddr for BIND/CONNECT: a number is AF_INET, a string (32 hex digits) AF_INET6. */
export function sockaddr(addr: IpAddr, port: number, extra: { flowinfo?: number; scopeId?: number } = {}): Buffer {
  return encodeSockaddr({ family: typeof addr === 'number' ? 4 : 6, addr, port, ...extra });
}

export interface Reply extends Response {
  fds: number[];
}

export class RpcClient {
  private constructor(
    readonly sock: net.Socket,
    private readonly fd: number,
  ) {}

  static async connect(path: string): Promise<RpcClient> {
    const sock = net.connect({ path });
    // Replies are read with recvFds, never by the stream: paused before connecting, Node never
    // starts reading the fd.
    sock.pause();
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const fd = unixSocketFd(sock);
    if (fd === undefined) throw new Error('no fd');
    return new RpcClient(sock, fd);
  }

  /** Sends raw bytes (for malformed-input tests). */
  sendRaw(b: Buffer): void {
    this.sock.write(b);
  }

  async call(op: number, ino: number, payload: Buffer = Buffer.alloc(0), flags = 0): Promise<Reply> {
    this.sock.write(encodeRequest(op, flags, ino, payload));
    return this.readReply();
  }

  async readReply(timeoutMs = 5000): Promise<Reply> {
    const end = Date.now() + timeoutMs;
    const chunks: Buffer[] = [];
    const fds: number[] = [];
    for (;;) {
      const r = recvFds(this.fd, 512, 4);
      if (r !== null) {
        if (r.data.length === 0) throw new Error('connection closed');
        chunks.push(r.data);
        fds.push(...r.fds);
        const all = Buffer.concat(chunks);
        if (all.length >= 4 && all.length >= all.readUInt32LE(0) + 4) {
          const resp = decodeResponse(all);
          if (resp === null) throw new Error('bad response');
          return { ...resp, fds };
        }
        continue;
      }
      if (Date.now() > end) throw new Error('no reply');
      await new Promise((res) => setTimeout(res, 2));
    }
  }

  /** True once the server has closed this connection. */
  async closedByServer(timeoutMs = 2000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        const r = recvFds(this.fd, 64, 0);
        if (r !== null && r.data.length === 0) return true;
      } catch {
        return true;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    return false;
  }

  /** SOCKET (a stream socket of `family`): returns the app end (fd) and its inode. */
  async socket(family: Family = 4): Promise<{ fd: number; ino: number }> {
    const r = await this.call(Op.SOCKET, 0, encodeSocketRequest(SOCK_STREAM, 0, family));
    if (r.result < 0 || r.fds.length !== 1) throw new Error(`SOCKET failed: ${r.result}`);
    return { fd: r.fds[0]!, ino: Number(r.payload.readBigUInt64LE(0)) };
  }

  async bind(ino: number, addr: IpAddr, port: number): Promise<number> {
    return (await this.call(Op.BIND, ino, sockaddr(addr, port))).result;
  }

  async listen(ino: number, backlog = 16): Promise<number> {
    const b = Buffer.alloc(4);
    b.writeInt32LE(backlog, 0);
    return (await this.call(Op.LISTEN, ino, b)).result;
  }

  async connectTo(ino: number, addr: IpAddr, port: number, flags = 0): Promise<number> {
    return (await this.call(Op.CONNECT, ino, sockaddr(addr, port), flags)).result;
  }

  /** GETSOCKNAME: the address as the sockaddr says (a number for AF_INET, 32 hex digits for AF_INET6). */
  async name(ino: number): Promise<{ addr: number; port: number }> {
    const a = await this.nameOf(Op.GETSOCKNAME, ino);
    return { addr: a.addr as number, port: a.port };
  }

  /** GETSOCKNAME or GETPEERNAME as a decoded sockaddr (throws on an error reply). */
  async nameOf(op: number, ino: number): Promise<{ family: Family; addr: IpAddr; port: number; flowinfo: number; scopeId: number }> {
    const r = await this.call(op, ino);
    const sa = r.result === 0 ? decodeSockaddr(r.payload) : null;
    if (sa === null) throw new Error(`name call gave ${r.result}`);
    return sa;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Takes one accepted connection off a listening app end, as the library's accept() does. */
export async function acceptFrom(listenFd: number, timeoutMs = 5000): Promise<{ fd: number; addr: number; port: number; family: Family }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = recvFds(listenFd, ACCEPT_RECORD_SIZE, 4);
    if (r !== null) {
      const peer = decodeAcceptRecord(r.data);
      if (peer === null || r.fds.length !== 1) throw new Error('bad accept record');
      // addr: a number for an AF_INET listener, 32 hex digits for AF_INET6 (typed as the IPv4 suites use it).
      return { fd: r.fds[0]!, port: peer.port, addr: peer.addr as number, family: peer.family };
    }
    if (Date.now() > end) throw new Error('nothing to accept');
    await new Promise((res) => setTimeout(res, 2));
  }
}
