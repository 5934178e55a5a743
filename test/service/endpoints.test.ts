/**
 * Endpoints with real daemons: a private root+controller, daemon A hosting two endpoints besides
 * its own identity, and daemon B. Each endpoint is a member of its own (the controller sees three
 * addresses from A), endpoints reach each other and B through the network, de-authorizing one
 * leaves the others working, a restart of A brings every endpoint back with its identity and
 * address, and deleting one removes it and its files. Bad names and requests get clear errors.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignedIp, createNetwork, killAll, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;
const POOL = '10.97.0';

interface NetworkView {
  id: string;
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
}
interface EndpointView {
  name: string;
  address: string;
  online: boolean;
  networks: NetworkView[];
}
interface PingReport {
  transmitted: number;
  received: number;
}

async function memberOn(home: string, root: Service, nwid: string): Promise<Service> {
  mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
  return startService(home, ['--planet', join(root.home, 'planet')]);
}

/** The endpoint's address on `nwid` once it is OK with one. */
async function endpointIp(daemon: Service, name: string, nwid: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await daemon.api('GET', `/endpoint/${name}/network/${nwid}`);
      const n = r.body as NetworkView;
      return r.status === 200 && n.status === 'OK' && n.assignedAddresses[0] ? n.assignedAddresses[0].split('/')[0]! : null;
    },
    NETWORK_TIMEOUT_MS,
    `an address for endpoint ${name}`,
  );
}

