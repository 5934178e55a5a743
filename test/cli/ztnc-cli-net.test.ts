/**
 * ztnc-cli's controller commands (`net create|list|show|authorize|deauthorize|default-route|delete`) and raw
 * /controller access as real processes, against the real controller API over a temporary
 * SQLite database served by the real local API server.
 */
import { describe, expect, it } from 'vitest';
import { FAKE_ADDRESS, fakeDaemonForSuite, runProgram, startFakeDaemon, type ProgramResult, expectOneLineError } from './harness.js';
import { removeDir, tempDir } from '../support/temp-dir.js';

function expectError(r: ProgramResult, code: number, pattern: RegExp): void {
  expectOneLineError(r, code, pattern, /^ztnc-cli: /);
}

describe('ztnc-cli net commands', () => {
  const { home, daemon } = fakeDaemonForSuite({ controller: true });
  const cli = (...args: string[]): Promise<ProgramResult> => runProgram('ztnc-cli', ['-D', home, ...args]);

  it('net create prints the new id; the network has the name, pool, route and privacy asked for', async () => {
    const r = await cli('net', 'create', '--name', 'office', '--pool', '10.147.17.0/24');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const nwid = r.stdout.trim();
    expect(nwid).toMatch(new RegExp(`^${FAKE_ADDRESS}[0-9a-f]{6}$`));
    const n = daemon().controller!.store.getNetwork(nwid)!;
    expect(n.name).toBe('office');
    expect(n.private).toBe(true);
    expect(n.routes).toEqual([{ target: '10.147.17.0/24', via: null }]);
    expect(n.ipAssignmentPools).toEqual([{ ipRangeStart: '10.147.17.1', ipRangeEnd: '10.147.17.254' }]);
    expect(n.v4AssignMode).toEqual({ zt: true });

    const pub = await cli('-j', 'net', 'create', '--public', '--name=lab', '--pool', '10.1.2.3/16', '--pool', 'fd00:1::/64');
    expect(pub.code).toBe(0);
    const j = JSON.parse(pub.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      name: 'lab',
      private: false,
      routes: [
        { target: '10.1.0.0/16', via: null },
        { target: 'fd00:1::/64', via: null },
      ],
      ipAssignmentPools: [
        { ipRangeStart: '10.1.0.1', ipRangeEnd: '10.1.255.254' },
        { ipRangeStart: 'fd00:1::1', ipRangeEnd: 'fd00:1::ffff:ffff:ffff:fffe' },
      ],
      v4AssignMode: { zt: true },
    });
    expect(daemon().controller!.store.hasNetwork(j.id as string)).toBe(true);
  });

  it('net create refuses a bad --pool before asking the daemon', async () => {
    const before = daemon().controller!.store.listNetworkIds().length;
    expectError(await cli('net', 'create', '--pool', '10.1.2/24'), 2, /--pool: "10\.1\.2\/24" is not an IPv4 or IPv6 CIDR/);
    expectError(await cli('net', 'create', '--pool'), 2, /option '--pool <cidr>' argument missing/);
    expectError(await cli('net', 'create', '--private', '--public'), 2, /--private and --public exclude each other/);
    expectError(await cli('net', 'create', 'extra'), 2, /net create: too many arguments/);
    expect(daemon().controller!.store.listNetworkIds()).toHaveLength(before);
  });

  it("net list prints a line per network; -j the networks' JSON", async () => {
    const id = (await cli('net', 'create', '--name', 'listed', '--pool', '192.168.77.0/24')).stdout.trim();
    const r = await cli('net', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('200 net list <nwid> <name> <type> <authorized>/<members> <ip pools>');
    expect(lines).toContain(`200 net list ${id} listed PRIVATE 0/0 192.168.77.1-192.168.77.254`);
    expect(lines).toHaveLength(1 + daemon().controller!.store.listNetworkIds().length);
    const j = await cli('net', 'list', '-j');
    const arr = JSON.parse(j.stdout) as { id: string }[];
    expect(arr.map((n) => n.id).sort()).toEqual([...daemon().controller!.store.listNetworkIds()].sort());
  });

  it('net authorize / deauthorize change the member; net show lists members', async () => {
    const id = (await cli('net', 'create', '--name', 'members', '--pool', '10.9.0.0/24')).stdout.trim();
    expect(await cli('net', 'authorize', id, '5F5C2B984A')).toEqual({ code: 0, stdout: '200 net authorize OK\n', stderr: '' });
    expect(daemon().controller!.store.getMember(id, '5f5c2b984a')!.authorized).toBe(true);
    const j = await cli('-j', 'net', 'authorize', id, '0a1b2c3d4e');
    expect(JSON.parse(j.stdout)).toMatchObject({ address: '0a1b2c3d4e', authorized: true, nwid: id });

    const show = await cli('net', 'show', id);
    expect(show.code).toBe(0);
    expect(show.stdout.trimEnd().split('\n')).toEqual([
      '200 net show <nwid> <name> <type> <authorized>/<members> <ip pools> <routes>',
      `200 net show ${id} members PRIVATE 2/2 10.9.0.1-10.9.0.254 10.9.0.0/24`,
      '200 net member <address> <authorized> <ips> <name>',
      expect.stringMatching(/^200 net member 0a1b2c3d4e AUTHORIZED (10\.9\.0\.\d+|-) -$/),
      expect.stringMatching(/^200 net member 5f5c2b984a AUTHORIZED (10\.9\.0\.\d+|-) -$/),
    ]);

    expect(await cli('net', 'deauthorize', id, '5f5c2b984a')).toEqual({ code: 0, stdout: '200 net deauthorize OK\n', stderr: '' });
    expect(daemon().controller!.store.getMember(id, '5f5c2b984a')!.authorized).toBe(false);
    const sj = await cli('-j', 'net', 'show', id);
    const parsed = JSON.parse(sj.stdout) as { network: { id: string }; members: { address: string; authorized: boolean }[] };
    expect(parsed.network.id).toBe(id);
    expect(parsed.members.map((m) => [m.address, m.authorized])).toEqual([
      ['0a1b2c3d4e', true],
      ['5f5c2b984a', false],
    ]);
  });

  it("net default-route sets and clears the network's defaultRouteVia gateway member", async () => {
    const id = (await cli('net', 'create', '--name', 'gw', '--pool', '10.19.0.0/24')).stdout.trim();
    expect(await cli('net', 'default-route', id, '5F5C2B984A')).toEqual({
      code: 0,
      stdout: '200 net default-route 5f5c2b984a\n',
      stderr: '',
    });
    expect(daemon().controller!.store.getNetwork(id)!.defaultRouteVia).toBe('5f5c2b984a');
    expect(await cli('net', 'default-route', id, 'off')).toEqual({ code: 0, stdout: '200 net default-route off\n', stderr: '' });
    expect(daemon().controller!.store.getNetwork(id)!.defaultRouteVia).toBeNull();
    expectError(await cli('net', 'default-route', id, '10.19.0.1'), 2, /invalid member address "10\.19\.0\.1"/);
    expectError(await cli('net', 'default-route', id), 2, /missing member address/);
  });

  it('net delete removes the network; later commands on it fail with one line', async () => {
    const id = (await cli('net', 'create')).stdout.trim();
    expect(await cli('net', 'delete', id)).toEqual({ code: 0, stdout: '200 net delete OK\n', stderr: '' });
    expect(daemon().controller!.store.hasNetwork(id)).toBe(false);
    expectError(await cli('net', 'show', id), 1, new RegExp(`net show: network ${id} not found \\(HTTP 404\\)`));
    expectError(await cli('net', 'delete', id), 1, /not found \(HTTP 404\)/);
    expectError(await cli('net', 'authorize', id, '5f5c2b984a'), 1, /not found \(HTTP 404\)/);
  });

  it('bad ids, addresses and subcommands are usage errors', async () => {
    expectError(await cli('net', 'show', '1234'), 2, /invalid network id "1234"/);
    expectError(await cli('net', 'authorize', `${FAKE_ADDRESS}000001`, 'xyz'), 2, /invalid member address "xyz"/);
    expectError(await cli('net', 'authorize', `${FAKE_ADDRESS}000001`), 2, /missing member address/);
    expectError(await cli('net', 'rename'), 2, /unknown subcommand "rename"/);
    expectError(await cli('net'), 2, /missing subcommand/);
  });

  it('raw /controller paths read and write the controller', async () => {
    const r = await cli('/controller');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ controller: true, apiVersion: 4 });
    const made = await cli('POST', `/controller/network/${FAKE_ADDRESS}______`, '{"name":"raw"}');
    expect(made.code).toBe(0);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    expect(daemon().controller!.store.getNetwork(id)!.name).toBe('raw');
    expectError(await cli('POST', `/controller/network/${id}`, '{"mtu":5}'), 1, /mtu: .*\(HTTP 400\)/);
  });

  it('a daemon without a controller is told apart from an unknown network', async () => {
    const other = tempDir('ztnc-cli-');
    const plain = await startFakeDaemon(other);
    try {
      const r = await runProgram('ztnc-cli', ['-D', other, 'net', 'list']);
      expectError(r, 1, /net list: this daemon has no network controller \(start ztnc-service with --private-planet/);
    } finally {
      await plain.stop();
      removeDir(other);
    }
  });
});
