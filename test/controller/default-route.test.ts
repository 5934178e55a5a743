/**
 * The network setting `defaultRouteVia` (issue 19): the controller pushes 0.0.0.0/0 and ::/0 via
 * the named member's addresses to every other member, not to the gateway itself; an explicit /0
 * route of the network wins; a change of the gateway's address pushes every member.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rfc4193Address } from '../../src/controller/ip-assignment.js';
import { VECTORS_DIR, vectorEntry } from '../support/vectors.js';
import { type ControllerHarness, obj, removeDir, startController, tempDir } from './harness.js';

const vectors = JSON.parse(readFileSync(join(VECTORS_DIR, 'packets.json'), 'utf8')) as {
  nodes: Record<string, { address: string; identityPublic: string }>;
};
const NWID = '3ce329f872000077';
const A = vectorEntry(vectors.nodes, 'A', 'nodes');
const B = vectorEntry(vectors.nodes, 'B', 'nodes');
const METADATA = { majorVersion: 1, minorVersion: 14, revision: 1, protocolVersion: 12, rulesEngineRev: 1 };

describe('controller: default route via a gateway member (defaultRouteVia)', () => {
  let h: ControllerHarness;
  const ask = (who: { address: string; identityPublic: string }) => {
    const r = h.controller.backend.request({
      nwid: BigInt(`0x${NWID}`),
      address: BigInt(`0x${who.address}`),
      identity: who.identityPublic,
      metadata: METADATA,
    });
    if (!r.ok) throw new Error(`config refused: ${r.error}`);
    return r.config.routes.map((x) => ({ target: x.target, via: x.via }));
  };

  beforeAll(async () => {
    h = await startController(tempDir());
    const net = await h.call('POST', `/controller/network/${NWID}`, {
      routes: [{ target: '10.77.0.0/24', via: null }],
      v6AssignMode: { rfc4193: true, zt: false, '6plane': false },
    });
    expect(net.status).toBe(200);
    expect(obj(net.body).defaultRouteVia).toBeNull();
    for (const [who, ip] of [
      [A, '10.77.0.1'],
      [B, '10.77.0.20'],
    ] as const) {
      const m = await h.call('POST', `/controller/network/${NWID}/member/${who.address}`, { authorized: true, ipAssignments: [ip] });
      expect(m.status).toBe(200);
    }
  });
  afterAll(async () => {
    await h.stop();
    removeDir(h.dir);
  });

  it('gives no default route until the network names its gateway', () => {
    expect(ask(B)).toEqual([{ target: '10.77.0.0/24', via: null }]);
  });

  it("pushes 0.0.0.0/0 and ::/0 via the gateway's addresses to the other members, not to the gateway", async () => {
    const r = await h.call('POST', `/controller/network/${NWID}`, { defaultRouteVia: A.address.toUpperCase() });
    expect(r.status).toBe(200);
    expect(obj(r.body).defaultRouteVia).toBe(A.address);
    const routes = ask(B);
    expect(routes.slice(0, 2)).toEqual([
      { target: '10.77.0.0/24', via: null },
      { target: '0.0.0.0/0', via: '10.77.0.1' },
    ]);
    expect(routes[2]).toEqual({ target: '::/0', via: rfc4193Address(BigInt(`0x${NWID}`), BigInt(`0x${A.address}`)).ip });
    expect(ask(A)).toEqual([{ target: '10.77.0.0/24', via: null }]);
  });

  it("a change of the gateway's address pushes every member, with the new address", async () => {
    ask(B); // the routes are worked out
    const pushed: { nwid: bigint; members?: bigint[] }[] = [];
    const off = h.controller.backend.onChange((c) => pushed.push(c as { nwid: bigint; members?: bigint[] }));
    try {
      await h.call('POST', `/controller/network/${NWID}/member/${A.address}`, { ipAssignments: ['10.77.0.2'] });
      expect(pushed.some((c) => c.nwid === BigInt(`0x${NWID}`) && c.members === undefined)).toBe(true);
    } finally {
      off();
    }
    expect(ask(B)[1]).toEqual({ target: '0.0.0.0/0', via: '10.77.0.2' });
  });

  it("an explicit /0 route of the network wins over the gateway's", async () => {
    await h.call('POST', `/controller/network/${NWID}`, {
      routes: [
        { target: '10.77.0.0/24', via: null },
        { target: '0.0.0.0/0', via: '10.77.0.9' },
      ],
    });
    const routes = ask(B);
    expect(routes.filter((x) => x.target === '0.0.0.0/0')).toEqual([{ target: '0.0.0.0/0', via: '10.77.0.9' }]);
    expect(routes.some((x) => x.target === '::/0')).toBe(true);
    await h.call('POST', `/controller/network/${NWID}`, { routes: [{ target: '10.77.0.0/24', via: null }] });
  });

  it('a de-authorized gateway gives no route; null turns the setting off; a bad value is a 400 naming the field', async () => {
    await h.call('POST', `/controller/network/${NWID}/member/${A.address}`, { authorized: false });
    expect(ask(B)).toEqual([{ target: '10.77.0.0/24', via: null }]);
    await h.call('POST', `/controller/network/${NWID}/member/${A.address}`, { authorized: true });
    expect(ask(B)).toHaveLength(3);
    const off = await h.call('POST', `/controller/network/${NWID}`, { defaultRouteVia: null });
    expect(obj(off.body).defaultRouteVia).toBeNull();
    expect(ask(B)).toEqual([{ target: '10.77.0.0/24', via: null }]);
    const bad = await h.call('POST', `/controller/network/${NWID}`, { defaultRouteVia: '10.77.0.1' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/defaultRouteVia/);
  });
});
