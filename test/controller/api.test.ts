import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VECTORS_DIR, vectorEntry } from '../support/vectors.js';
import { type ControllerHarness, NODE_ADDRESS, obj, removeDir, startController, tempDir } from './harness.js';

interface StockRequest {
  method: string;
  path: string;
  body: unknown;
  response: Record<string, unknown>;
}
const vectors = JSON.parse(readFileSync(join(VECTORS_DIR, 'packets.json'), 'utf8')) as {
  nodes: Record<string, { address: string; identityPublic: string }>;
  controllerApi: { requests: StockRequest[]; afterSession: Record<string, unknown> };
};
const stock = vectors.controllerApi;
const NWID = '3ce329f872000001';
const A = vectorEntry(vectors.nodes, 'A', 'nodes');
const B = vectorEntry(vectors.nodes, 'B', 'nodes');
const TIME_FIELDS = new Set(['creationTime', 'lastAuthorizedTime', 'clock']);
const STOCK_METADATA = { majorVersion: 1, minorVersion: 14, revision: 1, protocolVersion: 12, rulesEngineRev: 1 };

/** Every field stock answered is present with the same value (times: present and numeric). */
function expectStockShape(ours: unknown, theirs: Record<string, unknown>): void {
  const o = obj(ours);
  for (const [k, v] of Object.entries(theirs)) {
    expect(o, `field ${k}`).toHaveProperty(k);
    if (TIME_FIELDS.has(k)) expect(typeof o[k], `field ${k}`).toBe('number');
    else expect(o[k], `field ${k}`).toEqual(v);
  }
}

