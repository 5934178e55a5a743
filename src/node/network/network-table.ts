/**
 * The networks a node has joined, by 64-bit network id. Every FRAME names its network in the
 * first 8 bytes of its payload; `at` finds the network from those bytes, comparing them as two
 * 32-bit halves with the last network found, so a stream's packets need no bigint and no Map
 * lookup each.
 */
export class NetworkTable<T> {
  private readonly byId = new Map<bigint, T>();
  /** The last entry `at` found, and the two halves of its id (-1: none). */
  private last: T | undefined = undefined;
  private lastHigh = -1;
  private lastLow = -1;

  get size(): number {
    return this.byId.size;
  }

  get(id: bigint): T | undefined {
    return this.byId.get(id);
  }

  set(id: bigint, value: T): void {
    this.byId.set(id, value);
    this.forgetLast();
  }

  delete(id: bigint): boolean {
    this.forgetLast();
    return this.byId.delete(id);
  }

  clear(): void {
    this.forgetLast();
    this.byId.clear();
  }

  values(): IterableIterator<T> {
    return this.byId.values();
  }

  /** The entry whose id is the big-endian 8 bytes at bytes[offset, offset + 8) (which must exist). */
  at(bytes: Buffer, offset: number): T | undefined {
    const high = bytes.readUInt32BE(offset);
    const low = bytes.readUInt32BE(offset + 4);
    if (low === this.lastLow && high === this.lastHigh) return this.last;
    const found = this.byId.get(bytes.readBigUInt64BE(offset));
    // only hits are remembered: packets for networks we are not in do not push out the one we use
    if (found !== undefined) {
      this.last = found;
      this.lastHigh = high;
      this.lastLow = low;
    }
    return found;
  }

  private forgetLast(): void {
    this.last = undefined;
    this.lastHigh = -1;
    this.lastLow = -1;
  }
}
