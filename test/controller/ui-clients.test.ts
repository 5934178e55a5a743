/**
 * The controller UIs people run against stock ZeroTier — ztncui, ZTNET and zero-ui — replayed
 * against real ztnc daemons (a private root running the controller, and a member of its network):
 * each request their API clients make (ztncui `src/controllers/zt.js` and `networkController.js`,
 * ZTNET `src/utils/ztApi.ts`, `memberService.ts`, `memberUtils.ts`, `metricService.ts`, zero-ui
 * `backend/routes/*.js`, `backend/services/*.js`), in their order and with their bodies, and every
 * answer read the way their code reads it. ztncui is not published on npm (it ships as a package
 * built from its repository), so its requests are replayed here rather than the app run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignedIp,
  authorizeMember,
  killAll,
  type Service,
  startRoot,
  startService,
  tempDir,
  waitFor,
} from '../service/service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;

type Json = Record<string, unknown>;

interface Answer<T> {
  status: number;
  data: T;
}

/** A JSON client as got({json: true}) and axios are: a non-2xx answer throws, the body comes parsed. */
function client(s: Service, token = s.token) {
  return async <T = Json>(method: string, path: string, body?: unknown): Promise<Answer<T>> => {
    const res = await fetch(`http://127.0.0.1:${s.apiPort}/${path.replace(/^\//, '')}`, {
      method,
      headers: { 'X-ZT1-Auth': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299)
      throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), { status: res.status });
    return { status: res.status, data: (text.length > 0 ? JSON.parse(text) : undefined) as T };
  };
}

/** The member list as ztncui and ZTNET read it: stock 1.12.1 answered an array of one-key objects, they fold it. */
function memberIds(list: unknown): string[] {
  if (Array.isArray(list)) return list.map((o) => Object.keys(o as Json)[0]!);
  expect(typeof list).toBe('object');
  return Object.keys(list as Json);
}

interface Path {
  active: boolean;
  address: string;
  expired: boolean;
  lastReceive: number;
  preferred: boolean;
}
interface Peer {
  address: string;
  latency: number;
  paths: Path[];
  version: string;
  versionMajor: number;
}

const tmp = tempDir('ztnc-ui-clients-');
let root: Service;
let member: Service;
let rootAddress: string;
let memberAddress: string;
/** A network made the way the harness makes them, with the member on it. */
let joinedNwid: string;

beforeAll(async () => {
  root = await startRoot(join(tmp, 'root'));
  rootAddress = await root.address();
  const created = await root.post<{ id: string }>('/controller/network', {
    name: 'joined',
    private: true,
    v4AssignMode: { zt: true },
    ipAssignmentPools: [{ ipRangeStart: '10.98.0.10', ipRangeEnd: '10.98.0.250' }],
    routes: [{ target: '10.98.0.0/24', via: null }],
  });
  joinedNwid = created.id;
  member = await startService(join(tmp, 'member'), ['--planet', join(root.home, 'planet')]);
  memberAddress = await member.address();
  await member.post(`/network/${joinedNwid}`);
  await authorizeMember(root, joinedNwid, member);
  await assignedIp(member, joinedNwid, NETWORK_TIMEOUT_MS);
  // the root has a live direct path to the member, as UIs show it
  await waitFor(
    async () => {
      const p = (await root.get<Peer>(`/peer/${memberAddress}`)) as Peer;
      return p.latency >= 0 && p.paths.some((x) => x.active && x.preferred);
    },
    30_000,
    'a live path from the root to the member',
  );
}, 240_000);

afterAll(async () => {
  await killAll();
}, 60_000);

