/**
 * ztnc-cni driven as a CNI runtime drives it (root: network namespaces and TAP devices): the
 * command and parameters in the environment, the network config on stdin, the answer on stdout.
 * A private root+controller with a public network, member A in library mode serving HTTP through
 * libztintercept.so, and the plugin's home C, whose daemon gives each container its own endpoint
 * (member). ADD puts eth0 into a namespace made here (`ip netns add`) with the container's managed
 * address and returns the spec's result; a static busybox inside fetches A's file; two containers
 * are separate members that reach each other; CHECK passes; DEL removes the interface and the
 * endpoint, twice without error; GC removes what the runtime no longer lists; STATUS starts a
 * daemon that is not running. Runs dist/ (npm run build:ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointName } from '../../src/namespace/cni-commands.js';
import { interceptLibrary, ROOT } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { CNI, runCni as cni } from './container-rig.js';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  killAll,
  serviceEnv,
  startRoot,
  startService,
  tempDir,
  trackDaemon,
  waitFor,
  type Service,
} from '../service/service-harness.js';

const req = combine(needRootNetns(), needPrograms('busybox', 'nsenter', 'python3'), {
  ok: existsSync(CNI),
  reason: `needs the build (${CNI}): npm run build:ts`,
});

function ipIn(ns: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe.runIf(requireOrSkip(req, 'ztnc-cni namespaces'))('ztnc-cni ADD/CHECK/DEL/GC/STATUS', () => {
  let root: Service;
  let a: Service;
  let c: Service;
  let nwid: string;
  let aIp: string;
  let server: ChildProcess;
  const namespaces: string[] = [];
  const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.1.0',
    name: 'ztnc-test',
    type: 'ztnc',
    network: nwid,
    home: c.home,
    ...extra,
  });
  /** A fresh named network namespace; its path (what a runtime passes as CNI_NETNS). */
  const netns = (): { name: string; path: string } => {
    const name = `ztnc-cni-${process.pid}-${namespaces.length}`;
    const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
    namespaces.push(name);
    return { name, path: `/var/run/netns/${name}` };
  };
  const env = (command: string, id: string, path: string): Record<string, string> => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: path,
    CNI_IFNAME: 'eth0',
    CNI_PATH: join(ROOT, 'dist', 'src', 'cli'),
  });

  /** The container's endpoint on C (ztnc-cni names it from the container id) and its network's API path. */
  const endpointOf = endpointName;
  const memberNetwork = (id: string): string => `/endpoint/${endpointOf(id)}/network/${nwid}`;

  const memberHome = (): string => {
    const h = tempDir('ztnc-cni-');
    writeFileSync(join(h, 'local.conf'), '{"settings":{"allowLoopbackPaths":true}}');
    return h;
  };

  beforeAll(async () => {
    root = await startRoot(tempDir('ztnc-cni-root-'));
    nwid = await createNetwork(root, '10.94.0');
    a = await startService(memberHome(), ['--planet', join(root.home, 'planet')]);
    c = await startService(memberHome(), ['--planet', join(root.home, 'planet')]);
    await a.post(`/network/${nwid}`);
    await authorizeMember(root, nwid, a);
    // containers are new members each: the network admits them without a controller round
    await root.post(`/controller/network/${nwid}`, { private: false });
    aIp = await assignedIp(a, nwid, 60_000);
    const www = tempDir('ztnc-cni-www-');
    writeFileSync(join(www, 'x.txt'), 'hello-cni\n');
    server = spawn('unshare', ['-n', 'python3', '-m', 'http.server', '8080', '--bind', aIp], {
      cwd: www,
      env: { ...serviceEnv(), LD_PRELOAD: interceptLibrary(), ZT_NC_NWID: nwid, ZT_NC_HOME: a.home },
      stdio: 'ignore',
    });
  }, 180_000);

  afterAll(async () => {
    if (server?.pid) server.kill();
    for (const n of namespaces) spawnSync('ip', ['netns', 'del', n]);
    await killAll();
  });

  it('ADD puts eth0 with the member address into the namespace, and a program there reaches a library-mode server', async () => {
    const ns = netns();
    const r = await cni(env('ADD', 'container-one', ns.path), conf());
    expect(r.out).not.toHaveProperty('code');
    expect(r.code).toBe(0);
    const network = await c.get<{ assignedAddresses: string[]; mac: string; mode: string }>(memberNetwork('container-one'));
    expect(network.mode).toBe('namespace');
    const address = network.assignedAddresses.find((x) => x.startsWith('10.94.0.'))!;
    expect(r.out).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: network.mac, mtu: 2800, sandbox: ns.path }],
      ips: [{ address, interface: 0 }],
      routes: [{ dst: '10.94.0.0/24' }],
      dns: {},
    });
    const shown = ipIn(ns.name, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    expect(shown.out).toContain(`inet ${address}`);

    await waitFor(async () => (await a.api('GET', `/network/${nwid}`)).status === 200, 5000, 'A joined');
    const get = spawnSync('ip', ['netns', 'exec', ns.name, 'busybox', 'wget', '-q', '-O', '-', `http://${aIp}:8080/x.txt`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(get.stderr).toBe('');
    expect(get.status).toBe(0);
    expect(get.stdout).toBe('hello-cni\n');

    const checked = await cni(env('CHECK', 'container-one', ns.path), conf({ prevResult: r.out }));
    expect(checked.stdout).toBe('');
    expect(checked.code).toBe(0);
  }, 120_000);

  it('two containers of one daemon are separate members that reach each other', async () => {
    const [nsA, nsB] = [netns(), netns()];
    const ra = await cni(env('ADD', 'peer-a', nsA.path), conf());
    const rb = await cni(env('ADD', 'peer-b', nsB.path), conf());
    expect([ra.code, rb.code]).toEqual([0, 0]);
    const addrA = (ra.out!.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    const addrB = (rb.out!.ips as Array<{ address: string }>)[0]!.address.split('/')[0]!;
    expect(addrA).not.toBe(addrB);
    const members = await Promise.all(['peer-a', 'peer-b'].map((id) => c.get<{ address: string }>(`/endpoint/${endpointOf(id)}`)));
    expect(members[0]!.address).not.toBe(members[1]!.address);
    expect(members.map((m) => m.address)).not.toContain(await c.address());

    const www = tempDir('ztnc-cni-peer-');
    writeFileSync(join(www, 'y.txt'), 'hello-peer\n');
    const httpd = spawn('ip', ['netns', 'exec', nsA.name, 'busybox', 'httpd', '-f', '-p', `${addrA}:8081`, '-h', www], { stdio: 'ignore' });
    try {
      const got = await waitFor(
        async () => {
          const r = spawnSync('ip', ['netns', 'exec', nsB.name, 'busybox', 'wget', '-q', '-O', '-', `http://${addrA}:8081/y.txt`], {
            encoding: 'utf8',
            timeout: 30_000,
          });
          return r.status === 0 ? r.stdout : null;
        },
        30_000,
        'container B fetching from container A',
      );
      expect(got).toBe('hello-peer\n');
    } finally {
      httpd.kill();
    }
    for (const [id, ns] of [
      ['peer-a', nsA],
      ['peer-b', nsB],
    ] as const)
      expect((await cni(env('DEL', id, ns.path), conf())).code).toBe(0);
    expect((await c.get<unknown[]>('/endpoint')).length).toBe(2); // default and container-one's
  }, 120_000);

  it('DEL closes the interface and leaves the network, and succeeds again; CHECK then knows no container', async () => {
    const ns = { name: namespaces[0]!, path: `/var/run/netns/${namespaces[0]}` };
    const first = await cni(env('DEL', 'container-one', ns.path), conf());
    expect(first.stdout).toBe('');
    expect(first.code).toBe(0);
    await waitFor(async () => ipIn(ns.name, ['link', 'show', 'dev', 'eth0']).code !== 0, 10_000, 'eth0 gone');
    expect((await c.api('GET', `/endpoint/${endpointOf('container-one')}`)).status).toBe(404);
    const again = await cni(env('DEL', 'container-one', ns.path), conf());
    expect(again.code).toBe(0);
    const { CNI_NETNS: _gone, ...noNetns } = env('DEL', 'container-one', '');
    expect((await cni(noNetns, conf())).code).toBe(0);
    const check = await cni(env('CHECK', 'container-one', ns.path), conf());
    expect(check.out).toMatchObject({ code: 3 });
  }, 120_000);

  it('GC removes attachments missing from cni.dev/valid-attachments and keeps listed ones', async () => {
    const ns = netns();
    const added = await cni(env('ADD', 'container-two', ns.path), conf());
    expect(added.code).toBe(0);
    const keep = await cni(
      { CNI_COMMAND: 'GC' },
      conf({ 'cni.dev/valid-attachments': [{ containerID: 'container-two', ifname: 'eth0' }] }),
    );
    expect(keep.code).toBe(0);
    expect(ipIn(ns.name, ['link', 'show', 'dev', 'eth0']).code).toBe(0);
    const gone = await cni({ CNI_COMMAND: 'GC' }, conf({ 'cni.dev/valid-attachments': [] }));
    expect(gone.stdout).toBe('');
    expect(gone.code).toBe(0);
    await waitFor(async () => ipIn(ns.name, ['link', 'show', 'dev', 'eth0']).code !== 0, 10_000, 'eth0 gone after GC');
    expect((await c.api('GET', `/endpoint/${endpointOf('container-two')}`)).status).toBe(404);
  }, 120_000);

  it('DEL cleans up after the runtime has deleted the namespace already', async () => {
    const ns = netns();
    expect((await cni(env('ADD', 'container-three', ns.path), conf())).code).toBe(0);
    // the held TAP keeps the namespace alive in the kernel until DEL closes it
    spawnSync('ip', ['netns', 'del', ns.name]);
    const del = await cni(env('DEL', 'container-three', ns.path), conf());
    expect(del.code).toBe(0);
    expect((await c.api('GET', `/endpoint/${endpointOf('container-three')}`)).status).toBe(404);
  }, 120_000);

  it('refuses bad config and environment with the spec error codes', async () => {
    const ns = netns();
    const noNetwork = await cni(env('ADD', 'bad', ns.path), { ...conf(), network: undefined });
    expect(noNetwork.code).not.toBe(0);
    expect(noNetwork.out).toMatchObject({ cniVersion: '1.1.0', code: 7 });
    expect((await cni(env('ADD', 'bad', ns.path), conf({ type: 'bridge' }))).out).toMatchObject({ code: 7 });
    expect((await cni(env('ADD', 'bad', ns.path), conf({ cniVersion: '2.0.0' }))).out).toMatchObject({ code: 1 });
    expect((await cni(env('ADD', 'bad', ns.path), '{"cniVersion":')).out).toMatchObject({ code: 6 });
    expect((await cni({ CNI_COMMAND: 'GC' }, conf())).out).toMatchObject({ code: 7 });
    const missing = await cni(env('ADD', 'bad', '/var/run/netns/no-such-namespace'), conf());
    expect(missing.out).toMatchObject({ code: 104, msg: expect.stringContaining('no-such-namespace') });
    // an interface of that name in the namespace already: refused, nothing left behind
    expect(ipIn(ns.name, ['tuntap', 'add', 'dev', 'eth0', 'mode', 'tap']).code).toBe(0);
    const taken = await cni(env('ADD', 'bad', ns.path), conf());
    expect(taken.out).toMatchObject({ code: 104, msg: expect.stringContaining('eth0 already exists') });
    expect((await c.api('GET', `/endpoint/${endpointOf('bad')}`)).status).toBe(404);
  }, 120_000);

  it('STATUS starts the daemon of a home where none runs, and answers nothing on success', async () => {
    const home = memberHome();
    const r = await cni({ CNI_COMMAND: 'STATUS' }, { ...conf(), home, planet: join(root.home, 'planet') });
    trackDaemon(home);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(home, 'ztnc.pid'))).toBe(true);
  }, 120_000);
});
