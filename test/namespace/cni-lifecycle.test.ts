/**
 * ztnc-cni beyond one ADD and DEL (root: network namespaces and TAP devices): container ids that
 * share their first 12 characters are separate members; CNI_ARGS' IP is honoured when the
 * controller assigned the address and refused with the spec's error otherwise; a config change
 * at the controller after ADD (a new address) reaches the container's interface; DEL with the
 * daemon down removes the endpoint's directory, so the container does not come back as a member
 * when the daemon starts again. Runs dist/ (npm run build:ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointName } from '../../src/namespace/cni-commands.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { killAll, startService, waitFor, type Service } from '../service/service-harness.js';
import { CNI, memberHome, runCni, startContainerRig, type ContainerRig } from './container-rig.js';

const req = combine(needRootNetns(), needPrograms('busybox', 'nsenter', 'python3'), {
  ok: existsSync(CNI),
  reason: `needs the build (${CNI}): npm run build:ts`,
});

/** Pids of processes whose command line mentions `text` (the kept namespace agent names its endpoint). */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const addressesIn = (ns: string): string =>
  spawnSync('ip', ['-n', ns, '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;

describe.runIf(requireOrSkip(req, 'ztnc-cni lifecycle'))('ztnc-cni: ids, CNI_ARGS, config changes, DEL without a daemon', () => {
  let rig: ContainerRig;
  const namespaces: string[] = [];
  const conf = (home = rig.c.home): Record<string, unknown> => ({
    cniVersion: '1.0.0',
    name: 'ztnc-life',
    type: 'ztnc',
    network: rig.nwid,
    home,
    planet: join(rig.root.home, 'planet'),
  });
  const netns = (): string => {
    const name = `ztnc-life-${process.pid}-${namespaces.length}`;
    const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
    namespaces.push(name);
    return name;
  };
  const env = (command: string, id: string, ns: string, args = ''): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: `/var/run/netns/${ns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/nonexistent',
    ...(args ? { CNI_ARGS: args } : {}),
  });
  const addressOf = (r: { out: Record<string, unknown> | null }): string =>
    (r.out!.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
  /** Creates container `id`'s endpoint on C before ADD (ADD takes it over) and gives it `ip` at the controller. */
  const preassign = async (id: string, ip: string): Promise<void> => {
    const ep = await rig.c.post<{ address: string }>(`/endpoint/${endpointName(id)}`);
    await rig.root.post(`/controller/network/${rig.nwid}/member/${ep.address}`, { authorized: true, ipAssignments: [ip] });
  };

  beforeAll(async () => {
    rig = await startContainerRig('10.97.0');
  }, 180_000);

  afterAll(async () => {
    if (rig?.server.pid) rig.server.kill();
    for (const n of namespaces) spawnSync('ip', ['netns', 'del', n]);
    await killAll();
  });

  it('containers whose ids share their first 12 characters are two members, each DEL removing its own', async () => {
    const [nsA, nsB] = [netns(), netns()];
    const [idA, idB] = ['0123456789abAAAA', '0123456789abBBBB'];
    const ra = await runCni(env('ADD', idA, nsA), conf());
    const rb = await runCni(env('ADD', idB, nsB), conf());
    expect([ra.out, rb.code]).toMatchObject([{ ips: expect.any(Array) }, 0]);
    expect(addressOf(ra)).not.toBe(addressOf(rb));
    const names = (await rig.c.get<Array<{ name: string }>>('/endpoint')).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining([endpointName(idA), endpointName(idB)]));
    expect((await runCni(env('DEL', idA, nsA), conf())).code).toBe(0);
    expect((await rig.c.api('GET', `/endpoint/${endpointName(idA)}`)).status).toBe(404);
    expect((await rig.c.api('GET', `/endpoint/${endpointName(idB)}/network/${rig.nwid}`)).status).toBe(200);
    expect(addressesIn(nsB)).toContain(`inet ${addressOf(rb)}/24`);
    expect((await runCni(env('DEL', idB, nsB), conf())).code).toBe(0);
  }, 120_000);

  it('CNI_ARGS IP= is the address when the controller assigned it, and a clear error when it did not', async () => {
    const ns = netns();
    await preassign('with-ip', '10.97.0.77');
    const ok = await runCni(env('ADD', 'with-ip', ns, 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.97.0.77'), conf());
    expect(ok.code).toBe(0);
    expect(addressOf(ok)).toBe('10.97.0.77');
    expect((await runCni(env('DEL', 'with-ip', ns), conf())).code).toBe(0);

    const ns2 = netns();
    const refused = await runCni(env('ADD', 'other-ip', ns2, 'IP=10.97.0.78'), conf());
    expect(refused.out).toMatchObject({ code: 102, msg: expect.stringContaining('10.97.0.78') });
    expect((await rig.c.api('GET', `/endpoint/${endpointName('other-ip')}`)).status).toBe(404);
    expect(spawnSync('ip', ['-n', ns2, 'link', 'show', 'dev', 'eth0']).status).not.toBe(0);
    const malformed = await runCni(env('ADD', 'other-ip', ns2, 'IP=10.97.0'), conf());
    expect(malformed.out).toMatchObject({ code: 4, msg: expect.stringContaining('IP') });
    const unknown = await runCni(env('ADD', 'other-ip', ns2, 'MAC=02:00:00:00:00:01'), conf());
    expect(unknown.out).toMatchObject({ code: 4, msg: expect.stringContaining('MAC') });
  }, 120_000);

  it("a new address from the controller after ADD is applied in the container's namespace", async () => {
    const ns = netns();
    const added = await runCni(env('ADD', 'changing', ns), conf());
    expect(added.code).toBe(0);
    const first = addressOf(added);
    const member = (await rig.c.get<{ address: string }>(`/endpoint/${endpointName('changing')}`)).address;
    expect(processesWith(endpointName('changing')).length).toBe(1); // the agent kept in the namespace
    await rig.root.post(`/controller/network/${rig.nwid}/member/${member}`, { ipAssignments: ['10.97.0.99'] });
    await waitFor(async () => addressesIn(ns).includes('inet 10.97.0.99/24'), 30_000, 'the new address inside the namespace');
    await waitFor(async () => !addressesIn(ns).includes(`inet ${first}/`), 30_000, 'the old address gone');
    // the interface still carries traffic with it
    const get = spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'wget', '-q', '-O', '-', rig.url], { encoding: 'utf8', timeout: 60_000 });
    expect(get.status).toBe(0);
    expect((await runCni(env('DEL', 'changing', ns), conf())).code).toBe(0);
    await waitFor(async () => spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', 'eth0']).status !== 0, 10_000, 'eth0 gone');
    await waitFor(async () => processesWith(endpointName('changing')).length === 0, 10_000, 'the kept agent ended by DEL');
  }, 120_000);

  it('DEL with the daemon down removes the endpoint, which does not come back when the daemon starts', async () => {
    const home = memberHome();
    const d: Service = await startService(home, ['--planet', join(rig.root.home, 'planet')]);
    const ns = netns();
    expect((await runCni(env('ADD', 'offline-del', ns), conf(home))).code).toBe(0);
    const endpointDir = join(home, 'endpoints', endpointName('offline-del'));
    expect(existsSync(endpointDir)).toBe(true);
    d.proc!.kill('SIGTERM');
    await waitFor(async () => d.proc!.exitCode !== null || d.proc!.signalCode !== null, 30_000, 'the daemon stopped');
    const del = await runCni(env('DEL', 'offline-del', ns), conf(home));
    expect(del.stdout).toBe('');
    expect(del.code).toBe(0);
    expect(existsSync(endpointDir)).toBe(false);
    expect(readdirSync(join(home, 'cni', 'ztnc-life'))).toEqual([]);
    const again = await startService(home, ['--planet', join(rig.root.home, 'planet')]);
    expect((await again.get<Array<{ name: string }>>('/endpoint')).map((e) => e.name)).toEqual(['default']);
  }, 120_000);
});
