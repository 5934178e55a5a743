import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/netstack/counters.js';

describe('Counters', () => {
  it('a cell and the name are the same counter; snapshots list what was counted, sorted', () => {
    const c = new Counters();
    const rx = c.cell('rx_frames');
    expect(c.cell('rx_frames')).toBe(rx);
    // a cell taken ahead of time is not reported until something is counted
    expect(c.snapshot()).toEqual({});
    expect(c.get('rx_frames')).toBe(0);
    rx.n++;
    rx.n++;
    c.inc('rx_frames');
    c.inc('drop_bad', 5);
    expect(c.get('rx_frames')).toBe(3);
    expect(rx.n).toBe(3);
    expect(c.snapshot()).toEqual({ drop_bad: 5, rx_frames: 3 });
    expect(Object.keys(c.snapshot())).toEqual(['drop_bad', 'rx_frames']);
    expect(c.get('never')).toBe(0);
    expect(c.snapshot()).not.toHaveProperty('never');
  });
});
