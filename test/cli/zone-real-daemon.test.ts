/**
 * `ztnc-cli zone …` against real ztnc-service processes on loopback: a private root and controller,
 * a gateway daemon named by its home and a member. The gateway joins at once, gets the subnet's
 * lowest address and the default route via itself in its config; destroy refuses while the member
 * is in, and with --force revokes both.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assignedIp, killAll, startService, tempDir, waitFor } from '../service/service-harness.js';
import { runProgram, expectOneLineError, type ProgramResult } from './harness.js';

const WAIT_MS = 90_000;
/** Three daemon start-ups and the waits for addresses, on a loaded machine. */
const TEST_TIMEOUT_MS = 300_000;

function cli(home: string, ...args: string[]): Promise<ProgramResult> {
  return runProgram('ztnc-cli', ['-D', home, ...args]);
}

describe('ztnc-cli zone against real daemons', () => {
  afterAll(async () => {
    await killAll();
  });

  it(
    'makes a zone whose gateway joins with the lowest address as the default route, and removes it',
    async () => {
      const rootHome = tempDir('ztnc-zone-root-');
      const gwHome = tempDir('ztnc-zone-gw-');
      const memberHome = tempDir('ztnc-zone-member-');
      await startService(rootHome, ['--private-planet']);
      const planet = join(rootHome, 'planet');
      const gateway = await startService(gwHome, ['--planet', planet]);
      const member = await startService(memberHome, ['--planet', planet]);
      const gwAddress = await gateway.address();
      const memberAddress = await member.address();

      const made = await cli(rootHome, 'zone', 'create', 'edge', '--gateway', gwHome);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(0);
      const nwid = made.stdout.split('\n')[0]!;
      const m = new RegExp(`^zone edge: network ${nwid}, subnet (\\d+\\.\\d+\\.\\d+)\\.0/24, gateway ${gwAddress} at \\1\\.1 `, 'm').exec(
        made.stdout,
      );
      expect(m, made.stdout).not.toBeNull();
      const prefix = m![1]!;
      expect(made.stdout).toContain(`gateway: ztnc-service at ${gwHome} joined ${nwid}`);

      expect(await assignedIp(gateway, nwid, WAIT_MS)).toBe(`${prefix}.1`);
      const gwNet = await gateway.get<{ routes: { target: string; via: string | null }[] }>(`/network/${nwid}`);
      expect(gwNet.routes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ target: `${prefix}.0/24`, via: null }),
          expect.objectContaining({ target: '0.0.0.0/0', via: `${prefix}.1` }),
        ]),
      );

      expect((await cli(memberHome, 'join', nwid)).code).toBe(0);
      expect((await cli(rootHome, 'net', 'authorize', nwid, memberAddress)).code).toBe(0);
      const memberIp = await assignedIp(member, nwid, WAIT_MS);
      expect(memberIp.startsWith(`${prefix}.`)).toBe(true);
      expect(memberIp).not.toBe(`${prefix}.1`);

      const list = await cli(rootHome, 'zone', 'list');
      expect(list.stdout).toContain(`200 zone list edge ${nwid} ${prefix}.0/24 ${gwAddress}/${prefix}.1 ${memberAddress}/${memberIp} `);

      expectOneLineError(
        await cli(rootHome, 'zone', 'destroy', 'edge'),
        1,
        new RegExp(`zone edge still has members: ${memberAddress} ${memberIp.replace(/\./g, '\\.')}; remove them first or use --force`),
      );
      const destroyed = await cli(rootHome, 'zone', 'destroy', 'edge', '--force');
      expect(destroyed).toEqual({ code: 0, stdout: `200 zone destroy OK edge ${nwid} (2 members removed)\n`, stderr: '' });
      for (const s of [gateway, member]) {
        await waitFor(
          async () => {
            const n = await s.get<{ status: string }>(`/network/${nwid}`);
            return n.status !== 'OK' ? n.status : null;
          },
          WAIT_MS,
          `${s.home} to lose ${nwid}`,
        );
      }
      expect((await cli(rootHome, 'zone', 'list')).stdout).toBe('200 zone list <name> <nwid> <subnet> <gateway> <members> <published>\n');
    },
    TEST_TIMEOUT_MS,
  );
});
