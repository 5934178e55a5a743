/**
 * The SQLite controller feeding the node's in-band controller, end to end in one process: the
 * controller node C of the simulation answers config requests from a real controller.db, and every
 * change goes in through the JSON API over real HTTP. Members join, get their IPv4 address from
 * the pool and their rfc4193 and 6plane IPv6 addresses, ping each other through their netstacks;
 * de-authorization cuts a member off; rule changes reach the members and take effect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/netstack/addr.js';
import { formatIp, parseIp } from '../../src/controller/ip-assignment.js';
import { NetSim, NWID } from '../node/sim-harness.js';
import { type ControllerHarness, NODE_ADDRESS, obj, removeDir, startController, tempDir } from './harness.js';

const NWID_HEX = NWID.toString(16).padStart(16, '0');

function hexGroups(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** fd + network id + 99:93 + member address (stock InetAddress::makeIpv6rfc4193), /88. */
function expectedRfc4193(nwid: bigint, member: bigint): string {
  const b = Buffer.alloc(16);
  b[0] = 0xfd;
  b.writeBigUInt64BE(nwid, 1);
  b[9] = 0x99;
  b[10] = 0x93;
  for (let i = 0; i < 5; i++) b[11 + i] = Number((member >> BigInt(8 * (4 - i))) & 0xffn);
  return `${formatIp(parseIp(hexGroups(b))!)}/88`;
}

/** fc + (high ^ low 32 bits of the network id) + member address + ::1 (stock makeIpv66plane), /40. */
function expected6plane(nwid: bigint, member: bigint): string {
  const b = Buffer.alloc(16);
  b[0] = 0xfc;
  b.writeUInt32BE(Number((nwid >> 32n) ^ (nwid & 0xffffffffn)), 1);
  for (let i = 0; i < 5; i++) b[5 + i] = Number((member >> BigInt(8 * (4 - i))) & 0xffn);
  b[15] = 1;
  return `${formatIp(parseIp(hexGroups(b))!)}/40`;
}

let sim: NetSim | null = null;
let h: ControllerHarness | null = null;
afterEach(async () => {
  sim?.stopAll();
  sim = null;
  if (h) {
    await h.stop();
    removeDir(h.dir);
    h = null;
  }
});

async function deployment(refreshMs = 30_000) {
  let wall = (): number => 0;
  h = await startController(tempDir(), { now: () => wall() });
  const s = new NetSim({ refreshMs, controllerBackend: h.controller.backend });
  wall = s.wall;
  sim = s;
  expect(NODE_ADDRESS).toBe(NWID_HEX.slice(0, 10));
  const created = await h.call('POST', `/controller/network/${NWID_HEX}`, {
    name: 'e2e',
    private: true,
    v4AssignMode: { zt: true },
    v6AssignMode: { zt: false, rfc4193: true, '6plane': true },
    routes: [{ target: '10.144.0.0/16', via: null }],
    ipAssignmentPools: [{ ipRangeStart: '10.144.1.1', ipRangeEnd: '10.144.1.254' }],
  });
  expect(created.status).toBe(200);
  s.startInfrastructure();
  const a = s.addMember('A', 2, '10.99.0.3');
  const b = s.addMember('B', 3, '10.99.0.4');
  const d = s.addMember('D', 4, '10.99.0.5');
  await s.run(2_000);
  for (const m of [a, b, d]) m.nets.join(NWID);
  return { s, h, a, b, d };
}

const memberPath = (address: bigint) => `/controller/network/${NWID_HEX}/member/${address.toString(16).padStart(10, '0')}`;

