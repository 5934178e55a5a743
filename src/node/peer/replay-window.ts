/**
 * Remembers the on-wire ids (bytes 0–7) of the last packets accepted from one peer, so that a
 * captured packet sent again is dropped instead of acted upon twice. Bounded: the oldest id is
 * forgotten first.
 *
 * Every packet passes through here, so the ids are kept as two 32-bit halves in typed arrays (an
 * open-addressing table with linear probing, and a ring giving the order to forget them in)
 * rather than as BigInts in a Set: no allocation and no BigInt hashing per packet.
 */
export class ReplayWindow {
  private readonly mask: number;
  private readonly shift: number;
  private readonly slotHi: Uint32Array;
  private readonly slotLo: Uint32Array;
  private readonly slotUsed: Uint8Array;
  private readonly ringHi: Uint32Array;
  private readonly ringLo: Uint32Array;
  private next = 0;
  private held = 0;

  constructor(private readonly capacity = 2048) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`replay window capacity must be a positive integer (got ${capacity})`);
    // at most half full, so probe runs stay short
    let bits = 1;
    while (1 << bits < capacity * 2) bits++;
    this.mask = (1 << bits) - 1;
    this.shift = 32 - bits;
    this.slotHi = new Uint32Array(1 << bits);
    this.slotLo = new Uint32Array(1 << bits);
    this.slotUsed = new Uint8Array(1 << bits);
    this.ringHi = new Uint32Array(capacity);
    this.ringLo = new Uint32Array(capacity);
  }

  /** Records the 8-byte id at `buf[offset..offset+8]`; false when it was already seen (a replay). */
  accept(buf: Uint8Array, offset = 0): boolean {
    const hi = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
    const lo = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
    let i = this.home(hi, lo);
    while (this.slotUsed[i] === 1) {
      if (this.slotHi[i] === hi && this.slotLo[i] === lo) return false;
      i = (i + 1) & this.mask;
    }
    if (this.held === this.capacity) this.forget(this.ringHi[this.next]!, this.ringLo[this.next]!);
    else this.held++;
    // forgetting may have shifted entries back: find the free slot again
    i = this.home(hi, lo);
    while (this.slotUsed[i] === 1) i = (i + 1) & this.mask;
    this.slotUsed[i] = 1;
    this.slotHi[i] = hi;
    this.slotLo[i] = lo;
    this.ringHi[this.next] = hi;
    this.ringLo[this.next] = lo;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    return true;
  }

  /** How many ids are remembered. */
  get size(): number {
    return this.held;
  }

  private home(hi: number, lo: number): number {
    return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> this.shift;
  }

  /** Removes an id, moving later members of its probe run back so lookups still find them. */
  private forget(hi: number, lo: number): void {
    const mask = this.mask;
    let i = this.home(hi, lo);
    while (this.slotUsed[i] === 1 && (this.slotHi[i] !== hi || this.slotLo[i] !== lo)) i = (i + 1) & mask;
    if (this.slotUsed[i] !== 1) return;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (this.slotUsed[j] !== 1) break;
      const k = this.home(this.slotHi[j]!, this.slotLo[j]!);
      // the entry at j may fill the hole at i unless its home lies cyclically in (i, j]
      const homeBetween = i <= j ? k > i && k <= j : k > i || k <= j;
      if (homeBetween) continue;
      this.slotHi[i] = this.slotHi[j]!;
      this.slotLo[i] = this.slotLo[j]!;
      i = j;
    }
    this.slotUsed[i] = 0;
  }
}
