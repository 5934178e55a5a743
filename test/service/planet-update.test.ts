/**
 * Planet updates between real daemons on loopback: root R runs on planet v2 (v1 one second later,
 * with a second stable endpoint and a new update key, signed with v1's key, as mkworld makes an
 * update); member A starts with `--planet v1`. R's OK(HELLO) brings A to v2: /status shows it and
 * A's home `planet` is v2 byte for byte. A restarted with `--planet v1` again stays on v2.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivatePlanet, encodeWorld, generateKeyPair, Identity, signWorld } from '../../src/node/index.js';
import { runProgram } from '../cli/harness.js';
import { killAll, startService, tempDir, waitFor } from './service-harness.js';

afterAll(async () => {
  await killAll();
}, 60_000);

interface Status {
  planetWorldId: number;
  planetWorldTimestamp: number;
}

describe('planet updates between real daemons', () => {
  it('a member on v1 takes v2 from its root, keeps it in its home, and a restart with v1 does not undo it', async () => {
    const tmp = tempDir('ztnc-planet-update-');
    const rootHome = join(tmp, 'root');
    mkdirSync(rootHome, { mode: 0o700 });
    const gen = await runProgram('ztnc-idtool', ['generate', 'identity.secret', 'identity.public'], { cwd: rootHome });
    expect(gen.code, gen.stderr).toBe(0);
    const rootId = Identity.fromString(readFileSync(join(rootHome, 'identity.public'), 'utf8').trim());
    const port = 20000 + Math.floor(Math.random() * 20000);
    const made = createPrivatePlanet({
      id: 0x1234567n,
      timestamp: BigInt(Date.now() - 60_000),
      roots: [
        { address: rootId.address, publicKey: Buffer.from(rootId.publicKey), stableEndpoints: [{ family: 4, ip: '127.0.0.1', port }] },
      ],
    });
    if (!made.ok) throw new Error(made.error);
    const v1 = made.value.world;
    const v2 = signWorld(
      {
        ...v1,
        timestamp: v1.timestamp + 1000n,
        updatesMustBeSignedBy: generateKeyPair().publicKey,
        roots: [{ ...v1.roots[0]!, stableEndpoints: [...v1.roots[0]!.stableEndpoints, { family: 4, ip: '127.0.0.2', port }] }],
      },
      made.value.signingKey,
    );
    const v1File = join(tmp, 'planet.v1');
    const v2File = join(tmp, 'planet.v2');
    writeFileSync(v1File, made.value.serialized);
    writeFileSync(v2File, encodeWorld(v2));

    const root = await startService(rootHome, ['--planet', v2File, '-p', String(port)]);
    expect((await root.get<Status>('/status')).planetWorldTimestamp).toBe(Number(v2.timestamp));

    const aHome = join(tmp, 'a');
    let a = await startService(aHome, ['--planet', v1File]);
    await waitFor(
      async () => (await a.get<Status>('/status')).planetWorldTimestamp === Number(v2.timestamp),
      60_000,
      'A taking v2 from its root',
    );
    await waitFor(() => readFileSync(join(aHome, 'planet')).equals(encodeWorld(v2)), 10_000, "v2 in A's home");
    expect(a.output).toMatch(/planet updated/);
    expect(a.output).toMatch(/planet update kept/);

    await a.stop();
    a = await startService(aHome, ['--planet', v1File]);
    const st = await a.get<Status>('/status');
    expect(st.planetWorldId).toBe(Number(v1.id));
    expect(st.planetWorldTimestamp).toBe(Number(v2.timestamp));
    expect(readFileSync(join(aHome, 'planet')).equals(encodeWorld(v2))).toBe(true);
    // signed with v1's key while naming another: said in the log, not refused
    expect(a.output).toMatch(/signed by an earlier update key/);
  });
});
