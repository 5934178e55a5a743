/**
 * Test support: full stacks joined by a simulated Ethernet segment (a hub) in virtual time.
 * Frames are delivered from a timer (never synchronously); every frame is recorded for inspection.
 */
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { createNetStack } from '../../src/netstack/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import type { NetStack } from '../../src/netstack/stack-api.js';

export const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

export interface Segment {
  sched: VirtualScheduler;
  stacks: NetStack[];
  /** Every frame put on the wire, with its sender's index. */
  frames: { from: number; frame: Buffer }[];
  /** When set, frames for which it returns false are dropped. */
  filter: ((from: number, frame: Buffer) => boolean) | null;
  delayMs: number;
  /** Injects a frame as if another host sent it (delivered to every stack but `except`). */
  inject(frame: Buffer, except?: number): void;
}

export function makeSegment(n: number, opts: { mtu?: number; delayMs?: number; seed?: number } = {}): Segment {
  const sched = new VirtualScheduler();
  const seg: Segment = {
    sched,
    stacks: [],
    frames: [],
    filter: null,
    delayMs: opts.delayMs ?? 0,
    inject(frame, except = -1) {
      for (let j = 0; j < seg.stacks.length; j++) {
        if (j === except) continue;
        const s = seg.stacks[j]!;
        sched.setTimer(seg.delayMs, () => s.input(Buffer.from(frame)));
      }
    },
  };
  for (let i = 0; i < n; i++) {
    const s = createNetStack({
      scheduler: sched,
      random: new SeededRandom((opts.seed ?? 1) * 100 + i),
      mac: Buffer.from([2, 0, 0, 0, 0, i + 1]),
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
      name: `s${i}`,
    });
    s.setLinkOutput((f) => {
      seg.frames.push({ from: i, frame: f });
      if (seg.filter && !seg.filter(i, f)) return;
      seg.inject(f, i);
    });
    seg.stacks.push(s);
  }
  return seg;
}
