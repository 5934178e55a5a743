/**
 * ztnc-cli and ztnc-idtool against real ztnc-service processes on loopback: a private root and
 * controller, a member that joins through the CLI and is authorized through `net authorize`
 * until it has its address, and a root whose identity and planet come from ztnc-idtool.
 */
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, serviceEnv, startService, tempDir, waitFor, type Service } from '../service/service-harness.js';
import { runProgram, type ProgramResult, expectOneLineError } from './harness.js';

const WAIT_MS = 90_000;
/** Two daemon start-ups and the waits for an address, on a loaded machine. */
const TEST_TIMEOUT_MS = 300_000;

function cli(home: string, ...args: string[]): Promise<ProgramResult> {
  return runProgram('ztnc-cli', ['-D', home, ...args]);
}

function expectError(r: ProgramResult, code: number, pattern: RegExp): void {
  expectOneLineError(r, code, pattern);
}

/** A UDP port free right now (bound to port 0, then released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `ztnc-cli listnetworks` until the network's line has status OK and an address. */
async function waitForAddress(home: string, nwid: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await cli(home, 'listnetworks');
      const line = r.stdout.split('\n').find((l) => l.startsWith(`200 listnetworks ${nwid} `));
      const f = line?.split(' ');
      return f && f[5] === 'OK' && f[8] !== '-' ? f[8]! : null;
    },
    WAIT_MS,
    `network ${nwid} to be OK with an address in ${home}`,
  );
}

