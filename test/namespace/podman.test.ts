/**
 * Debian's podman (4.3) with its CNI backend runs containers on a ztnc network through ztnc-cni
 * (root: podman's network namespaces and TAP devices). Everything podman reads is private to the
 * test: a containers.conf (CONTAINERS_CONF) selecting the CNI backend, a plugin directory holding
 * the `ztnc` plugin (a script running dist's ztnc-cni), a network config directory with the
 * network's conflist, and storage in temp dirs (--root/--runroot), so the host's podman setup is
 * neither read nor changed. `podman run --network <net> --rootfs <busybox dir>` (no image, no
 * registry) fetches a file from a library-mode member on another daemon, and shows only `lo` and
 * the ZeroTier interface; after the container exits podman's DEL removes the container's endpoint.
 * runc is the runtime: crun 1.8 refuses hybrid cgroup hosts. Rootless podman is not run: the
 * suite prints what blocks it (rootlessBlockers). Runs dist/ (npm run build:ts).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointName } from '../../src/namespace/cni-commands.js';
import { ROOT } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, optionalSuite, requireOrSkip } from '../support/requirements.js';
import { killAll, tempDir, waitFor } from '../service/service-harness.js';
import { busyboxRootfs, FILE_TEXT, startContainerRig, type ContainerRig } from './container-rig.js';

const CNI = join(ROOT, 'dist', 'src', 'cli', 'ztnc-cni.js');
const req = combine(needRootNetns(), needPrograms('podman', 'runc', 'busybox', 'nsenter', 'python3'), {
  ok: existsSync(CNI),
  reason: `needs the build (${CNI}): npm run build:ts`,
});
const NET = 'ztnc-podman';

/** This process's hard limit `name` (/proc/self/limits): podman's defaults for open files and processes may exceed it. */
function hardLimit(name: string): string {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1] ?? 'unlimited';
  return hard === 'unlimited' ? '-1' : hard;
}

/** A private podman setup for network `nwid` served by daemon home `home`; podman's global arguments and env. */
function podmanSetup(nwid: string, home: string, planet: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const dir = tempDir('ztnc-podman-');
  const bin = join(dir, 'cni-bin');
  const netd = join(dir, 'net.d');
  mkdirSync(bin);
  mkdirSync(netd);
  writeFileSync(join(bin, 'ztnc'), `#!/bin/sh\nexec '${process.execPath}' '${CNI}' "$@"\n`);
  chmodSync(join(bin, 'ztnc'), 0o755);
  const conflist = { cniVersion: '1.0.0', name: NET, plugins: [{ type: 'ztnc', network: nwid, home, planet }] };
  writeFileSync(join(netd, `${NET}.conflist`), JSON.stringify(conflist));
  // raising a limit needs privilege a container host may not have: stay at or under this process's
  // (and processes under 4096: runc's setrlimit was refused higher than 32768 on a host allowing 96367)
  const files = hardLimit('Max open files');
  const procs = Math.min(Number(hardLimit('Max processes')) >>> 0, 4096);
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      `default_ulimits = ["nofile=${files}:${files}", "nproc=${procs}:${procs}"]`,
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${bin}", "/usr/lib/cni"]`,
      `network_config_dir = "${netd}"`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  return {
    args: ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs', '--tmpdir', join(dir, 'tmp')],
    env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf') },
  };
}

/**
 * Why rootless podman cannot use ztnc-cni: podman runs CNI plugins inside its rootless network
 * namespace (slirp4netns's), where the daemon's local API — TCP on the host's 127.0.0.1 — is out of
 * reach; and where /dev/net/tun is not open to users, slirp4netns itself fails ("open(/dev/net/tun):
 * Permission denied", seen on this project's test host) as would the container's TAP.
 */
function rootlessBlockers(): string {
  const reasons = [
    "podman runs CNI plugins in its rootless network namespace, where the daemon's local API (TCP on the host's 127.0.0.1) is out of reach",
  ];
  let tunMode = 0;
  try {
    tunMode = statSync('/dev/net/tun').mode;
  } catch {
    // absent: as closed as can be
  }
  if ((tunMode & 0o006) !== 0o006) reasons.push('/dev/net/tun is not open to users (slirp4netns and the TAP need it)');
  return reasons.join('; ');
}
optionalSuite(rootlessBlockers(), 'rootless podman with ztnc-cni');

describe.runIf(requireOrSkip(req, 'podman with ztnc-cni'))('podman run --network <ztnc network> (CNI backend)', () => {
  let rig: ContainerRig;
  let podman: { args: string[]; env: NodeJS.ProcessEnv };
  let rootfs: string;

  beforeAll(async () => {
    rig = await startContainerRig('10.96.0');
    podman = podmanSetup(rig.nwid, rig.c.home, join(rig.root.home, 'planet'));
    rootfs = busyboxRootfs();
  }, 180_000);

  afterAll(async () => {
    if (rig?.server.pid) rig.server.kill();
    await killAll();
  });

  const run = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync('podman', [...podman.args, ...args], { env: podman.env, encoding: 'utf8', timeout: 120_000 });

  it('a rootful container fetches a file from a library-mode member and has only lo and the ZeroTier interface', async () => {
    const script = `ip -o link show; echo ---; ip -o -4 addr show; echo ---; wget -q -O - ${rig.url}`;
    const cidfile = join(tempDir('ztnc-podman-cid-'), 'cid');
    const r = run('run', '--rm', '--cidfile', cidfile, '--network', NET, '--rootfs', rootfs, '/bin/sh', '-c', script);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [links, addrs, body] = String(r.stdout).split('---\n');
    const names = links!
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]!.trim().split('@')[0]);
    expect(names).toEqual(['lo', 'eth0']);
    expect(addrs).toMatch(/eth0\s+inet 10\.96\.0\.\d+\/24/);
    expect(body).toBe(FILE_TEXT);
    // podman's DEL (at --rm) removed the container's endpoint: only the daemon's own is left
    const endpoint = endpointName(readFileSync(cidfile, 'utf8').trim());
    await waitFor(async () => (await rig.c.api('GET', `/endpoint/${endpoint}`)).status === 404, 30_000, 'the container endpoint deleted');
    expect((await rig.c.get<unknown[]>('/endpoint')).length).toBe(1);
  }, 180_000);
});
