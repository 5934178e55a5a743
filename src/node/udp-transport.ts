/**
 * The node's underlay: datagrams out to an endpoint, datagrams in with their source. Injected, so
 * the daemon uses node:dgram and simulations use an in-memory switchboard.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { endpoint, type Endpoint } from './endpoint.js';

export type ReceiveHandler = (data: Buffer, from: Endpoint) => void;

export interface UdpTransport {
  /** Sends one datagram; returns false when it could not be handed to the underlay. Never throws. */
  send(to: Endpoint, data: Buffer): boolean;
  /** Sets the one receiver of incoming datagrams. */
  onReceive(handler: ReceiveHandler): void;
  /** Local endpoints the transport is bound to (after `start`). */
  localEndpoints(): Endpoint[];
  close(): void;
}

export interface DgramTransportOptions {
  /** Primary UDP port (0 = any free port). */
  port: number;
  /** Addresses to bind; default both wildcards (0.0.0.0 and ::). */
  bind?: string[];
  /**
   * A last guard on every send: datagrams to endpoints it rejects are dropped and counted. Tests pass
   * a loopback-only policy so that nothing leaves the machine.
   */
  allowDestination?: (to: Endpoint) => boolean;
  logger?: Logger;
}

interface BoundSocket {
  family: 4 | 6;
  socket: dgram.Socket;
  local: Endpoint | null;
}

/** node:dgram transport for IPv4 and IPv6 on one port. */
export class DgramUdpTransport implements UdpTransport {
  private readonly sockets: BoundSocket[] = [];
  private handler: ReceiveHandler = () => {};
  readonly stats = { sent: 0, received: 0, sendErrors: 0, refusedDestination: 0 };

  private constructor(private readonly opts: DgramTransportOptions) {}

  /** Binds every requested address; rejects when none could be bound. */
  static async open(opts: DgramTransportOptions): Promise<DgramUdpTransport> {
    const t = new DgramUdpTransport(opts);
    const binds = opts.bind ?? ['0.0.0.0', '::'];
    let port = opts.port;
    const errors: string[] = [];
    for (const addr of binds) {
      try {
        const bound = await t.bindOne(addr, port);
        // every socket shares the primary port, as stock nodes do
        if (port === 0 && bound.local) port = bound.local.port;
      } catch (e) {
        errors.push(`${addr}: ${(e as Error).message}`);
      }
    }
    if (t.sockets.length === 0) throw new Error(`cannot bind UDP port ${opts.port}: ${errors.join('; ')}`);
    return t;
  }

  private bindOne(addr: string, port: number): Promise<BoundSocket> {
    const family: 4 | 6 = addr.includes(':') ? 6 : 4;
    const socket = dgram.createSocket({
      type: family === 4 ? 'udp4' : 'udp6',
      ipv6Only: family === 6,
      reuseAddr: false,
      // destinations are always literal addresses: answer at once instead of a DNS round on the next tick
      lookup: literalLookup(family),
    });
    const entry: BoundSocket = { family, socket, local: null };
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(port, addr, () => {
        socket.off('error', onError);
        socket.on('error', (err) => {
          this.stats.sendErrors++;
          this.opts.logger?.warn({ err: err.message }, 'udp socket error');
        });
        const a = socket.address();
        entry.local = endpoint(a.address, a.port);
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // buffer sizes are a hint; the kernel may cap them
        }
        socket.on('message', (msg, rinfo) => {
          const from = endpoint(rinfo.address, rinfo.port);
          if (!from) return;
          this.stats.received++;
          this.handler(msg, from);
        });
        this.sockets.push(entry);
        resolve(entry);
      });
    });
  }

  send(to: Endpoint, data: Buffer): boolean {
    if (this.opts.allowDestination && !this.opts.allowDestination(to)) {
      this.stats.refusedDestination++;
      return false;
    }
    const s = this.sockets.find((b) => b.family === to.family);
    if (!s) {
      this.stats.sendErrors++;
      return false;
    }
    try {
      // no callback: send errors surface as the socket's 'error' event, counted there
      s.socket.send(data, to.port, to.ip);
      this.stats.sent++;
      return true;
    } catch {
      this.stats.sendErrors++;
      return false;
    }
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  localEndpoints(): Endpoint[] {
    return this.sockets.flatMap((s) => (s.local ? [s.local] : []));
  }

  close(): void {
    for (const s of this.sockets.splice(0)) {
      try {
        s.socket.close();
      } catch {
        // already closed
      }
    }
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** dgram's address lookup for literal IP addresses only (a name is an error: endpoints never hold one). */
function literalLookup(family: 4 | 6): (hostname: string, options: unknown, callback: LookupCallback) => void {
  return (hostname, _options, callback) => {
    if (isIP(hostname) !== family) {
      const err: NodeJS.ErrnoException = new Error(`not an IPv${family} address: ${hostname}`);
      err.code = 'EINVAL';
      return callback(err, '', family);
    }
    callback(null, hostname, family);
  };
}

/** A send policy that only lets datagrams go to loopback addresses (for tests and benchmarks). */
export function loopbackOnly(to: Endpoint): boolean {
  return to.family === 4 ? to.ip.startsWith('127.') : to.ip === '::1';
}
