/**
 * A listening socket's own part (as gVisor's accept.go): the SYN queue of embryonic connections,
 * the accept queue of established ones, the backlog, and the options children start with.
 */
import type { TcpOptions } from './options.js';

/** What the listener needs of the connections it holds. */
export interface ListenerChild {
  /** Handed to accept() (false while still queued). */
  accepted: boolean;
  /** The listener holding it, cleared when accept() hands it out. */
  parent: object | null;
  resetAndClose(errno: number): void;
}

export class TcpListener<C extends ListenerChild = ListenerChild> {
  readonly synQueue = new Set<C>();
  acceptQueue: C[] = [];
  /** False once the listening socket closed: children completing later are not queued. */
  open = true;

  constructor(
    public backlog: number,
    /** The listening socket's options (live: later setsockopt calls reach later children). */
    readonly options: TcpOptions,
    /** Called when a connection joins the accept queue. */
    private readonly onAcceptable: () => void,
  ) {}

  /** No room for another SYN: the accept queue is full or the SYN queue is (twice the backlog, at least 32). */
  full(): boolean {
    return this.acceptQueue.length >= this.backlog || this.synQueue.size >= Math.max(this.backlog, 16) * 2;
  }

  acceptQueueFull(): boolean {
    return this.acceptQueue.length >= this.backlog;
  }

  addEmbryonic(c: C): void {
    this.synQueue.add(c);
  }

  /** A child completed its handshake: queue it for accept(). */
  established(c: C): void {
    this.synQueue.delete(c);
    if (this.open) {
      this.acceptQueue.push(c);
      this.onAcceptable();
    }
  }

  /** The next established connection, or null. A child reset while queued is still handed out (as Linux does) so the app sees the error. */
  accept(): C | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.accepted = true;
    c.parent = null;
    return c;
  }

  /**
   * A child reached CLOSED: it leaves the SYN queue, and the accept queue too if the application
   * closed it. Returns whether it is still in the accept queue.
   */
  forget(c: C, userClosed: boolean): boolean {
    this.synQueue.delete(c);
    const i = this.acceptQueue.indexOf(c);
    if (i >= 0 && userClosed) this.acceptQueue.splice(i, 1);
    return i >= 0;
  }

  /** The listening socket closed: every child not yet accepted is reset. */
  close(): void {
    this.open = false;
    for (const c of this.synQueue) c.resetAndClose(0);
    for (const c of this.acceptQueue) c.resetAndClose(0);
    this.synQueue.clear();
    this.acceptQueue = [];
  }
}
