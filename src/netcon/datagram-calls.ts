/**
 * The RPCs on apps' datagram sockets (UDP, ping, raw ICMP): SOCKET of a datagram type, then BIND,
 * CONNECT (ZT_F_UNSPEC dissolves), GETSOCKNAME, GETPEERNAME, GET/SETSOCKOPT, SHUTDOWN and WHOIS
 * with Linux's semantics for UDP; LISTEN is EOPNOTSUPP as on the kernel. The server asks this
 * table first and handles TCP itself when the inode is not one of these.
 */
import type { Logger } from 'pino';
import { Errno, type NetStack } from '../netstack/index.js';
import { DatagramSocket } from './datagram-socket.js';
import { getDatagramOption, setDatagramOption } from './dgram-sockopt.js';
import { type DnsRedirect, type DnsRedirectOptions, makeDnsRedirect } from './dns-redirect.js';
import type { FdPlumbing } from './fd-plumbing.js';
import type { NetconCounters } from './netcon-counters.js';
import {
  decodeSockaddr,
  decodeSockopt,
  type Family,
  FLAG_UNSPEC,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  Op,
  type Request,
  SOCK_DGRAM,
  SOCK_RAW,
} from './protocol.js';
import type { Reply } from './reply.js';
import { stackAddress, wireAddress } from './socket-family.js';
import { IPPROTO_IP } from './sockopt.js';
import { type DatagramKind, openStackDatagram } from './stack-datagram.js';

const EPROTONOSUPPORT = 93;

/**
 * The datagram kind a SOCKET request names, or null (EPROTONOSUPPORT): ping and raw sockets take
 * IPPROTO_ICMP on AF_INET and IPPROTO_ICMPV6 on AF_INET6, as Linux's.
 */
export function datagramKind(type: number, protocol: number, family: Family = 4): DatagramKind | null {
  const icmp = family === 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  if (type === SOCK_DGRAM) {
    if (protocol === 0 || protocol === IPPROTO_UDP) return 'udp';
    if (protocol === icmp) return 'ping';
    return null;
  }
  if (type === SOCK_RAW && protocol === icmp) return 'raw';
  return null;
}

export class DatagramCalls {
  private readonly table = new Map<number, DatagramSocket>();
  private readonly dns: DnsRedirect | null;
  private closing = false;

  constructor(
    private readonly stack: NetStack,
    private readonly plumbing: FdPlumbing,
    private readonly counters: NetconCounters,
    private readonly log: Logger,
    dns: DnsRedirectOptions,
  ) {
    this.dns = makeDnsRedirect(dns, stack);
  }

  get size(): number {
    return this.table.size;
  }

  /** SOCKET of a non-stream type: the app's end of a new seqpacket pair, or an errno. */
  open(type: number, protocol: number, family: Family): Reply {
    const kind = datagramKind(type, protocol, family);
    if (kind === null) return { result: -EPROTONOSUPPORT };
    const sock = openStackDatagram(this.stack, kind, family);
    let pair: [number, number];
    try {
      pair = this.plumbing.socketpair('seqpacket');
    } catch (e) {
      sock.close();
      return { result: -errnoOf(e, Errno.ENOBUFS) };
    }
    const [appFd, daemonFd] = pair;
    let ino: number;
    let s: DatagramSocket;
    try {
      ino = this.plumbing.inode(appFd);
      s = new DatagramSocket(ino, kind, family, sock, daemonFd, {
        stack: this.stack,
        counters: this.counters,
        log: this.log,
        dns: this.dns,
        onGone: (g) => this.forget(g),
      });
    } catch (e) {
      sock.close();
      this.safeClose(appFd);
      this.safeClose(daemonFd);
      return { result: -errnoOf(e, Errno.EBADF) };
    }
    this.table.get(ino)?.teardown();
    this.table.set(ino, s);
    this.counters.socketsOpenDatagram = this.table.size;
    this.counters.inc(`datagramSockets.${kind}${family === 6 ? '6' : ''}`);
    const payload = Buffer.alloc(8);
    payload.writeBigUInt64LE(BigInt(ino), 0);
    return { result: 0, payload, fds: [appFd] };
  }

