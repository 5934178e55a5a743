/**
 * ztnc-cli's `zone create|destroy|list` as real processes against the real controller API over a
 * temporary SQLite database served by the real local API server: subnets that do not overlap each
 * other or the host's routes, the gateway authorized at the lowest address and routed as the
 * default, destroy refusing while members remain (naming them) and cleaning up without them or
 * with --force, list output, and bad input answered in one line before anything is made.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cidrClaim, type AddressClaim } from '../../src/controller/zones.js';
import { parseCidr } from '../../src/controller/ip-assignment.js';
import { PROC_HOST, publishedPortText } from '../../src/cli/zone-commands.js';
import { expectOneLineError, fakeDaemonForSuite, runProgram, startFakeDaemon, type ProgramResult } from './harness.js';
import { removeDir, tempDir } from '../support/temp-dir.js';

function expectError(r: ProgramResult, code: number, pattern: RegExp): void {
  expectOneLineError(r, code, pattern, /^ztnc-cli: /);
}

function overlap(a: AddressClaim, b: AddressClaim): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

function claimOf(cidr: string): AddressClaim {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not a CIDR: ${cidr}`);
  return cidrClaim(c, cidr);
}

interface Made {
  nwid: string;
  subnet: string;
  gateway: { address: string; ip: string } | null;
}

describe('ztnc-cli zone commands', () => {
  const { home, daemon } = fakeDaemonForSuite({ controller: true });
  const cli = (...args: string[]): Promise<ProgramResult> => runProgram('ztnc-cli', ['-D', home, ...args]);
  const store = () => daemon().controller!.store;
  const create = async (...args: string[]): Promise<Made> => {
    const r = await cli('-j', 'zone', 'create', ...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Made;
  };

  it("zone create twice gives two private networks on subnets that overlap neither each other nor the host's routes", async () => {
    const r = await cli('zone', 'create', 'bz1', '--subnet', 'auto');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    const nwid1 = lines[0]!;
    expect(nwid1).toMatch(/^[0-9a-f]{16}$/);
    expect(lines[1]).toMatch(new RegExp(`^zone bz1: network ${nwid1}, subnet 10\\.\\d+\\.\\d+\\.0/24, no gateway$`));
    expect(lines).toContain(`  ztnc-cli -D <home> join ${nwid1}`);
    expect(lines).toContain(`  ztnc-intercept -D <home> -n ${nwid1} -- <program> [args]`);
    expect(lines.some((l) => l.startsWith('  ztnc-service'))).toBe(true);

    const second = await create('bz2');
    const n1 = store().getNetwork(nwid1)!;
    const n2 = store().getNetwork(second.nwid)!;
    expect(n1.name).toBe('zone:bz1');
    expect(n2.name).toBe('zone:bz2');
    expect(n1.private && n2.private).toBe(true);
    const s1 = n1.routes[0]!.target;
    expect(n1.routes).toEqual([{ target: s1, via: null }]);
    expect(n2.routes).toEqual([{ target: second.subnet, via: null }]);
    expect(overlap(claimOf(s1), claimOf(second.subnet))).toBe(false);
    for (const hostRoute of PROC_HOST.routes()) {
      expect(overlap(claimOf(s1), hostRoute), hostRoute.owner).toBe(false);
      expect(overlap(claimOf(second.subnet), hostRoute), hostRoute.owner).toBe(false);
    }
    expect(n2.v4AssignMode).toEqual({ zt: true });
  });

  it('zone create --gateway <address> authorizes it at the lowest address and routes the default via it', async () => {
    const made = await create('gw1', '--subnet', '10.250.3.0/24', '--gateway', '5F5C2B984A');
    expect(made.subnet).toBe('10.250.3.0/24');
    expect(made.gateway).toEqual({ address: '5f5c2b984a', ip: '10.250.3.1' });
    const n = store().getNetwork(made.nwid)!;
    expect(n.routes).toEqual([
      { target: '10.250.3.0/24', via: null },
      { target: '0.0.0.0/0', via: '10.250.3.1' },
    ]);
    expect(n.ipAssignmentPools).toEqual([{ ipRangeStart: '10.250.3.2', ipRangeEnd: '10.250.3.254' }]);
    const gw = store().getMember(made.nwid, '5f5c2b984a')!;
    expect(gw.authorized).toBe(true);
    expect(gw.ipAssignments).toEqual(['10.250.3.1']);
  });

  it("zone create --gateway <home> reads the member from the home's identity and joins its daemon", async () => {
    const gwHome = tempDir('ztnc-zone-gw-');
    writeFileSync(join(gwHome, 'identity.public'), '0a1b2c3d4e:0:00\n');
    const gwDaemon = await startFakeDaemon(gwHome);
    try {
      const r = await cli('zone', 'create', 'gw2', '--gateway', gwHome);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const nwid = r.stdout.split('\n')[0]!;
      expect(r.stdout).toMatch(/zone gw2: network [0-9a-f]{16}, subnet \S+, gateway 0a1b2c3d4e at \S+\.1 \(default route 0\.0\.0\.0\/0\)/);
      expect(r.stdout).toContain(`gateway: ztnc-service at ${gwHome} joined ${nwid}`);
      expect(r.stdout).toContain(`allowDefault=1`);
      // this stand-in daemon has no gateway API: the line says what to run
      expect(r.stdout).toContain(`gateway: make it the zone's gateway: ztnc-cli -D ${gwHome} gateway enable ${nwid}`);
      expect(gwDaemon.service.networksById.has(nwid)).toBe(true);
      expect(store().getMember(nwid, '0a1b2c3d4e')!.authorized).toBe(true);
    } finally {
      await gwDaemon.stop();
      removeDir(gwHome);
    }
    // a home without an identity is refused before anything is made
    const empty = tempDir('ztnc-zone-gw-');
    try {
      const before = store().listNetworkIds().length;
      expectError(await cli('zone', 'create', 'gw3', '--gateway', empty), 2, /--gateway: .*identity\.public not found/);
      expect(store().listNetworkIds()).toHaveLength(before);
    } finally {
      removeDir(empty);
    }
  });

  it('zone create answers bad names, subnets and clashes in one line, making nothing', async () => {
    const taken = (await create('clash', '--subnet', '10.251.0.0/16')).subnet;
    const before = store().listNetworkIds().length;
    expectError(await cli('zone', 'create', 'Bad_Name'), 2, /zone create: invalid zone name "Bad_Name": use lower-case letters/);
    expectError(await cli('zone', 'create'), 2, /zone create: missing zone name/);
    expectError(await cli('zone', 'create', 'a', 'b'), 2, /zone create: too many arguments/);
    expectError(await cli('zone', 'create', 'z', '--subnet', '10.1.2/24'), 2, /--subnet: "10\.1\.2\/24" is not an IPv4 or IPv6 CIDR/);
    expectError(await cli('zone', 'create', 'z', '--subnet', '8.8.8.0/24'), 2, /8\.8\.8\.0\/24 is not a private range/);
    expectError(
      await cli('zone', 'create', 'z', '--subnet', '10.251.7.0/24'),
      2,
      new RegExp(`overlaps zone clash \\(${taken.replace(/\./g, '\\.')}\\)`),
    );
    expectError(await cli('zone', 'create', 'z', '--gateway', 'xyz'), 2, /--gateway: "xyz" is neither a member address/);
    expectError(await cli('zone', 'create', 'clash'), 1, /zone create: zone clash already exists \(network [0-9a-f]{16}\)/);
    expectError(await cli('zone', 'create', 'z', '--force'), 2, /--force belongs to "zone destroy"/);
    expectError(await cli('zone', 'list', '--subnet', 'auto'), 2, /--subnet and --gateway belong to "zone create"/);
    expectError(await cli('net', 'create', '--subnet', 'auto'), 2, /--subnet, --gateway and --force belong to "zone"/);
    expectError(await cli('zone', 'rename'), 2, /zone: unknown subcommand "rename"/);
    expectError(await cli('zone'), 2, /zone: missing subcommand/);
    expect(store().listNetworkIds()).toHaveLength(before);
  });

  it('zone destroy refuses while members other than the gateway remain, naming them; --force removes them all', async () => {
    const made = await create('busy', '--gateway', '1111111111');
    const api = daemon().controller!;
    for (const [address, name] of [
      ['2222222222', 'web'],
      ['3333333333', ''],
    ] as const) {
      api.store.updateMember(made.nwid, address, (m) => {
        m.authorized = true;
        m.name = name;
        m.ipAssignments = [address === '2222222222' ? made.subnet.replace(/0\/\d+$/, '7') : made.subnet.replace(/0\/\d+$/, '8')];
      });
    }
    const r = await cli('zone', 'destroy', 'busy');
    expectError(
      r,
      1,
      /zone destroy: zone busy still has members: 2222222222 \(web\) \S+\.7, 3333333333 \S+\.8; remove them first or use --force/,
    );
    expect(r.stderr).not.toContain('1111111111');
    expect(store().hasNetwork(made.nwid)).toBe(true);
    expect(store().getMember(made.nwid, '2222222222')!.authorized).toBe(true);

    const forced = await cli('zone', 'destroy', 'busy', '--force');
    expect(forced).toEqual({ code: 0, stdout: `200 zone destroy OK busy ${made.nwid} (3 members removed)\n`, stderr: '' });
    expect(store().hasNetwork(made.nwid)).toBe(false);
    expect(store().getMember(made.nwid, '2222222222')).toBeFalsy();
    expectError(await cli('zone', 'destroy', 'busy'), 1, /zone destroy: no zone named busy \(zone list shows them\)/);
  });

  it('zone destroy of a zone with only its gateway (or nothing) removes it; an unauthorized request does not hold it', async () => {
    const withGateway = await create('lone', '--gateway', '4444444444');
    daemon().controller!.store.updateMember(withGateway.nwid, '5555555555', (m) => {
      m.authorized = false;
    });
    const r = await cli('-j', 'zone', 'destroy', 'lone');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ zone: 'lone', nwid: withGateway.nwid, removedMembers: ['4444444444', '5555555555'] });
    expect(store().hasNetwork(withGateway.nwid)).toBe(false);

    const empty = await create('empty');
    expect(await cli('zone', 'destroy', 'empty')).toEqual({
      code: 0,
      stdout: `200 zone destroy OK empty ${empty.nwid} (0 members removed)\n`,
      stderr: '',
    });
    expect(store().hasNetwork(empty.nwid)).toBe(false);
    expectError(await cli('zone', 'destroy', 'BAD'), 2, /invalid zone name "BAD"/);
  });

  it('zone list shows zones (not other networks) with subnet, gateway and members; -j as JSON', async () => {
    const other = await cli('net', 'create', '--name', 'plain', '--pool', '10.252.0.0/24');
    expect(other.code).toBe(0);
    const made = await create('listed', '--subnet', '10.253.1.0/24', '--gateway', '6666666666');
    daemon().controller!.store.updateMember(made.nwid, '7777777777', (m) => {
      m.authorized = true;
      m.ipAssignments = ['10.253.1.9'];
    });
    const r = await cli('zone', 'list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('200 zone list <name> <nwid> <subnet> <gateway> <members> <published>');
    expect(lines).toContain(`200 zone list listed ${made.nwid} 10.253.1.0/24 6666666666/10.253.1.1 7777777777/10.253.1.9 -`);
    expect(lines.some((l) => l.includes(' plain '))).toBe(false);
    const names = lines.slice(1).map((l) => l.split(' ')[3]);
    expect(names).toEqual([...names].sort());

    const j = JSON.parse((await cli('zone', 'list', '-j')).stdout) as Record<string, unknown>[];
    expect(j.find((z) => z.zone === 'listed')).toEqual({
      zone: 'listed',
      nwid: made.nwid,
      subnet: '10.253.1.0/24',
      gateway: { address: '6666666666', ip: '10.253.1.1' },
      members: [{ address: '7777777777', name: '', authorized: true, ipAssignments: ['10.253.1.9'] }],
      published: null,
    });
  });

  it('a daemon without a controller is told apart', async () => {
    const other = tempDir('ztnc-cli-');
    mkdirSync(other, { recursive: true });
    const plain = await startFakeDaemon(other);
    try {
      expectError(await runProgram('ztnc-cli', ['-D', other, 'zone', 'list']), 1, /zone list: this daemon has no network controller/);
    } finally {
      await plain.stop();
      removeDir(other);
    }
  });

  it('published ports are shown as the gateway API lists them', () => {
    const port = { nwid: 'x', protocol: 'tcp', hostAddr: '0.0.0.0', hostPort: 8080, target: '10.100.0.7', targetPort: 80, stats: {} };
    expect(publishedPortText(port)).toBe('tcp:0.0.0.0:8080->10.100.0.7:80');
    expect(publishedPortText({ ...port, protocol: 'udp', hostAddr: '::1' })).toBe('udp:[::1]:8080->10.100.0.7:80');
    expect(publishedPortText({})).toBe('?:?:?->?:?');
  });
});
