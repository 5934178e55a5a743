/**
 * The fd keeper's messages (daemon <-> keeper, AF_UNIX stream): u32 little-endian length, then
 * that many bytes of JSON. A message that carries a descriptor sends it (SCM_RIGHTS) with its
 * first byte, so descriptors arrive in the order of their messages and a reader matches each
 * `fd: true` message with the oldest descriptor not yet claimed.
 */

export const KEEPER_PROTOCOL = 1;
/** Largest message: metadata of one listener is well under 1 KiB. */
const MAX_MESSAGE = 16 * 1024;

export interface KeeperMessage {
  /** 'hello' (daemon's settings), 'keep' (+fd), 'drop', 'held' (+fd), 'end' (all held entries sent). */
  t: string;
  id?: string;
  meta?: unknown;
  /** A descriptor travels with this message. */
  fd?: boolean;
  v?: number;
  /** hello: how long to wait for a daemon once this one is gone. */
  timeoutMs?: number;
}

export function encodeKeeperMessage(m: KeeperMessage): Buffer {
  const body = Buffer.from(JSON.stringify(m), 'utf8');
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Splits received bytes and descriptors into messages; descriptors nobody claims stay queued. */
export class KeeperReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly fds: number[] = [];

  /** Adds what one read returned. */
  push(data: Buffer, fds: readonly number[]): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    this.fds.push(...fds);
  }

  /** The next whole message (with its descriptor, -1 when it carries none), null when none yet; throws on a broken stream. */
  next(): { msg: KeeperMessage; fd: number } | null {
    if (this.buf.length < 4) return null;
    const len = this.buf.readUInt32LE(0);
    if (len === 0 || len > MAX_MESSAGE) throw new Error(`keeper message length ${len} out of range`);
    if (this.buf.length < 4 + len) return null;
    const text = this.buf.subarray(4, 4 + len).toString('utf8');
    this.buf = this.buf.subarray(4 + len);
    const msg = JSON.parse(text) as KeeperMessage;
    if (typeof msg !== 'object' || msg === null || typeof msg.t !== 'string') throw new Error('keeper message without a type');
    let fd = -1;
    if (msg.fd === true) {
      const f = this.fds.shift();
      if (f === undefined) throw new Error('keeper message announces a descriptor that did not come');
      fd = f;
    }
    return { msg, fd };
  }

  /** Descriptors received and not claimed by any message (the caller closes them). */
  takeUnclaimed(): number[] {
    return this.fds.splice(0);
  }
}
