/**
 * A gateway member's forwarded flows in virtual time: three full stacks on one segment — a server
 * (A), the gateway (G) and another member (M). G opens flows into the network from a client's
 * own address (TransparentOrigin); A's replies go back to G by the flow's return path, A's
 * programs see the client's address, and nothing lets M take the replies or reach G's sockets.
 */
import { describe, expect, it } from 'vitest';
import { Errno } from '../../src/netstack/errno.js';
import { SimSegment } from '../../src/netstack/sim-link.js';
import type { NetStack, TcpSocket, UdpSocket } from '../../src/netstack/index.js';
import { ip } from '../support/netstack-rig.js';

const A = ip(10, 0, 0, 1);
const G = ip(10, 0, 0, 2);
const M = ip(10, 0, 0, 3);
const CLIENT = ip(10, 199, 5, 2);

function segment(): { seg: SimSegment; a: NetStack; g: NetStack; m: NetStack } {
  const seg = new SimSegment(3, undefined, { record: true });
  const [a, g, m] = seg.stacks as [NetStack, NetStack, NetStack];
  a.addAddress(A, 24);
  g.addAddress(G, 24);
  m.addAddress(M, 24);
  return { seg, a, g, m };
}

function listen(s: NetStack, port: number): TcpSocket {
  const l = s.tcpSocket();
  expect(l.bind(0, port)).toBe(0);
  expect(l.listen(8)).toBe(0);
  return l;
}

function readAll(s: TcpSocket): string {
  const r = s.read();
  return typeof r === 'number' ? '' : r.toString();
}

describe('transparent origin and return paths', () => {
  it('a TCP flow from a client address reaches A, which sees the client and answers through the gateway', () => {
    const { seg, a, g } = segment();
    const l = listen(a, 8080);
    const flow = g.transparentOrigin().tcpConnect(CLIENT, 40001, A, 8080);
    if (typeof flow === 'number') throw new Error(`tcpConnect: ${flow}`);
    seg.sched.advance(50);
    expect(flow.socket.state).toBe('ESTABLISHED');
    const srv = l.accept()!;
    expect(srv.remoteAddress()).toEqual({ addr: CLIENT, port: 40001 });
    expect(flow.socket.write(Buffer.from('hello'))).toBe(5);
    seg.sched.advance(50);
    expect(readAll(srv)).toBe('hello');
    expect(srv.write(Buffer.from('world'))).toBe(5);
    srv.shutdown(1);
    seg.sched.advance(50);
    expect(readAll(flow.socket)).toBe('world');
    expect(flow.socket.read()).toBe(0);
    // every frame A sent to the client's address went to the gateway's MAC (02:..:02)
    const toClient = seg.frames.filter((f) => f.from === 0 && f.frame.length >= 34 && f.frame.readUInt32BE(30) === CLIENT);
    expect(toClient.length).toBeGreaterThan(0);
    for (const f of toClient) expect(f.frame.subarray(0, 6)).toEqual(g.mac);
    expect(a.counters().ipv4!.return_path_learned).toBe(1);
    expect(g.counters().ipv4!.rx_transparent).toBeGreaterThan(0);
    flow.socket.close();
    flow.release();
  });

  it('a UDP flow from a client address is answered through the gateway', () => {
    const { seg, a, g } = segment();
    const echo: UdpSocket = a.udpSocket();
    expect(echo.bind(0, 5353)).toBe(0);
    const flow = g.transparentOrigin().udpConnect(CLIENT, 40002, A, 5353);
    if (typeof flow === 'number') throw new Error(`udpConnect: ${flow}`);
    expect(flow.socket.sendTo(Buffer.from('ping'))).toBe(4);
    seg.sched.advance(10);
    const d = echo.recv();
    if (!d) throw new Error('nothing received');
    expect(d.from).toEqual({ addr: CLIENT, port: 40002 });
    expect(echo.sendTo(Buffer.from('pong'), d.from)).toBe(4);
    seg.sched.advance(10);
    const back = flow.socket.recv();
    expect(back?.data.toString()).toBe('pong');
    flow.release();
    flow.socket.close();
  });

  it('without a flow from it, an address outside every route stays unreachable', () => {
    const { a } = segment();
    const u = a.udpSocket();
    expect(u.sendTo(Buffer.from('x'), { addr: CLIENT, port: 9 })).toBe(-Errno.ENETUNREACH);
    expect(a.tcpSocket().connect(CLIENT, 80)).toBe(-Errno.ENETUNREACH);
  });

  it('a managed route wins over a return path', () => {
    const { seg, a, g } = segment();
    a.addRoute({ dest: 0, prefixLen: 0, gateway: M, metric: 0 });
    listen(a, 8080);
    const flow = g.transparentOrigin().tcpConnect(CLIENT, 40003, A, 8080);
    if (typeof flow === 'number') throw new Error(`tcpConnect: ${flow}`);
    seg.sched.advance(50);
    // the SYN-ACK followed the default route to M, so the gateway's connection is not established
    expect(flow.socket.state).toBe('SYN_SENT');
    expect(a.counters().ipv4!.return_path_learned ?? 0).toBe(0);
    flow.release();
    flow.socket.abort();
  });

  it("another member cannot take a flow's replies or reach the gateway's foreign address", () => {
    const { seg, a, g, m } = segment();
    const l = listen(a, 8080);
    const flow = g.transparentOrigin().tcpConnect(CLIENT, 40004, A, 8080);
    if (typeof flow === 'number') throw new Error(`tcpConnect: ${flow}`);
    seg.sched.advance(50);
    const srv = l.accept()!;
    // M forges a packet of the same flow: the first sender keeps it
    const forged = m.transparentOrigin().udpConnect(CLIENT, 40004, A, 8080);
    if (typeof forged === 'number') throw new Error(`udpConnect: ${forged}`);
    const mt = m.transparentOrigin().tcpConnect(CLIENT, 40004, A, 8080);
    if (typeof mt === 'number') throw new Error(`tcpConnect: ${mt}`);
    seg.sched.advance(50);
    expect(a.counters().ipv4!.return_path_conflict).toBeGreaterThan(0);
    expect(srv.write(Buffer.from('still yours'))).toBe(11);
    seg.sched.advance(50);
    expect(readAll(flow.socket)).toBe('still yours');
    // a wildcard listener of the gateway's programs never hears the client's address
    const gl = listen(g, 40005);
    m.addRoute({ dest: CLIENT, prefixLen: 32, gateway: G, metric: 0 });
    expect(m.tcpSocket().connect(CLIENT, 40005)).toBe(-Errno.EINPROGRESS);
    seg.sched.advance(50);
    expect(gl.accept()).toBeNull();
    expect(g.counters().ipv4!.rx_not_for_us).toBeGreaterThan(0);
    flow.release();
  });

  it('rejects bad ends', () => {
    const { g } = segment();
    expect(g.transparentOrigin().tcpConnect(0, 1, A, 80)).toBe(-Errno.EINVAL);
    expect(g.transparentOrigin().tcpConnect(CLIENT, 0, A, 80)).toBe(-Errno.EINVAL);
    expect(g.transparentOrigin().udpConnect(CLIENT, 70000, A, 80)).toBe(-Errno.EINVAL);
  });
});
