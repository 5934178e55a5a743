/**
 * Segment acceptance per state (RFC 9293 §3.10.7) with crafted segments.
 */
import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/netstack/wire/tcp.js';
import { connectPair, FAMILIES, familyRig, parsed, rawSegment } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { ADDR_A, ADDR_B, Wire, ANY } = familyRig(family);

  interface Internals {
    rcvNxt: number;
    sndNxt: number;
    sndUna: number;
    tsRecent: number;
  }

  function setup() {
    const w = new Wire();
    const p = connectPair(w);
    // plain segments without timestamps are accepted (RFC 7323 allows it; Linux does too)
    const c = p.client as unknown as Internals;
    const port = p.client.localAddress()!.port;
    const send = (s: { seq: number; ack?: number; flags: number; data?: Buffer; window?: number }) => {
      w.captured.length = 0;
      w.capture = true;
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: port, ts: [(c.tsRecent + 1) >>> 0, 0], ...s }));
      w.capture = false;
      return w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
    };
    return { w, ...p, c, port, send };
  }

  describe('segment acceptance (RFC 9293 §3.10.7.4)', () => {
    it('ESTABLISHED: in-window data is taken; old, future and beyond-window segments are ACKed and dropped', () => {
      const { client, c, send, w } = setup();
      const rcvWnd = Number(client.info().rcvWnd);
      expect(rcvWnd).toBeGreaterThan(65535);
      // in order
      send({ seq: c.rcvNxt, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('abc') });
      expect(client.readableBytes()).toBe(3);
      // entirely old: dup ACK at once
      let out = send({ seq: (c.rcvNxt - 3) >>> 0, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('abc') });
      expect(out.length).toBe(1);
      expect(out[0]!.ack).toBe(c.rcvNxt);
      expect(client.readableBytes()).toBe(3);
      // partly old: the new part is kept
      send({ seq: (c.rcvNxt - 2) >>> 0, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('bcde') });
      expect(client.readableBytes()).toBe(5);
      expect((client.read() as Buffer).toString()).toBe('abcde');
      // beyond the right edge: not acceptable → ACK, nothing stored
      out = send({ seq: (c.rcvNxt + rcvWnd + 10) >>> 0, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('zz') });
      expect(out.length).toBe(1);
      expect(out[0]!.ack).toBe(c.rcvNxt);
      expect(client.info().outOfOrderBytes).toBe(0);
      expect(w.a.counters.get('rx_out_of_window')).toBeGreaterThanOrEqual(1);
      // in window but out of order: stored and SACKed
      out = send({ seq: (c.rcvNxt + 100) >>> 0, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('later') });
      expect(client.info().outOfOrderBytes).toBe(5);
      expect(out.length).toBe(1);
      expect(out[0]!.sackCount).toBe(1);
      expect(out[0]!.sack[0]).toBe((c.rcvNxt + 100) >>> 0);
      // straddling the right edge: trimmed to the window
      const before = c.rcvNxt;
      send({ seq: (before + rcvWnd - 2) >>> 0, ack: c.sndNxt, flags: TCP_ACK, data: Buffer.from('12345') });
      expect(client.info().outOfOrderBytes).toBe(7);
      expect(w.a.counters.get('rx_trimmed_beyond_window')).toBe(1);
    });

    it('ESTABLISHED: an ACK for data never sent is answered with an ACK and ignored', () => {
      const { client, c, send, w } = setup();
      const out = send({ seq: c.rcvNxt, ack: (c.sndNxt + 1000) >>> 0, flags: TCP_ACK, data: Buffer.from('x') });
      expect(out.length).toBe(1);
      expect(client.readableBytes()).toBe(0);
      expect(w.a.counters.get('rx_ack_too_new')).toBe(1);
      expect(client.state).toBe('ESTABLISHED');
    });

    it('ESTABLISHED: a segment without ACK is dropped', () => {
      const { client, c, send, w } = setup();
      send({ seq: c.rcvNxt, flags: 0, data: Buffer.from('x') });
      expect(client.readableBytes()).toBe(0);
      expect(w.a.counters.get('rx_no_ack')).toBe(1);
    });

    it('zero receive window: only seq = RCV.NXT with length 0 is acceptable; its ACK is still processed', () => {
      const w = new Wire();
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(1);
      const client = w.a.socket();
      client.setOption('RCVBUF', 4096);
      client.connect(ADDR_B, 80);
      w.run(10);
      const server = l.accept()!;
      server.write(Buffer.alloc(8192, 1));
      w.run(3000);
      expect(client.info().rcvWnd).toBe(0);
      const c = client as unknown as Internals;
      const port = client.localAddress()!.port;
      const queued = client.readableBytes();
      w.capture = true;
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: port,
          seq: c.rcvNxt,
          ack: c.sndNxt,
          flags: TCP_ACK,
          data: Buffer.from('more'),
          ts: [(c.tsRecent + 1) >>> 0, 0],
        }),
      );
      expect(client.readableBytes()).toBe(queued);
      const out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.length).toBe(1);
      expect(out[0]!.window).toBe(0);
      expect(w.a.counters.get('rx_zero_window_drop')).toBe(1);
    });

    it('SYN_RECEIVED: an ACK with the wrong number draws a RST; a segment without ACK is dropped', () => {
      const w = new Wire({ filter: (dir) => dir === 'ba' });
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(4);
      w.capture = true;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1000, flags: TCP_SYN, mss: 1460 }));
      const synack = parsed(w.captured.find((x) => x.dir === 'ba')!.seg);
      expect(synack.flags).toBe(TCP_SYN | TCP_ACK);
      expect(synack.ack).toBe(1001);
      w.captured.length = 0;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1001, ack: (synack.seq + 5) >>> 0, flags: TCP_ACK }));
      const rst = parsed(w.captured.find((x) => x.dir === 'ba')!.seg);
      expect(rst.flags & TCP_RST).toBeTruthy();
      expect(rst.seq).toBe((synack.seq + 5) >>> 0);
      expect(l.accept()).toBeNull();
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1001, flags: 0, data: Buffer.from('x') }));
      expect(l.accept()).toBeNull();
      // a retransmitted SYN gets the same SYN-ACK again
      w.captured.length = 0;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1000, flags: TCP_SYN, mss: 1460 }));
      const again = parsed(w.captured.find((x) => x.dir === 'ba')!.seg);
      expect(again.seq).toBe(synack.seq);
      // the right ACK completes it, data included
      w.inject(
        'b',
        rawSegment(ADDR_A, ADDR_B, {
          sport: 1234,
          dport: 80,
          seq: 1001,
          ack: (synack.seq + 1) >>> 0,
          flags: TCP_ACK,
          data: Buffer.from('hi'),
        }),
      );
      const s = l.accept()!;
      expect(s.state).toBe('ESTABLISHED');
      expect((s.read() as Buffer).toString()).toBe('hi');
    });

    it('LISTEN: ACK → RST(seq = SEG.ACK); RST ignored; SYN with data is fine', () => {
      const w = new Wire({ filter: (dir) => dir === 'ba' });
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(4);
      w.capture = true;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1, ack: 777, flags: TCP_ACK }));
      const rst = parsed(w.captured[0]!.seg);
      expect(rst.flags).toBe(TCP_RST);
      expect(rst.seq).toBe(777);
      w.captured.length = 0;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 80, seq: 1, flags: TCP_RST }));
      expect(w.captured.length).toBe(0);
      expect(l.state).toBe('LISTEN');
    });

    it('CLOSED port: RST echoes SEG.ACK, or ACKs SEG.SEQ+LEN for segments without ACK; RSTs get nothing', () => {
      const w = new Wire({ filter: (dir) => dir === 'ba' });
      w.capture = true;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 99, seq: 50, flags: TCP_SYN | TCP_FIN, data: Buffer.from('abc') }));
      const r1 = parsed(w.captured[0]!.seg);
      expect(r1.flags).toBe(TCP_RST | TCP_ACK);
      expect(r1.seq).toBe(0);
      expect(r1.ack).toBe(55);
      w.captured.length = 0;
      w.inject('b', rawSegment(ADDR_A, ADDR_B, { sport: 1234, dport: 99, seq: 50, flags: TCP_RST }));
      expect(w.captured.length).toBe(0);
      expect(w.b.counters.get('rx_no_socket')).toBe(2);
    });

    it('TIME_WAIT: data is answered with an ACK, not accepted', () => {
      const { client, server, w, c, port } = setup();
      client.close();
      w.run(10);
      server.close();
      w.run(10);
      expect(client.state).toBe('TIME_WAIT');
      w.capture = true;
      w.captured.length = 0;
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: port,
          seq: c.rcvNxt,
          ack: c.sndNxt,
          flags: TCP_ACK | TCP_FIN,
          data: Buffer.from('late'),
          ts: [(c.tsRecent + 1) >>> 0, 0],
        }),
      );
      const out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.length).toBe(1);
      expect(out[0]!.flags).toBe(TCP_ACK);
      expect(client.state).toBe('TIME_WAIT');
    });
  });

  describe('retransmission timer and FIN handling', () => {
    it('duplicate ACKs and window updates do not restart the retransmission timer', () => {
      let dropData = true;
      const w = new Wire({ delayMs: 1, filter: (dir, seg) => dropData && dir === 'ab' && parsed(seg).dataLen > 0 });
      const { client, server } = connectPair(w);
      const c = client as unknown as Internals;
      const sp = server.localAddress()!.port;
      const port = client.localAddress()!.port;
      client.write(Buffer.from('payload'));
      const srv = server as unknown as Internals;
      // the peer keeps sending pure ACKs (no progress) every 50 ms
      for (let i = 0; i < 20; i++) {
        w.inject(
          'a',
          rawSegment(ADDR_B, ADDR_A, {
            sport: sp,
            dport: port,
            seq: srv.sndNxt,
            ack: c.sndUna,
            flags: TCP_ACK,
            window: 1000 + i,
            ts: [(c.tsRecent + 1 + i) >>> 0, 0],
          }),
        );
        w.run(50);
      }
      expect(Number(client.info().rtoTimeouts)).toBeGreaterThanOrEqual(2);
      dropData = false;
      w.run(5000);
      expect((server.read() as Buffer).toString()).toBe('payload');
    });

    it('lost FINs in a simultaneous close are retransmitted from CLOSING', () => {
      const fins = { ab: 0, ba: 0 };
      const w = new Wire({
        delayMs: 5,
        filter: (dir, seg) => {
          if (parsed(seg).flags & TCP_FIN && fins[dir]++ === 0) return true;
          return false;
        },
      });
      const { client, server } = connectPair(w);
      client.close();
      server.close();
      w.run(10_000);
      expect(fins.ab).toBeGreaterThanOrEqual(2);
      expect(fins.ba).toBeGreaterThanOrEqual(2);
      expect(['TIME_WAIT', 'CLOSED']).toContain(client.state);
      expect(['TIME_WAIT', 'CLOSED']).toContain(server.state);
      expect(w.a.timeWaitCount() + w.b.timeWaitCount()).toBeGreaterThanOrEqual(1);
    });

    it('LAST_ACK retransmits its FIN until acknowledged', () => {
      let drop = 2;
      const w = new Wire({ delayMs: 5, filter: (dir, seg) => dir === 'ba' && (parsed(seg).flags & TCP_FIN) !== 0 && drop-- > 0 });
      const { client, server } = connectPair(w);
      client.close();
      w.run(50);
      expect(server.state).toBe('CLOSE_WAIT');
      server.close();
      expect(server.state).toBe('LAST_ACK');
      w.run(5000);
      expect(server.state).toBe('CLOSED');
      expect(client.state).toBe('TIME_WAIT');
    });

    it('an orphaned FIN_WAIT_2 connection times out', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      client.close();
      w.run(100);
      expect(client.state).toBe('FIN_WAIT_2');
      w.run(61_000);
      expect(client.state).toBe('CLOSED');
    });
  });
});
