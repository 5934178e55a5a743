/**
 * Programs on endpoints of one real daemon (issue 22's proof, the library's side): a python server
 * under the library as endpoint e1 serves a client running as endpoint e2 (ZT_NC_ENDPOINT) and a
 * client wrapped by `ztnc-intercept -e`, each seen from the address of its own endpoint; a program
 * of e2 cannot take e1's address, and a program of another uid cannot reach e1's sockets at all.
 * Programs using virtual-network addresses run under `unshare -n`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptLibrary, programPath } from '../support/programs.js';
import { combine, needPrograms, requireOrSkip, type Requirement } from '../support/requirements.js';
import { runCollecting } from '../support/run-collecting.js';
import { createNetwork, killAll, serviceEnv, type Service, startRoot, startService, tempDir, waitFor } from '../service/service-harness.js';

const NETWORK_TIMEOUT_MS = 90_000;
const POOL = '10.98.0';
const PORT = 8081;
const NOBODY = 65534;
/** For another uid: root's own python3 may be a shim under /root, which that uid cannot run. */
const SYSTEM_PYTHON = '/usr/bin/python3';

const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], ${PORT})); s.listen(8)
print('LISTENING', flush=True)
while True:
    c, a = s.accept(); c.sendall(b'e1 sees ' + a[0].encode()); c.close()
`;
const CLIENT = `
import socket, sys
c = socket.create_connection((sys.argv[1], ${PORT}), timeout=10)
print(c.recv(100).decode())
`;
/** Makes a socket and binds it to an address: OK, or the errno's name. */
const BIND = `
import errno, socket, sys
try:
    s = socket.socket(); s.bind((sys.argv[1], 0)); print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])
`;

function needRoot(): Requirement {
  return process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root (unshare -n, a process of another uid)' };
}

describe.runIf(requireOrSkip(combine(needRoot(), needPrograms('unshare', 'python3', 'make')), 'programs on endpoints'))(
  'programs choose an endpoint of their daemon',
  () => {
    const tmp = tempDir('ztnc-ep-programs-');
    let root: Service;
    let a: Service;
    let nwid: string;
    let library: string;
    let server: ChildProcess | undefined;
    let serverOut = '';
    const ip: Record<string, string> = {};

    const appEnv = (endpoint: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
      ...serviceEnv(),
      LD_PRELOAD: library,
      ZT_NC_NWID: nwid,
      ZT_NC_HOME: a.home,
      ZT_NC_ENDPOINT: endpoint,
      ...extra,
    });

    async function endpointIp(name: string): Promise<string> {
      return waitFor(
        async () => {
          const r = await a.api('GET', `/endpoint/${name}/network/${nwid}`);
          const n = r.body as { status: string; assignedAddresses: string[] };
          return r.status === 200 && n.status === 'OK' && n.assignedAddresses[0] ? n.assignedAddresses[0].split('/')[0]! : null;
        },
        NETWORK_TIMEOUT_MS,
        `an address for endpoint ${name}`,
      );
    }

    async function python(script: string, args: string[], env: NodeJS.ProcessEnv, opts: { uid?: number } = {}): Promise<string> {
      const cmd =
        opts.uid === undefined
          ? ['unshare', '-n', 'python3']
          : ['unshare', '-n', 'setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', SYSTEM_PYTHON];
      const r = await runCollecting(cmd[0]!, [...cmd.slice(1), join(tmp, script), ...args], { env, timeoutMs: 30_000 });
      return `${r.stdout}${r.stderr}`.trim();
    }

    beforeAll(async () => {
      library = interceptLibrary();
      for (const [name, text] of Object.entries({ 'server.py': SERVER, 'client.py': CLIENT, 'bind.py': BIND }))
        writeFileSync(join(tmp, name), text);
      root = await startRoot(join(tmp, 'root'));
      nwid = await createNetwork(root, POOL);
      a = await startService(join(tmp, 'a'), ['--planet', join(root.home, 'planet')]);
      for (const name of ['e1', 'e2']) {
        const r = await a.api('POST', `/endpoint/${name}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        await root.post(`/controller/network/${nwid}/member/${(r.body as { address: string }).address}`, { authorized: true });
        expect((await a.api('POST', `/endpoint/${name}/network/${nwid}`, {})).status).toBe(200);
      }
      for (const name of ['e1', 'e2']) ip[name] = await endpointIp(name);
      server = spawn('unshare', ['-n', 'python3', join(tmp, 'server.py'), ip.e1!], {
        env: appEnv('e1'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
      server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
      await waitFor(() => serverOut.includes('LISTENING') || server!.exitCode !== null, 30_000, 'the server on e1 to listen');
      expect(serverOut).toContain('LISTENING');
    }, 300_000);

    afterAll(async () => {
      server?.kill('SIGKILL');
      await killAll();
    }, 60_000);

    it('a client on endpoint e2 reaches the server on e1 from e2’s address', async () => {
      const answer = await waitFor(
        async () => {
          const out = await python('client.py', [ip.e1!], appEnv('e2'));
          return out.startsWith('e1 sees ') ? out : null;
        },
        NETWORK_TIMEOUT_MS,
        'the e2 client to be served',
      );
      expect(answer).toBe(`e1 sees ${ip.e2}`);
    }, 120_000);

    it('ztnc-intercept -D <home> -e e2 -n <nwid> runs the client as e2', async () => {
      const cli = await programPath('ztnc-intercept');
      const env = serviceEnv();
      delete env.ZT_NC_ENDPOINT;
      const r = await runCollecting(
        'unshare',
        ['-n', process.execPath, cli, '-D', a.home, '-e', 'e2', '-n', nwid, '--', 'python3', join(tmp, 'client.py'), ip.e1!],
        { env, timeoutMs: 30_000 },
      );
      expect(r.stdout.trim(), r.stderr).toBe(`e1 sees ${ip.e2}`);
    }, 60_000);

    it("a program of e2 cannot take e1's address, only its own", async () => {
      expect(await python('bind.py', [ip.e1!], appEnv('e2'))).toBe('EADDRNOTAVAIL');
      expect(await python('bind.py', [ip.e2!], appEnv('e2'))).toBe('OK');
    });

    it("a program of another uid reaches no endpoint's socket", async () => {
      // Let the other user reach the endpoint's directory at all, so that only the sockets' own protection stands.
      const dirs = [tmp, a.home, join(a.home, 'endpoints'), join(a.home, 'endpoints', 'e1')];
      const modes = dirs.map((d) => statSync(d).mode & 0o7777);
      for (const d of dirs) chmodSync(d, 0o711);
      try {
        expect(await python('bind.py', [ip.e1!], appEnv('e1'), { uid: NOBODY })).toBe('EACCES');
      } finally {
        dirs.forEach((d, i) => chmodSync(d, modes[i]!));
      }
    });
  },
);