describe('ztncui (replayed: src/controllers/zt.js)', () => {
  it('shows the controller home, creates a network, lists and configures it with easy setup', async () => {
    const zt = client(root);
    // controller_home: get_zt_status
    const status = (await zt('GET', '/status')).data;
    expect(status.address).toBe(rootAddress);
    expect(typeof status.version).toBe('string');
    // network_create: POST <address>______ with {name}; redirects to /controller/network/<nwid>
    const created = (await zt('POST', `/controller/network/${rootAddress}______`, { name: 'ztncui-net' })).data;
    const nwid = created.nwid as string;
    expect(nwid).toMatch(new RegExp(`^${rootAddress}[0-9a-f]{6}$`));
    expect(created.id).toBe(nwid);
    // network_list: ids, then ({name, nwid}) of each
    const ids = (await zt<string[]>('GET', '/controller/network')).data;
    expect(Array.isArray(ids)).toBe(true);
    const networks = await Promise.all(
      ids.map(async (id) => (({ name, nwid: n }: Json) => ({ name, nwid: n }))((await zt('GET', `/controller/network/${id}`)).data)),
    );
    expect(networks).toContainEqual({ name: 'ztncui-net', nwid });
    // network_easy_setup
    const easy = (
      await zt('POST', `/controller/network/${nwid}`, {
        ipAssignmentPools: [{ ipRangeStart: '10.99.1.1', ipRangeEnd: '10.99.1.254' }],
        routes: [{ target: '10.99.1.0/24', via: null }],
        v4AssignMode: { zt: true },
      })
    ).data;
    expect(easy.nwid).toBe(nwid);
    expect(easy.v4AssignMode).toEqual({ zt: true });
    // ipAssignmentPools add: read, push, post back
    const detail = (await zt('GET', `/controller/network/${nwid}`)).data;
    const pools = detail.ipAssignmentPools as Json[];
    pools.push({ ipRangeStart: '10.99.2.1', ipRangeEnd: '10.99.2.254' });
    const withPools = (await zt('POST', `/controller/network/${nwid}`, { ipAssignmentPools: pools })).data;
    expect(withPools.ipAssignmentPools).toHaveLength(2);
    // routes add: canonical targets compared, the new route pushed (via null when the form is empty)
    const routes = (await zt('GET', `/controller/network/${nwid}`)).data.routes as { target: string; via: string | null }[];
    expect(routes.find((r) => r.target === '10.99.2.0/24')).toBeUndefined();
    routes.push({ target: '10.99.2.0/24', via: null });
    const withRoutes = (await zt('POST', `/controller/network/${nwid}`, { routes })).data;
    expect((withRoutes.routes as Json[]).map((r) => r.target)).toEqual(['10.99.1.0/24', '10.99.2.0/24']);
    // routes delete
    const fewer = (withRoutes.routes as Json[]).filter((r) => r.target !== '10.99.2.0/24');
    expect(((await zt('POST', `/controller/network/${nwid}`, { routes: fewer })).data.routes as Json[]).length).toBe(1);
    // private, v4AssignMode, v6AssignMode, dns, name: network_object posts
    expect((await zt('POST', `/controller/network/${nwid}`, { private: false })).data.private).toBe(false);
    expect((await zt('POST', `/controller/network/${nwid}`, { v4AssignMode: { zt: false } })).data.v4AssignMode).toEqual({ zt: false });
    const v6 = (await zt('POST', `/controller/network/${nwid}`, { v6AssignMode: { '6plane': true, rfc4193: false, zt: false } })).data;
    expect(v6.v6AssignMode).toEqual({ '6plane': true, rfc4193: false, zt: false });
    // dns.pug: a fresh network has none (stock answers `[]` until set), read as `network.dns || {}`
    const fresh = ((await zt('GET', `/controller/network/${nwid}`)).data.dns ?? {}) as { domain?: string; servers?: string[] };
    expect(!fresh.domain && !(fresh.servers && fresh.servers.length > 0)).toBe(true);
    // its form: servers from a textarea, split and filtered; an empty form clears it
    expect((await zt('POST', `/controller/network/${nwid}`, { dns: { domain: '', servers: [] } })).status).toBe(200);
    const dns = (await zt('POST', `/controller/network/${nwid}`, { dns: { domain: 'ztncui.example', servers: ['10.99.1.1'] } })).data;
    expect(dns.dns).toEqual({ domain: 'ztncui.example', servers: ['10.99.1.1'] });
    expect((await zt('POST', `/controller/network/${nwid}`, { name: 'renamed' })).data.name).toBe('renamed');
    // the detail page prints every key of the network
    const page = (await zt('GET', `/controller/network/${nwid}`)).data;
    for (const k of [
      'nwid',
      'name',
      'private',
      'v4AssignMode',
      'v6AssignMode',
      'routes',
      'ipAssignmentPools',
      'dns',
      'mtu',
      'rules',
      'multicastLimit',
      'enableBroadcast',
    ])
      expect(page, k).toHaveProperty(k);
    // network_delete: the body is an object the app marks deleted
    const deleted = (await zt('DELETE', `/controller/network/${nwid}`)).data;
    expect(deleted.nwid).toBe(nwid);
  });

  it("shows a network's members with their peers' state and path, and changes them", async () => {
    const zt = client(root);
    // get_network_with_members: network, peers, member list (folded), each member's detail
    const [network, peers, list] = await Promise.all([
      zt('GET', `/controller/network/${joinedNwid}`),
      zt<Peer[]>('GET', '/peer'),
      zt('GET', `/controller/network/${joinedNwid}/member`),
    ]);
    expect(network.data.nwid).toBe(joinedNwid);
    const ids = memberIds(list.data);
    expect(ids).toEqual([memberAddress]);
    const m = (await zt('GET', `/controller/network/${joinedNwid}/member/${ids[0]}`)).data;
    expect(m.id).toBe(memberAddress);
    expect(m.address).toBe(memberAddress);
    expect(m.authorized).toBe(true);
    expect(m.ipAssignments).toEqual([expect.stringMatching(/^10\.98\.0\./)]);
    const peer = peers.data.find((x) => x.address === m.address);
    // network_detail.pug: ONLINE (v<version>) when latency and versionMajor are known
    expect(peer).toBeDefined();
    expect(peer!.latency).not.toBe(-1);
    expect(peer!.versionMajor).not.toBe(-1);
    expect(peer!.version).toMatch(/^\d+\.\d+\.\d+$/);
    // the preferred path's address split into ip and port
    const preferred = peer!.paths.find((p) => p.preferred === true);
    expect(preferred).toBeDefined();
    const [ip, port] = preferred!.address.split('/');
    expect(ip).toBe('127.0.0.1');
    expect(Number(port)).toBeGreaterThan(0);
    // get_network_member: peer(id) answers 404 for no such peer, which the app takes as null
    await expect(zt('GET', '/peer/0000000001')).rejects.toMatchObject({ status: 404 });
    // member_object: activeBridge, authorized; ipAssignmentAdd and ipAssignmentDelete
    expect((await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { activeBridge: true })).data.activeBridge).toBe(
      true,
    );
    expect((await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { activeBridge: false })).data.activeBridge).toBe(
      false,
    );
    const ips = (await zt('GET', `/controller/network/${joinedNwid}/member/${memberAddress}`)).data.ipAssignments as string[];
    ips.push('10.98.0.5');
    expect(
      (await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { ipAssignments: ips })).data.ipAssignments,
    ).toContain('10.98.0.5');
    ips.splice(ips.indexOf('10.98.0.5'), 1);
    expect(
      (await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { ipAssignments: ips })).data.ipAssignments,
    ).not.toContain('10.98.0.5');
  });
});

