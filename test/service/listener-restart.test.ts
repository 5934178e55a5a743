/**
 * Apps' listening sockets outlive a daemon restart (the fd keeper): a real python server under
 * libztintercept.so serves a client on another daemon, its daemon is stopped with SIGTERM and
 * started again on the same home, and the same server process, never restarted, accepts and
 * serves new clients; accept() never fails in between. The same holds after SIGKILL. A process of another uid reaching the
 * keeper's socket gets no descriptor. With no daemon back within the keeper's timeout the keeper
 * exits, and only then does the server's accept() see the end (EINVAL).
 * Server and clients use virtual-network addresses, so they run under `unshare -n`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptLibrary } from '../support/programs.js';
import { combine, needPrograms, requireOrSkip, type Requirement } from '../support/requirements.js';
import { alive, createNetwork, killAll, serviceEnv, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

const POOL = '10.97.0';
const PORT = 8090;
const NETWORK_TIMEOUT_MS = 90_000;
/** Long enough for a restart on a busy machine; the last daemon sets a short one. */
const LONG_KEEPER_TIMEOUT_MS = 120_000;
const SHORT_KEEPER_TIMEOUT_MS = 1_500;
const NOBODY = 65534;

const SERVER = `
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(16)
print('LISTENING', flush=True)
n = 0
while True:
    try:
        c, _ = s.accept()
    except OSError as e:
        print('ACCEPT_ERROR', e.errno, flush=True)
        sys.exit(3)
    try:
        data = b''
        while not data.endswith(b'\\n'):
            chunk = c.recv(1024)
            if not chunk:
                break
            data += chunk
        if data:
            n += 1
            c.sendall(b'served %d %s' % (n, data.strip()))
            print('SERVED', n, data.strip().decode(), flush=True)
        else:
            print('EMPTY_CONNECTION', flush=True)
    except OSError as e:
        print('CONNECTION_ERROR', e.errno, flush=True)
    c.close()
`;

const CLIENT = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(sys.argv[3].encode() + b'\\n')
out = b''
while True:
    chunk = c.recv(1024)
    if not chunk:
        break
    out += chunk
print(out.decode())
`;

/** Reads from the keeper's socket what it would hand a daemon: descriptors and bytes. */
const PROBE = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
fds = 0
got = b''
while b'"t":"end"' not in got:
    msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += len(data) // 4
    if not msg:
        break
    got += msg
print('FDS', fds, 'BYTES', len(got))
`;

function needRoot(): Requirement {
  return process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root (unshare -n, a process of another uid)' };
}

interface Program {
  proc: ChildProcess;
  output: string;
}

function startProgram(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { uid?: number; gid?: number } = {}): Program {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const p: Program = { proc, output: '' };
  proc.stdout!.on('data', (d: Buffer) => (p.output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (p.output += d.toString()));
  return p;
}

async function finished(p: Program, ms: number): Promise<number | null> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        p.proc.kill('SIGKILL');
        resolve();
      }, ms);
      p.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return p.proc.exitCode;
}

