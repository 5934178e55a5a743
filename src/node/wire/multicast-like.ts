/** MULTICAST_LIKE (verb 9): one or more (network id (8), MAC (6), ADI (4)) tuples. */
import type { MulticastGroup } from '../network/multicast.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';

export const LIKE_TUPLE_LENGTH = 18;

export interface MulticastLike {
  networkId: bigint;
  group: MulticastGroup;
}

export function parseMulticastLike(payload: Buffer): Parsed<MulticastLike[]> {
  if (payload.length === 0 || payload.length % LIKE_TUPLE_LENGTH !== 0) return fail(`MULTICAST_LIKE: payload of ${payload.length} bytes`);
  const r = new Reader(payload);
  const out: MulticastLike[] = [];
  while (r.remaining > 0) out.push({ networkId: r.u64(), group: { mac: r.mac(), adi: r.u32() } });
  return ok(out);
}

export function emitMulticastLike(likes: readonly MulticastLike[]): Buffer {
  const w = new Writer(likes.length * LIKE_TUPLE_LENGTH);
  for (const l of likes) w.u64(l.networkId).mac(l.group.mac).u32(l.group.adi);
  return Buffer.from(w.finish());
}
