/**
 * Batched seqpacket I/O in the binding (native/binding/src/seqpacket.cc): recvRecords takes many
 * messages per call with their boundaries, tells an empty message from the peer's end, drops and
 * counts messages too long for a record; sendRecords sends header+payload pairs as one message
 * each, stops without blocking when the peer's queue is full, skips a message too big for the
 * buffer; hungUp tells a closed peer from one that only shut down its sending side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, hungUp, recvFds, recvRecords, sendFds, sendRecords, setSendBuffer, socketpair } from '../../src/native/binding.js';

const opened: number[] = [];

function pair(): [number, number] {
  const p = socketpair('seqpacket', { nonBlocking: true });
  opened.push(...p);
  return p;
}

afterEach(() => {
  for (const fd of opened.splice(0)) {
    try {
      closeFd(fd);
    } catch {
      // closed by the test
    }
  }
});

function messages(r: NonNullable<ReturnType<typeof recvRecords>>): string[] {
  const out: string[] = [];
  let off = 0;
  for (const len of r.lengths) {
    out.push(r.data.subarray(off, off + len).toString());
    off += len;
  }
  return out;
}

describe('recvRecords', () => {
  it('returns null when nothing waits, then every waiting message with its boundaries', () => {
    const [a, b] = pair();
    expect(recvRecords(b, 64)).toBeNull();
    for (const m of ['one', 'two', 'three']) sendFds(a, Buffer.from(m), []);
    const r = recvRecords(b, 64)!;
    expect(messages(r)).toEqual(['one', 'two', 'three']);
    expect(r.eof).toBe(false);
  });

  it('takes at most the batch asked for', () => {
    const [a, b] = pair();
    for (let i = 0; i < 10; i++) sendFds(a, Buffer.from(`m${i}`), []);
    expect(recvRecords(b, 4)!.lengths.length).toBe(4);
    expect(recvRecords(b, 64)!.lengths.length).toBe(6);
  });

  it('counts empty messages and messages longer than a record, and reports the end once the peer closes', () => {
    const [a, b] = pair();
    setSendBuffer(a, 1 << 20);
    sendFds(a, Buffer.alloc(0), []);
    sendFds(a, Buffer.alloc(70000, 1), []);
    sendFds(a, Buffer.from('last'), []);
    closeFd(a);
    opened.splice(opened.indexOf(a), 1);
    const r = recvRecords(b, 64)!;
    expect(r.empty).toBe(1);
    expect(r.truncated).toBe(1);
    expect(messages(r)).toEqual(['last']);
    expect(r.eof).toBe(true);
    expect(hungUp(b)).toBe(true);
  });
});

describe('sendRecords', () => {
  it('sends header and payload pairs as one message each', () => {
    const [a, b] = pair();
    const parts = [Buffer.from('h1:'), Buffer.from('payload one'), Buffer.from('h2:'), Buffer.alloc(0)];
    expect(sendRecords(a, parts, 2)).toEqual([2, 0]);
    expect(recvFds(b, 100, 0)!.data.toString()).toBe('h1:payload one');
    expect(recvFds(b, 100, 0)!.data.toString()).toBe('h2:');
  });

  it('stops at a full peer without blocking, and skips a message larger than the send buffer', () => {
    const [a, b] = pair();
    setSendBuffer(a, 4096);
    const big = Buffer.alloc(20000);
    const small = Buffer.alloc(1000);
    const [sent, tooBig] = sendRecords(
      a,
      [Buffer.alloc(16), big, ...Array.from({ length: 200 }, () => [Buffer.alloc(16), small]).flat()],
      2,
    );
    expect(tooBig).toBe(1);
    expect(sent).toBeGreaterThan(1);
    expect(sent).toBeLessThan(201);
    let got = 0;
    while (recvFds(b, 2000, 0) !== null) got++;
    expect(got).toBe(sent - tooBig);
  });

  it('throws EPIPE once the peer is closed', () => {
    const [a, b] = pair();
    closeFd(b);
    opened.splice(opened.indexOf(b), 1);
    expect(() => sendRecords(a, [Buffer.from('x')], 1)).toThrow(/EPIPE|ECONNRESET/);
  });
});

describe('hungUp', () => {
  it('is false while the peer is open, even after it shut down its sending side', () => {
    const [a, b] = pair();
    expect(hungUp(b)).toBe(false);
    // shutdown(SHUT_WR) is not in the binding; a peer's close is what must be told apart
    closeFd(a);
    opened.splice(opened.indexOf(a), 1);
    expect(hungUp(b)).toBe(true);
  });
});