/** The keeper's pid from the daemon's JSON log line with this message (logs arrive a little later). */
async function loggedKeeperPid(s: Service, msg: string): Promise<number> {
  const find = (): number | null => {
    for (const line of s.output.split('\n')) {
      if (!line.includes(msg)) continue;
      try {
        const j = JSON.parse(line) as { msg?: string; keeperPid?: number };
        if (j.msg === msg && typeof j.keeperPid === 'number') return j.keeperPid;
      } catch {
        // not a JSON line
      }
    }
    return null;
  };
  return waitFor(find, 10_000, `a "${msg}" line in the daemon's log`).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}:\n${s.output}`);
  });
}

describe.runIf(requireOrSkip(combine(needRoot(), needPrograms('unshare', 'python3', 'cc', 'make')), 'listeners across a daemon restart'))(
  'listeners survive a daemon restart',
  () => {
    const tmp = tempDir('ztnc-restart-');
    const serverHome = join(tmp, 'server');
    let root: Service;
    let member: Service;
    let nwid: string;
    let serverIp: string;
    let library: string;
    let server: Program;
    let keeperPid = 0;
    /** The daemon before the last restart (its log tells what it did with the keeper). */
    let previous: Service | null = null;

    const memberEnv = (keeperTimeoutMs: number): NodeJS.ProcessEnv => serviceEnv({ ZTNC_FDKEEPER_TIMEOUT_MS: String(keeperTimeoutMs) });
    const startMember = (keeperTimeoutMs: number): Promise<Service> =>
      startService(serverHome, ['--planet', join(root.home, 'planet')], memberEnv(keeperTimeoutMs));
    const appEnv = (home: string): NodeJS.ProcessEnv => ({ ...serviceEnv(), LD_PRELOAD: library, ZT_NC_HOME: home, ZT_NC_NWID: nwid });

    async function addressOf(m: Service): Promise<string> {
      await root.post(`/controller/network/${nwid}/member/${await m.address()}`, { authorized: true });
      return waitFor(
        async () => {
          const n = await m.get<{ status: string; assignedAddresses: string[] }>(`/network/${nwid}`);
          return n.status === 'OK' && n.assignedAddresses[0] ? n.assignedAddresses[0].split('/')[0]! : null;
        },
        NETWORK_TIMEOUT_MS,
        `an address on ${nwid} in ${m.home}`,
      );
    }

    /** A client on the root daemon until one request is answered; returns the answer. Fails at once if the server ended. */
    async function request(text: string): Promise<string> {
      const end = Date.now() + NETWORK_TIMEOUT_MS;
      for (;;) {
        if (server.proc.exitCode !== null) throw new Error(`the server ended:\n${server.output}`);
        const c = startProgram('unshare', ['-n', 'python3', join(tmp, 'client.py'), serverIp, String(PORT), text], appEnv(root.home));
        const code = await finished(c, 20_000);
        if (code === 0 && c.output.startsWith('served ')) return c.output.trim();
        if (Date.now() > end) {
          const logs = `${previous?.output ?? ''}\n${member.output}`;
          const notable = logs.split('\n').filter((l) => /keep|kept|"level":[456]0/.test(l));
          const keeperLog = join(serverHome, 'fdkeeper.log');
          if (existsSync(keeperLog)) notable.push(readFileSync(keeperLog, 'utf8'));
          throw new Error(
            `the server did not answer "${text}": ${c.output}\nserver:\n${server.output}\nserver's daemon:\n${notable.join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    function serverHealthy(): void {
      expect(server.output, server.output).not.toContain('ACCEPT_ERROR');
      expect(server.proc.exitCode, server.output).toBeNull();
    }

    beforeAll(async () => {
      library = interceptLibrary();
      writeFileSync(join(tmp, 'server.py'), SERVER);
      writeFileSync(join(tmp, 'client.py'), CLIENT);
      writeFileSync(join(tmp, 'probe.py'), PROBE);
      root = await startRoot(join(tmp, 'root'));
      nwid = await createNetwork(root, POOL);
      await root.post(`/network/${nwid}`, {});
      await addressOf(root);
      mkdirSync(join(serverHome, 'networks.d'), { recursive: true, mode: 0o700 });
      writeFileSync(join(serverHome, 'networks.d', `${nwid}.conf`), '');
      member = await startMember(LONG_KEEPER_TIMEOUT_MS);
      serverIp = await addressOf(member);
      server = startProgram('unshare', ['-n', 'python3', join(tmp, 'server.py'), String(PORT)], appEnv(serverHome));
      await waitFor(() => server.output.includes('LISTENING') || server.proc.exitCode !== null, 30_000, 'the server to listen');
      expect(server.output).toContain('LISTENING');
    }, 300_000);

    afterAll(async () => {
      server?.proc.kill('SIGKILL');
      await killAll();
    }, 60_000);

    it('the same server process accepts new connections after SIGTERM and a new start', async () => {
      expect(await request('before')).toBe('served 1 before');
      const first = member;
      previous = first;
      const stopped = await first.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      // the daemon is gone; the listener is not: the server sits in accept()
      serverHealthy();

      member = await startMember(LONG_KEEPER_TIMEOUT_MS);
      expect(await request('after')).toMatch(/^served \d+ after$/);
      serverHealthy();

      // one keeper held the listener from the first daemon to the second
      keeperPid = await loggedKeeperPid(first, 'fd keeper started');
      expect(await loggedKeeperPid(member, 'kept listeners taken back from the fd keeper')).toBe(keeperPid);
      expect(readFileSync(`/proc/${keeperPid}/cmdline`, 'utf8')).toContain('ztnc-fdkeeper');
      const counters = await member.get<{ networks: Record<string, { netcon: Record<string, number> }> }>('/counters');
      expect(counters.networks[nwid]!.netcon.listenersRestored).toBe(1);
    }, 300_000);

    it('after a crash (SIGKILL) too: a process of another uid that reaches the keeper gets no descriptor; the daemon does', async () => {
      await member.stop('SIGKILL');
      const keeperSocket = join(serverHome, 'fdkeeper.sock');
      // Let another user reach the socket at all, so that only the keeper's own check stands.
      chmodSync(tmp, 0o711);
      chmodSync(serverHome, 0o711);
      chmodSync(keeperSocket, 0o666);
      try {
        const stranger = startProgram(
          'python3',
          [join(tmp, 'probe.py'), keeperSocket],
          { PATH: process.env.PATH },
          { uid: NOBODY, gid: NOBODY },
        );
        await finished(stranger, 20_000);
        expect(stranger.output.trim()).toBe('FDS 0 BYTES 0');
      } finally {
        chmodSync(keeperSocket, 0o600);
        chmodSync(serverHome, 0o700);
        chmodSync(tmp, 0o700);
      }
      // the same probe as the keeper's own user is handed the listener: the check is what refused
      const own = startProgram('python3', [join(tmp, 'probe.py'), keeperSocket], { PATH: process.env.PATH });
      await finished(own, 20_000);
      expect(own.output).toMatch(/^FDS 1 BYTES \d+/);
      expect(alive(keeperPid)).toBe(true);
      serverHealthy();

      member = await startMember(SHORT_KEEPER_TIMEOUT_MS);
      expect(await request('again')).toMatch(/^served \d+ again$/);
      serverHealthy();
    }, 300_000);

    it('with no daemon back within its timeout the keeper exits, and only then the listener ends', async () => {
      await member.stop('SIGTERM');
      await waitFor(() => !alive(keeperPid), 30_000, `the fd keeper (pid ${keeperPid}) to exit`);
      expect(existsSync(join(serverHome, 'fdkeeper.sock'))).toBe(false);
      // accept() sees the end as it did before listeners were kept: EINVAL
      await waitFor(() => server.proc.exitCode !== null, 30_000, 'the server to see its listener end');
      expect(server.output).toContain('ACCEPT_ERROR 22');
    }, 120_000);
  },
);
