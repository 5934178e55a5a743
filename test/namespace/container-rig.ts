/**
 * What the container-runtime suites (podman, the OCI hook) share: a private root+controller with a
 * public network, member A in library mode serving a file over HTTP through libztintercept.so, the
 * home whose daemon gives each container its own endpoint, a busybox-static root filesystem for
 * containers (the runtimes start it from a local directory: there is no registry here), and one
 * ztnc-cni call as a runtime makes it (dist's plugin: npm run build:ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interceptLibrary, ROOT } from '../support/programs.js';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  serviceEnv,
  startRoot,
  startService,
  tempDir,
  waitFor,
  type Service,
} from '../service/service-harness.js';

export interface ContainerRig {
  root: Service;
  /** The library-mode member serving `FILE_TEXT` at `url`. */
  a: Service;
  /** The daemon whose endpoints the containers are. */
  c: Service;
  nwid: string;
  url: string;
  server: ChildProcess;
}

export const FILE_TEXT = 'hello-container\n';
export const CNI = join(ROOT, 'dist', 'src', 'cli', 'ztnc-cni.js');

export interface CniAnswer {
  code: number | null;
  stdout: string;
  out: Record<string, unknown> | null;
}

/** One plugin call: `env` as the runtime sets it, `conf` on stdin. */
export function runCni(env: Record<string, string>, conf: unknown): Promise<CniAnswer> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CNI], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.resume();
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(timer);
      let out: Record<string, unknown> | null;
      try {
        out = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : null;
      } catch {
        out = { unparsed: stdout };
      }
      resolve({ code, stdout, out });
    });
    p.stdin.end(typeof conf === 'string' ? conf : JSON.stringify(conf));
  });
}

/** A home for a member daemon (loopback paths allowed: every daemon here is on this host). */
export function memberHome(): string {
  const h = tempDir('ztnc-ctr-');
  writeFileSync(join(h, 'local.conf'), '{"settings":{"allowLoopbackPaths":true}}');
  return h;
}

/** Starts the rig on address pool `<pool>.0/24` (stop it with the harness's killAll and `server.kill()`). */
export async function startContainerRig(pool: string): Promise<ContainerRig> {
  const root = await startRoot(tempDir('ztnc-ctr-root-'));
  const nwid = await createNetwork(root, pool);
  const a = await startService(memberHome(), ['--planet', join(root.home, 'planet')]);
  const c = await startService(memberHome(), ['--planet', join(root.home, 'planet')]);
  await a.post(`/network/${nwid}`);
  await authorizeMember(root, nwid, a);
  // containers are new members each: the network admits them without a controller round
  await root.post(`/controller/network/${nwid}`, { private: false });
  const aIp = await assignedIp(a, nwid, 60_000);
  const www = tempDir('ztnc-ctr-www-');
  writeFileSync(join(www, 'x.txt'), FILE_TEXT);
  const server = spawn('unshare', ['-n', 'python3', '-m', 'http.server', '8080', '--bind', aIp], {
    cwd: www,
    env: { ...serviceEnv(), LD_PRELOAD: interceptLibrary(), ZT_NC_NWID: nwid, ZT_NC_HOME: a.home },
    stdio: 'ignore',
  });
  await waitFor(async () => (await a.api('GET', `/network/${nwid}`)).status === 200, 5000, 'A joined');
  return { root, a, c, nwid, url: `http://${aIp}:8080/x.txt`, server };
}

/** A root filesystem of busybox-static alone (/bin/sh, ip, wget, cat as links to it). */
export function busyboxRootfs(busybox = '/bin/busybox'): string {
  const dir = tempDir('ztnc-rootfs-');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  for (const tool of ['sh', 'ip', 'wget', 'cat', 'sleep']) symlinkSync('busybox', join(dir, 'bin', tool));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  return dir;
}
