/**
 * De-authorization bites at once, with real daemons: a private root+controller and two members.
 * When the controller de-authorizes B (the controller API, as `ztnc-cli net deauthorize` does), it
 * signs a revocation and pushes it with B's refusal: A drops B at once and B's network goes to
 * ACCESS_DENIED without waiting for its next refresh; deleting a member revokes it the same way.
 * The delays are printed, not asserted (speed lives in benchmarks); the waits are far below the
 * 60 s refresh and the 30 min certificates that would otherwise be what ends B's access.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignedIp, createNetwork, killAll, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;
/** Far below a refresh period: what a member waits here comes from the push, not from a refresh. */
const PUSH_TIMEOUT_MS = 20_000;
const POOL = '10.96.0';

interface PingReport {
  transmitted: number;
  received: number;
}
type Counters = { node: Record<string, number>; networks: Record<string, { network: Record<string, number> }> };

async function memberOn(tmp: string, name: string, root: Service, nwid: string): Promise<Service> {
  const home = join(tmp, name);
  mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
  return startService(home, ['--planet', join(root.home, 'planet')]);
}

async function status(member: Service, nwid: string): Promise<string> {
  return (await member.get<{ status: string }>(`/network/${nwid}`)).status;
}

describe('revocation between real daemons', () => {
  const tmp = tempDir('ztnc-revoke-');
  let root: Service;
  let a: Service;
  let b: Service;
  let nwid: string;
  let addrB: string;
  let ipB: string;

  const networkCounters = async (s: Service): Promise<Record<string, number>> =>
    (await s.get<Counters>('/counters')).networks[nwid]!.network;
  const pingAB = async (): Promise<PingReport> =>
    (await a.api('POST', `/network/${nwid}/ping`, { address: ipB, count: 2, timeoutMs: 1_000 })).body as PingReport;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, POOL);
    [a, b] = await Promise.all([memberOn(tmp, 'a', root, nwid), memberOn(tmp, 'b', root, nwid)]);
    addrB = await b.address();
    for (const m of [a, b]) await root.post(`/controller/network/${nwid}/member/${await m.address()}`, { authorized: true });
    await assignedIp(a, nwid, NETWORK_TIMEOUT_MS);
    ipB = await assignedIp(b, nwid, NETWORK_TIMEOUT_MS);
  }, 240_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  /** Authorizes B and waits until A's pings reach it (after a revocation, A's first frame asks B for its new certificate). */
  async function admitB(): Promise<void> {
    await root.post(`/controller/network/${nwid}/member/${addrB}`, { authorized: true });
    ipB = await assignedIp(b, nwid, NETWORK_TIMEOUT_MS);
    await waitFor(
      async () =>
        ((await a.api('POST', `/network/${nwid}/ping`, { address: ipB, count: 1, timeoutMs: 2_000 })).body as PingReport).received === 1,
      NETWORK_TIMEOUT_MS,
      'A reaching B',
    );
    const r = await a.api('POST', `/network/${nwid}/ping`, { address: ipB, count: 2, timeoutMs: 15_000 });
    expect(r.body).toMatchObject({ transmitted: 2, received: 2 });
  }

  async function cutOff(action: () => Promise<unknown>, what: string, revocationsBefore: number): Promise<void> {
    const t0 = Date.now();
    await action();
    await waitFor(
      async () => (await networkCounters(a)).revocations_accepted === revocationsBefore + 1,
      PUSH_TIMEOUT_MS,
      'the revocation at A',
    );
    const revokedMs = Date.now() - t0;
    const refused = await waitFor(async () => (await status(b, nwid)) !== 'OK' && (await status(b, nwid)), PUSH_TIMEOUT_MS, "B's refusal");
    console.log(`${what}: A holds the revocation after ${revokedMs} ms, B is ${refused} after ${Date.now() - t0} ms`);
    expect(await pingAB()).toMatchObject({ transmitted: 2, received: 0 });
    // A sent B nothing: its frames to a revoked member are dropped before they leave
    expect((await networkCounters(a)).drop_tx_revoked).toBeGreaterThan(0);
  }

  it('de-authorizing B cuts it off at A and refuses it at once; re-authorizing admits it again', async () => {
    await admitB();
    await cutOff(() => root.post(`/controller/network/${nwid}/member/${addrB}`, { authorized: false }), 'de-authorized', 0);
    expect(await status(b, nwid)).toBe('ACCESS_DENIED');
    expect((await root.get<Counters>('/counters')).node.ctl_revocations_issued).toBe(1);
    // a certificate issued after the revocation admits B again
    await admitB();
  }, 180_000);

  it('deleting B revokes it the same way', async () => {
    const before = (await networkCounters(a)).revocations_accepted ?? 0;
    const r = await root.api('DELETE', `/controller/network/${nwid}/member/${addrB}`);
    expect(r.status).toBeLessThan(300);
    await cutOff(async () => {}, 'deleted', before);
  }, 120_000);
});
