/**
 * Remembers the on-wire ids (bytes 0–7) of the last packets accepted from one peer, so that a
 * captured packet sent again is dropped instead of acted upon twice. Bounded: the oldest id is
 * forgotten first.
 */
export class ReplayWindow {
  private readonly seen = new Set<bigint>();
  private readonly order: bigint[];
  private next = 0;

  constructor(private readonly capacity = 2048) {
    this.order = new Array<bigint>(capacity);
  }

  /** Records `id`; false when it was already seen (a replay). */
  accept(id: bigint): boolean {
    if (this.seen.has(id)) return false;
    const old = this.order[this.next];
    if (old !== undefined) this.seen.delete(old);
    this.order[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.seen.add(id);
    return true;
  }
}
