import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../src/netstack/wire/tcp.js';
import { wscaleFor } from '../../src/netstack/tcp/constants.js';
import { bulk, connectPair, FAMILIES, familyRig, parsed, rawSegment } from '../support/netstack-rig.js';

const KB = 1024;

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { Wire, ADDR_A, ADDR_B, ANY, ipHeaderLen, icmp } = familyRig(family);
  /** A full segment's payload at MTU 1500 with timestamps. */
  const MSS = 1500 - ipHeaderLen - 20 - 12;

  describe('tcp flow control', () => {
    it('slow reader: the window closes, the sender probes, the window reopens, nothing is lost, memory stays bounded', () => {
      const w = new Wire({ delayMs: 1 });
      const l = w.b.socket();
      l.setOption('RCVBUF', 64 * KB);
      l.bind(ANY, 80);
      l.listen(1);
      const client = w.a.socket();
      client.setOption('SNDBUF', 256 * KB);
      client.connect(ADDR_B, 80);
      w.run(10);
      const server = l.accept()!;
      expect(server.getOption('RCVBUF')).toBe(64 * KB);
      const total = 1024 * KB;
      const src = Buffer.alloc(total);
      for (let i = 0; i < total; i++) src[i] = (i * 7 + (i >> 8)) & 0xff;
      let sent = 0;
      let eagain = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = client.write(src.subarray(sent));
          if (n === -Errno.EAGAIN) {
            eagain++;
            return;
          }
          expect(n).toBeGreaterThan(0);
          sent += n;
        }
      };
      client.handlers.onWritable = pump;
      pump();
      expect(sent).toBe(256 * KB); // the send buffer limit gives backpressure
      // nobody reads: the receiver's window closes
      w.run(2000);
      expect(server.readableBytes()).toBeGreaterThan(60 * KB);
      expect(server.readableBytes()).toBeLessThanOrEqual(64 * KB + 1024);
      expect(Number(server.info().rcvWnd)).toBe(0);
      expect(client.info().sndWnd).toBe(0);
      // persist timer: zero-window probes with backoff
      w.run(20_000);
      const probes = Number(client.info().zeroWindowProbes);
      expect(probes).toBeGreaterThanOrEqual(3);
      expect(probes).toBeLessThan(20);
      expect(server.readableBytes()).toBeLessThanOrEqual(64 * KB + 1024);
      expect(client.state).toBe('ESTABLISHED');
      // read slowly: 8 KB every 50 ms
      const got: Buffer[] = [];
      let gotBytes = 0;
      let maxQueued = 0;
      for (let i = 0; i < 100_000 && gotBytes < total; i++) {
        const r = server.read(8 * KB);
        if (Buffer.isBuffer(r)) {
          got.push(Buffer.from(r));
          gotBytes += r.length;
        }
        w.run(50);
        maxQueued = Math.max(maxQueued, server.readableBytes() + Number(server.info().outOfOrderBytes));
      }
      expect(gotBytes).toBe(total);
      expect(Buffer.concat(got).equals(src)).toBe(true);
      expect(maxQueued).toBeLessThanOrEqual(64 * KB + 1024);
      expect(eagain).toBeGreaterThan(0);
    });

    it('a lost window update is recovered by the persist timer', () => {
      let dropUpdates = false;
      const w = new Wire({ filter: (dir) => dropUpdates && dir === 'ba' });
      const l = w.b.socket();
      l.setOption('RCVBUF', 16 * KB);
      l.bind(ANY, 80);
      l.listen(1);
      const client = w.a.socket();
      client.connect(ADDR_B, 80);
      w.run(10);
      const server = l.accept()!;
      const data = Buffer.alloc(64 * KB, 1);
      expect(client.write(data)).toBe(64 * KB);
      w.run(1500);
      expect(client.info().sndWnd).toBe(0);
      dropUpdates = true;
      let n = 0;
      for (;;) {
        const r = server.read();
        if (!Buffer.isBuffer(r)) break;
        n += r.length;
      }
      w.run(100);
      dropUpdates = false;
      w.run(3000);
      for (;;) {
        const r = server.read();
        if (!Buffer.isBuffer(r)) break;
        n += r.length;
        w.run(10);
      }
      w.run(3000);
      for (;;) {
        const r = server.read();
        if (!Buffer.isBuffer(r)) break;
        n += r.length;
        w.run(100);
      }
      expect(n).toBe(64 * KB);
    });

    it('window scale is picked from the receive buffer so every size connects and flows', () => {
      expect(wscaleFor(65535)).toBe(0);
      expect(wscaleFor(65536)).toBe(1);
      expect(wscaleFor(4 * 1024 * 1024)).toBe(7);
      expect(wscaleFor(4 * 1024 * 1024 + 1)).toBe(7);
      expect(wscaleFor(8 * 1024 * 1024)).toBe(8);
      for (const rcv of [2048, 4096, 65535, 65536, 100_000, 1 << 20, (1 << 22) + 12345, 16 << 20]) {
        const w = new Wire({ delayMs: 1 });
        const l = w.b.socket();
        l.setOption('RCVBUF', rcv);
        l.bind(ANY, 80);
        l.listen(1);
        const c = w.a.socket();
        c.connect(ADDR_B, 80);
        w.run(10);
        const s = l.accept()!;
        expect(s.state).toBe('ESTABLISHED');
        const r = bulk(
          c,
          s,
          512 * KB,
          (d, lim) => w.until(d, lim),
          () => w.sched.now(),
          120_000,
        );
        expect(r.ok).toBe(true);
        expect(r.sha).toBe(true);
        expect(Number(c.info().sndWscale)).toBe(wscaleFor(rcv));
        // the sender never saw a window larger than the buffer (+ rounding of one scale unit)
        expect(Number(c.info().sndWnd)).toBeLessThanOrEqual(rcv + 2 ** wscaleFor(rcv));
      }
    });

    it('no window scaling when the peer does not offer it: window capped at 65535', () => {
      const w = new Wire();
      const c = w.a.socket();
      w.capture = true;
      c.connect(ADDR_B, 80);
      const syn = parsed(w.captured[0]!.seg);
      expect(syn.wscale).toBe(7);
      expect(syn.mss).toBe(1500 - ipHeaderLen - 20);
      expect(syn.sackPermitted).toBe(true);
      expect(syn.hasTimestamp).toBe(true);
      const port = c.localAddress()!.port;
      w.captured.length = 0;
      w.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: port,
          seq: 1000,
          ack: (syn.seq + 1) >>> 0,
          flags: TCP_SYN | TCP_ACK,
          mss: 1000,
          window: 30000,
        }),
      );
      expect(c.state).toBe('ESTABLISHED');
      const info = c.info();
      expect(info.mss).toBe(1000);
      expect(info.sndWscale).toBe(0);
      expect(info.rcvWscale).toBe(0);
      expect(info.timestamps).toBe(0);
      expect(info.sack).toBe(0);
      const ack = parsed(w.captured[0]!.seg);
      expect(ack.window).toBe(65535);
      expect(ack.hasTimestamp).toBe(false);
      // a big write is cut into MSS-sized segments within the peer's 30000-byte window
      w.captured.length = 0;
      c.write(Buffer.alloc(100_000));
      const segs = w.captured.map((x) => parsed(x.seg));
      expect(segs.every((s) => s.dataLen <= 1000)).toBe(true);
      const bytes = segs.reduce((a, s) => a + s.dataLen, 0);
      expect(bytes).toBeLessThanOrEqual(30000);
      expect(bytes).toBe(10000); // initial window: 10 segments
    });

    it('timestamps ride on every segment once negotiated, and PAWS drops old ones', () => {
      const w = new Wire();
      w.capture = true;
      const { client, server } = connectPair(w);
      client.write(Buffer.alloc(20000, 3));
      server.write(Buffer.from('x'));
      w.run(200);
      client.close();
      server.close();
      w.run(200);
      const all = w.captured.map((x) => parsed(x.seg));
      expect(all.length).toBeGreaterThan(10);
      expect(all.every((s) => s.hasTimestamp)).toBe(true);
      // PAWS
      const w2 = new Wire();
      const p = connectPair(w2);
      const local = p.client.localAddress()!;
      const cl = p.client as unknown as { rcvNxt: number; sndNxt: number; tsRecent: number };
      const before = p.client.readableBytes();
      w2.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: local.port,
          seq: cl.rcvNxt,
          ack: cl.sndNxt,
          flags: TCP_ACK,
          data: Buffer.from('old'),
          ts: [(cl.tsRecent - 1000) >>> 0, 0],
        }),
      );
      expect(p.client.readableBytes()).toBe(before);
      expect(w2.a.counters.get('rx_paws_drop')).toBe(1);
      w2.inject(
        'a',
        rawSegment(ADDR_B, ADDR_A, {
          sport: 80,
          dport: local.port,
          seq: cl.rcvNxt,
          ack: cl.sndNxt,
          flags: TCP_ACK,
          data: Buffer.from('new'),
          ts: [(cl.tsRecent + 5) >>> 0, 0],
        }),
      );
      expect(p.client.readableBytes()).toBe(before + 3);
    });

    it('Nagle holds small writes while data is unacknowledged; NODELAY sends at once; CORK waits for full segments', () => {
      const w = new Wire({ delayMs: 10 });
      const { client } = connectPair(w);
      w.capture = true;
      client.write(Buffer.from('a'));
      client.write(Buffer.from('b'));
      client.write(Buffer.from('c'));
      let out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.map((s) => s.dataLen)).toEqual([1]);
      w.run(100);
      out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.filter((s) => s.dataLen > 0).map((s) => s.dataLen)).toEqual([1, 2]);
      w.captured.length = 0;
      client.setOption('NODELAY', 1);
      client.write(Buffer.from('a'));
      client.write(Buffer.from('b'));
      out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.map((s) => s.dataLen)).toEqual([1, 1]);
      w.run(100);
      w.captured.length = 0;
      client.setOption('CORK', 1);
      client.write(Buffer.from('hdr'));
      expect(w.captured.length).toBe(0);
      client.write(Buffer.alloc(3000));
      out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.map((s) => s.dataLen)).toEqual([MSS, MSS]);
      client.setOption('CORK', 0);
      out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.map((s) => s.dataLen)).toEqual([MSS, MSS, 3003 - 2 * MSS]);
    });

    it('in a receive burst, the every-second-segment ACKs become one ACK at the end of the burst', () => {
      const w = new Wire({ delayMs: 1 });
      const { client } = connectPair(w);
      w.run(100);
      w.capture = true;
      client.setOption('NODELAY', 1);
      w.b.beginReceiveBatch();
      client.write(Buffer.alloc(MSS * 6));
      w.run(3);
      expect(w.captured.filter((x) => x.dir === 'ab' && parsed(x.seg).dataLen > 0).length).toBe(6);
      expect(w.captured.filter((x) => x.dir === 'ba').length).toBe(0);
      w.b.endReceiveBatch();
      const acks = w.captured.filter((x) => x.dir === 'ba').map((x) => parsed(x.seg));
      expect(acks.length).toBe(1);
      expect(acks[0]!.ack).toBe((client as unknown as { sndNxt: number }).sndNxt);
      // outside a burst the usual rule holds again
      w.captured.length = 0;
      client.write(Buffer.alloc(MSS * 4));
      w.run(3);
      expect(w.captured.filter((x) => x.dir === 'ba').length).toBe(2);
    });

    it('a close while corked sends the held runt with the FIN at once (no 200 ms cork wait)', () => {
      const w = new Wire({ delayMs: 1 });
      const { client } = connectPair(w);
      w.run(100);
      w.capture = true;
      client.setOption('CORK', 1);
      client.write(Buffer.from('HTTP/1.1 200 OK'));
      expect(w.captured.filter((x) => x.dir === 'ab').length).toBe(0);
      client.close();
      const out = w.captured.filter((x) => x.dir === 'ab').map((x) => parsed(x.seg));
      expect(out.map((s) => [s.dataLen, (s.flags & TCP_FIN) !== 0])).toEqual([[15, true]]);
    });

    it('delayed ACK: every second full segment, or after 40 ms', () => {
      const w = new Wire({ delayMs: 1 });
      const { client } = connectPair(w);
      w.run(100);
      w.capture = true;
      client.setOption('NODELAY', 1);
      client.write(Buffer.alloc(100));
      w.run(2);
      expect(w.captured.filter((x) => x.dir === 'ba').length).toBe(0);
      w.run(45);
      const acks = w.captured.filter((x) => x.dir === 'ba');
      expect(acks.length).toBe(1);
      w.captured.length = 0;
      client.write(Buffer.alloc(MSS * 4));
      w.run(3);
      expect(w.captured.filter((x) => x.dir === 'ba').length).toBe(2);
    });
  });

  describe('tcp timers', () => {
    it('keepalive detects a dead peer', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      client.setOption('KEEPALIVE', 1);
      client.setOption('KEEPIDLE', 10);
      client.setOption('KEEPINTVL', 2);
      client.setOption('KEEPCNT', 3);
      let err = 0;
      client.handlers.onError = (e) => (err = e);
      // alive peer answers the probes
      w.run(30_000);
      expect(client.state).toBe('ESTABLISHED');
      expect(w.a.counters.get('tx_keepalive')).toBeGreaterThanOrEqual(2);
      // then the peer vanishes
      w.up = false;
      w.run(10_000 + 3 * 2_000 + 1000);
      expect(err).toBe(Errno.ETIMEDOUT);
      expect(client.state).toBe('CLOSED');
    });

    it('RTO backs off exponentially and gives up; USER_TIMEOUT cuts it short', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      client.setOption('USER_TIMEOUT', 5000);
      let err = 0;
      client.handlers.onError = (e) => (err = e);
      w.up = false;
      client.write(Buffer.from('lost'));
      w.run(4000);
      expect(client.state).toBe('ESTABLISHED');
      const rto = Number(client.info().rto);
      expect(rto).toBeGreaterThanOrEqual(1600);
      w.run(1500);
      expect(err).toBe(Errno.ETIMEDOUT);
    });

    it('a lost segment is retransmitted after RTO and the transfer completes', () => {
      let drop = 3;
      const w = new Wire({ delayMs: 5, filter: (dir, seg) => dir === 'ab' && seg.length > 40 && drop-- > 0 });
      const { client, server } = connectPair(w);
      client.write(Buffer.from('hello world'));
      w.run(5000);
      expect((server.read() as Buffer).toString()).toBe('hello world');
      expect(Number(client.info().retransmits)).toBeGreaterThanOrEqual(3);
    });
  });

  describe('tcp ICMP errors', () => {
    it('port unreachable in SYN_SENT → ECONNREFUSED; host unreachable → EHOSTUNREACH', () => {
      for (const [code, errno] of [
        [icmp.port, Errno.ECONNREFUSED],
        [icmp.host, Errno.EHOSTUNREACH],
      ] as const) {
        const w = new Wire({ filter: () => true });
        w.capture = true;
        const c = w.a.socket();
        let err = 0;
        c.handlers.onError = (e) => (err = e);
        c.connect(ADDR_B, 80);
        const quoted = w.captured[0]!.seg.subarray(0, 8);
        w.a.receiveIcmpError(icmp.unreach, code, ADDR_A, ADDR_B, quoted);
        expect(err).toBe(errno);
        expect(c.state).toBe('CLOSED');
      }
    });

    it('ICMP quoting a sequence outside the window is ignored', () => {
      const w = new Wire();
      const { client } = connectPair(w);
      const local = client.localAddress()!;
      const q = Buffer.alloc(8);
      q.writeUInt16BE(local.port, 0);
      q.writeUInt16BE(80, 2);
      q.writeUInt32BE(12345, 4);
      w.a.receiveIcmpError(icmp.unreach, icmp.port, ADDR_A, ADDR_B, q);
      expect(client.state).toBe('ESTABLISHED');
      expect(w.a.counters.get('icmp_out_of_window')).toBe(1);
    });

    it('fragmentation needed lowers the MSS and resends smaller segments', () => {
      let mtu = 1500;
      const w = new Wire({ filter: (dir, seg) => dir === 'ab' && seg.length + ipHeaderLen > mtu });
      const { client, server } = connectPair(w);
      w.capture = true;
      // IPv6 paths never go below 1280 (RFC 8200 §5)
      mtu = family === 4 ? 1000 : 1280;
      client.write(Buffer.alloc(10_000, 9));
      const first = w.captured.find((x) => x.dir === 'ab' && x.seg.length + ipHeaderLen > mtu)!;
      w.a.receiveIcmpError(icmp.tooBig[0], icmp.tooBig[1], ADDR_A, ADDR_B, first.seg.subarray(0, 8), mtu);
      expect(client.info().mss).toBe(mtu - ipHeaderLen - 20 - 12);
      w.run(2000);
      let n = 0;
      for (;;) {
        const r = server.read();
        if (!Buffer.isBuffer(r)) break;
        n += r.length;
      }
      expect(n).toBe(10_000);
    });
  });

  describe('tcp local MTU change', () => {
    it('-EMSGSIZE from the IP layer lowers the MSS and the data still arrives', () => {
      const w = new Wire({ mtu: 1500 });
      const { client, server } = connectPair(w);
      // the IP layer now refuses anything over 1000 bytes with DF
      const ip = (w.a as unknown as { ip: { send: (...a: unknown[]) => number; maxPayloadFor: () => number } }).ip;
      const orig = ip.send.bind(ip);
      ip.send = (p: unknown, s: unknown, d: unknown, pkt: unknown, off: unknown) => {
        const b = pkt as Buffer;
        if (b.length - (off as number) > 980) return -Errno.EMSGSIZE;
        return orig(p, s, d, pkt, off);
      };
      ip.maxPayloadFor = () => 980;
      client.write(Buffer.alloc(20_000, 4));
      w.run(3000);
      let n = 0;
      for (;;) {
        const r = server.read();
        if (!Buffer.isBuffer(r)) break;
        n += r.length;
      }
      expect(n).toBe(20_000);
      expect(Number(client.info().mss)).toBe(980 - 20 - 12);
      expect(w.a.counters.get('tx_emsgsize')).toBeGreaterThan(0);
    });
  });
});
