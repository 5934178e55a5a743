/**
 * IPv6 fragment reassembly (RFC 8200 §4.5, RFC 5722 overlapping fragments, RFC 7112 header chain).
 *
 * Fragments of one datagram share source, destination and identification. A fragment overlapping
 * another with different bounds discards the whole datagram, and later fragments of it are
 * dropped too until its timer runs out (RFC 5722: "including those not yet received"); exact
 * duplicates are ignored (RFC 8200 allows it, as Linux does). Each datagram gives up 60 s after
 * its first fragment arrived; when the fragment at offset 0 had come, its sender hears ICMPv6 time
 * exceeded, code 1 (the caller's `onTimeout`). Bounded under attack: at most `maxDatagrams` in
 * progress, `maxBytes` of fragment data held over all, `maxFragments` per datagram; at a limit
 * the oldest datagram is evicted.
 *
 * The reassembled packet is the first fragment's fixed header, with the fragment header's Next
 * Header and the new payload length, followed by the reassembled fragmentable part; the
 * unfragmentable headers were already processed for every fragment on arrival.
 */
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import { emitIpv6Header, IPV6_FIXED_HEADER_LEN, IPV6_MAX_PAYLOAD, type Ipv6Header } from './wire/ipv6.js';

/** What is kept of the first fragment for the time-exceeded error: what fits in a 1280-byte error. */
const FIRST_QUOTE = 1280 - 48;

export interface Ipv6ReassemblyOptions {
  timeoutMs?: number;
  maxDatagrams?: number;
  maxBytes?: number;
  maxFragments?: number;
}

/** What one fragment is: the parsed fixed header, where its data starts and the fragment header's fields. */
export interface Ipv6FragmentInfo {
  /** Offset of the fragmentable data (right after the fragment header) in the packet. */
  dataOffset: number;
  fragOffset: number;
  moreFragments: boolean;
  id: number;
  nextHeader: number;
}

interface Fragment {
  start: number;
  end: number;
  data: Buffer;
}

interface Datagram {
  key: string;
  src: string;
  dst: string;
  trafficClass: number;
  flowLabel: number;
  hopLimit: number;
  nextHeader: number;
  frags: Fragment[];
  bytes: number;
  /** Fragmentable length once the last fragment (M = 0) arrived, else -1. */
  total: number;
  /** The first fragment's packet (its start), for the time-exceeded quote. */
  first: Buffer | null;
  /** An overlap killed it: later fragments are dropped until the timer ends it. */
  dead: boolean;
  timer: Timer;
}

export class Ipv6Reassembler {
  readonly timeoutMs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly maxFragments: number;
  private readonly pending = new Map<string, Datagram>();
  private bytes = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly counters: Counters,
    /** A datagram timed out; `first` is its first fragment's packet when that had arrived. */
    private readonly onTimeout: (first: Buffer | null) => void,
    o: Ipv6ReassemblyOptions = {},
  ) {
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.maxDatagrams = o.maxDatagrams ?? 64;
    this.maxBytes = o.maxBytes ?? 4 << 20;
    this.maxFragments = o.maxFragments ?? 128;
  }

  /**
   * Adds the fragment `packet` (a whole IPv6 packet, fixed header parsed into `h`). Returns the
   * reassembled packet when this completed one, else null. The caller has checked the length rules
   * that draw a parameter problem (a non-last fragment's length a multiple of 8, the end within 65535).
   */
  add(h: Ipv6Header, packet: Buffer, f: Ipv6FragmentInfo): Buffer | null {
    const c = this.counters;
    c.inc('reasm_fragments');
    const start = f.fragOffset;
    const data = packet.subarray(f.dataOffset, h.totalLen);
    const end = start + data.length;
    if (data.length === 0 || end > IPV6_MAX_PAYLOAD) {
      c.inc('reasm_bad_fragment');
      return null;
    }
    const key = `${h.src}${h.dst}${f.id}`;
    let d = this.pending.get(key);
    if (!d) {
      if (this.pending.size >= this.maxDatagrams) this.evictOldest('reasm_evicted_count');
      d = {
        key,
        src: h.src,
        dst: h.dst,
        trafficClass: h.trafficClass,
        flowLabel: h.flowLabel,
        hopLimit: h.hopLimit,
        nextHeader: f.nextHeader,
        frags: [],
        bytes: 0,
        total: -1,
        first: null,
        dead: false,
        timer: this.scheduler.setTimer(this.timeoutMs, () => this.expire(key)),
      };
      this.pending.set(key, d);
    }
    if (d.dead) {
      c.inc('reasm_dropped_after_overlap');
      return null;
    }
    if (!f.moreFragments) {
      if ((d.total >= 0 && d.total !== end) || end < this.highestEnd(d)) {
        this.kill(d, 'reasm_bad_length');
        return null;
      }
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      this.kill(d, 'reasm_bad_length');
      return null;
    }
    // insert sorted by start; an overlap kills the datagram, an exact duplicate is ignored
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
      this.kill(d, 'reasm_overlap');
      return null;
    }
    if (fr.length >= this.maxFragments) {
      this.kill(d, 'reasm_too_many_fragments');
      return null;
    }
    // copy: the fragment may be a view of a larger frame we should not pin
    const copy = Buffer.from(data);
    fr.splice(i, 0, { start, end, data: copy });
    d.bytes += copy.length;
    this.bytes += copy.length;
    if (start === 0) {
      // as much as an ICMPv6 error quotes (1280 − 48 bytes)
      d.first = Buffer.from(packet.subarray(0, Math.min(h.totalLen, FIRST_QUOTE)));
      d.nextHeader = f.nextHeader;
      d.trafficClass = h.trafficClass;
      d.flowLabel = h.flowLabel;
      d.hopLimit = h.hopLimit;
    }
    while (this.bytes > this.maxBytes && this.pending.size > 0) this.evictOldest('reasm_evicted_memory');
    if (this.pending.get(key) !== d) return null;
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
    const out = Buffer.allocUnsafe(IPV6_FIXED_HEADER_LEN + d.total);
    emitIpv6Header(out, 0, d.trafficClass, d.flowLabel, d.total, d.nextHeader, d.hopLimit, d.src, d.dst);
    for (const f of d.frags) f.data.copy(out, IPV6_FIXED_HEADER_LEN + f.start);
    this.remove(d);
    this.counters.inc('reasm_ok');
    return out;
  }

  private expire(key: string): void {
    const d = this.pending.get(key);
    if (!d) return;
    this.remove(d);
    if (d.dead) return;
    this.counters.inc('reasm_timeout');
    this.onTimeout(d.first);
  }

  /** Discards the datagram's fragments and keeps a tombstone that drops the rest until the timer. */
  private kill(d: Datagram, reason: string): void {
    this.counters.inc(reason);
    this.bytes -= d.bytes;
    d.bytes = 0;
    d.frags = [];
    d.first = null;
    d.dead = true;
  }

  private evictOldest(reason: string): void {
    const first = this.pending.values().next();
    if (first.done) return;
    this.counters.inc(reason);
    this.remove(first.value);
  }

  private remove(d: Datagram): void {
    d.timer.cancel();
    this.bytes -= d.bytes;
    d.bytes = 0;
    this.pending.delete(d.key);
  }

  /** Datagrams in progress (tombstones included). */
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