describe('ztnc-cli against real daemons', () => {
  afterAll(async () => {
    await killAll();
  });

  it(
    'drives a root, a controller network and a member from the command line',
    async () => {
      const rootHome = tempDir('ztnc-cli-root-');
      const memberHome = tempDir('ztnc-cli-member-');
      const root: Service = await startService(rootHome, ['--private-planet']);
      const rootAddress = await root.address();

      const info = await cli(rootHome, 'info');
      expect(info.code).toBe(0);
      expect(info.stdout).toMatch(new RegExp(`^200 info ${rootAddress} \\d+\\.\\d+\\.\\d+ (ONLINE|OFFLINE)\\n$`));
      const infoJson = JSON.parse((await cli(rootHome, '-j', 'info')).stdout) as Record<string, unknown>;
      expect(infoJson.address).toBe(rootAddress);

      const created = await cli(rootHome, 'net', 'create', '--name', 'cli-e2e', '--pool', '10.93.0.0/24');
      expect(created.code).toBe(0);
      const nwid = created.stdout.trim();
      expect(nwid).toMatch(new RegExp(`^${rootAddress}[0-9a-f]{6}$`));
      expect((await cli(rootHome, 'net', 'list')).stdout).toContain(`200 net list ${nwid} cli-e2e PRIVATE 0/0 10.93.0.1-10.93.0.254\n`);

      const member = await startService(memberHome, ['--planet', join(rootHome, 'planet')]);
      const memberAddress = await member.address();
      expect(await cli(memberHome, 'join', nwid)).toEqual({ code: 0, stdout: '200 join OK\n', stderr: '' });
      expect(existsSync(join(memberHome, 'networks.d', `${nwid}.conf`))).toBe(true);

      // Not authorized yet: the member asks and is refused (or is still asking).
      const before = await cli(memberHome, 'listnetworks');
      expect(before.stdout).toMatch(
        new RegExp(`^200 listnetworks ${nwid} \\S+ [0-9a-f:]{17} (REQUESTING_CONFIGURATION|ACCESS_DENIED) PRIVATE \\S+ -$`, 'm'),
      );

      // and has no address to ping from yet
      expectError(
        await cli(memberHome, 'ping', nwid, '10.93.0.1'),
        1,
        new RegExp(`^ztnc-cli: ping: network ${nwid} has no address yet \\(status [A-Z_]+\\) \\(HTTP 409\\)$`),
      );

      expect(await cli(rootHome, 'net', 'authorize', nwid, memberAddress)).toEqual({
        code: 0,
        stdout: '200 net authorize OK\n',
        stderr: '',
      });
      const ip = await waitForAddress(memberHome, nwid);
      expect(ip).toMatch(/^10\.93\.0\.\d+\/24$/);
      expect((await cli(memberHome, 'get', nwid, 'ip4')).stdout).toBe(`${ip.split('/')[0]}\n`);
      // its stack answers a ping to its own address
      const ping = await cli(memberHome, 'ping', nwid, ip.split('/')[0]!, '-c', '1');
      expect(ping.code, ping.stderr).toBe(0);
      expect(ping.stdout).toContain('\n1 packets transmitted, 1 received, 0% packet loss\n');
      expectError(
        await cli(memberHome, 'ping', '0000000000000001', ip.split('/')[0]!),
        1,
        /network 0000000000000001 not joined \(HTTP 404\)/,
      );

      const shown = await cli(rootHome, 'net', 'show', nwid);
      expect(shown.stdout).toContain(`200 net member ${memberAddress} AUTHORIZED ${ip.split('/')[0]} -\n`);

      const peers = await waitFor(
        async () => {
          const r = await cli(memberHome, 'listpeers');
          return r.stdout.split('\n').find((l) => l.startsWith(`200 listpeers ${rootAddress} `)) ?? null;
        },
        WAIT_MS,
        "the root in the member's listpeers",
      );
      expect(peers).toMatch(
        new RegExp(`^200 listpeers ${rootAddress} 127\\.0\\.0\\.1/\\d+;-?\\d+;-?\\d+ -?\\d+ \\d+\\.\\d+\\.\\d+ PLANET$`),
      );

      // allowManaged=0 hides the managed address; =1 brings it back
      const off = await cli(memberHome, 'set', nwid, 'allowManaged=0');
      expect(off.code).toBe(0);
      expect(JSON.parse(off.stdout)).toMatchObject({ nwid, allowManaged: false, assignedAddresses: [] });
      const on = await cli(memberHome, 'set', nwid, 'allowManaged=1');
      expect(JSON.parse(on.stdout)).toMatchObject({ nwid, allowManaged: true });

      expect(await cli(memberHome, 'listmoons')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
      // orbit by seed: the moon is asked for (the root holds none, so it stays waiting), deorbit forgets it
      const orbit = await cli(memberHome, '-j', 'orbit', rootAddress, rootAddress);
      expect(orbit.code).toBe(0);
      expect(JSON.parse(orbit.stdout)).toMatchObject({ id: `000000${rootAddress}`, waiting: true, seed: rootAddress, roots: [] });
      expect(await cli(memberHome, 'deorbit', rootAddress)).toEqual({ code: 0, stdout: '200 deorbit OK\n', stderr: '' });
      expectError(await cli(memberHome, '-T', 'not-the-token', 'listnetworks'), 1, /refused the auth token from -T \(HTTP 401\)/);
      expectError(await cli(memberHome, 'net', 'list'), 1, /this daemon has no network controller/);
      expectError(await cli(memberHome, 'leave', '0000000000000001'), 1, /not joined \(HTTP 404\)/);

      expect(await cli(memberHome, 'leave', nwid)).toEqual({ code: 0, stdout: '200 leave OK\n', stderr: '' });
      expect(existsSync(join(memberHome, 'networks.d', `${nwid}.conf`))).toBe(false);
      expect((await cli(memberHome, 'listnetworks')).stdout).toBe(
        '200 listnetworks <nwid> <name> <mac> <status> <type> <dev> <ZT assigned ips>\n',
      );

      expect((await cli(rootHome, 'net', 'deauthorize', nwid, memberAddress)).code).toBe(0);
      expect(await cli(rootHome, 'net', 'delete', nwid)).toEqual({ code: 0, stdout: '200 net delete OK\n', stderr: '' });
      expectError(await cli(rootHome, 'net', 'show', nwid), 1, /not found \(HTTP 404\)/);

      // A stopped daemon: its port no longer answers.
      const oldPort = member.apiPort;
      expect((await member.stop()).code).toBe(0);
      expectError(await cli(memberHome, '-p', String(oldPort), 'info'), 1, /connection refused; is the daemon running\?/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'runs a root from an identity and a planet made with ztnc-idtool',
    async () => {
      const rootHome = tempDir('ztnc-idtool-root-');
      const memberHome = tempDir('ztnc-idtool-member-');
      const work = tempDir('ztnc-idtool-work-');
      const idtool = (...args: string[]): Promise<ProgramResult> => runProgram('ztnc-idtool', args, { cwd: work });

      expect((await idtool('generate', join(rootHome, 'identity.secret'), join(rootHome, 'identity.public'))).code).toBe(0);
      const rootAddress = readFileSync(join(rootHome, 'identity.public'), 'utf8').slice(0, 10);
      writeFileSync(join(rootHome, 'local.conf'), JSON.stringify({ settings: { controllerEnabled: true } }));

      let root: Service | null = null;
      let planetId = '';
      // The root's UDP port goes into the planet before the daemon binds it: retry if it was taken.
      for (let attempt = 0; attempt < 5 && !root; attempt++) {
        const port = await freeUdpPort();
        const init = await idtool('initplanet', join(rootHome, 'identity.public'), `127.0.0.1/${port}`);
        expect(init.code).toBe(0);
        planetId = (JSON.parse(init.stdout) as { id: string }).id;
        writeFileSync(join(work, 'planet.json'), init.stdout);
        expect((await idtool('genplanet', 'planet.json', 'made.planet')).code).toBe(0);
        try {
          root = await startService(rootHome, ['--planet', join(work, 'made.planet'), '-p', String(port)], serviceEnv());
        } catch {
          root = null;
        }
      }
      expect(root).not.toBeNull();
      const status = JSON.parse((await cli(rootHome, '-j', 'info')).stdout) as { address: string; planetWorldId: number };
      expect(status.address).toBe(rootAddress);
      expect(BigInt(status.planetWorldId)).toBe(BigInt(`0x${planetId}`));

      const nwid = (await cli(rootHome, 'net', 'create', '--pool', '10.94.0.0/24')).stdout.trim();
      expect(nwid).toMatch(new RegExp(`^${rootAddress}[0-9a-f]{6}$`));
      const member = await startService(memberHome, ['--planet', join(work, 'made.planet')]);
      expect((await cli(memberHome, 'join', nwid)).code).toBe(0);
      expect((await cli(rootHome, 'net', 'authorize', nwid, await member.address())).code).toBe(0);
      expect(await waitForAddress(memberHome, nwid)).toMatch(/^10\.94\.0\.\d+\/24$/);
    },
    TEST_TIMEOUT_MS,
  );
});
