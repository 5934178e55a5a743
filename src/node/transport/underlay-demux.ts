/**
 * One underlay shared by many nodes (a daemon's endpoints): every ZeroTier packet and fragment
 * names its destination address in the same place, so the datagrams read from the one UDP socket
 * are handed to the node whose address they name. Datagrams for no hosted node go to the fallback
 * node (the daemon's own identity: as a root it relays them, as a member it counts the drop).
 *
 * A node sending to the underlay's own address (a peer on the same daemon, whose path a root
 * learned as ours) is answered without the kernel: the datagram is handed to that node from the
 * address it was sent to — what the kernel's loopback would show — at the end of the current task,
 * through a queue per destination served in turn with a budget per event-loop turn
 * (local-delivery.ts), so one busy pair of nodes cannot hold the loop from the others' I/O.
 */
import { isLoopbackEndpoint, type Endpoint } from '../peer/endpoint.js';
import { datagramDestination } from '../wire/packet.js';
import { LocalDelivery, type LocalDeliveryOptions } from './local-delivery.js';
import type { ReceiveHandler, UdpTransport } from './udp-transport.js';

const NO_HANDLER: ReceiveHandler = () => {};

export interface UnderlayDemuxOptions {
  /**
   * Whether `to` reaches the underlay's own socket (default: a loopback address on its port): those
   * datagrams for a hosted node are delivered directly.
   */
  isOwnEndpoint?: (to: Endpoint) => boolean;
  /** How datagrams between hosted nodes are scheduled (tests pass their own `nextTurn`). */
  localDelivery?: LocalDeliveryOptions;
}

/** One hosted node's view of the shared underlay. */
class UnderlayPort implements UdpTransport {
  handler: ReceiveHandler = NO_HANDLER;

  constructor(
    private readonly demux: UnderlayDemux,
    readonly address: number,
  ) {}

  send(to: Endpoint, data: Buffer): boolean {
    return this.demux.send(to, data);
  }
  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }
  localEndpoints(): Endpoint[] {
    return this.demux.underlay.localEndpoints();
  }
  /** The node stops: its datagrams go to the fallback from now on. The underlay stays open. */
  close(): void {
    this.handler = NO_HANDLER;
    this.demux.release(this);
  }
}

export class UnderlayDemux {
  private readonly ports = new Map<number, UnderlayPort>();
  private fallback: UnderlayPort | null = null;
  private readonly isOwnEndpoint: (to: Endpoint) => boolean;
  /** Datagrams between hosted nodes, waiting for the end of the current task or a later turn. */
  private readonly local: LocalDelivery;
  readonly stats = { delivered: 0, toFallback: 0, local: 0, dropped: 0 };

  constructor(
    readonly underlay: UdpTransport,
    opts: UnderlayDemuxOptions = {},
  ) {
    const ports = new Set(underlay.localEndpoints().map((e) => e.port));
    this.isOwnEndpoint = opts.isOwnEndpoint ?? ((to) => ports.has(to.port) && isLoopbackEndpoint(to));
    this.local = new LocalDelivery((data, from) => this.receive(data, from), opts.localDelivery);
    underlay.onReceive((data, from) => this.receive(data, from));
  }

  /**
   * The transport for the node with this address; `fallback` makes it the receiver of datagrams
   * for addresses no node here has. Throws if the address already has one.
   */
  port(address: bigint, opts: { fallback?: boolean } = {}): UdpTransport {
    const key = Number(address);
    if (this.ports.has(key)) throw new Error(`address ${address.toString(16).padStart(10, '0')} is already served here`);
    const port = new UnderlayPort(this, key);
    this.ports.set(key, port);
    if (opts.fallback) this.fallback = port;
    return port;
  }

  /** Addresses served here. */
  get size(): number {
    return this.ports.size;
  }

  has(address: bigint): boolean {
    return this.ports.has(Number(address));
  }

  release(port: UnderlayPort): void {
    if (this.ports.get(port.address) === port) this.ports.delete(port.address);
    if (this.fallback === port) this.fallback = null;
  }

  send(to: Endpoint, data: Buffer): boolean {
    // a node alone here has no neighbour to hand datagrams to: no header is read on its sends
    const dest = this.ports.size > 1 ? datagramDestination(data) : null;
    if (dest !== null && this.ports.has(dest) && this.isOwnEndpoint(to)) {
      this.local.enqueue(dest, data, to);
      this.stats.local++;
      return true;
    }
    return this.underlay.send(to, data);
  }

  private receive(data: Buffer, from: Endpoint): void {
    const dest = datagramDestination(data);
    const port = (dest !== null ? this.ports.get(dest) : undefined) ?? this.fallback;
    if (!port) return void this.stats.dropped++;
    if (port === this.fallback && port.address !== dest) this.stats.toFallback++;
    else this.stats.delivered++;
    port.handler(data, from);
  }
}
