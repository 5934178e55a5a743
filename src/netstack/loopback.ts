/**
 * The loopback path inside one stack: IPv4 packets to 127/8 or to the stack's own addresses are
 * queued and delivered from a 0-ms timer, never synchronously, so a sender is never re-entered by
 * its own packet. The queue is bounded; overflow is a counted drop (-ENOBUFS to the sender).
 */
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';

export const LOOPBACK_MTU = 65535;
export const LOOPBACK_QUEUE_LIMIT = 4096;

export class LoopbackQueue {
  private queue: Buffer[] = [];
  private timer: Timer | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly counters: Counters,
    private readonly deliver: (packet: Buffer) => void,
    private readonly limit = LOOPBACK_QUEUE_LIMIT,
  ) {}

  /** Queues one IPv4 packet; false when the queue is full. */
  enqueue(packet: Buffer): boolean {
    if (this.queue.length >= this.limit) {
      this.counters.inc('loopback_queue_full');
      return false;
    }
    this.queue.push(packet);
    this.counters.inc('loopback_packets');
    this.timer ??= this.scheduler.setTimer(0, this.drain);
    return true;
  }

  get length(): number {
    return this.queue.length;
  }

  private readonly drain = (): void => {
    this.timer = null;
    const q = this.queue;
    this.queue = [];
    for (let i = 0; i < q.length; i++) this.deliver(q[i]!);
  };

  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.queue = [];
  }
}
