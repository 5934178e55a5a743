/**
 * A gateway's outbound flows in virtual time: a member (M) with a default route via the gateway
 * (G) opens TCP connections and UDP flows to addresses beyond the network; G's stack terminates
 * them and hands them to its OutboundHandler (here one that answers in-process), whose policy is
 * asked for each new flow. A refused flow draws ICMP "administratively prohibited"; G's programs'
 * wildcard listeners never see outbound connections. Echo requests go to the handler's `echo`,
 * whose answer comes back to the member from the destination.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { SimSegment } from '../../src/netstack/sim-link.js';
import type { NetStack, OutboundHandler, TcpSocket } from '../../src/netstack/index.js';
import { ip } from '../support/netstack-rig.js';

const G = ip(10, 0, 0, 2);
const M = ip(10, 0, 0, 3);
const FAR = ip(93, 184, 216, 34);
const DENIED = ip(10, 9, 9, 9);

function setup(): {
  seg: SimSegment;
  g: NetStack;
  m: NetStack;
  accepted: TcpSocket[];
  asked: string[];
  echoes: { to: number; id: number; seq: number; len: number }[];
} {
  const seg = new SimSegment(2);
  const [g, m] = seg.stacks as [NetStack, NetStack];
  g.addAddress(G, 24);
  m.addAddress(M, 24);
  m.addRoute({ dest: 0, prefixLen: 0, gateway: G, metric: 0 });
  const accepted: TcpSocket[] = [];
  const asked: string[] = [];
  const echoes: { to: number; id: number; seq: number; len: number }[] = [];
  const handler: OutboundHandler = {
    allow: (proto, _from, _fp, to, toPort) => {
      asked.push(`${proto} ${to}:${toPort}`);
      return to !== DENIED;
    },
    tcp: (s) => {
      accepted.push(s);
      s.handlers.onReadable = () => {
        const r = s.read();
        if (typeof r !== 'number') s.write(Buffer.concat([Buffer.from('far:'), r]));
      };
    },
    udp: (flow) => {
      const s = flow.socket;
      s.handlers.onReadable = () => {
        for (let d = s.recv(); d; d = s.recv()) s.sendTo(Buffer.concat([Buffer.from('far:'), d.data]));
      };
    },
    echo: (_from, to, id, seq, data, reply) => {
      echoes.push({ to, id, seq, len: data.length });
      reply(seq, data);
    },
  };
  g.setOutbound(handler);
  return { seg, g, m, accepted, asked, echoes };
}

describe('outbound gate', () => {
  it("a member's TCP connection beyond the network is terminated at the gateway with the destination as its local end", () => {
    const { seg, g, m, accepted } = setup();
    const appListener = g.tcpSocket();
    expect(appListener.bind(0, 80)).toBe(0);
    expect(appListener.listen(8)).toBe(0);
    const c = m.tcpSocket();
    expect(c.connect(FAR, 80)).toBe(-Errno.EINPROGRESS);
    seg.sched.advance(50);
    expect(c.state).toBe('ESTABLISHED');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.localAddress()).toEqual({ addr: FAR, port: 80 });
    expect(accepted[0]!.remoteAddress()?.addr).toBe(M);
    expect(appListener.accept()).toBeNull();
    c.write(Buffer.from('hi'));
    seg.sched.advance(50);
    const r = c.read();
    expect(Buffer.isBuffer(r) ? r.toString() : r).toBe('far:hi');
    // a second connection to the same destination reuses the listener and asks the policy again
    const c2 = m.tcpSocket();
    c2.connect(FAR, 80);
    seg.sched.advance(50);
    expect(c2.state).toBe('ESTABLISHED');
    expect(accepted).toHaveLength(2);
    expect(g.counters().ipv4!.rx_outbound).toBeGreaterThan(0);
  });

  it('a UDP flow beyond the network is answered from the destination', () => {
    const { seg, m } = setup();
    const u = m.udpSocket();
    expect(u.sendTo(Buffer.from('q'), { addr: FAR, port: 53 })).toBe(1);
    seg.sched.advance(20);
    expect(u.sendTo(Buffer.from('q2'), { addr: FAR, port: 53 })).toBe(2);
    seg.sched.advance(20);
    const d1 = u.recv();
    const d2 = u.recv();
    expect(d1?.from).toEqual({ addr: FAR, port: 53 });
    expect(d1?.data.toString()).toBe('far:q');
    expect(d2?.data.toString()).toBe('far:q2');
  });

  it('a refused destination draws ICMP administratively prohibited and reaches nothing', () => {
    const { seg, g, m, accepted, asked } = setup();
    const c = m.tcpSocket();
    const errors: number[] = [];
    c.handlers.onError = (e) => errors.push(e);
    c.connect(DENIED, 80);
    seg.sched.advance(3000);
    expect(accepted).toHaveLength(0);
    expect(asked).toContain(`tcp ${DENIED}:80`);
    expect(g.counters().ipv4!.rx_outbound_denied).toBeGreaterThan(0);
    expect(errors.length + (c.state === 'CLOSED' ? 1 : 0)).toBeGreaterThan(0);
  });

  it("a member's echo request beyond the network goes to the handler and its reply comes back from the destination", () => {
    const { seg, g, m, echoes, asked } = setup();
    const results: { ok: boolean }[] = [];
    m.ping(FAR, { size: 40, timeoutMs: 1000 }, (r) => results.push(r));
    seg.sched.advance(100);
    expect(results).toEqual([expect.objectContaining({ ok: true })]);
    expect(echoes).toHaveLength(1);
    expect(echoes[0]).toMatchObject({ to: FAR, len: 40 });
    expect(asked).toContain(`icmp ${FAR}:0`);
    expect(g.counters().ipv4!.tx_outbound_echo_reply).toBe(1);
    // a refused destination is asked about and answered "administratively prohibited", not echoed
    m.ping(DENIED, { timeoutMs: 1000 }, (r) => results.push(r));
    seg.sched.advance(2000);
    expect(results[1]).toMatchObject({ ok: false });
    expect(echoes).toHaveLength(1);
    expect(g.counters().ipv4!.rx_outbound_denied).toBeGreaterThan(0);
  });

  it('without a handler, nothing beyond the network is let in', () => {
    const { seg, g, m, accepted } = setup();
    g.setOutbound(null);
    m.tcpSocket().connect(FAR, 80);
    seg.sched.advance(50);
    expect(accepted).toHaveLength(0);
    expect(g.counters().ipv4!.rx_not_for_us).toBeGreaterThan(0);
  });
});
