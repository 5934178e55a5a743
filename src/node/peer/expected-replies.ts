/**
 * Requests we sent and still expect an OK/ERROR for, keyed by their on-wire packet id (bytes 0–7
 * as sent, which for cipher 3 is the encrypted tag). Replies to anything else are dropped, so a
 * stranger cannot feed us unsolicited OK(WHOIS) or configs. Bounded and expiring.
 */
export interface Expected<C> {
  verb: number;
  peer: string;
  sentAt: number;
  context: C;
}

export class ExpectedReplies<C = unknown> {
  private readonly map = new Map<bigint, Expected<C>>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly max = 8192,
  ) {}

  add(id: bigint, e: Expected<C>): void {
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(id, e);
  }

  /** The request `id` named, if we sent it to `peer` with `verb` and it has not expired. Kept for repeated replies. */
  match(id: bigint, verb: number, peer: string, now: number): Expected<C> | undefined {
    const e = this.map.get(id);
    if (!e || e.verb !== verb || e.peer !== peer || now - e.sentAt > this.ttlMs) return undefined;
    return e;
  }

  take(id: bigint): void {
    this.map.delete(id);
  }

  expire(now: number): void {
    for (const [id, e] of this.map) if (now - e.sentAt > this.ttlMs) this.map.delete(id);
  }
}
