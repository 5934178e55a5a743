import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { SHUT_WR } from '../../src/netstack/socket-api.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/netstack/wire/tcp.js';
import { connectPair, FAMILIES, familyRig, parsed, rawSegment } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { ADDR_A, ADDR_B, Wire, ANY } = familyRig(family);

  function readAll(s: { read(): Buffer | number }): { data: string; eof: boolean; err: number } {
    let data = '';
    for (;;) {
      const r = s.read();
      if (typeof r === 'number') return { data, eof: r === 0, err: r < 0 ? r : 0 };
      data += r.toString();
    }
  }

  describe('tcp connection lifecycle', () => {
    it('half-close: the side that shut down writing still receives', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      client.write(Buffer.from('request'));
      expect(client.shutdown(SHUT_WR)).toBe(0);
      w.run(50);
      expect(client.state).toBe('FIN_WAIT_2');
      const r = readAll(server);
      expect(r.data).toBe('request');
      expect(r.eof).toBe(true);
      expect(server.state).toBe('CLOSE_WAIT');
      expect(client.write(Buffer.from('x'))).toBe(-Errno.EPIPE);
      // the server keeps sending after the client's FIN
      for (let i = 0; i < 10; i++) expect(server.write(Buffer.from(`reply${i};`))).toBe(7);
      w.run(50);
      expect(readAll(client).data).toBe('reply0;reply1;reply2;reply3;reply4;reply5;reply6;reply7;reply8;reply9;');
      server.close();
      w.run(50);
      expect(readAll(client).eof).toBe(true);
      expect(client.state).toBe('TIME_WAIT');
      expect(server.state).toBe('CLOSED');
    });

    it('simultaneous close goes through CLOSING to TIME_WAIT on both sides', () => {
      const w = new Wire({ delayMs: 5 });
      const { client, server } = connectPair(w);
      const states: string[] = [];
      client.close();
      server.close();
      expect(client.state).toBe('FIN_WAIT_1');
      expect(server.state).toBe('FIN_WAIT_1');
      w.run(6);
      states.push(client.state, server.state);
      expect(states).toEqual(['CLOSING', 'CLOSING']);
      w.run(10);
      expect(client.state).toBe('TIME_WAIT');
      expect(server.state).toBe('TIME_WAIT');
      expect(w.a.timeWaitCount()).toBe(1);
      expect(w.b.timeWaitCount()).toBe(1);
    });

    it('simultaneous open: two active opens meet', () => {
      const w = new Wire({ delayMs: 5 });
      const a = w.a.socket();
      const b = w.b.socket();
      expect(a.bind(ANY, 5000)).toBe(0);
      expect(b.bind(ANY, 6000)).toBe(0);
      let ca = 0;
      let cb = 0;
      a.handlers.onConnect = () => ca++;
      b.handlers.onConnect = () => cb++;
      expect(a.connect(ADDR_B, 6000)).toBe(-Errno.EINPROGRESS);
      expect(b.connect(ADDR_A, 5000)).toBe(-Errno.EINPROGRESS);
      w.run(100);
      expect(a.state).toBe('ESTABLISHED');
      expect(b.state).toBe('ESTABLISHED');
      expect(ca).toBe(1);
      expect(cb).toBe(1);
      expect(w.a.counters.get('simultaneous_open')).toBe(1);
      a.write(Buffer.from('ping'));
      w.run(100);
      expect(readAll(b).data).toBe('ping');
    });

    it('TIME_WAIT lasts 2*MSL, re-ACKs a retransmitted FIN, then frees the tuple', () => {
      const w = new Wire({ timeWaitMs: 60_000 });
      const { client, server } = connectPair(w);
      let closed = 0;
      client.handlers.onClose = () => closed++;
      client.close();
      w.run(10);
      server.close();
      w.run(10);
      expect(client.state).toBe('TIME_WAIT');
      expect(closed).toBe(1);
      expect(w.a.timeWaitCount()).toBe(1);
      // a retransmitted FIN from the server is acknowledged again
      const local = client.localAddress()!;
      w.capture = true;
      const info = server as unknown as { sndNxt: number; rcvNxt: number };
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: local.port,
          seq: (info.sndNxt - 1) >>> 0,
          ack: info.rcvNxt,
          flags: TCP_FIN | TCP_ACK,
        }),
      );
      const acks = w.captured.filter((c) => c.dir === 'ab').map((c) => parsed(c.seg));
      expect(acks.length).toBe(1);
      expect(acks[0]!.flags).toBe(TCP_ACK);
      expect(acks[0]!.ack).toBe(info.sndNxt);
      w.run(59_000);
      expect(client.state).toBe('TIME_WAIT');
      w.run(2_000);
      expect(client.state).toBe('CLOSED');
      expect(w.a.timeWaitCount()).toBe(0);
      expect(w.a.connectionCount()).toBe(0);
    });

    it('a new SYN with a newer timestamp reuses a TIME_WAIT tuple (RFC 6191)', () => {
      const w = new Wire();
      const listener = w.b.socket();
      listener.bind(ANY, 80);
      listener.listen(4);
      const c1 = w.a.socket();
      c1.bind(ANY, 40000);
      c1.connect(ADDR_B, 80);
      w.run(10);
      const s1 = listener.accept()!;
      s1.close(); // server closes first → server side holds TIME_WAIT
      w.run(10);
      c1.close();
      w.run(10);
      expect(s1.state).toBe('TIME_WAIT');
      w.run(1000);
      const c2 = w.a.socket();
      c2.setOption('REUSEADDR', 1);
      expect(c2.bind(ANY, 40000)).toBe(0);
      expect(c2.connect(ADDR_B, 80)).toBe(-Errno.EINPROGRESS);
      w.run(10);
      expect(c2.state).toBe('ESTABLISHED');
      expect(w.b.counters.get('time_wait_recycled')).toBe(1);
      const s2 = listener.accept();
      expect(s2).not.toBeNull();
      expect(s2!.state).toBe('ESTABLISHED');
    });

    it('close() with unread data sends RST; the peer sees ECONNRESET', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      let err = 0;
      client.handlers.onError = (e) => (err = e);
      client.write(Buffer.from('unread'));
      w.run(50);
      expect(server.readableBytes()).toBe(6);
      server.close();
      expect(server.state).toBe('CLOSED');
      w.run(50);
      expect(err).toBe(Errno.ECONNRESET);
      expect(client.state).toBe('CLOSED');
      expect(client.read()).toBe(-Errno.ECONNRESET);
      expect(client.write(Buffer.from('x'))).toBeLessThan(0);
    });

    it('abort() and SO_LINGER 0 reset the connection', () => {
      const w = new Wire();
      const p1 = connectPair(w, 80);
      let err = 0;
      p1.server.handlers.onError = (e) => (err = e);
      p1.client.abort();
      w.run(10);
      expect(err).toBe(Errno.ECONNRESET);
      const p2 = connectPair(w, 81);
      let err2 = 0;
      p2.server.handlers.onError = (e) => (err2 = e);
      p2.client.setOption('LINGER', 0);
      p2.client.close();
      w.run(10);
      expect(err2).toBe(Errno.ECONNRESET);
      expect(w.a.timeWaitCount()).toBe(0);
    });

    it('listen backlog bounds the accept queue; accept drains it', () => {
      const w = new Wire();
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(2);
      const clients = [0, 1, 2, 3].map(() => {
        const c = w.a.socket();
        c.connect(ADDR_B, 80);
        return c;
      });
      w.run(100);
      // the clients all see ESTABLISHED (their SYN-ACK came), the server queues only 2
      expect(clients.filter((c) => c.state === 'ESTABLISHED').length).toBe(4);
      expect(w.b.counters.get('listen_overflow')).toBeGreaterThan(0);
      expect(l.accept()).not.toBeNull();
      expect(l.accept()).not.toBeNull();
      expect(l.accept()).toBeNull();
      // data sent meanwhile by a client whose ACK was dropped is not lost
      for (const c of clients) c.write(Buffer.from('hi'));
      // the SYN-ACK retransmission makes them ACK again once there is room
      w.run(5000);
      const s3 = l.accept();
      const s4 = l.accept();
      expect(s3).not.toBeNull();
      expect(s4).not.toBeNull();
      w.run(5000);
      expect(readAll(s3!).data).toBe('hi');
      expect(readAll(s4!).data).toBe('hi');
    });

    it('bind conflicts and ephemeral ports', () => {
      const w = new Wire();
      const a = w.a.socket();
      const b = w.a.socket();
      expect(a.bind(ANY, 7000)).toBe(0);
      expect(b.bind(ANY, 7000)).toBe(-Errno.EADDRINUSE);
      expect(a.listen(4)).toBe(0);
      const c = w.a.socket();
      expect(c.bind(family === 4 ? 0x01020304 : `2001${'0'.repeat(27)}1`, 0)).toBe(-Errno.EADDRNOTAVAIL);
      const ports = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const s = w.a.socket();
        expect(s.bind(ANY, 0)).toBe(0);
        const p = s.localAddress()!.port;
        expect(p).toBeGreaterThanOrEqual(32768);
        expect(p).toBeLessThanOrEqual(60999);
        ports.add(p);
      }
      expect(ports.size).toBe(20);
    });
  });

  describe('tcp resets and RFC 5961', () => {
    it('closed port answers RST; connect gets ECONNREFUSED', () => {
      const w = new Wire();
      w.capture = true;
      const c = w.a.socket();
      let err = 0;
      c.handlers.onError = (e) => (err = e);
      c.connect(ADDR_B, 9);
      w.run(10);
      expect(err).toBe(Errno.ECONNREFUSED);
      expect(c.takeError()).toBe(Errno.ECONNREFUSED);
      const rst = w.captured.filter((x) => x.dir === 'ba').map((x) => parsed(x.seg));
      expect(rst.length).toBe(1);
      expect(rst[0]!.flags).toBe(TCP_RST | TCP_ACK);
      const syn = parsed(w.captured[0]!.seg);
      expect(rst[0]!.ack).toBe((syn.seq + 1) >>> 0);
    });

    it('RST in window but not exact → challenge ACK; exact RST resets', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      const local = client.localAddress()!;
      const rcvNxt = (client as unknown as { rcvNxt: number }).rcvNxt;
      w.capture = true;
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: local.port, seq: (rcvNxt + 1000) >>> 0, flags: TCP_RST }));
      expect(client.state).toBe('ESTABLISHED');
      const out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.length).toBe(1);
      expect(out[0]!.flags).toBe(TCP_ACK);
      expect(out[0]!.ack).toBe(rcvNxt);
      expect(w.a.counters.get('challenge_ack')).toBe(1);
      // out of window RST: silently dropped
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: local.port, seq: (rcvNxt + 100_000_000) >>> 0, flags: TCP_RST }));
      expect(client.state).toBe('ESTABLISHED');
      expect(w.a.counters.get('rx_rst_out_of_window')).toBe(1);
      // SYN in a synchronized state → challenge ACK, no reset
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: local.port, seq: (rcvNxt + 5) >>> 0, flags: TCP_SYN }));
      expect(client.state).toBe('ESTABLISHED');
      expect(w.a.counters.get('challenge_ack')).toBe(2);
      let err = 0;
      client.handlers.onError = (e) => (err = e);
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: local.port, seq: rcvNxt, flags: TCP_RST }));
      expect(client.state).toBe('CLOSED');
      expect(err).toBe(Errno.ECONNRESET);
    });

    it('challenge ACKs are rate-limited', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      const local = client.localAddress()!;
      const rcvNxt = (client as unknown as { rcvNxt: number }).rcvNxt;
      for (let i = 0; i < 300; i++) {
        w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: local.port, seq: (rcvNxt + 10 + i) >>> 0, flags: TCP_RST }));
      }
      expect(w.a.counters.get('challenge_ack')).toBe(100);
      expect(w.a.counters.get('challenge_ack_limited')).toBe(200);
      expect(client.state).toBe('ESTABLISHED');
    });

    it('SYN-ACK with a wrong ACK number is rejected with RST and the connect keeps trying', () => {
      const w = new Wire({ filter: (dir) => dir === 'ab' });
      const c = w.a.socket();
      w.capture = true;
      c.connect(ADDR_B, 80);
      const syn = parsed(w.captured[0]!.seg);
      const port = c.localAddress()!.port;
      w.captured.length = 0;
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: port, seq: 5000, ack: (syn.seq + 2) >>> 0, flags: TCP_SYN | TCP_ACK, mss: 1460 }),
      );
      expect(c.state).toBe('SYN_SENT');
      expect(w.a.counters.get('rx_synack_bad_ack')).toBe(1);
      const rst = parsed(w.captured[0]!.seg);
      expect(rst.flags & TCP_RST).toBeTruthy();
      expect(rst.seq).toBe((syn.seq + 2) >>> 0);
      // a RST without an acceptable ACK is ignored in SYN_SENT
      w.inject('a', rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: port, seq: 0, ack: (syn.seq + 7) >>> 0, flags: TCP_RST | TCP_ACK }));
      expect(c.state).toBe('SYN_SENT');
      // the right SYN-ACK completes it
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, { sport: 80, dport: port, seq: 5000, ack: (syn.seq + 1) >>> 0, flags: TCP_SYN | TCP_ACK, mss: 1460 }),
      );
      expect(c.state).toBe('ESTABLISHED');
    });

    it('connect times out with ETIMEDOUT after SYN retries', () => {
      const w = new Wire();
      w.up = false;
      const c = w.a.socket();
      let err = 0;
      c.handlers.onError = (e) => (err = e);
      c.connect(ADDR_B, 80);
      w.run(60_000);
      expect(c.state).toBe('SYN_SENT');
      w.run(200_000);
      expect(err).toBe(Errno.ETIMEDOUT);
      expect(c.state).toBe('CLOSED');
    });
  });

  describe('tcp SO_REUSEPORT', () => {
    it('spreads connections over listeners sharing a port', () => {
      const w = new Wire();
      const ls = [0, 1].map(() => {
        const l = w.b.socket();
        l.setOption('REUSEPORT', 1);
        expect(l.bind(ANY, 80)).toBe(0);
        expect(l.listen(64)).toBe(0);
        return l;
      });
      const plain = w.b.socket();
      expect(plain.bind(ANY, 80)).toBe(-Errno.EADDRINUSE);
      for (let i = 0; i < 20; i++) w.a.socket().connect(ADDR_B, 80);
      w.run(100);
      const counts = ls.map((l) => {
        let n = 0;
        while (l.accept()) n++;
        return n;
      });
      expect(counts[0]! + counts[1]!).toBe(20);
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[1]).toBeGreaterThan(0);
    });
  });

  describe('tcp reconnect', () => {
    it('a socket can connect again after a refused attempt', () => {
      const w = new Wire();
      const c = w.a.socket();
      let errs = 0;
      c.handlers.onError = () => errs++;
      c.connect(ADDR_B, 80);
      w.run(10);
      expect(errs).toBe(1);
      expect(c.state).toBe('CLOSED');
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(1);
      expect(c.connect(ADDR_B, 80)).toBe(-Errno.EINPROGRESS);
      w.run(10);
      expect(c.state).toBe('ESTABLISHED');
      c.write(Buffer.from('again'));
      w.run(10);
      expect((l.accept()!.read() as Buffer).toString()).toBe('again');
    });
  });

  describe('tcp many connections', () => {
    it('200 concurrent connections with loss all deliver their data and close cleanly', () => {
      const w = new Wire({ loss: 0.02, delayMs: 3, seed: 31 });
      const l = w.b.socket();
      l.bind(ANY, 80);
      l.listen(256);
      const received = new Map<number, number>();
      let closedServers = 0;
      l.handlers.onAcceptable = () => {
        for (let s = l.accept(); s; s = l.accept()) {
          const conn = s;
          const port = conn.remoteAddress()!.port;
          received.set(port, 0);
          let eof = false;
          const drain = (): void => {
            for (;;) {
              const r = conn.read();
              if (typeof r === 'number') {
                if (r === 0 && !eof) {
                  eof = true;
                  conn.close();
                  closedServers++;
                }
                return;
              }
              for (const b of r) if (b !== (port & 0xff)) throw new Error('corrupt');
              received.set(port, received.get(port)! + r.length);
            }
          };
          conn.handlers.onReadable = drain;
          drain();
        }
      };
      const clients = [];
      for (let i = 0; i < 200; i++) {
        const c = w.a.socket();
        expect(c.connect(ADDR_B, 80)).toBe(-Errno.EINPROGRESS);
        const port = c.localAddress()!.port;
        c.handlers.onConnect = () => {
          expect(c.write(Buffer.alloc(50_000, port & 0xff))).toBe(50_000);
          c.shutdown(SHUT_WR);
        };
        clients.push(c);
      }
      w.until(() => closedServers === 200, 600_000);
      expect(closedServers).toBe(200);
      for (const v of received.values()) expect(v).toBe(50_000);
      w.run(1000);
      for (const c of clients) expect(c.state).toBe('TIME_WAIT');
      w.run(61_000);
      expect(w.a.connectionCount()).toBe(0);
      expect(w.b.connectionCount()).toBe(0);
    });
  });
});
