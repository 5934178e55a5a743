/**
 * A `--private-planet` daemon (root and controller) joins a network it controls: its config
 * request is answered by its own controller, so it is refused until it authorizes itself, then
 * reaches OK with an address and pings a second member daemon both ways; deauthorizing itself
 * cuts it off again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  killAll,
  type Service,
  startRoot,
  startService,
  tempDir,
  waitFor,
} from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;
const POOL = '10.96.0';

interface NetworkView {
  status: string;
  assignedAddresses: string[];
}

interface PingReport {
  address: string;
  transmitted: number;
  received: number;
}

async function status(s: Service, nwid: string, want: string): Promise<NetworkView> {
  return waitFor(
    async () => {
      const n = await s.get<NetworkView>(`/network/${nwid}`);
      return n.status === want ? n : null;
    },
    NETWORK_TIMEOUT_MS,
    `${nwid} to be ${want} in ${s.home}`,
  );
}

async function addressOf(controller: Service, member: Service, nwid: string): Promise<string> {
  await authorizeMember(controller, nwid, member);
  return assignedIp(member, nwid, NETWORK_TIMEOUT_MS);
}

describe('a controller daemon joins its own network', () => {
  const tmp = tempDir('ztnc-selfjoin-');
  let root: Service;
  let member: Service;
  let nwid: string;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, POOL);
    const home = join(tmp, 'member');
    mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
    member = await startService(home, ['--planet', join(root.home, 'planet')]);
  }, 180_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it('is refused until it authorizes itself, then gets an address and pings a member both ways', async () => {
    const rootAddress = await root.address();
    expect(nwid.startsWith(rootAddress)).toBe(true);
    const joined = await root.api('POST', `/network/${nwid}`, {});
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    await status(root, nwid, 'ACCESS_DENIED');
    // its own request reached its own controller, which recorded it as a member
    const asked = await root.get<{ authorized: boolean }>(`/controller/network/${nwid}/member/${rootAddress}`);
    expect(asked.authorized).toBe(false);

    const ipRoot = await addressOf(root, root, nwid);
    expect(ipRoot.startsWith(`${POOL}.`)).toBe(true);
    const ipMember = await addressOf(root, member, nwid);
    expect(ipMember).not.toBe(ipRoot);

    const out = await root.api('POST', `/network/${nwid}/ping`, { address: ipMember, count: 3, timeoutMs: 15_000 });
    expect(out.status, JSON.stringify(out.body)).toBe(200);
    expect(out.body).toMatchObject({ address: ipMember, transmitted: 3, received: 3 } satisfies PingReport);
    const back = await member.api('POST', `/network/${nwid}/ping`, { address: ipRoot, count: 3, timeoutMs: 15_000 });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ address: ipRoot, transmitted: 3, received: 3 } satisfies PingReport);
  }, 240_000);

  it('deauthorizing itself cuts it off; the member stays on the network', async () => {
    const rootAddress = await root.address();
    await root.post(`/controller/network/${nwid}/member/${rootAddress}`, { authorized: false });
    const refused = await status(root, nwid, 'ACCESS_DENIED');
    expect(refused.assignedAddresses).toEqual([]);
    const n = await member.get<NetworkView>(`/network/${nwid}`);
    expect(n.status).toBe('OK');
  }, 120_000);
});
