/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), where M is a 4-microsecond clock and F a keyed hash (SHA-256 here).
 */
import { createHash } from 'node:crypto';
import type { IpAddr } from '../addr.js';
import type { Clock } from '../clock.js';
import type { RandomSource } from '../random.js';

export class IsnGenerator {
  private readonly secret: Buffer;
  private readonly tuple = Buffer.alloc(12);
  /** IPv6 4-tuples: 16 + 16 + 2 + 2 bytes. */
  private readonly tuple6 = Buffer.alloc(36);

  constructor(
    private readonly clock: Clock,
    random: RandomSource,
  ) {
    this.secret = random.bytes(16);
  }

  next(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number): number {
    const t = this.packTuple(localAddr, localPort, remoteAddr, remotePort);
    const h = createHash('sha256').update(t).update(this.secret).digest();
    const f = h.readUInt32BE(0);
    const m = Math.floor(this.clock.now() * 250) >>> 0; // 4 µs ticks
    return (f + m) >>> 0;
  }

  /** A per-connection timestamp offset (RFC 7323 §5.4 suggests randomising TSval's start). */
  tsOffset(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number): number {
    const t = this.packTuple(localAddr, localPort, remoteAddr, remotePort);
    const h = createHash('sha256').update(this.secret).update(t).update('ts').digest();
    return h.readUInt32BE(0);
  }

  /** The connection's 4-tuple in the reused buffer both hashes take (12 bytes for IPv4, 36 for IPv6). */
  private packTuple(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number): Buffer {
    if (typeof localAddr === 'string' || typeof remoteAddr === 'string') {
      const t = this.tuple6;
      t.write(String(localAddr).padStart(32, '0'), 0, 16, 'hex');
      t.write(String(remoteAddr).padStart(32, '0'), 16, 16, 'hex');
      t.writeUInt16BE(localPort & 0xffff, 32);
      t.writeUInt16BE(remotePort & 0xffff, 34);
      return t;
    }
    const t = this.tuple;
    t.writeUInt32BE(localAddr >>> 0, 0);
    t.writeUInt32BE(remoteAddr >>> 0, 4);
    t.writeUInt16BE(localPort & 0xffff, 8);
    t.writeUInt16BE(remotePort & 0xffff, 10);
    return t;
  }
}
