/**
 * An in-memory UDP underlay for simulations: every attached transport owns one endpoint; datagrams
 * are delivered after a latency through the shared VirtualScheduler, with optional loss and
 * blocked pairs (to force relaying).
 */
import type { Scheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { endpointKey, type Endpoint } from '../../src/node/peer/endpoint.js';
import type { ReceiveHandler, UdpTransport } from '../../src/node/transport/udp-transport.js';

export interface SwitchboardOptions {
  latencyMs?: number;
  /** Probability 0..1 that a datagram is lost. */
  loss?: number;
  seed?: number;
}

export class Switchboard {
  private readonly ports = new Map<string, SwitchboardPort>();
  private readonly blocked = new Set<string>();
  private readonly rng: SeededRandom;
  latencyMs: number;
  loss: number;
  readonly stats = { delivered: 0, lost: 0, blocked: 0, unreachable: 0 };
  /** Every datagram handed to the switchboard, for tests that inspect traffic. */
  tap: ((from: Endpoint, to: Endpoint, data: Buffer) => void) | null = null;

  constructor(
    readonly scheduler: Scheduler,
    opts: SwitchboardOptions = {},
  ) {
    this.latencyMs = opts.latencyMs ?? 1;
    this.loss = opts.loss ?? 0;
    this.rng = new SeededRandom(opts.seed ?? 1);
  }

  /** A transport bound to `ep`; replaces a previous one at the same endpoint. */
  attach(ep: Endpoint): SwitchboardPort {
    const port = new SwitchboardPort(this, ep);
    this.ports.set(endpointKey(ep), port);
    return port;
  }

  detach(port: SwitchboardPort): void {
    const k = endpointKey(port.local);
    if (this.ports.get(k) === port) this.ports.delete(k);
  }

  /** Drops all datagrams between two endpoints (both directions) until unblocked. */
  block(a: Endpoint, b: Endpoint): void {
    this.blocked.add(pairKey(a, b));
  }

  unblock(a: Endpoint, b: Endpoint): void {
    this.blocked.delete(pairKey(a, b));
  }

  deliver(from: Endpoint, to: Endpoint, data: Buffer): void {
    this.tap?.(from, to, data);
    if (this.blocked.has(pairKey(from, to))) {
      this.stats.blocked++;
      return;
    }
    if (this.loss > 0 && this.rng.float() < this.loss) {
      this.stats.lost++;
      return;
    }
    const copy = Buffer.from(data);
    this.scheduler.setTimer(this.latencyMs, () => {
      const dst = this.ports.get(endpointKey(to));
      if (!dst || dst.closed) {
        this.stats.unreachable++;
        return;
      }
      this.stats.delivered++;
      dst.receive(copy, from);
    });
  }
}

function pairKey(a: Endpoint, b: Endpoint): string {
  const x = endpointKey(a);
  const y = endpointKey(b);
  return x < y ? `${x}|${y}` : `${y}|${x}`;
}

export class SwitchboardPort implements UdpTransport {
  private handler: ReceiveHandler = () => {};
  closed = false;
  sent = 0;

  constructor(
    private readonly board: Switchboard,
    readonly local: Endpoint,
  ) {}

  send(to: Endpoint, data: Buffer): boolean {
    if (this.closed) return false;
    this.sent++;
    this.board.deliver(this.local, to, data);
    return true;
  }

  onReceive(handler: ReceiveHandler): void {
    this.handler = handler;
  }

  receive(data: Buffer, from: Endpoint): void {
    this.handler(data, from);
  }

  localEndpoints(): Endpoint[] {
    return [this.local];
  }

  close(): void {
    this.closed = true;
    this.board.detach(this);
  }
}
