/**
 * IPv4 fragment reassembly (RFC 791 §3.2, RFC 815 hole tracking by sorted fragment list).
 *
 * Bounded under attack: at most `maxDatagrams` in progress, `maxBytes` of fragment data held over
 * all of them, `maxFragments` per datagram, and each datagram gives up `timeoutMs` (30 s) after its
 * first fragment. A fragment that overlaps another with different bounds discards the whole
 * datagram (as Linux since 2018; overlaps serve only evasion attacks); exact duplicates are ignored.
 * When a limit is hit the oldest datagram in progress is evicted.
 */
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import { emitIpv4Header, IPV4_MAX_PACKET, type Ipv4Header } from './wire/ipv4.js';

export interface ReassemblyOptions {
  timeoutMs?: number;
  maxDatagrams?: number;
  maxBytes?: number;
  maxFragments?: number;
}

interface Fragment {
  start: number;
  end: number;
  data: Buffer;
}

interface Datagram {
  key: string;
  src: number;
  dst: number;
  protocol: number;
  id: number;
  tos: number;
  ttl: number;
  frags: Fragment[];
  bytes: number;
  /** Payload length once the last fragment (MF = 0) arrived, else -1. */
  total: number;
  /** The first fragment's IP packet (header and start of the payload), for a time-exceeded quote. */
  first: Buffer | null;
  timer: Timer;
}

export class Ipv4Reassembler {
  readonly timeoutMs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly maxFragments: number;
  private readonly pending = new Map<string, Datagram>();
  private bytes = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly counters: Counters,
    /** A datagram timed out; `first` is its first fragment when that had arrived (for ICMP time exceeded). */
    private readonly onTimeout: (first: Buffer | null) => void,
    o: ReassemblyOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.maxDatagrams = o.maxDatagrams ?? 64;
    this.maxBytes = o.maxBytes ?? 4 << 20;
    this.maxFragments = o.maxFragments ?? 128;
  }

  /**
   * Adds the fragment `packet` (a whole IP packet, header parsed into `h`). Returns the reassembled
   * IP packet (20-byte header, no options) when this completed one, else null.
   */
  add(h: Ipv4Header, packet: Buffer): Buffer | null {
    const c = this.counters;
    c.inc('reasm_fragments');
    const start = h.fragOffset;
    const data = packet.subarray(h.headerLen, h.totalLen);
    const end = start + data.length;
    if (end > IPV4_MAX_PACKET - 20 || (h.moreFragments && (data.length === 0 || (data.length & 7) !== 0))) {
      c.inc('reasm_bad_fragment');
      return null;
    }
    const key = `${h.src}:${h.dst}:${h.protocol}:${h.id}`;
    let d = this.pending.get(key);
    if (!d) {
      if (this.pending.size >= this.maxDatagrams) this.evictOldest('reasm_evicted_count');
      d = {
        key,
        src: h.src,
        dst: h.dst,
        protocol: h.protocol,
        id: h.id,
        tos: h.tos,
        ttl: h.ttl,
        frags: [],
        bytes: 0,
        total: -1,
        first: null,
        timer: this.scheduler.setTimer(this.timeoutMs, () => this.expire(key)),
      };
      this.pending.set(key, d);
    }
    if (!h.moreFragments) {
      if ((d.total >= 0 && d.total !== end) || end < this.highestEnd(d)) {
        this.drop(d, 'reasm_bad_length');
        return null;
      }
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      this.drop(d, 'reasm_bad_length');
      return null;
    }
    // insert sorted by start; reject overlaps, ignore exact duplicates
    const fr = d.frags;
    let i = fr.length;
    while (i > 0 && fr[i - 1]!.start > start) i--;
    const prev = i > 0 ? fr[i - 1]! : null;
    const next = i < fr.length ? fr[i]! : null;
    if (prev && prev.start === start && prev.end === end) {
      c.inc('reasm_duplicate');
      return null;
    }
    if ((prev && prev.end > start) || (next && next.start < end)) {
      this.drop(d, 'reasm_overlap');
      return null;
    }
    if (fr.length >= this.maxFragments) {
      this.drop(d, 'reasm_too_many_fragments');
      return null;
    }
    // copy: the fragment may be a view of a larger frame we should not pin
    const copy = Buffer.from(data);
    fr.splice(i, 0, { start, end, data: copy });
    d.bytes += copy.length;
    this.bytes += copy.length;
    if (start === 0) d.first = Buffer.from(packet.subarray(0, Math.min(h.totalLen, h.headerLen + 8)));
    while (this.bytes > this.maxBytes && this.pending.size > 0) this.evictOldest('reasm_evicted_memory');
    if (!this.pending.has(key)) return null;
    return this.tryComplete(d);
  }

  private highestEnd(d: Datagram): number {
    const n = d.frags.length;
    return n > 0 ? d.frags[n - 1]!.end : 0;
  }

  private tryComplete(d: Datagram): Buffer | null {
    if (d.total < 0) return null;
    let at = 0;
    for (const f of d.frags) {
      if (f.start !== at) return null;
      at = f.end;
    }
    if (at !== d.total) return null;
    const out = Buffer.allocUnsafe(20 + d.total);
    emitIpv4Header(out, 0, d.tos, 20 + d.total, d.id, 0, d.ttl, d.protocol, d.src, d.dst);
    for (const f of d.frags) f.data.copy(out, 20 + f.start);
    this.remove(d);
    this.counters.inc('reasm_ok');
    return out;
  }

  private expire(key: string): void {
    const d = this.pending.get(key);
    if (!d) return;
    this.remove(d);
    this.counters.inc('reasm_timeout');
    this.onTimeout(d.first);
  }

  private drop(d: Datagram, reason: string): void {
    this.counters.inc(reason);
    this.remove(d);
  }

  private evictOldest(reason: string): void {
    const first = this.pending.values().next();
    if (!first.done) this.drop(first.value, reason);
  }

  private remove(d: Datagram): void {
    d.timer.cancel();
    this.bytes -= d.bytes;
    this.pending.delete(d.key);
  }

  /** Datagrams in progress. */
  get datagrams(): number {
    return this.pending.size;
  }

  /** Fragment bytes held. */
  get heldBytes(): number {
    return this.bytes;
  }

  close(): void {
    for (const d of this.pending.values()) d.timer.cancel();
    this.pending.clear();
    this.bytes = 0;
  }
}
