/**
 * The send buffer: bytes written by the application and not yet acknowledged, kept as a queue of
 * fixed-size chunks. Writing copies once into the tail chunk; sending copies straight from the
 * chunks into the outgoing segment; acknowledging drops whole chunks from the head.
 * Positions are absolute stream offsets (0 = first byte ever written).
 */
const CHUNK = 64 * 1024;

export class SendBuffer {
  private chunks: Buffer[] = [];
  private chunkStart: number[] = [];
  private head = 0; // index of the first live chunk
  /** Absolute offset of the first unacknowledged byte. */
  start = 0;
  /** Absolute offset one past the last written byte. */
  end = 0;
  // lookup cache for sequential reads
  private cacheIdx = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Copies up to `max` bytes of `data`; returns the count. */
  append(data: Uint8Array, max: number): number {
    let n = data.length < max ? data.length : max;
    if (n <= 0) return 0;
    const total = n;
    let src = 0;
    while (n > 0) {
      const last = this.chunks.length - 1;
      let room = 0;
      if (last >= this.head) room = this.chunkStart[last]! + CHUNK - this.end;
      if (room <= 0) {
        this.chunks.push(Buffer.allocUnsafe(CHUNK));
        this.chunkStart.push(this.end);
        continue;
      }
      const c = this.chunks[last]!;
      const off = this.end - this.chunkStart[last]!;
      const k = n < room ? n : room;
      c.set(k === data.length && src === 0 ? data : data.subarray(src, src + k), off);
      src += k;
      n -= k;
      this.end += k;
    }
    return total;
  }

  /** Copies bytes [pos, pos+len) (absolute) into dst at dstOff. The range must be buffered. */
  copyOut(pos: number, len: number, dst: Buffer, dstOff: number): void {
    let i = this.cacheIdx;
    if (i < this.head || i >= this.chunks.length || this.chunkStart[i]! > pos) i = this.head;
    while (i + 1 < this.chunks.length && this.chunkStart[i + 1]! <= pos) i++;
    this.cacheIdx = i;
    let p = pos;
    let left = len;
    let o = dstOff;
    while (left > 0) {
      const c = this.chunks[i]!;
      const cs = this.chunkStart[i]!;
      const from = p - cs;
      const avail = CHUNK - from;
      const k = left < avail ? left : avail;
      c.copy(dst, o, from, from + k);
      o += k;
      p += k;
      left -= k;
      if (left > 0) i++;
    }
  }

  /** Drops everything before absolute offset `pos` (acknowledged). */
  consumeTo(pos: number): void {
    if (pos <= this.start) return;
    if (pos > this.end) pos = this.end;
    this.start = pos;
    while (this.head < this.chunks.length && this.chunkStart[this.head]! + CHUNK <= pos) this.head++;
    if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.chunkStart = this.chunkStart.slice(this.head);
      this.cacheIdx = Math.max(0, this.cacheIdx - this.head);
      this.head = 0;
    }
    if (this.start === this.end && this.head >= this.chunks.length - 1) {
      // keep the current tail chunk only if it has room; otherwise drop all
      if (this.head < this.chunks.length && this.chunkStart[this.head]! + CHUNK <= this.end) {
        this.chunks.length = 0;
        this.chunkStart.length = 0;
        this.head = 0;
        this.cacheIdx = 0;
      }
    }
  }

  clear(): void {
    this.chunks = [];
    this.chunkStart = [];
    this.head = 0;
    this.cacheIdx = 0;
    this.start = this.end;
  }
}