describe('ZTNET (replayed: src/utils/ztApi.ts and the services reading it)', () => {
  it('checks the controller, creates a network with its generated pool, and edits it', async () => {
    const zt = client(root);
    // get_controller_version: GET /controller
    const controller = (await zt('GET', '/controller')).data;
    expect(controller.controller).toBe(true);
    expect(typeof controller.apiVersion).toBe('number');
    expect(typeof controller.clock).toBe('number');
    // get_controller_status: the fields its ZTControllerNodeStatus type reads
    const status = (await zt('GET', '/status')).data;
    for (const k of ['address', 'clock', 'online', 'publicIdentity', 'version', 'versionMajor', 'versionMinor', 'versionRev'])
      expect(status, k).toHaveProperty(k);
    expect((status.config as { settings: Json }).settings).toHaveProperty('primaryPort');
    // network_create: {name, private: true, ...IPv4gen()} (IPv4gen adds cidrOptions, which the controller ignores)
    const created = (
      await zt('POST', `/controller/network/${status.address as string}______`, {
        name: 'ztnet-net',
        private: true,
        ipAssignmentPools: [{ ipRangeStart: '10.121.15.1', ipRangeEnd: '10.121.15.254' }],
        routes: [{ target: '10.121.15.0/24', via: null }],
        v4AssignMode: { zt: true },
        cidrOptions: ['10.121.15.0/24', '10.121.16.0/24'],
      })
    ).data;
    expect(created.name).toBe('ztnet-net');
    expect(created.nwid).toBe(created.id);
    expect(created.routes).toEqual([{ target: '10.121.15.0/24', via: null }]);
    expect(created.v6AssignMode).toMatchObject({ '6plane': false, rfc4193: false, zt: false });
    expect(created).not.toHaveProperty('cidrOptions');
    const nwid = created.nwid as string;
    // network_update payloads of the network page
    const upd = (p: Json) => zt('POST', `/controller/network/${nwid}`, p).then((r) => r.data);
    expect((await upd({ mtu: 1400 })).mtu).toBe(1400);
    expect((await upd({ dns: { domain: 'ztnet.example', servers: ['10.121.15.1'] } })).dns).toEqual({
      domain: 'ztnet.example',
      servers: ['10.121.15.1'],
    });
    expect((await upd({ v6AssignMode: { rfc4193: true } })).v6AssignMode).toMatchObject({ rfc4193: true });
    expect((await upd({ multicastLimit: 64, enableBroadcast: false })).multicastLimit).toBe(64);
    expect((await upd({ private: false })).private).toBe(false);
    // local_network_and_membercount: no members yet
    expect(memberIds((await zt('GET', `/controller/network/${nwid}/member`)).data)).toEqual([]);
    // network_delete
    expect((await zt('DELETE', `/controller/network/${nwid}`)).status).toBe(200);
    await expect(zt('GET', `/controller/network/${nwid}`)).rejects.toMatchObject({ status: 404 });
  });

  it('reads members merged with their peers: active preferred path, connection status, controller names', async () => {
    const zt = client(root);
    const list = (await zt('GET', `/controller/network/${joinedNwid}/member`)).data;
    const [id] = memberIds(list);
    const ztMember = (await zt('GET', `/controller/network/${joinedNwid}/member/${id}`)).data;
    for (const k of [
      'id',
      'address',
      'nwid',
      'authorized',
      'activeBridge',
      'identity',
      'ipAssignments',
      'revision',
      'vMajor',
      'vMinor',
      'vRev',
      'vProto',
      'noAutoAssignIps',
      'creationTime',
      'tags',
      'capabilities',
    ])
      expect(ztMember, k).toHaveProperty(k);
    expect(ztMember.vMajor).toBeGreaterThanOrEqual(1);
    expect(ztMember.nwid).toBe(joinedNwid);
    // memberService: controllerPeers.filter(peer.address === ztMember.address)[0]; paths.find(active && preferred)
    const peers = (await zt<Peer[]>('GET', '/peer')).data;
    const peer = peers.filter((p) => p.address === ztMember.address)[0]!;
    const activePreferred = peer.paths.find((p) => p?.active && p?.preferred);
    expect(activePreferred?.address).toMatch(/^127\.0\.0\.1\/\d+$/);
    // memberUtils.determineConnectionStatus: not relayed (latency and versionMajor known), a private path → DirectLAN
    expect(peer.latency === -1 || peer.versionMajor === -1).toBe(false);
    // peer(ctx, id) for one member
    expect((await zt<Peer>('GET', `/peer/${memberAddress}`)).data.address).toBe(memberAddress);
    // a name set on the controller is what ZTNET shows when it has none of its own
    // memberRouter.Update posts what the form holds: a description (ZTNET's own) goes along and is ignored
    expect(
      (await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { name: 'alpha', description: 'a note' })).data.name,
    ).toBe('alpha');
    // memberRouter.Tags and capabilities
    expect((await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { tags: [[1000, 1]] })).data.tags).toEqual([
      [1000, 1],
    ]);
    expect((await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { tags: [] })).data.tags).toEqual([]);
    expect((await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { capabilities: [] })).data.capabilities).toEqual(
      [],
    );
    expect((await zt('GET', `/controller/network/${joinedNwid}/member/${memberAddress}`)).data.name).toBe('alpha');
    expect(
      (await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { noAutoAssignIps: true })).data.noAutoAssignIps,
    ).toBe(true);
    expect(
      (await zt('POST', `/controller/network/${joinedNwid}/member/${memberAddress}`, { noAutoAssignIps: false })).data.noAutoAssignIps,
    ).toBe(false);
  });

  it('reads /metrics as metricService does: packets, latency sum and count, path counts per member', async () => {
    const res = await fetch(`http://127.0.0.1:${root.apiPort}/metrics`, { headers: { 'X-ZT1-Auth': root.token } });
    expect(res.status).toBe(200);
    const raw = await waitFor(
      async () => {
        const t = await (await fetch(`http://127.0.0.1:${root.apiPort}/metrics`, { headers: { 'X-ZT1-Auth': root.token } })).text();
        return t.includes(`zt_peer_latency_count{node_id="${memberAddress}"}`) ? t : null;
      },
      30_000,
      'a latency observation of the member',
    );
    // metricService.getNetworkMetrics, line for line
    const metrics = {
      packetCounts: {} as Record<string, Record<string, number>>,
      latency: {} as Record<string, Record<string, number | bigint>>,
      pathCounts: {} as Record<string, Record<string, number>>,
    };
    for (const line of raw.split('\n')) {
      const nodeIdMatch = line.match(/node_id="(\w+)"/);
      if (!nodeIdMatch) continue;
      const nodeId = nodeIdMatch[1]!;
      if (nodeId !== memberAddress) continue;
      if (line.startsWith('zt_peer_packets')) {
        const match = line.match(/direction="(\w+)".+\s(\d+)$/);
        if (match) (metrics.packetCounts[nodeId] ??= {})[match[1]!] = parseInt(match[2]!);
      } else if (line.startsWith('zt_peer_latency_sum')) {
        const match = line.match(/\s(\d+)$/);
        if (match) (metrics.latency[nodeId] ??= {}).sum = BigInt(match[1]!);
      } else if (line.startsWith('zt_peer_latency_count')) {
        const match = line.match(/\s(\d+)$/);
        if (match) (metrics.latency[nodeId] ??= {}).count = parseInt(match[1]!);
      } else if (line.startsWith('zt_peer_path_count')) {
        const match = line.match(/status="(\w+)".+\s(\d+)$/);
        if (match) (metrics.pathCounts[nodeId] ??= {})[match[1]!] = parseInt(match[2]!);
      }
    }
    expect(metrics.packetCounts[memberAddress]?.rx).toBeGreaterThan(0);
    expect(metrics.packetCounts[memberAddress]?.tx).toBeGreaterThan(0);
    expect(metrics.latency[memberAddress]?.sum).toBeTypeOf('bigint');
    expect(metrics.latency[memberAddress]?.count).toBeGreaterThan(0);
    expect(metrics.pathCounts[memberAddress]?.alive).toBeGreaterThanOrEqual(1);
    expect(metrics.pathCounts[memberAddress]?.dead).toBeGreaterThanOrEqual(0);
  });
});