  /** The reply when `req.ino` is one of ours; undefined otherwise (the server's TCP table decides). */
  handle(req: Request): Reply | undefined {
    const s = this.table.get(req.ino);
    if (s === undefined) return undefined;
    switch (req.op) {
      case Op.WHOIS:
        return { result: s.whoisKind };
      case Op.BIND: {
        const sa = decodeSockaddr(req.payload);
        if (sa === null) return { result: -Errno.EINVAL };
        const a = stackAddress(sa, s.family);
        if (typeof a === 'number') return { result: a };
        return { result: s.bind(a.addr, a.port) };
      }
      case Op.LISTEN:
        return { result: -Errno.EOPNOTSUPP };
      case Op.CONNECT: {
        if ((req.flags & FLAG_UNSPEC) !== 0) return { result: s.disconnect() };
        const sa = decodeSockaddr(req.payload);
        if (sa === null) return { result: -Errno.EINVAL };
        const a = stackAddress(sa, s.family);
        if (typeof a === 'number') return { result: a };
        const resolver = s.kind === 'udp' && s.wantsResolver(a);
        return { result: s.connect(a.addr, a.port, resolver) };
      }
      case Op.GETSOCKNAME:
        return { result: 0, payload: wireAddress(s.localName(), s.family) };
      case Op.GETPEERNAME: {
        const p = s.peer();
        if (p === null) return { result: -Errno.ENOTCONN };
        return { result: 0, payload: wireAddress(p, s.family) };
      }
      case Op.GETSOCKOPT:
        return this.getsockopt(s, req);
      case Op.SETSOCKOPT: {
        const o = decodeSockopt(req.payload);
        if (o === null || o.value.length !== o.len) return { result: -Errno.EINVAL };
        return { result: setDatagramOption(s, o.level, o.name, o.value, (a) => this.isLocal(a)) };
      }
      case Op.SHUTDOWN: {
        if (req.payload.length < 4) return { result: -Errno.EINVAL };
        return { result: s.shutdown(req.payload.readInt32LE(0)) };
      }
      default:
        return { result: -Errno.EOPNOTSUPP };
    }
  }

  /** Closes every datagram socket (the server is stopping). */
  closeAll(): void {
    this.closing = true;
    for (const s of [...this.table.values()]) s.teardown();
    this.table.clear();
    this.counters.socketsOpenDatagram = 0;
  }

  private getsockopt(s: DatagramSocket, req: Request): Reply {
    const o = decodeSockopt(req.payload);
    if (o === null) return { result: -Errno.EINVAL };
    const v = getDatagramOption(s, o.level, o.name);
    if (typeof v === 'number') return { result: v };
    // do_ip_getsockopt gives a single byte to a buffer shorter than an int when the value fits.
    if (o.level === IPPROTO_IP && v.length === 4 && o.len > 0 && o.len < 4) {
      const n = v.readInt32LE(0);
      if (n >= 0 && n <= 255) return { result: 1, payload: Buffer.from([n]) };
    }
    const bytes = v.subarray(0, Math.min(v.length, o.len));
    return { result: bytes.length, payload: Buffer.from(bytes) };
  }

  private isLocal(addr: number): boolean {
    return this.stack.addresses().some((a) => a.addr === addr);
  }

  private forget(s: DatagramSocket): void {
    if (this.table.get(s.ino) === s) this.table.delete(s.ino);
    if (!this.closing) this.counters.socketsOpenDatagram = this.table.size;
  }

  private safeClose(fd: number): void {
    try {
      this.plumbing.close(fd);
    } catch {
      // already closed
    }
  }
}

function errnoOf(e: unknown, fallback: number): number {
  const n = (e as { errno?: unknown }).errno;
  return typeof n === 'number' && n > 0 ? n : fallback;
}
