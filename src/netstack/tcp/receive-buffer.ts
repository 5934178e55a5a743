/**
 * In-order received data waiting for the application: a queue of Buffer views of the received
 * segments (no copy). `read` hands out a view when one segment satisfies it, and concatenates
 * otherwise.
 */
const EMPTY = Buffer.alloc(0);
const SPARE = 4096;

export class ReceiveBuffer {
  private q: Buffer[] = [];
  private head = 0;
  length = 0;

  // small segments are copied together into a shared block so that memory tracks payload bytes
  private spare: Buffer | null = null;
  private spareStart = 0;
  private spareFill = 0;
  private tailIsSpare = false;

  /** Queues a view of received data (kept as is, no copy). */
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.q.push(b);
    this.length += b.length;
    this.tailIsSpare = false;
  }

  /** Queues a copy of a small piece, coalesced with the previous small pieces. */
  pushCopy(b: Buffer): void {
    const n = b.length;
    if (n === 0) return;
    if (this.tailIsSpare && this.spare !== null && this.spareFill + n <= this.spare.length) {
      b.copy(this.spare, this.spareFill);
      this.spareFill += n;
      this.q[this.q.length - 1] = this.spare.subarray(this.spareStart, this.spareFill);
    } else {
      if (this.spare === null || this.spareFill + n > this.spare.length) {
        this.spare = Buffer.allocUnsafe(Math.max(SPARE, n));
        this.spareFill = 0;
      }
      this.spareStart = this.spareFill;
      b.copy(this.spare, this.spareFill);
      this.spareFill += n;
      this.q.push(this.spare.subarray(this.spareStart, this.spareFill));
      this.tailIsSpare = true;
    }
    this.length += n;
  }

  read(max: number): Buffer {
    const parts = this.readv(max);
    if (parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Takes up to `max` bytes as the queued pieces themselves (the last one trimmed), no copy. */
  readv(max: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.length === 0 || max <= 0) return out;
    // whatever we hand out or trim must no longer grow in place
    this.tailIsSpare = false;
    let n = max < this.length ? max : this.length;
    this.length -= n;
    while (n > 0) {
      const b = this.q[this.head]!;
      if (b.length <= n) {
        out.push(b);
        n -= b.length;
        this.q[this.head++] = EMPTY;
      } else {
        out.push(b.subarray(0, n));
        this.q[this.head] = b.subarray(n);
        n = 0;
      }
    }
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.tailIsSpare = false;
    this.spare = null;
    this.q = [];
    this.head = 0;
    this.length = 0;
  }
}