describe('controller JSON API', () => {
  let h: ControllerHarness;
  beforeAll(async () => {
    h = await startController(tempDir());
  });
  afterAll(async () => {
    await h.stop();
    removeDir(h.dir);
  });

  it('GET /controller has the stock fields', async () => {
    const r = await h.call('GET', '/controller');
    expect(r.status).toBe(200);
    expectStockShape(r.body, stock.afterSession['GET /controller'] as Record<string, unknown>);
    expect(obj(r.body).instanceId).toBe(h.controller.store.instanceId);
  });

  it('replays the stock session: same JSON, same revisions, same addresses', async () => {
    const netReq = vectorEntry(stock.requests, 0, 'controllerApi.requests');
    const memberB = vectorEntry(stock.requests, 1, 'controllerApi.requests');
    const net = await h.call(netReq.method, netReq.path, netReq.body);
    expect(net.status).toBe(200);
    expectStockShape(net.body, netReq.response);

    const b = await h.call(memberB.method, memberB.path, memberB.body);
    expect(b.status).toBe(200);
    expectStockShape(b.body, memberB.response);
    expect(obj(b.body)).not.toHaveProperty('identity');

    // A asks before it is authorized: refused, but recorded (revision 1) with its identity.
    const nwid = BigInt(`0x${NWID}`);
    const ask = (who: { address: string; identityPublic: string }) =>
      h.controller.backend.request({
        nwid,
        address: BigInt(`0x${who.address}`),
        identity: who.identityPublic,
        metadata: STOCK_METADATA,
        fromAddress: '10.99.0.3/9993',
      });
    expect(ask(A)).toEqual({ ok: false, error: 'ACCESS_DENIED' });
    expect((await h.call('GET', `/controller/network/${NWID}/member`)).body).toEqual({ [A.address]: 1, [B.address]: 1 });

    const memberA = vectorEntry(stock.requests, 5, 'controllerApi.requests');
    const a = await h.call(memberA.method, memberA.path, memberA.body);
    expectStockShape(a.body, memberA.response);

    const ra = ask(A);
    const rb = ask(B);
    if (!ra.ok || !rb.ok) throw new Error('authorized members refused');
    expect(ra.config.staticIps).toEqual(['10.147.17.105/24']);
    expect(rb.config.staticIps).toEqual(['10.147.17.93/24']);
    expect(ra.config.name).toBe('zt-vectors');
    expect(ra.config.mtu).toBe(2800);
    expect(ra.config.routes).toEqual([{ target: '10.147.17.0/24', via: null, flags: 0, metric: 0 }]);
    expect(ra.config.rules).toEqual([{ type: 'ACTION_ACCEPT' }]);
    expect(ra.config.credentialTimeMaxDelta).toBe(0x1b7740);

    const after = stock.afterSession;
    expect((await h.call('GET', `/controller/network/${NWID}/member`)).body).toEqual(after[`GET /controller/network/${NWID}/member`]);
    for (const who of [A, B]) {
      const m = await h.call('GET', `/controller/network/${NWID}/member/${who.address}`);
      expectStockShape(m.body, after[`GET /controller/network/${NWID}/member/${who.address}`] as Record<string, unknown>);
      expect(obj(m.body).memberRevision).toBe(obj(m.body).revision);
    }
    // A asked twice (denied, then granted), B once; newest first.
    const logA = obj((await h.call('GET', `/controller/network/${NWID}/member/${A.address}`)).body).recentLog as { authorized: boolean }[];
    expect(logA.map((e) => e.authorized)).toEqual([true, false]);
    expect(obj((await h.call('GET', `/controller/network/${NWID}/member/${B.address}`)).body).recentLog).toHaveLength(1);
    const n = await h.call('GET', `/controller/network/${NWID}`);
    expectStockShape(n.body, after[`GET /controller/network/${NWID}`] as Record<string, unknown>);
    expect(obj(n.body)).toMatchObject({ authorizedMemberCount: 2, totalMemberCount: 2, activeMemberCount: 2 });

    // A repeated request changes nothing stored, so no revision moves (as stock).
    ask(A);
    expect((await h.call('GET', `/controller/network/${NWID}/member`)).body).toEqual(after[`GET /controller/network/${NWID}/member`]);

    const active = obj((await h.call('GET', `/controller/network/${NWID}/active`)).body);
    expect(Object.keys(active).sort()).toEqual([A.address, B.address].sort());
    expect(obj(active[A.address]).physicalAddr).toBe('10.99.0.3/9993');
  });

  it('GET /controller/network lists ids', async () => {
    const r = await h.call('GET', '/controller/network');
    expect(r.body).toContain(NWID);
  });

  it('accepts the 2016 input shape', async () => {
    const r = await h.call('POST', `/controller/network/${NODE_ADDRESS}000002`, {
      name: 'legacy',
      private: false,
      v4AssignMode: 'zt',
      v6AssignMode: 'rfc4193,6plane',
      ipLocalRoutes: ['10.20.0.0/16'],
      ipAssignmentPools: [{ ipRangeStart: '10.20.0.1', ipRangeEnd: '10.20.0.254' }],
      allowPassiveBridging: true,
      relays: [{ address: '5f5c2b984a', phyAddress: '10.99.0.1/9993' }],
      rules: [
        { ruleNo: 20, etherType: 0x0806, action: 'accept' },
        { ruleNo: 10, etherType: 0x0800, action: 'accept' },
        { ruleNo: 30, action: 'drop' },
      ],
    });
    expect(r.status).toBe(200);
    expect(obj(r.body)).toMatchObject({
      v4AssignMode: { zt: true },
      v6AssignMode: { rfc4193: true, '6plane': true, zt: false },
      routes: [{ target: '10.20.0.0/16', via: null }],
      allowPassiveBridging: true,
      relays: [{ address: '5f5c2b984a', phyAddress: '10.99.0.1/9993' }],
      rules: [
        { type: 'MATCH_ETHERTYPE', etherType: 0x0800, not: false, or: false },
        { type: 'ACTION_ACCEPT' },
        { type: 'MATCH_ETHERTYPE', etherType: 0x0806, not: false, or: false },
        { type: 'ACTION_ACCEPT' },
        { type: 'ACTION_DROP' },
      ],
    });
  });

  it('public networks authorize on request; rfc4193 and 6plane are computed from nwid and address', async () => {
    const nwid = BigInt(`0x${NODE_ADDRESS}000002`);
    const res = h.controller.backend.request({
      nwid,
      address: BigInt(`0x${A.address}`),
      identity: A.identityPublic,
      metadata: STOCK_METADATA,
    });
    if (!res.ok) throw new Error(res.error);
    // fd + 3ce329f872000002 + 9993 + 1a0bee8b7f; fc + (3ce329f8 ^ 72000002) + 1a0bee8b7f + ::1
    expect(res.config.staticIps.slice(0, 2)).toEqual(['fd3c:e329:f872:0:299:931a:bee:8b7f/88', 'fc4e:e329:fa1a:bee:8b7f::1/40']);
    expect(res.config.ndpEmulation).toBe(true);
    expect(res.config.private).toBe(false);
    const m = obj((await h.call('GET', `/controller/network/${NODE_ADDRESS}000002/member/${A.address}`)).body);
    expect(m).toMatchObject({ authorized: true, lastAuthorizedCredentialType: 'public' });
  });

  it('old nodes without the rules engine get one ACCEPT rule', () => {
    const res = h.controller.backend.request({
      nwid: BigInt(`0x${NODE_ADDRESS}000002`),
      address: BigInt(`0x${B.address}`),
      identity: B.identityPublic,
      metadata: { majorVersion: 1, minorVersion: 1 },
    });
    if (!res.ok) throw new Error(res.error);
    expect(res.config.rules).toEqual([{ type: 'ACTION_ACCEPT' }]);
  });

  it('refuses a request whose identity differs from the stored one', () => {
    const res = h.controller.backend.request({
      nwid: BigInt(`0x${NWID}`),
      address: BigInt(`0x${A.address}`),
      identity: `${A.address}:0:${'00'.repeat(64)}`,
      metadata: STOCK_METADATA,
    });
    expect(res).toEqual({ ok: false, error: 'ACCESS_DENIED' });
  });

  it('answers NOT_FOUND for networks it does not have or does not control', () => {
    const ident = { address: BigInt(`0x${A.address}`), identity: A.identityPublic, metadata: STOCK_METADATA };
    expect(h.controller.backend.request({ nwid: BigInt(`0x${NODE_ADDRESS}00abcd`), ...ident })).toEqual({ ok: false, error: 'NOT_FOUND' });
    expect(h.controller.backend.request({ nwid: 0x8056c2e21c000001n, ...ident })).toEqual({ ok: false, error: 'NOT_FOUND' });
  });

  it('allocates random ids under this controller (both create paths)', async () => {
    const ids = new Set<string>();
    for (const path of [
      `/controller/network/${NODE_ADDRESS}______`,
      '/controller/network',
      `/controller/network/${NODE_ADDRESS.toUpperCase()}______`,
    ]) {
      const r = await h.call('POST', path, { name: 'random' });
      expect(r.status).toBe(200);
      const id = obj(r.body).id as string;
      expect(id).toMatch(new RegExp(`^${NODE_ADDRESS}[0-9a-f]{6}$`));
      expect(id.endsWith('000000')).toBe(false);
      expect(obj(r.body)).toMatchObject({ name: 'random', revision: 1, rules: [{ type: 'ACTION_ACCEPT' }], private: true });
      ids.add(id);
    }
    expect(ids.size).toBe(3);
    const listed = (await h.call('GET', '/controller/network')).body as string[];
    for (const id of ids) expect(listed).toContain(id);
  });

  it('rejects creation outside this controller and malformed ids', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/controller/network/aaaaaaaaaa______', 'nwid'],
      ['POST', '/controller/network/aaaaaaaaaa000001', 'nwid'],
      ['GET', '/controller/network/xyz', 'nwid'],
      ['GET', `/controller/network/${NWID}/member/zz`, 'address'],
      ['POST', `/controller/network/${NWID}/member/ff00000000`, 'address'],
      ['GET', `/controller/network/${NWID}0/member`, 'nwid'],
    ];
    for (const [method, path, field] of cases) {
      const r = await h.call(method, path, method === 'POST' ? {} : undefined);
      expect(r.status, path).toBe(400);
      expect(obj(r.body).field, path).toBe(field);
    }
  });

  it('names the field of every validation error and writes nothing', async () => {
    const path = `/controller/network/${NWID}`;
    const before = obj((await h.call('GET', path)).body);
    const cases: [unknown, string][] = [
      [{ name: 5 }, 'name'],
      [{ private: 'maybe' }, 'private'],
      [{ enableBroadcast: {} }, 'enableBroadcast'],
      [{ multicastLimit: -1 }, 'multicastLimit'],
      [{ multicastLimit: 1.5 }, 'multicastLimit'],
      [{ mtu: 100 }, 'mtu'],
      [{ mtu: 20000 }, 'mtu'],
      [{ v4AssignMode: 7 }, 'v4AssignMode'],
      [{ v4AssignMode: { zt: 'yes' } }, 'v4AssignMode.zt'],
      [{ v6AssignMode: { rfc4193: 3 } }, 'v6AssignMode.rfc4193'],
      [{ routes: {} }, 'routes'],
      [{ routes: [{ target: '10.1.2.0/33' }] }, 'routes[0].target'],
      [{ routes: [{ target: 'not-an-ip/8' }] }, 'routes[0].target'],
      [{ ipAssignmentPools: [{ ipRangeStart: '10.147.17.1', ipRangeEnd: 'x' }] }, 'ipAssignmentPools[0].ipRangeEnd'],
      [{ ipAssignmentPools: [{ ipRangeStart: '10.147.17.9', ipRangeEnd: '10.147.17.1' }] }, 'ipAssignmentPools[0]'],
      [{ ipAssignmentPools: [{ ipRangeStart: '10.147.17.1', ipRangeEnd: 'fd00::1' }] }, 'ipAssignmentPools[0]'],
      [{ rules: [{ type: 'MATCH_ETHERTYPE', etherType: 70000 }] }, 'rules[0].etherType'],
      [{ rules: [{ type: 'MATCH_IPV4_SOURCE', ip: 'fd00::/8' }] }, 'rules[0].ip'],
      [{ rules: [{ type: 'MATCH_MAC_DEST', mac: 'zz' }] }, 'rules[0].mac'],
      [{ rules: [{ type: 'MATCH_ETHERTYPE' }] }, 'rules[0].etherType'],
      [{ rules: [{ type: 'ACTION_TEE', address: '3ce329f872', flags: 0, length: 'all' }] }, 'rules[0].length'],
      [{ capabilities: [{ id: 1, rules: [{ type: 'MATCH_ETHERTYPE', etherType: -1 }] }] }, 'capabilities[0].rules[0].etherType'],
      [{ rules: [{ ruleNo: 1, action: 'explode' }] }, 'rules[0].action'],
      [{ rules: 'accept' }, 'rules'],
      [{ capabilities: [{ id: 'a' }] }, 'capabilities[0].id'],
      [{ tags: [{ id: 1, default: 'x' }] }, 'tags[0].default'],
      [{ dns: { domain: 'a', servers: ['nope'] } }, 'dns.servers[0]'],
      [{ dns: 'a' }, 'dns'],
      [{ remoteTraceTarget: 'xyz' }, 'remoteTraceTarget'],
      [{ relays: [{ address: 'nothex' }] }, 'relays[0].address'],
    ];
    for (const [body, field] of cases) {
      const r = await h.call('POST', path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(obj(r.body).field, JSON.stringify(body)).toBe(field);
      expect(typeof obj(r.body).error).toBe('string');
    }
    const after = obj((await h.call('GET', path)).body);
    expect(after.revision).toBe(before.revision);
    expect({ ...after, clock: 0 }).toEqual({ ...before, clock: 0 });
  });

  it('names the field of member validation errors', async () => {
    const path = `/controller/network/${NWID}/member/${B.address}`;
    const cases: [unknown, string][] = [
      [{ authorized: 'yes' }, 'authorized'],
      [{ activeBridge: 2 }, 'activeBridge'],
      [{ ipAssignments: '10.0.0.1' }, 'ipAssignments'],
      [{ ipAssignments: ['10.0.0.300'] }, 'ipAssignments[0]'],
      [{ ipAssignments: ['10.147.17.105'] }, 'ipAssignments'],
      [{ tags: [[1]] }, 'tags[0]'],
      [{ capabilities: [-1] }, 'capabilities[0]'],
      [{ noAutoAssignIps: 'no' }, 'noAutoAssignIps'],
    ];
    const before = obj((await h.call('GET', path)).body);
    for (const [body, field] of cases) {
      const r = await h.call('POST', path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(obj(r.body).field, JSON.stringify(body)).toBe(field);
    }
    const after = obj((await h.call('GET', path)).body);
    expect(after.revision).toBe(before.revision);
    // 10.147.17.105 belongs to A, so B cannot take it: the message says whose it is.
    const clash = await h.call('POST', path, { ipAssignments: ['10.147.17.105'] });
    expect(obj(clash.body).error).toContain(A.address);
  });

  it('ignores unknown and read-only fields as stock does', async () => {
    const path = `/controller/network/${NWID}`;
    const before = obj((await h.call('GET', path)).body);
    const r = await h.call('POST', path, { revision: 99, creationTime: 1, id: 'ffffffffffffffff', favouriteColour: 'blue' });
    expect(r.status).toBe(200);
    expect(obj(r.body)).toMatchObject({ revision: before.revision, creationTime: before.creationTime, id: NWID });
    expect(obj(r.body)).not.toHaveProperty('favouriteColour');
  });

  it('advances revision counters as stock does', async () => {
    const c = await h.call('POST', `/controller/network/${NODE_ADDRESS}000010`, { name: 'rev' });
    expect(obj(c.body)).toMatchObject({ revision: 1, memberRevisionCounter: 0 });
    const path = `/controller/network/${NODE_ADDRESS}000010`;
    expect(obj((await h.call('POST', path, { name: 'rev2' })).body).revision).toBe(2);
    expect(obj((await h.call('POST', path, { name: 'rev2' })).body).revision).toBe(2); // no change, no bump
    expect(obj((await h.call('POST', path, { mtu: 1400 })).body).revision).toBe(3);
    const m1 = await h.call('POST', `${path}/member/1111111111`, {});
    expect(obj(m1.body)).toMatchObject({ revision: 1, memberRevision: 1, authorized: false, lastAuthorizedTime: 0 });
    const m2 = await h.call('POST', `${path}/member/1111111111`, { authorized: true });
    expect(obj(m2.body)).toMatchObject({ revision: 2, authorized: true, lastAuthorizedCredentialType: 'api' });
    const m3 = await h.call('POST', `${path}/member/1111111111`, { authorized: false });
    expect(obj(m3.body).revision).toBe(3);
    expect(obj(m3.body).lastDeauthorizedTime).toBeGreaterThan(0);
    await h.call('POST', `${path}/member/2222222222`, { authorized: true });
    const n = obj((await h.call('GET', path)).body);
    expect(n).toMatchObject({ revision: 3, memberRevisionCounter: 4, authorizedMemberCount: 1, totalMemberCount: 2 });
  });

  it('DELETE of a member and of a network is final', async () => {
    const path = `/controller/network/${NODE_ADDRESS}000010`;
    const dm = await h.call('DELETE', `${path}/member/2222222222`);
    expect(dm.status).toBe(200);
    expect(obj(dm.body).address).toBe('2222222222');
    expect((await h.call('GET', `${path}/member/2222222222`)).status).toBe(404);
    expect((await h.call('DELETE', `${path}/member/2222222222`)).status).toBe(404);
    const dn = await h.call('DELETE', path);
    expect(dn.status).toBe(200);
    expect(obj(dn.body).id).toBe(`${NODE_ADDRESS}000010`);
    for (const p of [path, `${path}/member`, `${path}/member/1111111111`, `${path}/active`])
      expect((await h.call('GET', p)).status, p).toBe(404);
    expect((await h.call('DELETE', path)).status).toBe(404);
    expect((await h.call('POST', `${path}/member/1111111111`, { authorized: true })).status).toBe(404);
    expect((await h.call('GET', '/controller/network')).body).not.toContain(`${NODE_ADDRESS}000010`);
  });

  it('tells listeners about changes that affect members', async () => {
    const seen: string[] = [];
    const off = h.controller.backend.onChange((c) =>
      seen.push(`${c.nwid.toString(16)}:${c.members?.map((m) => m.toString(16)).join(',') ?? '*'}:${c.deleted ? 'deleted' : ''}`),
    );
    await h.call('POST', `/controller/network/${NWID}`, { multicastLimit: 16 });
    await h.call('POST', `/controller/network/${NWID}/member/${B.address}`, { authorized: false });
    await h.call('POST', `/controller/network/${NODE_ADDRESS}000011`, {});
    await h.call('DELETE', `/controller/network/${NODE_ADDRESS}000011`);
    off();
    expect(seen).toEqual([`${NWID}:*:`, `${NWID}:${B.address}:`, `${NODE_ADDRESS}000011:*:`, `${NODE_ADDRESS}000011:*:deleted`]);
    // B is now deauthorized: cut off.
    const r = h.controller.backend.request({
      nwid: BigInt(`0x${NWID}`),
      address: BigInt(`0x${B.address}`),
      identity: B.identityPublic,
      metadata: STOCK_METADATA,
    });
    expect(r).toEqual({ ok: false, error: 'ACCESS_DENIED' });
  });

  it('applies 200 parallel POSTs exactly once', async () => {
    const path = `/controller/network/${NODE_ADDRESS}000020`;
    await h.call('POST', path, { name: 'parallel' });
    const addrs = Array.from({ length: 200 }, (_, i) => (0x2000000000 + i).toString(16));
    const answers = await Promise.all(addrs.map((a, i) => h.call('POST', `${path}/member/${a}`, { authorized: true, name: `m${i}` })));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const list = obj((await h.call('GET', `${path}/member`)).body);
    expect(Object.keys(list)).toHaveLength(200);
    expect(Object.values(list).every((rev) => rev === 1)).toBe(true);
    expect(obj((await h.call('GET', path)).body)).toMatchObject({ memberRevisionCounter: 200, authorizedMemberCount: 200 });
    const created = await Promise.all(Array.from({ length: 200 }, () => h.call('POST', '/controller/network', {})));
    const ids = new Set(created.map((r) => obj(r.body).id as string));
    expect(ids.size).toBe(200);
  });
});
