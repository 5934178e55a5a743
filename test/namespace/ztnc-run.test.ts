/**
 * ztnc-run end to end (root: namespaces and TAP devices): a private root+controller, member A in
 * library mode serving HTTP through libztintercept.so, and member C whose daemon serves the network
 * through a TAP in a ztnc-run namespace. A static busybox fetches A's file from inside; the
 * namespace holds only lo and zt0; the host's listeners are out of reach; the program's status
 * comes back; the daemon states namespace mode while it runs and leaves the network afterwards.
 * Runs the built commands in dist/ (npm run build:ts first), as the acceptance check does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptLibrary, ROOT } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { runCollecting } from '../support/run-collecting.js';
import {
  assignedIp,
  authorizeMember,
  createNetwork,
  killAll,
  serviceEnv,
  startRoot,
  startService,
  tempDir,
  waitFor,
  type Service,
} from '../service/service-harness.js';

const RUN = join(ROOT, 'dist', 'src', 'cli', 'ztnc-run.js');
const req = combine(needRootNetns(), needPrograms('busybox', 'unshare', 'python3'), {
  ok: existsSync(RUN),
  reason: `needs the build (${RUN}): npm run build:ts`,
});

describe.runIf(requireOrSkip(req, 'ztnc-run namespaces'))('ztnc-run', () => {
  let root: Service;
  let a: Service;
  let c: Service;
  let nwid: string;
  let aIp: string;
  let server: ChildProcess;
  const planet = (): string => join(root.home, 'planet');
  const run = (args: string[], timeoutMs = 90_000, runOptions: string[] = []) =>
    runCollecting(process.execPath, [RUN, '-D', c.home, '-n', nwid, '--timeout', '30', ...runOptions, '--', ...args], {
      env: serviceEnv(),
      timeoutMs,
    });

  const memberHome = (): string => {
    const h = tempDir('ztnc-ns-');
    writeFileSync(join(h, 'local.conf'), '{"settings":{"allowLoopbackPaths":true}}');
    return h;
  };

  beforeAll(async () => {
    root = await startRoot(tempDir('ztnc-ns-root-'));
    nwid = await createNetwork(root, '10.93.0');
    a = await startService(memberHome(), ['--planet', planet()]);
    c = await startService(memberHome(), ['--planet', planet()]);
    await a.post(`/network/${nwid}`);
    await authorizeMember(root, nwid, a);
    aIp = await assignedIp(a, nwid, 60_000);
    const www = tempDir('ztnc-ns-www-');
    writeFileSync(join(www, 'x.txt'), 'hello-ns\n');
    server = spawn('unshare', ['-n', 'python3', '-m', 'http.server', '8080', '--bind', aIp], {
      cwd: www,
      env: { ...serviceEnv(), LD_PRELOAD: interceptLibrary(), ZT_NC_NWID: nwid, ZT_NC_HOME: a.home },
      stdio: 'ignore',
    });
  }, 180_000);

  afterAll(async () => {
    if (server?.pid) server.kill();
    await killAll();
  });

  it('fails with the member to authorize while the controller refuses it, and leaves the network', async () => {
    const r = await run(['true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`not authorized on network ${nwid}`);
    expect(r.stderr).toContain(await c.address());
    expect((await c.api('GET', `/network/${nwid}`)).status).toBe(404);
    await authorizeMember(root, nwid, c);
  }, 120_000);

  it('fetches a file from a library-mode member with a static busybox', async () => {
    await waitFor(async () => (await a.api('GET', `/network/${nwid}`)).status === 200, 5000, 'A joined');
    const r = await run(['busybox', 'wget', '-q', '-O', '-', `http://${aIp}:8080/x.txt`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello-ns\n');
    expect(r.code).toBe(0);
  }, 120_000);

  it('holds only lo and zt0, with the managed address and route and the network MTU', async () => {
    const r = await run(['sh', '-c', 'ip -o link show; echo ---; ip -o -4 addr show dev zt0; echo ---; ip -4 route']);
    expect(r.code).toBe(0);
    const [links, addrs, routes] = r.stdout.split('---\n');
    const names = links!
      .trim()
      .split('\n')
      .map((l) => l.split(': ')[1]!.split('@')[0]);
    expect(names.sort()).toEqual(['lo', 'zt0']);
    expect(links).toMatch(/zt0: <[^>]*UP[^>]*> mtu 2800/);
    expect(addrs).toMatch(/inet 10\.93\.0\.\d+\/24/);
    // the managed route, and no other (no default route to anywhere)
    expect(routes!.trim().split('\n')).toEqual([expect.stringMatching(/^10\.93\.0\.0\/24 dev zt0 /)]);
  }, 120_000);

  it("cannot reach the host's loopback or other interfaces", async () => {
    let accepted = 0;
    const host = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => host.listen(0, '0.0.0.0', resolve));
    const port = (host.address() as net.AddressInfo).port;
    const hostAddrs = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && i.family === 'IPv4' && !i.internal)
      .map((i) => i!.address);
    const targets = ['127.0.0.1', ...hostAddrs.slice(0, 2)];
    const script = targets
      .map((t) => `timeout 3 busybox wget -q -O - http://${t}:${port}/ >/dev/null 2>&1 && echo reached ${t}`)
      .join('; ');
    const r = await run(['sh', '-c', `${script}; echo done`]);
    host.close();
    expect(r.stdout).toBe('done\n');
    expect(accepted).toBe(0);
  }, 120_000);

  it("returns the program's exit status and replaces resolv.conf and hosts inside only", async () => {
    const r = await run(['sh', '-c', 'cat /etc/resolv.conf /etc/hosts; hostname; exit 7']);
    expect(r.code).toBe(7);
    expect(r.stdout).toContain('nameserver 127.0.0.1');
    expect(r.stdout).toMatch(new RegExp(`10\\.93\\.0\\.\\d+\\tztnc-${await c.address()}`));
    expect(r.stdout).toContain(`ztnc-${await c.address()}\n`);
    const missing = await run(['no-such-program-here']);
    expect(missing.code).toBe(127);
  }, 120_000);

  it('states namespace mode while the program runs, and leaves the network after it', async () => {
    const dir = tempDir('ztnc-ns-fifo-');
    const gate = join(dir, 'gate');
    mkdirSync(dir, { recursive: true });
    const running = run(['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done`]);
    const n = await waitFor(
      async () => {
        const x = await c.api('GET', `/network/${nwid}`);
        const body = x.body as { mode?: string; portDeviceName?: string };
        return x.status === 200 && body.mode === 'namespace' ? body : null;
      },
      60_000,
      'namespace mode in /network',
    );
    expect(n.portDeviceName).toBe('zt0');
    writeFileSync(gate, '');
    expect((await running).code).toBe(0);
    await waitFor(async () => (await c.api('GET', `/network/${nwid}`)).status === 404, 10_000, 'the network left');
  }, 120_000);

  it("runs as an endpoint of the home's daemon with -e: a member of its own", async () => {
    // the first run creates the endpoint, whose new member the controller refuses; --stay keeps it
    const refused = await run(['true'], 90_000, ['-e', 'ns1', '--stay']);
    expect(refused.code).toBe(125);
    const ep = (await c.api('GET', '/endpoint/ns1')).body as { address: string };
    expect(ep.address).toMatch(/^[0-9a-f]{10}$/);
    expect(ep.address).not.toBe(await c.address());
    expect(refused.stderr).toContain(`authorize member ${ep.address}`);
    await root.post(`/controller/network/${nwid}/member/${ep.address}`, { authorized: true });
    const r = await run(['busybox', 'wget', '-q', '-O', '-', `http://${aIp}:8080/x.txt`], 90_000, ['-e', 'ns1']);
    expect(r.stdout).toBe('hello-ns\n');
    expect(r.code).toBe(0);
    // joined before this run, so it stays; the daemon's own membership was not touched by it
    expect((await c.api('GET', `/endpoint/ns1/network/${nwid}`)).status).toBe(200);
    expect((await c.api('DELETE', '/endpoint/ns1')).status).toBe(200);
  }, 180_000);

  it('deletes an endpoint it created when the run fails, and refuses a bad name', async () => {
    const r = await run(['true'], 90_000, ['-e', 'ns2']);
    expect(r.code).toBe(125); // a new member, not authorized
    expect((await c.api('GET', '/endpoint/ns2')).status).toBe(404);
    expect((await run(['true'], 10_000, ['-e', 'Bad Name'])).stderr).toMatch(/not an endpoint name/);
  }, 120_000);
});
