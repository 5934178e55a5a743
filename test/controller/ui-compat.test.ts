/**
 * What controller UIs (ztncui, ZTNET, zero-ui) and ZeroTier's rule compiler send, body for body,
 * accepted as stock 1.14 accepts it: pools stored whether or not a route contains them yet,
 * `tee -1` / `watch -1` lengths cut to 16 bits, rule types this controller does not know dropped,
 * a route's `via` that is no address of its family stored as null, 64-bit integers kept exact.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VECTORS_DIR, vectorEntry } from '../support/vectors.js';
import { type ControllerHarness, NODE_ADDRESS, obj, removeDir, startController, tempDir } from './harness.js';

const vectors = JSON.parse(readFileSync(join(VECTORS_DIR, 'packets.json'), 'utf8')) as {
  nodes: Record<string, { address: string; identityPublic: string }>;
};
const A = vectorEntry(vectors.nodes, 'A', 'nodes');
const METADATA = { majorVersion: 1, minorVersion: 14, revision: 1, protocolVersion: 12, rulesEngineRev: 1 };

describe('controller bodies from UIs and the rule compiler', () => {
  let h: ControllerHarness;
  let next = 0x100;
  beforeAll(async () => {
    h = await startController(tempDir());
  });
  afterAll(async () => {
    await h.stop();
    removeDir(h.dir);
  });

  /** A fresh public network with IPv4 auto-assignment; its path. */
  async function network(): Promise<{ nwid: string; path: string }> {
    const nwid = `${NODE_ADDRESS}${(next++).toString(16).padStart(6, '0')}`;
    const path = `/controller/network/${nwid}`;
    expect((await h.call('POST', path, { private: false, v4AssignMode: { zt: true } })).status).toBe(200);
    return { nwid, path };
  }

  async function post(path: string, body: string): Promise<Record<string, unknown>> {
    const r = await h.call('POST', path, body);
    expect(r.status, `${body} -> ${r.text}`).toBe(200);
    return obj(r.body);
  }

  function ipv4Of(nwid: string): string[] {
    const res = h.controller.backend.request({
      nwid: BigInt(`0x${nwid}`),
      address: BigInt(`0x${A.address}`),
      identity: A.identityPublic,
      metadata: METADATA,
    });
    if (!res.ok) throw new Error(res.error);
    return res.config.staticIps.filter((ip) => !ip.includes(':'));
  }

  it("zero-ui's default-pool quick-pick: the pool first, then its route", async () => {
    const { nwid, path } = await network();
    const pools = await post(path, '{"ipAssignmentPools":[{"ipRangeStart":"10.147.20.1","ipRangeEnd":"10.147.20.254"}]}');
    expect(pools.ipAssignmentPools).toEqual([{ ipRangeStart: '10.147.20.1', ipRangeEnd: '10.147.20.254' }]);
    // no route yet: the pool is kept but gives no address
    expect(ipv4Of(nwid)).toEqual([]);
    const routes = await post(path, '{"routes":[{"target":"10.147.20.0/24","via":null}]}');
    expect(routes.routes).toEqual([{ target: '10.147.20.0/24', via: null }]);
    expect(routes.ipAssignmentPools).toEqual([{ ipRangeStart: '10.147.20.1', ipRangeEnd: '10.147.20.254' }]);
    expect(ipv4Of(nwid)).toEqual([expect.stringMatching(/^10\.147\.20\.\d+\/24$/)]);
  });

  it("ztncui's pool page: a pool outside every route is stored, and pool edits keep working after a routes change orphans one", async () => {
    const { nwid, path } = await network();
    await post(path, '{"routes":[{"target":"10.147.17.0/24","via":null}]}');
    const both = await post(
      path,
      '{"ipAssignmentPools":[{"ipRangeStart":"192.168.192.1","ipRangeEnd":"192.168.192.254"},{"ipRangeStart":"10.147.17.1","ipRangeEnd":"10.147.17.254"}]}',
    );
    expect(both.ipAssignmentPools).toHaveLength(2);
    // only the routed pool gives addresses
    expect(ipv4Of(nwid)).toEqual([expect.stringMatching(/^10\.147\.17\.\d+\/24$/)]);
    // a routes change leaving both pools outside is accepted; so is every pool edit after it
    await post(path, '{"routes":[{"target":"10.99.0.0/16","via":null}]}');
    const edited = await post(path, '{"ipAssignmentPools":[{"ipRangeStart":"10.147.17.10","ipRangeEnd":"10.147.17.20"}]}');
    expect(edited.ipAssignmentPools).toEqual([{ ipRangeStart: '10.147.17.10', ipRangeEnd: '10.147.17.20' }]);
  });

  it("ZTNET's IPv6 pool before any IPv6 route", async () => {
    const { path } = await network();
    const n = await post(
      path,
      '{"v6AssignMode":{"zt":true,"6plane":false,"rfc4193":false},"ipAssignmentPools":[{"ipRangeStart":"fd00:feed:feed:beef:0000:0000:0000:0000","ipRangeEnd":"fd00:feed:feed:beef:ffff:ffff:ffff:ffff"}]}',
    );
    expect(n.ipAssignmentPools).toEqual([{ ipRangeStart: 'fd00:feed:feed:beef::', ipRangeEnd: 'fd00:feed:feed:beef:ffff:ffff:ffff:ffff' }]);
    expect(n.v6AssignMode).toEqual({ zt: true, '6plane': false, rfc4193: false });
  });

  it('the rule compiler: tee -1 and watch -1 store length 65535, unknown rule types are dropped', async () => {
    const { nwid, path } = await network();
    await post(
      path,
      '{"routes":[{"target":"10.147.21.0/24","via":null}],"ipAssignmentPools":[{"ipRangeStart":"10.147.21.1","ipRangeEnd":"10.147.21.254"}]}',
    );
    const n = await post(
      path,
      `{"rules":[{"type":"ACTION_TEE","address":"${A.address}","flags":0,"length":-1},{"type":"ACTION_WATCH","address":"${A.address}","flags":-1,"length":-1},{"type":"ACTION_PRIORITY","qosBucket":3},{"type":"ACTION_ACCEPT"}],` +
        '"capabilities":[{"id":7,"default":true,"rules":[{"type":"MATCH_PRIORITY_UNKNOWN","x":1},{"type":"ACTION_DROP"}]}]}',
    );
    expect(n.rules).toEqual([
      { type: 'ACTION_TEE', address: A.address, flags: 0, length: 65535 },
      { type: 'ACTION_WATCH', address: A.address, flags: 0xffffffff, length: 65535 },
      { type: 'ACTION_ACCEPT' },
    ]);
    expect(n.capabilities).toEqual([{ id: 7, default: true, rules: [{ type: 'ACTION_DROP' }] }]);
    // and members get those rules
    const res = h.controller.backend.request({
      nwid: BigInt(`0x${nwid}`),
      address: BigInt(`0x${A.address}`),
      identity: A.identityPublic,
      metadata: METADATA,
    });
    if (!res.ok) throw new Error(res.error);
    expect(res.config.rules).toEqual(n.rules);
  });

  it("a route's via that is not an address of the target's family is stored as null", async () => {
    const { path } = await network();
    const n = await post(
      path,
      '{"routes":[{"target":"10.147.22.0/24","via":"lan"},{"target":"10.0.0.0/8","via":"fe80::1"},{"target":"192.168.0.0/16","via":"10.147.22.1"},{"target":"fd00::/8","via":5},{"target":"fd01::/16","via":"fd00::1"}]}',
    );
    expect(n.routes).toEqual([
      { target: '10.147.22.0/24', via: null },
      { target: '10.0.0.0/8', via: null },
      { target: '192.168.0.0/16', via: '10.147.22.1' },
      { target: 'fd00::/8', via: null },
      { target: 'fd01::/16', via: 'fd00::1' },
    ]);
  });

  it('keeps 64-bit INTEGER_RANGE bounds exact, in and out', async () => {
    const { path } = await network();
    const r = await h.call(
      'POST',
      path,
      '{"rules":[{"type":"INTEGER_RANGE","start":18446744073709551615,"end":9223372036854775807,"idx":0,"little":false,"bits":64},{"type":"ACTION_ACCEPT"}]}',
    );
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('"start":18446744073709551615');
    expect(r.text).toContain('"end":9223372036854775807');
    expect((await h.call('GET', path)).text).toContain('"start":18446744073709551615');
  });
});
