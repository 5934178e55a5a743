/**
 * Datagrams between the nodes of one underlay (a daemon's endpoints), delivered without the kernel
 * and fairly: each destination node has its own queue, served in turn a few datagrams at a time,
 * and at most a budget of datagrams is delivered in one event-loop turn before the rest waits for
 * the next (setImmediate), so the loop polls its sockets in between.
 *
 * Why: a delivery makes the receiving node answer (a TCP ACK, more data), which is queued again;
 * delivered in one microtask chain, a saturating stream between two endpoints held the event loop
 * until its whole send window had moved, and every other endpoint's I/O (the apps' sockets, the
 * UDP socket) waited behind it: a 1-byte round trip beside the stream took 20× its idle time.
 * Under the budget nothing changes: a datagram is delivered as soon as the task that sent it
 * returns (a microtask), which keeps an idle round trip as short as before.
 */
import type { Endpoint } from '../peer/endpoint.js';

/** Datagrams one destination gets before the next destination's turn. */
const QUANTUM = 8;
/**
 * Milliseconds of deliveries (with all they cause: the receivers' stacks, their answers, their
 * sends) in one event-loop turn before the rest waits for the next. Time rather than a count: one
 * datagram may be an ACK that releases a window of segments to encrypt. About what a stream moves
 * in 25 KB at 1 Gbit/s: short next to the milliseconds a whole send window took, long enough that
 * the turn's fixed costs (polling, the apps' reads and writes, an ACK per burst) stay a small share.
 */
const TURN_BUDGET_MS = 0.2;

export interface LocalDeliveryOptions {
  /** Datagrams per destination per round (default 8). */
  quantum?: number;
  /** Milliseconds of deliveries per event-loop turn (default 0.2). */
  turnBudgetMs?: number;
  /** Runs `fn` in the next event-loop turn, after I/O has been polled (default setImmediate). */
  nextTurn?: (fn: () => void) => void;
  /** The clock the budget is kept with, in milliseconds (default performance.now). */
  now?: () => number;
}

/** One destination's waiting datagrams, flat [data, from, …] read from `head`. */
interface Inbox {
  items: Array<Buffer | Endpoint>;
  head: number;
}

export class LocalDelivery {
  private readonly inboxes = new Map<number, Inbox>();
  /** Destinations with waiting datagrams, in the order they are served. */
  private ring: number[] = [];
  /**
   * Destinations that had nothing waiting until now: served first in the next round, so a lone
   * request (a ping, a keystroke) is not queued behind a busy destination's quantum.
   */
  private fresh: number[] = [];
  private readonly quantum: number;
  private readonly turnBudgetMs: number;
  private readonly nextTurn: (fn: () => void) => void;
  private readonly now: () => number;
  /** Milliseconds spent delivering since the current event-loop turn began. */
  private spentThisTurn = 0;
  /** When the current drain started, and the turn's spending then. */
  private drainStart = 0;
  private spentBefore = 0;
  private microtaskScheduled = false;
  private turnScheduled = false;
  private draining = false;
  /** Turns that ended with datagrams left for the next; deliveries whose receiver threw. */
  readonly stats = { deferredTurns: 0, errors: 0 };

  constructor(
    private readonly deliver: (data: Buffer, from: Endpoint) => void,
    opts: LocalDeliveryOptions = {},
  ) {
    this.quantum = opts.quantum ?? QUANTUM;
    this.turnBudgetMs = opts.turnBudgetMs ?? TURN_BUDGET_MS;
    this.nextTurn = opts.nextTurn ?? setImmediate;
    this.now = opts.now ?? performance.now.bind(performance);
  }

  /** Datagrams waiting. */
  get size(): number {
    let n = 0;
    for (const inbox of this.inboxes.values()) n += (inbox.items.length - inbox.head) / 2;
    return n;
  }

  /** Queues `data` for the node `dest`, to be handed over as if it came from `from`. */
  enqueue(dest: number, data: Buffer, from: Endpoint): void {
    let inbox = this.inboxes.get(dest);
    if (inbox === undefined) {
      inbox = { items: [], head: 0 };
      this.inboxes.set(dest, inbox);
      this.fresh.push(dest);
    }
    inbox.items.push(data, from);
    if (this.draining || this.microtaskScheduled) return;
    if (this.spentThisTurn < this.turnBudgetMs) {
      this.microtaskScheduled = true;
      queueMicrotask(this.drainSoon);
    } else this.scheduleTurn();
  }

  private readonly drainSoon = (): void => {
    this.microtaskScheduled = false;
    this.drain();
  };

  /** The next turn: a fresh budget, and what waited goes first. */
  private readonly onTurn = (): void => {
    this.turnScheduled = false;
    this.spentThisTurn = 0;
    if (this.waiting()) this.drain();
  };

  private waiting(): boolean {
    return this.ring.length > 0 || this.fresh.length > 0;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.nextTurn(this.onTurn);
  }

  /** Round after round over the destinations, until nothing waits or the turn's budget is spent. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.drainStart = this.now();
    this.spentBefore = this.spentThisTurn;
    try {
      while (this.waiting() && this.spentThisTurn < this.turnBudgetMs) this.round();
    } finally {
      this.draining = false;
    }
    // the budget counts per turn: the next turn resets it (and takes over what is left)
    if (this.spentThisTurn > 0 || this.waiting()) {
      if (this.waiting()) this.stats.deferredTurns++;
      this.scheduleTurn();
    }
  }

  /** Each waiting destination gets up to `quantum` datagrams, fresh ones first; new arrivals wait for the next round. */
  private round(): void {
    const ring = this.fresh.length === 0 ? this.ring : this.fresh.concat(this.ring);
    this.fresh = [];
    this.ring = [];
    for (let r = 0; r < ring.length; r++) {
      if (this.spentThisTurn >= this.turnBudgetMs) {
        // the turn is spent: the destinations not served this round go first in the next
        this.ring = ring.slice(r).concat(this.ring);
        return;
      }
      const dest = ring[r]!;
      const inbox = this.inboxes.get(dest)!;
      const items = inbox.items;
      let n = 0;
      while (inbox.head < items.length && n < this.quantum && this.spentThisTurn < this.turnBudgetMs) {
        const data = items[inbox.head] as Buffer;
        const from = items[inbox.head + 1] as Endpoint;
        inbox.head += 2;
        n++;
        try {
          this.deliver(data, from);
        } catch {
          // a receiver's bug must not leave the queues half served: counted, the rest goes on
          this.stats.errors++;
        }
        // never zero after a delivery, so a spent budget is always seen as spent
        this.spentThisTurn = this.spentBefore + Math.max(this.now() - this.drainStart, 1e-6);
      }
      if (inbox.head < inbox.items.length) {
        // more waits: served again next round, after the others
        if (inbox.head >= 1024) {
          inbox.items = inbox.items.slice(inbox.head);
          inbox.head = 0;
        }
        this.ring.push(dest);
      } else this.inboxes.delete(dest);
    }
  }
}
