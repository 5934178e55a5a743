/**
 * Reassembles packets sent as a head (flag 0x40) plus fragments. Pieces may arrive in any order
 * and the head may come last. Bounded: at most MAX_FRAGMENTS pieces per packet, a cap on packets
 * in flight and on bytes held (oldest evicted first), and a timeout after which a partial packet
 * is dropped. Every drop is counted; nothing throws.
 */
import { type Clock, Counters } from '../../netstack/index.js';
import { FLAG_FRAGMENTED, MAX_FRAGMENTS, PACKET_IDX_DEST, PACKET_MAX_LENGTH, type FragmentView, type PacketView } from '../wire/packet.js';

export interface ReassemblyLimits {
  /** Partial packets held at once. */
  maxPackets: number;
  /** Bytes held across all partial packets. */
  maxBytes: number;
  /** A partial packet older than this is dropped (stock: 500 ms). */
  timeoutMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxPackets: 128, maxBytes: 2 * 1024 * 1024, timeoutMs: 500 };

export type ReassemblyResult = { kind: 'complete'; packet: Buffer } | { kind: 'pending' } | { kind: 'dropped'; reason: string };

interface Partial {
  created: number;
  destination: Buffer;
  head: Buffer | null;
  /** Number of pieces (head included); 0 until a non-head fragment says. */
  total: number;
  pieces: (Buffer | undefined)[];
  bytes: number;
}

const PENDING: ReassemblyResult = { kind: 'pending' };

export class FragmentReassembly {
  readonly counters: Counters;
  private readonly partials = new Map<bigint, Partial>();
  private held = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS,
    counters?: Counters,
  ) {
    this.counters = counters ?? new Counters();
  }

  get bytesHeld(): number {
    return this.held;
  }

  get packetsInFlight(): number {
    return this.partials.size;
  }

  /** A packet whose fragmented flag is set: the head. */
  addHead(head: PacketView): ReassemblyResult {
    if ((head.flags & FLAG_FRAGMENTED) === 0) return this.drop('frag_not_head', 'packet has no fragmented flag');
    const id = head.packetId;
    const p = this.partialFor(id, head.buf.subarray(PACKET_IDX_DEST, PACKET_IDX_DEST + 5), head.buf.length);
    if (!p) return this.drop('frag_no_room', 'no room for this packet');
    if ('kind' in p) return p;
    if (p.head) return this.drop('frag_duplicate', 'duplicate head');
    p.head = Buffer.from(head.buf);
    this.account(p, p.head.length);
    return this.tryComplete(id, p);
  }

  addFragment(frag: FragmentView): ReassemblyResult {
    const id = frag.packetId;
    const p = this.partialFor(id, frag.buf.subarray(PACKET_IDX_DEST, PACKET_IDX_DEST + 5), frag.data.length);
    if (!p) return this.drop('frag_no_room', 'no room for this packet');
    if ('kind' in p) return p;
    if (p.total !== 0 && p.total !== frag.total) {
      this.remove(id, p);
      return this.drop('frag_inconsistent', 'fragments disagree on the count');
    }
    p.total = frag.total;
    if (p.pieces[frag.number]) return this.drop('frag_duplicate', 'duplicate fragment');
    const data = Buffer.from(frag.data);
    p.pieces[frag.number] = data;
    this.account(p, data.length);
    return this.tryComplete(id, p);
  }

  /** Drops partial packets past their timeout. Called on every add; callers may call it on a timer. */
  expire(): void {
    const now = this.clock.now();
    for (const [id, p] of this.partials) {
      if (now - p.created <= this.limits.timeoutMs) break; // insertion order = age order
      this.remove(id, p);
      this.counters.inc('frag_timeout');
    }
  }

  private drop(counter: string, reason: string): ReassemblyResult {
    this.counters.inc(counter);
    return { kind: 'dropped', reason };
  }

  private account(p: Partial, n: number): void {
    p.bytes += n;
    this.held += n;
  }

  private remove(id: bigint, p: Partial): void {
    this.partials.delete(id);
    this.held -= p.bytes;
  }

  /** Finds or makes the partial packet, evicting the oldest to stay within the limits. */
  private partialFor(id: bigint, dest: Buffer, incoming: number): Partial | ReassemblyResult | null {
    this.expire();
    let p = this.partials.get(id);
    if (p && !p.destination.equals(dest)) {
      this.remove(id, p);
      return this.drop('frag_inconsistent', 'pieces disagree on the destination');
    }
    if (incoming > this.limits.maxBytes) return null;
    if (p && p.bytes + incoming > PACKET_MAX_LENGTH) {
      this.remove(id, p);
      return this.drop('frag_too_long', 'reassembled packet too long');
    }
    while (this.held + incoming > this.limits.maxBytes || (!p && this.partials.size >= this.limits.maxPackets)) {
      const oldest = this.partials.entries().next();
      if (oldest.done) break;
      const [oid, op] = oldest.value;
      this.remove(oid, op);
      this.counters.inc('frag_evicted');
      if (oid === id) p = undefined;
    }
    if (!p) {
      p = { created: this.clock.now(), destination: Buffer.from(dest), head: null, total: 0, pieces: [], bytes: 0 };
      this.partials.set(id, p);
    }
    return p;
  }

  private tryComplete(id: bigint, p: Partial): ReassemblyResult {
    if (!p.head || p.total === 0) return PENDING;
    if (p.total > MAX_FRAGMENTS) {
      this.remove(id, p);
      return this.drop('frag_inconsistent', 'too many fragments');
    }
    for (let n = 1; n < p.total; n++) if (!p.pieces[n]) return PENDING;
    const parts: Buffer[] = [p.head];
    for (let n = 1; n < p.total; n++) parts.push(p.pieces[n]!);
    this.remove(id, p);
    // the head keeps its fragmented flag: the MAC covers it
    const packet = Buffer.concat(parts);
    this.counters.inc('frag_reassembled');
    return { kind: 'complete', packet };
  }
}