describe('zero-ui (replayed: backend/routes and backend/services)', () => {
  it('creates a network from generateNetworkConfig with the default rules, lists and edits it', async () => {
    const api = client(root);
    const ztAddress = (await api('GET', 'status')).data.address as string;
    // POST /api/network: config + defaultRules
    const reqData = {
      name: 'new-net-12345',
      private: true,
      v6AssignMode: { rfc4193: false, '6plane': false, zt: false },
      v4AssignMode: { zt: true },
      routes: [{ target: '172.30.77.0/24', via: null, flags: 0, metric: 0 }],
      ipAssignmentPools: [{ ipRangeStart: '172.30.77.1', ipRangeEnd: '172.30.77.254' }],
      enableBroadcast: true,
      rules: [
        { type: 'MATCH_ETHERTYPE', not: true, or: false, etherType: 2048 },
        { type: 'MATCH_ETHERTYPE', not: true, or: false, etherType: 2054 },
        { type: 'MATCH_ETHERTYPE', not: true, or: false, etherType: 34525 },
        { type: 'ACTION_DROP' },
        { type: 'ACTION_ACCEPT' },
      ],
    };
    const created = (await api('POST', `controller/network/${ztAddress}______`, reqData)).data;
    const nwid = created.id as string;
    // getNetworksData: each network's JSON becomes `config`
    const nwids = (await api<string[]>('GET', 'controller/network')).data;
    expect(nwids).toContain(nwid);
    const config = (await api('GET', `controller/network/${nwid}`)).data;
    expect(config.id).toBe(nwid);
    expect(config.name).toBe('new-net-12345');
    expect((config.ipAssignmentPools as Json[])[0]).toEqual({ ipRangeStart: '172.30.77.1', ipRangeEnd: '172.30.77.254' });
    expect(config.rules).toEqual(reqData.rules);
    expect(config.routes).toEqual([{ target: '172.30.77.0/24', via: null }]);
    expect(config.enableBroadcast).toBe(true);
    // NetworkSettings / NetworkRules posts of `config`
    const post = (c: Json) =>
      api('POST', `controller/network/${nwid}`, c)
        .then(() => api('GET', `controller/network/${nwid}`))
        .then((r) => r.data);
    expect((await post({ name: 'edited' })).name).toBe('edited');
    expect((await post({ private: false })).private).toBe(false);
    expect((await post({ multicastLimit: 16 })).multicastLimit).toBe(16);
    expect((await post({ enableBroadcast: false })).enableBroadcast).toBe(false);
    const rules = (await post({ rules: [{ type: 'ACTION_ACCEPT' }], capabilities: [], tags: [] })).rules;
    expect(rules).toEqual([{ type: 'ACTION_ACCEPT' }]);
    await api('DELETE', `controller/network/${nwid}`);
  });

  it("lists members with their peer data, edits them, and deletes one the way it works around stock's bug", async () => {
    const api = client(root);
    const mids = Object.keys((await api('GET', `controller/network/${joinedNwid}/member`)).data);
    expect(mids).toEqual([memberAddress]);
    const data = (await api('GET', `controller/network/${joinedNwid}/member/${mids[0]}`)).data;
    expect(data.id).toBe(memberAddress);
    expect(data.nwid).toBe(joinedNwid);
    // getMemberAdditionalData: peer latency, version, the active unexpired preferred path
    const peer = (await api<Peer>('GET', `peer/${data.id as string}`)).data;
    expect(peer.latency).not.toBe(-1);
    expect(peer.version).toMatch(/^\d+\.\d+\.\d+$/);
    const path = peer.paths.filter((p) => {
      let ret = p.active && !p.expired;
      if (typeof p.preferred !== 'undefined') ret = ret && p.preferred;
      return ret;
    });
    expect(path.length).toBe(1);
    expect(path[0]!.lastReceive).toBeGreaterThan(Date.now() - 120_000);
    expect(path[0]!.address.split('/')[0]).toBe('127.0.0.1');
    // the columns it shows from `config`
    for (const k of [
      'authorized',
      'ipAssignments',
      'activeBridge',
      'noAutoAssignIps',
      'capabilities',
      'tags',
      'vMajor',
      'vMinor',
      'vRev',
      'address',
      'id',
    ])
      expect(data, k).toHaveProperty(k);
    // member posts of `config`
    const post = (c: Json) => api('POST', `controller/network/${joinedNwid}/member/${memberAddress}`, c).then((r) => r.data);
    expect((await post({ capabilities: [] })).capabilities).toEqual([]);
    expect((await post({ tags: [] })).tags).toEqual([]);
    // a member that never joined: DELETE, then at once POST the default config (stock issue 859's workaround)
    const ghost = 'abcdef0123';
    await post({});
    await api('POST', `controller/network/${joinedNwid}/member/${ghost}`, { authorized: true });
    const [del, reset] = await Promise.all([
      api('DELETE', `controller/network/${joinedNwid}/member/${ghost}`),
      api('POST', `controller/network/${joinedNwid}/member/${ghost}`, { authorized: false, ipAssignments: [], capabilities: [], tags: [] }),
    ]);
    expect(del.status).toBe(200);
    expect(reset.status).toBe(200);
    const after = (await api('GET', `controller/network/${joinedNwid}/member/${ghost}`).catch(() => null))?.data;
    if (after) expect(after.authorized).toBe(false);
  });
});

