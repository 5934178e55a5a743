/**
 * ztnc-cli as a real process against the real local API server (auth, routing, local-api.ts)
 * over an in-memory daemon: zerotier-cli's output for every shared command, -j, finding the port
 * and token, and each error path as one line on stderr with a non-zero exit.
 */
import { createServer } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VERSION_TEXT } from '../../src/service/json-views.js';
import { parseJson } from '../../src/service/http/json-text.js';
import {
  FAKE_ADDRESS,
  FAKE_PLANET_ID,
  FAKE_VERSION,
  fakeDaemonForSuite,
  runProgram,
  type ProgramResult,
  expectOneLineError,
} from './harness.js';
import { removeDir, tempDir } from '../support/temp-dir.js';

const NWID = '8056c2e21c000001';

function cli(args: string[], env?: NodeJS.ProcessEnv): Promise<ProgramResult> {
  return runProgram('ztnc-cli', args, { env });
}

function expectError(r: ProgramResult, code: number, pattern: RegExp): void {
  expectOneLineError(r, code, pattern, /^ztnc-cli: /);
}

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ztnc-cli against the local API', () => {
  const { home, daemon } = fakeDaemonForSuite();

  beforeEach(() => {
    daemon().service.networksById.clear();
    daemon().service.online = true;
  });

  it('info prints "200 info <address> <version> <state>"; -j prints the /status JSON', async () => {
    const r = await cli(['-D', home, 'info']);
    expect(r).toEqual({ code: 0, stdout: `200 info ${FAKE_ADDRESS} ${FAKE_VERSION} ONLINE\n`, stderr: '' });
    daemon().service.online = false;
    expect((await cli([`-D${home}`, 'status'])).stdout).toBe(`200 info ${FAKE_ADDRESS} ${FAKE_VERSION} OFFLINE\n`);
    const j = await cli(['-D', home, '-j', 'info']);
    expect(j.code).toBe(0);
    expect(parseJson(j.stdout)).toEqual(daemon().service.status());
    // zerotier-cli's JSON layout: one space of indentation
    expect(j.stdout).toContain('\n "address": ');
    // 64-bit integers pass through exactly, as bare digits
    expect(j.stdout).toContain(`\n "planetWorldId": ${FAKE_PLANET_ID},`);
  });

  it('listnetworks prints zerotier-cli columns; -j the /network JSON', async () => {
    let r = await cli(['-D', home, 'listnetworks']);
    expect(r).toEqual({ code: 0, stdout: '200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>\n', stderr: '' });
    daemon().service.join(NWID, {});
    const n = daemon().service.networksById.get(NWID)!;
    n.name = 'office';
    n.status = 'OK';
    n.assigned = ['10.147.17.5/24', 'fd80:56c2:e21c::1/88'];
    daemon().service.join('8056c2e21c000002', {});
    r = await cli(['-D', home, 'listnetworks']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>',
      `200 listnetworks ${NWID} office 32:aa:bb:cc:dd:ee OK PRIVATE /home/sockets/${NWID}.sock 10.147.17.5/24,fd80:56c2:e21c::1/88`,
      '200 listnetworks 8056c2e21c000002 - 32:aa:bb:cc:dd:ee REQUESTING_CONFIGURATION PRIVATE /home/sockets/8056c2e21c000002.sock -',
      '',
    ]);
    const j = await cli(['-D', home, 'listnetworks', '-j']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(daemon().service.networks());
  });

  it('listpeers prints the preferred path with send/receive ages, latency, version and role', async () => {
    const now = Date.now();
    daemon().service.peerTimes = { lastSend: now - 1000, lastReceive: now - 2000 };
    const r = await cli(['-D', home, 'listpeers']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('200 listpeers <ztaddr> <path> <latency> <version> <role>');
    const m = /^200 listpeers 5f5c2b984a 127\.0\.0\.1\/9993;(\d+);(\d+) 12 1\.14\.1 PLANET$/.exec(lines[1]!);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(1000);
    expect(Number(m![2])).toBeGreaterThanOrEqual(2000);
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
    expect(lines[2]).toBe('200 listpeers 0a1b2c3d4e - -1 - LEAF');
    expect(lines).toHaveLength(3);
    const j = await cli(['-D', home, '-j', 'listpeers']);
    expect(JSON.parse(j.stdout)).toEqual(daemon().service.peers());
  });

  it("peers prints zerotier-cli's table", async () => {
    daemon().service.peerTimes = { lastSend: 0, lastReceive: 0 };
    const r = await cli(['-D', home, 'peers']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '200 peers',
      '<ztaddr>   <ver>  <role> <lat> <link>   <lastTX> <lastRX> <path>',
      '5f5c2b984a 1.14.1 PLANET    12 DIRECT   -1       -1       127.0.0.1/9993',
      '0a1b2c3d4e -      LEAF      -1 RELAY',
      '',
    ]);
  });

  it('join and leave print "200 join OK" / "200 leave OK" and change the daemon; -j prints the network', async () => {
    expect(await cli(['-D', home, 'join', NWID.toUpperCase()])).toEqual({ code: 0, stdout: '200 join OK\n', stderr: '' });
    expect(daemon().service.networksById.has(NWID)).toBe(true);
    const j = await cli(['-D', home, '-j', 'join', '8056c2e21c000003']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ nwid: '8056c2e21c000003', status: 'REQUESTING_CONFIGURATION' });
    expect(await cli(['-D', home, 'leave', NWID])).toEqual({ code: 0, stdout: '200 leave OK\n', stderr: '' });
    expect(daemon().service.networksById.has(NWID)).toBe(false);
    const jl = await cli(['-D', home, '-j', 'leave', '8056c2e21c000003']);
    expect(JSON.parse(jl.stdout)).toEqual({ result: true });
  });

  it('join/leave with a bad network id, and leave of a network not joined, fail with one line', async () => {
    expectError(await cli(['-D', home, 'join', '8056c2e21c']), 2, /invalid network id "8056c2e21c": must be 16 hex digits/);
    expectError(await cli(['-D', home, 'join', 'zz56c2e21c000001']), 2, /16 hex digits/);
    expectError(await cli(['-D', home, 'join']), 2, /usage: ztnc-cli join <network ID>/);
    expectError(await cli(['-D', home, 'leave', NWID]), 1, new RegExp(`leave: network ${NWID} not joined \\(HTTP 404\\)`));
    expect(daemon().service.networksById.size).toBe(0);
  });

  it('set changes an allow* setting and prints the network JSON', async () => {
    daemon().service.join(NWID, {});
    const r = await cli(['-D', home, 'set', NWID, 'allowManaged=0']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ nwid: NWID, allowManaged: false });
    expect(daemon().service.networksById.get(NWID)!.settings.allowManaged).toBe(false);
    await cli(['-D', home, 'set', NWID, 'allowGlobal=true']);
    expect(daemon().service.networksById.get(NWID)!.settings.allowGlobal).toBe(true);
  });

  it('set refuses unknown settings, bad values and networks not joined', async () => {
    daemon().service.join(NWID, {});
    expectError(await cli(['-D', home, 'set', NWID, 'mtu=1400']), 2, /unknown setting "mtu"/);
    expectError(await cli(['-D', home, 'set', NWID, 'allowDNS=maybe']), 2, /"maybe" is not a boolean/);
    expectError(await cli(['-D', home, 'set', NWID, 'allowDNS']), 2, /must be <setting>=<value>/);
    expectError(await cli(['-D', home, 'set', '8056c2e21c0000ff', 'allowDNS=1']), 1, /network 8056c2e21c0000ff is not joined/);
    // refusing must not have joined it
    expect(daemon().service.networksById.has('8056c2e21c0000ff')).toBe(false);
    expect(daemon().service.networksById.get(NWID)!.settings.allowDNS).toBe(false);
  });

  it('get prints a network property or its addresses', async () => {
    daemon().service.join(NWID, {});
    daemon().service.networksById.get(NWID)!.assigned = ['10.147.17.5/24', 'fd80:56c2:e21c::1/88'];
    expect((await cli(['-D', home, 'get', NWID, 'status'])).stdout).toBe('REQUESTING_CONFIGURATION\n');
    expect((await cli(['-D', home, 'get', NWID, 'ip4'])).stdout).toBe('10.147.17.5\n');
    expect((await cli(['-D', home, 'get', NWID, 'ip'])).stdout).toBe('10.147.17.5\nfd80:56c2:e21c::1\n');
    expectError(await cli(['-D', home, 'get', NWID, 'nosuch']), 1, /unknown property "nosuch"/);
    expectError(await cli(['-D', home, 'get', '8056c2e21c0000ff', 'ip']), 1, /not joined/);
  });

  it('listmoons prints the /moon JSON; orbit and deorbit say moons are not supported', async () => {
    expect(await cli(['-D', home, 'listmoons'])).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    expectError(await cli(['-D', home, 'orbit', 'deadbeef00', 'deadbeef00']), 1, /orbit: moons are not supported/);
    expectError(await cli(['-D', home, 'deorbit', 'deadbeef00']), 1, /deorbit: moons are not supported/);
    expectError(await cli(['-D', home, 'orbit', 'xyz', 'deadbeef00']), 2, /invalid world id/);
  });

  it('raw paths: /path GETs and prints JSON; METHOD /path [json] sends any request', async () => {
    const g = await cli(['-D', home, 'GET', '/status']);
    expect(g.code).toBe(0);
    expect(parseJson(g.stdout)).toEqual(daemon().service.status());
    const r = await cli(['-D', home, '/status']);
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout)).toEqual(daemon().service.status());
    const p = await cli(['-D', home, 'POST', `/network/${NWID}`, '{"allowDNS":true}']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ nwid: NWID, allowDNS: true });
    expect(daemon().service.networksById.get(NWID)!.settings.allowDNS).toBe(true);
    expect((await cli(['-D', home, 'DELETE', `/network/${NWID}`])).code).toBe(0);
    expect(daemon().service.networksById.has(NWID)).toBe(false);
    expectError(await cli(['-D', home, '/nosuch']), 1, /GET \/nosuch: no such path \/nosuch \(HTTP 404\)/);
    expectError(await cli(['-D', home, 'POST', `/network/${NWID}`, '{bad']), 2, /the body is not JSON/);
    expectError(await cli(['-D', home, 'POST', `/network/${NWID}`, '{"allowDNS":"x"}']), 1, /allowDNS: must be true or false \(HTTP 400\)/);
    expectError(await cli(['-D', home, '/controller/network']), 1, /HTTP 404/);
  });

  it('finds the port from -p, ztnc.port, local.conf; the token from -T or authtoken.secret', async () => {
    const other = tempDir('ztnc-cli-');
    try {
      // -p and -T given: no home files needed
      expect((await cli(['-D', other, '-p', String(daemon().port), '-T', daemon().token, 'info'])).code).toBe(0);
      expect((await cli([`-D${other}`, `-p${daemon().port}`, `-T${daemon().token}`, 'info'])).code).toBe(0);
      expect(
        (await cli([`--home=${other}`, '--port', String(daemon().port), '--token', daemon().token, '--host', '127.0.0.1', 'info'])).code,
      ).toBe(0);
      expect((await cli([`-D${other}`, `-p${daemon().port}`, `-T${daemon().token}`, '-H127.0.0.1', 'info', '--json'])).stdout).toContain(
        '"address"',
      );
      // token from the home, port from local.conf
      writeFileSync(join(other, 'authtoken.secret'), `${daemon().token}\n`);
      writeFileSync(join(other, 'local.conf'), JSON.stringify({ settings: { apiPort: daemon().port } }));
      expect((await cli(['-D', other, 'info'])).stdout).toBe(`200 info ${FAKE_ADDRESS} ${FAKE_VERSION} ONLINE\n`);
      // ztnc.port wins over local.conf
      writeFileSync(join(other, 'local.conf'), JSON.stringify({ settings: { apiPort: await closedPort() } }));
      writeFileSync(join(other, 'ztnc.port'), String(daemon().port));
      expect((await cli(['-D', other, 'info'])).code).toBe(0);
      // ZTNC_HOME stands for -D
      expect((await cli(['info'], { ZTNC_HOME: other })).code).toBe(0);
    } finally {
      removeDir(other);
    }
  });

  it('a wrong token, a missing token file, a daemon not running and a bad ztnc.port are one clear line', async () => {
    expectError(await cli(['-D', home, '-T', 'wrongtoken', 'info']), 1, /refused the auth token from -T \(HTTP 401\)/);
    const empty = tempDir('ztnc-cli-');
    try {
      expectError(await cli(['-D', empty, 'listnetworks']), 1, /authtoken\.secret not found: is ztnc-service running/);
      writeFileSync(join(empty, 'authtoken.secret'), 'sometoken');
      writeFileSync(join(empty, 'ztnc.port'), String(await closedPort()));
      expectError(
        await cli(['-D', empty, 'listnetworks']),
        1,
        /cannot connect to ztnc-service at 127\.0\.0\.1:\d+ .*connection refused; is the daemon running\?/,
      );
      writeFileSync(join(empty, 'ztnc.port'), 'garbage');
      expectError(await cli(['-D', empty, 'info']), 1, /ztnc\.port does not hold a TCP port/);
      rmSync(join(empty, 'ztnc.port'));
      writeFileSync(join(empty, 'local.conf'), '{"settings": {"apiPort": "high"}}');
      expectError(await cli(['-D', empty, 'info']), 1, /local\.conf: "apiPort" must be an integer port/);
      writeFileSync(join(empty, 'ztnc.port'), String(daemon().port));
      writeFileSync(join(empty, 'authtoken.secret'), 'sometoken');
      expectError(await cli(['-D', empty, 'info']), 1, /refused the auth token from .*authtoken\.secret \(HTTP 401\)/);
    } finally {
      removeDir(empty);
    }
  });

  it('usage errors: unknown command, unknown option, bad -p, no command; -h and -v succeed', async () => {
    expectError(await cli(['-D', home, 'frobnicate']), 2, /unknown command "frobnicate"/);
    // even where no daemon runs
    expectError(await cli(['-D', join(home, 'absent'), 'frobnicate']), 2, /unknown command "frobnicate"/);
    expectError(await cli(['-D', join(home, 'absent'), 'join', 'xyz']), 2, /invalid network id "xyz"/);
    expectError(await cli(['-D', join(home, 'absent'), 'net', 'show']), 2, /missing network id/);
    expectError(await cli(['-D', home, '-x', 'info']), 2, /unknown option '-x'/);
    expectError(await cli(['-p', '70000', 'info']), 2, /-p: "70000" is not a TCP port/);
    expectError(await cli(['-D', home, '--name', 'x', 'info']), 2, /belong to "net create"/);
    const none = await cli(['-D', home]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: ztnc-cli/);
    const h = await cli(['-h']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: ztnc-cli/);
    expect(h.stdout).toContain('net create');
    expect(await cli(['-v'])).toEqual({ code: 0, stdout: `${VERSION_TEXT}\n`, stderr: '' });
  });
});