describe('SQLite controller behind the in-band protocol', () => {
  it('refuses until authorized, then gives the pool IPv4 and the rfc4193 and 6plane IPv6 addresses', async () => {
    const { s, h, a, b, d } = await deployment();
    expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'ACCESS_DENIED'), 20_000)).toBe(true);
    // the requests were logged against the (unauthorized) members
    const pending = obj((await h.call('GET', memberPath(a.node.address))).body);
    expect(pending.authorized).toBe(false);
    expect((pending.recentLog as unknown[]).length).toBeGreaterThan(0);
    expect(obj((pending.recentLog as unknown[])[0])).toMatchObject({ authorized: false, clientMajorVersion: 1, clientMinorVersion: 14 });

    for (const m of [a, b, d]) expect((await h.call('POST', memberPath(m.node.address), { authorized: true })).status).toBe(200);
    // the controller pushes the new config to members that asked recently
    expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'OK'), 10_000)).toBe(true);
    // one push per authorization: the address the push itself assigned does not trigger another
    expect(s.controller.node.counters.get('ctl_configs_pushed')).toBe(3);

    const seen = new Set<string>();
    for (const m of [a, b, d]) {
      const cfg = m.nets.get(NWID)!.config!;
      const ips = cfg.staticIps.map((ip) => `${ip.ip}/${ip.port}`);
      const v4 = ips.filter((ip) => !ip.includes(':'));
      expect(v4).toHaveLength(1);
      expect(v4[0]).toMatch(/^10\.144\.1\.\d+\/16$/);
      expect(seen.has(v4[0]!)).toBe(false);
      seen.add(v4[0]!);
      const v6 = ips
        .filter((ip) => ip.includes(':'))
        .map((ip) => {
          const [addr, bits] = ip.split('/');
          return `${formatIp(parseIp(addr!)!)}/${bits}`;
        });
      expect(v6.sort()).toEqual([expectedRfc4193(NWID, m.node.address), expected6plane(NWID, m.node.address)].sort());
      // the netstack carries the IPv4 address; the API reports the same assignment
      expect(`${formatIpv4(s.ip(m.name)!)}/16`).toBe(v4[0]);
      const view = obj((await h.call('GET', memberPath(m.node.address))).body);
      expect(view.ipAssignments).toEqual([v4[0]!.split('/')[0]]);
      expect(view.vMajor).toBe(1);
      expect(view.vProto).toBe(12);
      // a certificate of membership signed by C came with it
      expect(cfg.com).not.toBeNull();
    }
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });
    expect(await s.ping('D', 'A')).toMatchObject({ ok: true });
    const net = obj((await h.call('GET', `/controller/network/${NWID_HEX}`)).body);
    expect(net.authorizedMemberCount).toBe(3);
    // a refresh that comes straight from the member (not relayed) logs its physical address
    await s.run(s.refreshMs + 1_000);
    const log = obj((await h.call('GET', memberPath(a.node.address))).body).recentLog as Record<string, unknown>[];
    expect(log.length).toBeLessThanOrEqual(16);
    expect(log[0]).toMatchObject({
      authorized: true,
      clientMajorVersion: 1,
      clientMinorVersion: 14,
      clientRevision: 1,
      fromAddr: '10.99.0.3/9993',
    });
    for (const n of s.nodes.values()) expect(n.node.counters.get('rx_exception')).toBe(0);
  });

  it('cuts a de-authorized member off within one refresh period', async () => {
    const { s, h, b, d } = await deployment(30_000);
    for (const m of ['A', 'B', 'D'])
      expect((await h.call('POST', memberPath(s.member(m).node.address), { authorized: true })).status).toBe(200);
    expect(await s.until(() => ['A', 'B', 'D'].every((n) => s.status(n) === 'OK'), 40_000)).toBe(true);
    expect(await s.ping('D', 'B')).toMatchObject({ ok: true });
    const ipD = s.ip('D')!;

    expect((await h.call('POST', memberPath(d.node.address), { authorized: false })).status).toBe(200);
    const t0 = s.sched.now();
    expect(await s.until(() => s.status('D') === 'ACCESS_DENIED', s.refreshMs + 1_000)).toBe(true);
    expect(s.sched.now() - t0).toBeLessThanOrEqual(s.refreshMs);
    expect(d.nets.get(NWID)!.stack).toBeNull();
    let res: unknown = null;
    b.nets.get(NWID)!.stack!.ping(ipD, { timeoutMs: 3_000 }, (r) => {
      res = r;
    });
    await s.until(() => res !== null, 5_000);
    expect(res).toMatchObject({ ok: false });
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });
    const view = obj((await h.call('GET', memberPath(d.node.address))).body);
    expect(view.authorized).toBe(false);
    const log = view.recentLog as Record<string, unknown>[];
    expect(log[0]).toMatchObject({ authorized: false });
  });

  it('pushes rule changes to the members, which enforce them', async () => {
    const { s, h, a, b } = await deployment();
    for (const m of [a, b]) expect((await h.call('POST', memberPath(m.node.address), { authorized: true })).status).toBe(200);
    expect(await s.until(() => s.status('A') === 'OK' && s.status('B') === 'OK', 40_000)).toBe(true);
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });
    const netA = a.nets.get(NWID)!;
    const revBefore = netA.config!.revision;

    // drop IPv4, accept everything else (ARP still passes)
    const dropIpv4 = [
      { type: 'MATCH_ETHERTYPE', not: false, or: false, etherType: 0x0800 },
      { type: 'ACTION_DROP' },
      { type: 'ACTION_ACCEPT' },
    ];
    expect((await h.call('POST', `/controller/network/${NWID_HEX}`, { rules: dropIpv4 })).status).toBe(200);
    expect(await s.until(() => netA.config!.revision > revBefore && b.nets.get(NWID)!.config!.revision > revBefore, 10_000)).toBe(true);
    expect(netA.config!.rules.length).toBe(3);
    expect(await s.ping('A', 'B', 4_000)).toMatchObject({ ok: false });
    expect(netA.counters.get('drop_frame_rules_out') + b.nets.get(NWID)!.counters.get('drop_frame_rules_in')).toBeGreaterThan(0);

    // the legacy form of an accept-all rule set lets traffic through again
    const revDrop = netA.config!.revision;
    expect((await h.call('POST', `/controller/network/${NWID_HEX}`, { rules: [{ ruleNo: 1, action: 'accept' }] })).status).toBe(200);
    expect(await s.until(() => netA.config!.revision > revDrop && b.nets.get(NWID)!.config!.revision > revDrop, 10_000)).toBe(true);
    expect(await s.ping('A', 'B')).toMatchObject({ ok: true });

    // an explicitly empty rule list carries no traffic
    const revAccept = netA.config!.revision;
    expect((await h.call('POST', `/controller/network/${NWID_HEX}`, { rules: [] })).status).toBe(200);
    expect(await s.until(() => netA.config!.revision > revAccept && b.nets.get(NWID)!.config!.revision > revAccept, 10_000)).toBe(true);
    expect(await s.ping('A', 'B', 4_000)).toMatchObject({ ok: false });
  });

  it("pushes a member's new name and addresses to the other members at once, and takes it back on de-authorization", async () => {
    const { s, h, a, b } = await deployment(30_000);
    for (const m of [a, b]) expect((await h.call('POST', memberPath(m.node.address), { authorized: true })).status).toBe(200);
    expect(await s.until(() => s.status('A') === 'OK' && s.status('B') === 'OK', 40_000)).toBe(true);
    const netB = b.nets.get(NWID)!;
    const namesOfB = (): { name: string; addrs: string[] }[] =>
      (netB.config!.names ?? []).map((n) => ({ name: n.name, addrs: n.addrs.map((x) => x.ip) }));
    expect(namesOfB()).toEqual([]);
    const ipA = formatIpv4(s.ip('A')!);

    const pushed = s.controller.node.counters.get('ctl_configs_pushed');
    expect((await h.call('POST', memberPath(a.node.address), { name: 'Alpha Box' })).status).toBe(200);
    // well within the 30 s refresh: it came with the push
    expect(await s.until(() => namesOfB().length === 1, 2_000)).toBe(true);
    const entry = namesOfB()[0]!;
    expect(entry.name).toBe('alpha-box');
    expect(entry.addrs[0]).toBe(ipA);
    // its managed address, then the computed rfc4193 and 6plane ones (AAAA records)
    const bare = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));
    expect(entry.addrs).toEqual([ipA, bare(expectedRfc4193(NWID, a.node.address)), bare(expected6plane(NWID, a.node.address))]);
    expect(s.controller.node.counters.get('ctl_configs_pushed')).toBeGreaterThanOrEqual(pushed + 2);

    expect((await h.call('POST', memberPath(a.node.address), { name: 'alpha' })).status).toBe(200);
    expect(await s.until(() => namesOfB()[0]?.name === 'alpha', 2_000)).toBe(true);
    // a change that leaves the names alone goes to that member only
    const before = s.controller.node.counters.get('ctl_configs_pushed');
    expect((await h.call('POST', memberPath(a.node.address), { activeBridge: false, tags: [] })).status).toBe(200);
    await s.run(500);
    expect(s.controller.node.counters.get('ctl_configs_pushed') - before).toBeLessThanOrEqual(1);

    // the network's schemes decide which computed addresses a name has
    expect((await h.call('POST', `/controller/network/${NWID_HEX}`, { v6AssignMode: { '6plane': false } })).status).toBe(200);
    expect(await s.until(() => namesOfB()[0]?.addrs.length === 2, 2_000)).toBe(true);
    expect(namesOfB()[0]!.addrs).toEqual([ipA, bare(expectedRfc4193(NWID, a.node.address))]);
    // and a member without auto-assigned addresses has its managed ones only
    expect((await h.call('POST', memberPath(a.node.address), { noAutoAssignIps: true })).status).toBe(200);
    expect(await s.until(() => namesOfB()[0]?.addrs.length === 1, 2_000)).toBe(true);
    expect(namesOfB()[0]!.addrs).toEqual([ipA]);

    expect((await h.call('POST', memberPath(a.node.address), { authorized: false })).status).toBe(200);
    expect(await s.until(() => namesOfB().length === 0, 2_000)).toBe(true);
  });
});
