/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), where M is a 4-microsecond clock and F a keyed hash (SHA-256 here).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { RandomSource } from '../random.js';

export class IsnGenerator {
  private readonly secret: Buffer;
  private readonly tuple = Buffer.alloc(12);

  constructor(
    private readonly clock: Clock,
    random: RandomSource,
  ) {
    this.secret = random.bytes(16);
  }

  next(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const t = this.packTuple(localAddr, localPort, remoteAddr, remotePort);
    const h = createHash('sha256').update(t).update(this.secret).digest();
    const f = h.readUInt32BE(0);
    const m = Math.floor(this.clock.now() * 250) >>> 0; // 4 µs ticks
    return (f + m) >>> 0;
  }

  /** A per-connection timestamp offset (RFC 7323 §5.4 suggests randomising TSval's start). */
  tsOffset(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const t = this.packTuple(localAddr, localPort, remoteAddr, remotePort);
    const h = createHash('sha256').update(this.secret).update(t).update('ts').digest();
    return h.readUInt32BE(0);
  }

  /** The connection's 4-tuple in the reused 12-byte buffer both hashes take. */
  private packTuple(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): Buffer {
    const t = this.tuple;
    t.writeUInt32BE(localAddr >>> 0, 0);
    t.writeUInt32BE(remoteAddr >>> 0, 4);
    t.writeUInt16BE(localPort & 0xffff, 8);
    t.writeUInt16BE(remotePort & 0xffff, 10);
    return t;
  }
}
