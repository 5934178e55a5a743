/**
 * Moons between real daemons on loopback, as with zerotier-one: a moon made with `ztnc-idtool
 * initmoon`/`genmoon` for daemon M sits in M's moons.d, so M orbits (and serves) it from the start;
 * member A runs `ztnc-cli orbit <world id> <M's address>`: A asks M for the moon (WHOIS through the
 * planet's root, then a HELLO naming it), orbits it and keeps it in moons.d/<id>.moon, byte for
 * byte the file genmoon wrote; `listmoons` shows it with M as a root; a restarted A orbits it again
 * from moons.d; `deorbit` leaves it and removes the file.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProgram } from '../cli/harness.js';
import { killAll, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

interface MoonJson {
  id: string;
  waiting: boolean;
  timestamp: number;
  roots: { identity: string; stableEndpoints: string[] }[];
}

afterAll(async () => {
  await killAll();
}, 60_000);

async function tool(name: 'ztnc-idtool' | 'ztnc-cli', args: string[], cwd?: string): Promise<string> {
  const r = await runProgram(name, args, cwd ? { cwd } : {});
  expect(r.code, `${name} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('moons between real daemons', () => {
  it('orbit by seed fetches the moon from its root, keeps it in moons.d, and deorbit leaves it', async () => {
    const tmp = tempDir('ztnc-moons-');
    const root: Service = await startRoot(join(tmp, 'root'));
    const planet = join(root.home, 'planet');

    // M's identity and moon, made before M starts, as an operator does with stock's tools
    const mHome = join(tmp, 'm');
    mkdirSync(join(mHome, 'moons.d'), { recursive: true, mode: 0o700 });
    await tool('ztnc-idtool', ['generate', 'identity.secret', 'identity.public'], mHome);
    const mPort = 20000 + Math.floor(Math.random() * 20000);
    const def = JSON.parse(await tool('ztnc-idtool', ['initmoon', 'identity.public'], mHome)) as {
      id: string;
      roots: { stableEndpoints: string[] }[];
    };
    def.roots[0]!.stableEndpoints = [`127.0.0.1/${mPort}`];
    writeFileSync(join(tmp, 'moon.json'), JSON.stringify(def));
    await tool('ztnc-idtool', ['genmoon', 'moon.json'], tmp);
    const worldId = def.id.padStart(16, '0');
    const moonFile = join(tmp, `${worldId}.moon`);
    copyFileSync(moonFile, join(mHome, 'moons.d', `${worldId}.moon`));
    const m = await startService(mHome, ['--planet', planet, '-p', String(mPort)]);
    const mAddress = await m.address();
    expect(def.id).toBe(mAddress);
    expect((await m.get<MoonJson[]>('/moon')).map((x) => x.id)).toEqual([worldId]);

    const a = await startService(join(tmp, 'a'), ['--planet', planet]);
    const orbit = await runProgram('ztnc-cli', ['-D', a.home, 'orbit', worldId, mAddress]);
    expect(orbit).toEqual({ code: 0, stdout: '200 orbit OK\n', stderr: '' });
    const fetched = await waitFor(
      async () => {
        const list = JSON.parse(await tool('ztnc-cli', ['-D', a.home, 'listmoons'])) as MoonJson[];
        return list.length === 1 && !list[0]!.waiting ? list[0]! : null;
      },
      60_000,
      "A fetching the moon from M's daemon",
    );
    expect(fetched).toMatchObject({ id: worldId, waiting: false, roots: [{ stableEndpoints: [`127.0.0.1/${mPort}`] }] });
    expect(fetched.roots[0]!.identity.startsWith(`${mAddress}:0:`)).toBe(true);
    const saved = join(a.home, 'moons.d', `${worldId}.moon`);
    expect(readFileSync(saved).equals(readFileSync(moonFile))).toBe(true);
    // A takes M as a root now: listpeers' role MOON, as stock's
    await waitFor(
      async () => (await a.get<{ address: string; role: string }[]>('/peer')).find((p) => p.address === mAddress)?.role === 'MOON',
      30_000,
      'M a moon root to A',
    );

    // a restart orbits it again from moons.d
    await a.stop();
    const a2 = await startService(a.home, ['--planet', planet]);
    const again = JSON.parse(await tool('ztnc-cli', ['-D', a2.home, 'listmoons'])) as MoonJson[];
    expect(again.map((x) => [x.id, x.waiting])).toEqual([[worldId, false]]);

    expect(await tool('ztnc-cli', ['-D', a2.home, 'deorbit', worldId])).toBe('200 deorbit OK\n');
    expect(existsSync(saved)).toBe(false);
    expect(JSON.parse(await tool('ztnc-cli', ['-D', a2.home, 'listmoons']))).toEqual([]);
    const gone = await runProgram('ztnc-cli', ['-D', a2.home, 'deorbit', worldId]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/not orbited \(HTTP 404\)/);
    // bad input is a clear 400
    expect((await a2.api('POST', '/moon/xyz', { seed: mAddress })).status).toBe(400);
    expect((await a2.api('POST', `/moon/${worldId}`, { seed: 'not-an-address' })).status).toBe(400);
  }, 240_000);
});
