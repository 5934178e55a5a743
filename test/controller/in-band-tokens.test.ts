/**
 * Join tokens through the in-band protocol, in one process: members of the simulation present a
 * token when they join (the `ztnc.token` metadata key) and the SQLite controller behind node C
 * authorizes them on the spot; a bad token leaves its member refused, counted once per request it
 * sends — the configs C pushes after a change never present a member's token for it — and a member
 * admitted by a token stops sending it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NetSim, NWID } from '../node/sim-harness.js';
import { type ControllerHarness, obj, removeDir, startController, tempDir } from './harness.js';

const NWID_HEX = NWID.toString(16).padStart(16, '0');

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

describe('join tokens in-band', () => {
  it('a member presenting a token is authorized at once; a bad one is refused and counted per request only', async () => {
    let wall = (): number => 0;
    h = await startController(tempDir(), { now: () => wall() });
    const s = new NetSim({ refreshMs: 30_000, controllerBackend: h.controller.backend });
    wall = s.wall;
    sim = s;
    const created = await h.call('POST', `/controller/network/${NWID_HEX}`, {
      private: true,
      v4AssignMode: { zt: true },
      routes: [{ target: '10.144.0.0/16', via: null }],
      ipAssignmentPools: [{ ipRangeStart: '10.144.1.1', ipRangeEnd: '10.144.1.254' }],
    });
    expect(created.status).toBe(200);
    const token = obj((await h.call('POST', `/controller/network/${NWID_HEX}/token`, { ipAssignments: ['10.144.9.9'] })).body);
    s.startInfrastructure();
    const a = s.addMember('A', 2, '10.99.0.3');
    const b = s.addMember('B', 3, '10.99.0.4');
    await s.run(2_000);
    a.nets.join(NWID, { joinToken: String(token.token) });
    b.nets.join(NWID, { joinToken: 'A'.repeat(43) });
    expect(await s.until(() => s.status('A') === 'OK' && s.status('B') === 'ACCESS_DENIED', 20_000)).toBe(true);
    expect(a.nets.get(NWID)!.config!.staticIps.map((ip) => ip.ip)).toEqual(['10.144.9.9']);
    const counts = h.controller.joinTokenCounts();
    expect(counts.accepted).toBe(1);
    const refusedBefore = counts.refused.unknown;
    const requestsBefore = b.nets.get(NWID)!.counters.get('config_requests');
    expect(refusedBefore).toBe(requestsBefore);

    // a change pushes configs (and refusals) to the members that asked: no token is presented for B
    expect((await h.call('POST', `/controller/network/${NWID_HEX}`, { name: 'renamed' })).status).toBe(200);
    expect(await s.until(() => a.nets.get(NWID)!.config!.name === 'renamed', 10_000)).toBe(true);
    const requestsAfter = b.nets.get(NWID)!.counters.get('config_requests');
    expect(h.controller.joinTokenCounts().refused.unknown - refusedBefore).toBe(requestsAfter - requestsBefore);

    // A, admitted, refreshes without its token: nothing more is counted for it
    await s.run(s.refreshMs * 2 + 1_000);
    expect(s.status('A')).toBe('OK');
    expect(h.controller.joinTokenCounts().accepted).toBe(1);
    expect(h.controller.joinTokenCounts().refused.used_up).toBe(0);
  }, 60_000);
});
