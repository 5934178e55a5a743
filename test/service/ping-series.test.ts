/**
 * pingSeries, the daemon's ping loop over one network's stack: replies in order with their round
 * trips, errors by name, and a request that gets no answer does not hold back the next one.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { Errno } from '../../src/netstack/errno.js';
import type { NetStack, PingOptions, PingResult } from '../../src/netstack/stack-api.js';
import { pingSeries } from '../../src/service/network-attachment.js';

interface Sent {
  dst: number;
  opts: PingOptions;
  done: (r: PingResult) => void;
}

/** Only ping() is used; `answer` decides what each request hears, and when. */
function stackWith(answer: (sent: Sent, all: Sent[]) => void): { stack: NetStack; sent: Sent[] } {
  const sent: Sent[] = [];
  const stack = {
    ping(dst: number, opts: PingOptions, done: (r: PingResult) => void): void {
      const s = { dst, opts, done };
      sent.push(s);
      answer(s, sent);
    },
  } as unknown as NetStack;
  return { stack, sent };
}

const DST = parseIpv4('10.1.2.3')!;

describe('pingSeries', () => {
  it('sends count requests to the address with the timeout, and reports each reply in order', async () => {
    const { stack, sent } = stackWith((s, all) => queueMicrotask(() => s.done({ ok: true, rttMs: all.length * 0.12345, ttl: 63 })));
    const replies = await pingSeries(stack, DST, 3, 1500);
    expect(sent.map((s) => [s.dst, s.opts.timeoutMs])).toEqual([
      [DST, 1500],
      [DST, 1500],
      [DST, 1500],
    ]);
    expect(replies).toEqual([
      { seq: 1, rttMs: 0.123, ttl: 63 },
      { seq: 2, rttMs: 0.247, ttl: 63 },
      { seq: 3, rttMs: 0.37, ttl: 63 },
    ]);
  });

  it('does not wait for an unanswered request before sending the next', async () => {
    const count = 5;
    // nothing is answered until every request is out: only the spacing lets the series go on
    const { stack, sent } = stackWith((_s, all) => {
      if (all.length === count) for (const p of all) p.done({ ok: false, errno: Errno.ETIMEDOUT });
    });
    const replies = await pingSeries(stack, DST, count, 20_000, 1);
    expect(sent).toHaveLength(count);
    expect(replies).toEqual([1, 2, 3, 4, 5].map((seq) => ({ seq, error: 'ETIMEDOUT' })));
  });

  it('names the errors the stack reports, and mixes them with replies', async () => {
    const { stack } = stackWith((s, all) =>
      setImmediate(() => s.done(all.length === 2 ? { ok: false, errno: Errno.EHOSTUNREACH } : { ok: true, rttMs: 2, ttl: 64 })),
    );
    expect(await pingSeries(stack, DST, 3, 100)).toEqual([
      { seq: 1, rttMs: 2, ttl: 64 },
      { seq: 2, error: 'EHOSTUNREACH' },
      { seq: 3, rttMs: 2, ttl: 64 },
    ]);
  });
});