describe("stock 1.14's /unstable lists", () => {
  it('answers every network with its member counts, and every member, as {data, meta}', async () => {
    const zt = client(root);
    const nets = (await zt<{ data: Json[]; meta: Json }>('GET', '/unstable/controller/network')).data;
    expect(nets.meta.networkCount).toBe(nets.data.length);
    const joined = nets.data.find((n) => n.id === joinedNwid)!;
    expect(joined.nwid).toBe(joinedNwid);
    expect(joined.meta).toEqual({ authorizedMemberCount: expect.any(Number), totalMemberCount: expect.any(Number) });
    const members = (await zt<{ data: Json[]; meta: Json }>('GET', `/unstable/controller/network/${joinedNwid}/member`)).data;
    expect(members.meta.totalCount).toBe(members.data.length);
    expect(members.meta.authorizedCount).toBe(members.data.filter((m) => m.authorized === true).length);
    expect((joined.meta as Json).totalMemberCount).toBe(members.meta.totalCount);
    const m = members.data.find((x) => x.id === memberAddress)!;
    expect(m).toMatchObject({ address: memberAddress, nwid: joinedNwid, objtype: 'member' });
    await expect(zt('GET', `/unstable/controller/network/${rootAddress}ffffff/member`)).rejects.toMatchObject({ status: 404 });
  });
});
