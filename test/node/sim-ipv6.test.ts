/**
 * IPv6 between members of one network, with real nodes, root and controller in virtual time: the
 * network gives rfc4193 and 6plane addresses; each member's stack takes them (and its 6plane /80),
 * finds the others' MACs through stock's NDP emulation (no solicitation goes out), and pings and
 * talks TCP to them over IPv6 frames (0x86DD) — to any address of a member's 6plane /80 too.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { IPV6_ANY, parseIpv6Addr, type IpAddr, type NetStack, type PingResult } from '../../src/netstack/index.js';
import { rfc4193Address, sixPlaneAddress } from '../../src/controller/ip-assignment.js';
import { NetSim, NWID, type NetSimNode } from './sim-harness.js';

let sim: NetSim | null = null;
afterEach(() => {
  sim?.stopAll();
  sim = null;
});

const v6 = (text: string): string => parseIpv6Addr(text)!;
const rfc4193Of = (m: NetSimNode): string => v6(rfc4193Address(NWID, m.node.address).ip);
const sixPlaneOf = (m: NetSimNode): string => v6(sixPlaneAddress(NWID, m.node.address).ip);
/** Another address of the member's 6plane /80 than the assigned ::1. */
const sixPlaneOtherOf = (m: NetSimNode): string => `${sixPlaneOf(m).slice(0, 20)}00000000beef`;

async function members(s: NetSim): Promise<{ a: NetSimNode; b: NetSimNode }> {
  s.backend.networks.get(NWID)!.v6 = { rfc4193: true, sixPlane: true };
  s.startInfrastructure();
  const a = s.addMember('A', 2, '10.99.0.3');
  const b = s.addMember('B', 3, '10.99.0.4');
  await s.run(2_000);
  for (const m of [a, b]) {
    m.nets.join(NWID);
    s.backend.authorize(NWID, m.node.address);
  }
  expect(await s.until(() => s.status('A') === 'OK' && s.status('B') === 'OK', 20_000)).toBe(true);
  return { a, b };
}

async function ping(s: NetSim, from: NetStack, dst: IpAddr, limitMs = 5_000): Promise<PingResult | null> {
  let result: PingResult | null = null;
  from.ping(dst, { timeoutMs: limitMs - 100 }, (r) => (result = r));
  await s.until(() => result !== null, limitMs);
  return result;
}

/** `bytes` from `client` to a listener on :: port `port` of `server`, at `dst`; the digest both ways. */
async function transfer(s: NetSim, client: NetStack, server: NetStack, dst: string, port: number, bytes: number) {
  const data = createHash('sha512').update(`${dst}`).digest();
  const body = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += data.length) data.copy(body, i);
  const listener = server.tcpSocket(6);
  expect(listener.bind(IPV6_ANY, port)).toBe(0);
  expect(listener.listen(4)).toBe(0);
  const rx = createHash('sha256');
  let received = 0;
  let eof = false;
  let local: IpAddr | null = null;
  listener.handlers.onAcceptable = () => {
    const conn = listener.accept();
    if (!conn) return;
    local = conn.localAddress()?.addr ?? null;
    const drain = (): void => {
      for (;;) {
        const r = conn.read(256 * 1024);
        if (typeof r === 'number') {
          if (r === 0) {
            eof = true;
            conn.close();
          }
          return;
        }
        received += r.length;
        rx.update(r);
      }
    };
    conn.handlers.onReadable = drain;
    drain();
  };
  const sock = client.tcpSocket(6);
  let off = 0;
  let failed = 0;
  const pump = (): void => {
    while (off < bytes) {
      const n = sock.write(body.subarray(off, Math.min(bytes, off + 64 * 1024)));
      if (n <= 0) return;
      off += n;
    }
    sock.shutdown(1);
  };
  sock.handlers.onConnect = pump;
  sock.handlers.onWritable = pump;
  sock.handlers.onError = (e) => (failed = e);
  sock.connect(dst, port);
  await s.until(() => eof || failed !== 0, 120_000);
  sock.close();
  listener.close();
  expect(failed).toBe(0);
  return { received, same: rx.digest('hex') === createHash('sha256').update(body).digest('hex'), local };
}

describe('IPv6 over the network', () => {
  it('members take their rfc4193 and 6plane addresses and ping each other over them, by NDP emulation', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b } = await members(s);
    const netA = a.nets.get(NWID)!;
    const stackA = netA.stack!;
    const stackB = b.nets.get(NWID)!.stack!;
    const held = stackA.addresses().map((x) => `${String(x.addr)}/${x.prefixLen}`);
    expect(held).toContain(`${rfc4193Of(a)}/88`);
    expect(held).toContain(`${sixPlaneOf(a)}/40`);
    for (const dst of [rfc4193Of(b), sixPlaneOf(b), sixPlaneOtherOf(b)])
      expect(await ping(s, stackA, dst), dst).toMatchObject({ ok: true });
    for (const dst of [rfc4193Of(a), sixPlaneOtherOf(a)]) expect(await ping(s, stackB, dst), dst).toMatchObject({ ok: true });
    // A resolved B's addresses itself: the solicitations never left A
    expect(netA.counters.get('ndp_emulated')).toBeGreaterThanOrEqual(2);
    expect(netA.counters.get('frames_out')).toBeGreaterThan(0);
    for (const n of s.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  });

  it('carries TCP over IPv6 intact, to the rfc4193 address and to any address of the 6plane /80', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b } = await members(s);
    const stackA = a.nets.get(NWID)!.stack!;
    const stackB = b.nets.get(NWID)!.stack!;
    const one = await transfer(s, stackA, stackB, rfc4193Of(b), 8080, 1_000_000);
    expect(one).toMatchObject({ received: 1_000_000, same: true, local: rfc4193Of(b) });
    const two = await transfer(s, stackB, stackA, sixPlaneOtherOf(a), 8081, 300_000);
    expect(two).toMatchObject({ received: 300_000, same: true, local: sixPlaneOtherOf(a) });
  });

  it('the network’s rules see IPv6 frames: an ethertype rule dropping 0x86DD stops them, IPv4 goes on', async () => {
    sim = new NetSim();
    const s = sim;
    const { a, b } = await members(s);
    const stackA = a.nets.get(NWID)!.stack!;
    expect(await ping(s, stackA, rfc4193Of(b))).toMatchObject({ ok: true });
    const rev = a.nets.get(NWID)!.config!.revision;
    s.backend.setRules(NWID, [{ type: 'MATCH_ETHERTYPE', etherType: 0x86dd }, { type: 'ACTION_DROP' }, { type: 'ACTION_ACCEPT' }]);
    expect(await s.until(() => a.nets.get(NWID)!.config!.revision > rev, 10_000)).toBe(true);
    expect(await ping(s, stackA, rfc4193Of(b), 3_000)).toMatchObject({ ok: false });
    expect(a.nets.get(NWID)!.counters.get('drop_frame_rules_out')).toBeGreaterThan(0);
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });
  });
});
