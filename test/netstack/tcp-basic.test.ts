import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { connectPair, FAMILIES, familyRig } from '../support/netstack-rig.js';

// every suite here is about TCP itself, so it runs over IPv4 and over IPv6
describe.each(FAMILIES)('over IPv%i', (family) => {
  const { ADDR_B, Wire, ANY } = familyRig(family);

  describe('tcp basic', () => {
    it('connects, accepts, echoes and closes', () => {
      const w = new Wire();
      const { client, server } = connectPair(w);
      expect(client.state).toBe('ESTABLISHED');
      expect(server.state).toBe('ESTABLISHED');
      expect(client.write(Buffer.from('hello'))).toBe(5);
      w.run(100);
      const got = server.read();
      expect(Buffer.isBuffer(got) && got.toString()).toBe('hello');
      server.write(Buffer.from('world'));
      w.run(100);
      expect((client.read() as Buffer).toString()).toBe('world');
      client.close();
      w.run(100);
      expect(server.read()).toBe(0);
      expect(server.state).toBe('CLOSE_WAIT');
      server.close();
      w.run(100);
      expect(server.state).toBe('CLOSED');
      expect(client.state).toBe('TIME_WAIT');
    });

    it('closed port → ECONNREFUSED', () => {
      const w = new Wire();
      const c = w.a.socket();
      let err = 0;
      c.handlers.onError = (e) => (err = e);
      expect(c.connect(ADDR_B, 81)).toBe(-Errno.EINPROGRESS);
      w.run(100);
      expect(err).toBe(Errno.ECONNREFUSED);
      expect(c.state).toBe('CLOSED');
    });
  });

  describe('tcp echo server', () => {
    it('echoes 200 requests of varying size, one RTT each, through handlers', () => {
      const w = new Wire({ delayMs: 5 });
      const l = w.b.socket();
      l.bind(ANY, 7);
      l.listen(8);
      l.handlers.onAcceptable = () => {
        for (let s = l.accept(); s; s = l.accept()) {
          const conn = s;
          conn.setOption('NODELAY', 1);
          const echo = (): void => {
            for (;;) {
              const r = conn.read();
              if (typeof r === 'number') {
                if (r === 0) conn.close();
                return;
              }
              expect(conn.write(r)).toBe(r.length);
            }
          };
          conn.handlers.onReadable = echo;
          echo();
        }
      };
      const c = w.a.socket();
      c.setOption('NODELAY', 1);
      let connected = false;
      c.handlers.onConnect = () => (connected = true);
      c.connect(ADDR_B, 7);
      w.until(() => connected, 1000);
      let got = Buffer.alloc(0);
      c.handlers.onReadable = () => {
        for (;;) {
          const r = c.read();
          if (!Buffer.isBuffer(r)) return;
          got = Buffer.concat([got, r]);
        }
      };
      const t0 = w.sched.now();
      for (let i = 0; i < 200; i++) {
        const req = Buffer.alloc(1 + ((i * 997) % 5000), i & 0xff);
        got = Buffer.alloc(0);
        expect(c.write(req)).toBe(req.length);
        expect(w.until(() => got.length === req.length, 5000)).toBe(true);
        expect(got.equals(req)).toBe(true);
      }
      const perRequest = (w.sched.now() - t0) / 200;
      // one round trip (10 ms) plus, for multi-segment requests, a little; never a 40 ms delayed-ACK stall
      expect(perRequest).toBeLessThan(25);
      c.close();
      w.run(100);
      expect(c.state).toBe('TIME_WAIT');
    });
  });
});
