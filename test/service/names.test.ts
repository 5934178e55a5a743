/**
 * Names of the network across real daemons: a private root+controller and two members. The
 * network's `dns.domain` and a member's `name` set through the controller API reach the other
 * member with one config push, and its RPC socket answers RESOLVE and REVERSE for the name (the
 * ops libztintercept.so's name hooks send); other names are not found, at once, without servers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AF_INET, Op } from '../../src/netcon/protocol.js';
import { RpcClient } from '../netcon/rpc-client.js';
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
const ENOENT = 2;

async function memberOn(tmp: string, name: string, root: Service, nwid: string): Promise<Service> {
  const home = join(tmp, name);
  mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
  return startService(home, ['--planet', join(root.home, 'planet')]);
}

function resolveRequest(name: string): Buffer {
  return Buffer.concat([Buffer.of(AF_INET), Buffer.from(name)]);
}

describe('names of the network across daemons', () => {
  const tmp = tempDir('ztnc-names-');
  let root: Service;
  let a: Service;
  let b: Service;
  let nwid: string;
  let ipA: string;

  beforeAll(async () => {
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root, '10.96.0');
    [a, b] = await Promise.all([memberOn(tmp, 'a', root, nwid), memberOn(tmp, 'b', root, nwid)]);
    for (const m of [a, b]) await authorizeMember(root, nwid, m);
    [ipA] = await Promise.all([assignedIp(a, nwid, NETWORK_TIMEOUT_MS), assignedIp(b, nwid, NETWORK_TIMEOUT_MS)]);
  }, 240_000);

  afterAll(async () => {
    await killAll();
  }, 60_000);

  it("a member's name set on the controller resolves on the other member, forward and reverse", async () => {
    const rpc = await RpcClient.connect(join(b.home, 'sockets', `${nwid}.sock`));
    try {
      expect((await root.api('POST', `/controller/network/${nwid}`, { dns: { domain: 'names.ztnc', servers: [] } })).status).toBe(200);
      expect((await root.api('POST', `/controller/network/${nwid}/member/${await a.address()}`, { name: 'Alpha' })).status).toBe(200);
      const answer = await waitFor(
        async () => {
          const r = await rpc.call(Op.RESOLVE, 0, resolveRequest('alpha.names.ztnc'));
          return r.result === 1 ? r : null;
        },
        30_000,
        'alpha.names.ztnc to resolve on b',
      );
      const n = answer.payload[0]!;
      expect(answer.payload.subarray(1, 1 + n).toString()).toBe('alpha.names.ztnc');
      expect([...answer.payload.subarray(2 + n, 6 + n)].join('.')).toBe(ipA);
      const rev = await rpc.call(Op.REVERSE, 0, Buffer.of(AF_INET, ...ipA.split('.').map(Number)));
      expect(rev.payload.toString()).toBe('alpha.names.ztnc');
      // no servers on the network and the host's resolvers not allowed: not found
      expect((await rpc.call(Op.RESOLVE, 0, resolveRequest('example.com'))).result).toBe(-ENOENT);
      const counters = await b.get<{ networks: Record<string, { netcon: Record<string, number> }> }>('/counters');
      expect(counters.networks[nwid]!.netcon.dns_zoneAnswers).toBeGreaterThanOrEqual(2);
    } finally {
      rpc.close();
    }
  });
});
