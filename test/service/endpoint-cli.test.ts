/**
 * `ztnc-cli -e <endpoint>` against a real daemon hosting endpoints: `ping -e` sends from that
 * endpoint's stack (endpoint to endpoint through the network); each endpoint orbits the moons in
 * its own `<home>/endpoints/<name>/moons.d` from the start, and `listmoons`, `orbit` and `deorbit`
 * with `-e` act on that endpoint's moons alone (orbit by seed fetches the moon from its root,
 * here another endpoint of the same daemon, and keeps it in the endpoint's moons.d).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMemoryHardHashWorker, Identity } from '../../src/node/index.js';
import { expectOneLineError, runProgram } from '../cli/harness.js';
import { createNetwork, killAll, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;

interface MoonJson {
  id: string;
  waiting: boolean;
  roots: { identity: string }[];
}
interface NetworkView {
  status: string;
  assignedAddresses: string[];
}

async function tool(name: 'ztnc-idtool' | 'ztnc-cli', args: string[], cwd?: string): Promise<string> {
  const r = await runProgram(name, args, cwd ? { cwd } : {});
  expect(r.code, `${name} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function endpointIp(daemon: Service, name: string, nwid: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await daemon.api('GET', `/endpoint/${name}/network/${nwid}`);
      const n = r.body as NetworkView;
      return r.status === 200 && n.status === 'OK' && n.assignedAddresses[0] ? n.assignedAddresses[0].split('/')[0]! : null;
    },
    NETWORK_TIMEOUT_MS,
    `an address for endpoint ${name}`,
  );
}

describe('ztnc-cli -e: ping and moons per endpoint', () => {
  const tmp = tempDir('ztnc-endpoint-cli-');
  const port = String(20000 + Math.floor(Math.random() * 20000));
  let root: Service;
  let d: Service;
  let nwid: string;
  let moonRoot: Identity; // endpoint e2's identity, the moon's root
  let worldId: string;
  let moonFile: string;
  const ip: Record<string, string> = {};
  const addr: Record<string, string> = {};
  const start = (): Promise<Service> => startService(join(tmp, 'd'), ['--planet', join(root.home, 'planet'), '-p', port]);

  beforeAll(async () => {
    [root, moonRoot] = await Promise.all([startRoot(join(tmp, 'root')), Identity.generate()]);
    nwid = await createNetwork(root, '10.98.0');
    d = await start();
    const e2 = await d.post<{ address: string }>('/endpoint/e2', { identity: moonRoot.toString(true) });
    const e1 = await d.post<{ address: string }>('/endpoint/e1');
    addr.e1 = e1.address;
    addr.e2 = e2.address;
    for (const name of ['e1', 'e2']) {
      await root.post(`/controller/network/${nwid}/member/${addr[name]}`, { authorized: true });
      await d.post(`/endpoint/${name}/network/${nwid}`, {});
    }
    // a moon whose root is e2, on the daemon's UDP port, made with the idtool as an operator would
    const moonDir = join(tmp, 'moon');
    mkdirSync(moonDir);
    writeFileSync(join(moonDir, 'identity.public'), `${moonRoot.toString(false)}\n`);
    const def = JSON.parse(await tool('ztnc-idtool', ['initmoon', 'identity.public'], moonDir)) as {
      id: string;
      roots: { stableEndpoints: string[] }[];
    };
    def.roots[0]!.stableEndpoints = [`127.0.0.1/${port}`];
    writeFileSync(join(moonDir, 'moon.json'), JSON.stringify(def));
    await tool('ztnc-idtool', ['genmoon', 'moon.json'], moonDir);
    worldId = def.id.padStart(16, '0');
    moonFile = join(moonDir, `${worldId}.moon`);
    for (const name of ['e1', 'e2']) ip[name] = await endpointIp(d, name, nwid);
  }, 300_000);

  afterAll(async () => {
    await killAll();
    await closeMemoryHardHashWorker();
  }, 60_000);

  it('ping -e sends from that endpoint: e1 reaches e2 through the network', async () => {
    const r = await waitFor(
      async () => {
        const x = await runProgram('ztnc-cli', ['-D', d.home, 'ping', '-e', 'e1', nwid, ip.e2!, '-c', '1']);
        return x.code === 0 ? x : null;
      },
      NETWORK_TIMEOUT_MS,
      'e1 reaching e2',
    );
    expect(r.stdout.split('\n')[0]).toBe(`PING ${ip.e2} on ${nwid} from endpoint e1: 56 data bytes`);
    expect(r.stdout).toMatch(/1 packets transmitted, 1 received/);
    // -e default is the daemon itself, which has not joined the network
    expectOneLineError(
      await runProgram('ztnc-cli', ['-D', d.home, 'ping', '-e', 'default', nwid, ip.e2!, '-c', '1']),
      1,
      /network .* not joined/,
    );
  });

  it('refuses -e naming no endpoint, a bad name, or on a command it does not belong to', async () => {
    expectOneLineError(
      await runProgram('ztnc-cli', ['-D', d.home, 'ping', '-e', 'nope', nwid, '10.98.0.1']),
      1,
      /no endpoint nope \(HTTP 404\)/,
    );
    expectOneLineError(await runProgram('ztnc-cli', ['-D', d.home, 'listmoons', '-e', 'Bad!']), 2, /-e: "Bad!" is not an endpoint name/);
    expectOneLineError(await runProgram('ztnc-cli', ['-D', d.home, '-e', 'e1', 'listnetworks']), 2, /-e belongs to "ping", "listmoons"/);
  });

  it("an endpoint orbits the moons in its own moons.d from the start; the daemon's own list is apart", async () => {
    copyFileSync(moonFile, join(d.home, 'endpoints', 'e2', 'moons.d', `${worldId}.moon`));
    await d.stop();
    d = await start();
    const e2Moons = JSON.parse(await tool('ztnc-cli', ['-D', d.home, 'listmoons', '-e', 'e2'])) as MoonJson[];
    expect(e2Moons.map((m) => [m.id, m.waiting])).toEqual([[worldId, false]]);
    expect(e2Moons[0]!.roots[0]!.identity).toBe(moonRoot.toString(false));
    expect(await d.get<MoonJson[]>('/moon')).toEqual([]);
    expect(await d.get<MoonJson[]>('/endpoint/e1/moon')).toEqual([]);
  }, 120_000);

  it('orbit -e fetches the moon from its seed into that endpoint’s moons.d; deorbit -e leaves it', async () => {
    const orbit = await runProgram('ztnc-cli', ['-D', d.home, 'orbit', '-e', 'e1', worldId, addr.e2!]);
    expect(orbit).toEqual({ code: 0, stdout: '200 orbit OK\n', stderr: '' });
    await waitFor(
      async () => {
        const list = JSON.parse(await tool('ztnc-cli', ['-D', d.home, 'listmoons', '-e', 'e1'])) as MoonJson[];
        return list.length === 1 && !list[0]!.waiting ? list : null;
      },
      60_000,
      'e1 fetching the moon from e2',
    );
    const saved = join(d.home, 'endpoints', 'e1', 'moons.d', `${worldId}.moon`);
    expect(readFileSync(saved).equals(readFileSync(moonFile))).toBe(true);
    expect(existsSync(join(d.home, 'moons.d', `${worldId}.moon`))).toBe(false);
    expect(await d.get<MoonJson[]>('/moon')).toEqual([]);

    const deorbit = await runProgram('ztnc-cli', ['-D', d.home, 'deorbit', '-e', 'e1', worldId]);
    expect(deorbit).toEqual({ code: 0, stdout: '200 deorbit OK\n', stderr: '' });
    expect(existsSync(saved)).toBe(false);
    expect(await d.get<MoonJson[]>('/endpoint/e1/moon')).toEqual([]);
    // e2, the moon's root, keeps it
    expect((await d.get<MoonJson[]>('/endpoint/e2/moon')).map((m) => m.id)).toEqual([worldId]);
  }, 120_000);
});