describe('endpoints: many members in one daemon', () => {
  const tmp = tempDir('ztnc-endpoints-');
  let root: Service;
  let a: Service;
  let b: Service;
  let nwid: string;
  const addr: Record<string, string> = {};
  const ip: Record<string, string> = {};

  const ping = async (from: Service, path: string, address: string, count = 2, timeoutMs = 2_000): Promise<PingReport> =>
    (await from.api('POST', path, { address, count, timeoutMs })).body as PingReport;
  const reaches = (from: Service, path: string, address: string): Promise<boolean> =>
    waitFor(
      async () => (await ping(from, path, address, 1)).received === 1 || null,
      NETWORK_TIMEOUT_MS,
      `${path} reaching ${address}`,
    ).then(() => true);

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, POOL);
    [a, b] = await Promise.all([memberOn(join(tmp, 'a'), root, nwid), memberOn(join(tmp, 'b'), root, nwid)]);
    for (const m of [a, b]) await root.post(`/controller/network/${nwid}/member/${await m.address()}`, { authorized: true });
    for (const name of ['e1', 'e2']) {
      const r = await a.api('POST', `/endpoint/${name}`);
      expect(r.status).toBe(200);
      addr[name] = (r.body as EndpointView).address;
      await root.post(`/controller/network/${nwid}/member/${addr[name]}`, { authorized: true });
      expect((await a.api('POST', `/endpoint/${name}/network/${nwid}`, {})).status).toBe(200);
    }
    ip.a = await assignedIp(a, nwid, NETWORK_TIMEOUT_MS);
    ip.b = await assignedIp(b, nwid, NETWORK_TIMEOUT_MS);
    for (const name of ['e1', 'e2']) ip[name] = await endpointIp(a, name, nwid);
  }, 300_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it('lists the default endpoint first, then each endpoint with its own address, network and RPC socket', async () => {
    const list = (await a.get<EndpointView[]>('/endpoint')).map((e) => e.name);
    expect(list).toEqual(['default', 'e1', 'e2']);
    const own = await a.address();
    expect(new Set([own, addr.e1, addr.e2]).size).toBe(3);
    const e1 = await a.get<EndpointView>('/endpoint/e1');
    expect(e1).toMatchObject({ name: 'e1', address: addr.e1, online: true });
    expect(e1.networks[0]!.portDeviceName).toBe(join(a.home, 'endpoints', 'e1', 'sockets', `${nwid}.sock`));
    expect(existsSync(join(a.home, 'endpoints', 'e1', 'identity.secret'))).toBe(true);
    expect(existsSync(join(a.home, 'endpoints', 'e1', 'networks.d', `${nwid}.conf`))).toBe(true);
    // the daemon's own networks are the default endpoint's, as before endpoints
    expect((await a.get<NetworkView[]>('/network')).map((n) => n.id)).toEqual([nwid]);
  });

  it('the controller sees each endpoint as a member with its own address', async () => {
    const members = await root.get<Record<string, unknown>>(`/controller/network/${nwid}/member`);
    for (const m of [await a.address(), addr.e1!, addr.e2!]) expect(Object.keys(members)).toContain(m);
    expect(new Set([ip.a, ip.e1, ip.e2, ip.b]).size).toBe(4);
  });

  it('endpoints reach each other, the daemon they share and another daemon', async () => {
    await reaches(a, `/endpoint/e2/network/${nwid}/ping`, ip.e1!);
    await reaches(a, `/endpoint/e1/network/${nwid}/ping`, ip.b!);
    await reaches(b, `/network/${nwid}/ping`, ip.e2!);
    await reaches(a, `/network/${nwid}/ping`, ip.e1!);
    // traffic between endpoints of one daemon stays inside it
    const counters = await a.get<{ underlay: { demux: { local: number } } }>('/counters');
    expect(counters.underlay.demux.local).toBeGreaterThan(0);
  });

  it('refuses bad names, duplicates, unknown endpoints and deleting the default one', async () => {
    expect((await a.api('POST', '/endpoint/Bad!Name')).status).toBe(400);
    expect((await a.api('POST', '/endpoint/e1')).status).toBe(409);
    expect((await a.api('POST', '/endpoint/default')).status).toBe(409);
    expect((await a.api('GET', '/endpoint/nope')).status).toBe(404);
    expect((await a.api('POST', `/endpoint/nope/network/${nwid}`, {})).status).toBe(404);
    expect((await a.api('POST', '/endpoint/e1/network/123')).status).toBe(400);
    const del = await a.api('DELETE', '/endpoint/default');
    expect(del.status).toBe(400);
    expect((del.body as { error: string }).error).toMatch(/cannot be deleted/);
  });

  it('de-authorizing one endpoint leaves the others working', async () => {
    await root.post(`/controller/network/${nwid}/member/${addr.e1}`, { authorized: false });
    await waitFor(
      async () => (await a.get<NetworkView>(`/endpoint/e1/network/${nwid}`)).status === 'ACCESS_DENIED' || null,
      NETWORK_TIMEOUT_MS,
      'e1 refused',
    );
    expect((await a.get<NetworkView>(`/endpoint/e2/network/${nwid}`)).status).toBe('OK');
    expect((await a.get<NetworkView>(`/network/${nwid}`)).status).toBe('OK');
    expect((await ping(a, `/endpoint/e2/network/${nwid}/ping`, ip.b!)).received).toBe(2);
    expect((await ping(b, `/network/${nwid}/ping`, ip.e1!, 1, 1_000)).received).toBe(0);
    await root.post(`/controller/network/${nwid}/member/${addr.e1}`, { authorized: true });
    expect(await endpointIp(a, 'e1', nwid)).toBe(ip.e1);
  });

  it('a restart brings every endpoint back with its identity, networks and address', async () => {
    await a.stop();
    a = await startService(a.home, ['--planet', join(root.home, 'planet')]);
    const list = await a.get<EndpointView[]>('/endpoint');
    expect(list.map((e) => [e.name, e.address])).toEqual([
      ['default', await a.address()],
      ['e1', addr.e1],
      ['e2', addr.e2],
    ]);
    expect(await endpointIp(a, 'e2', nwid)).toBe(ip.e2);
    await reaches(b, `/network/${nwid}/ping`, ip.e2!);
  }, 180_000);

  it('deleting an endpoint leaves its network and removes its files', async () => {
    const r = await a.api('DELETE', '/endpoint/e2');
    expect(r).toMatchObject({ status: 200, body: { deleted: true } });
    expect(existsSync(join(a.home, 'endpoints', 'e2'))).toBe(false);
    expect((await a.api('GET', '/endpoint/e2')).status).toBe(404);
    expect((await a.api('DELETE', '/endpoint/e2')).status).toBe(404);
    expect((await a.get<EndpointView[]>('/endpoint')).map((e) => e.name)).toEqual(['default', 'e1']);
    // a new endpoint of the same name is a new identity
    const again = await a.api('POST', '/endpoint/e2');
    expect(again.status).toBe(200);
    expect((again.body as EndpointView).address).not.toBe(addr.e2);
  });
});
