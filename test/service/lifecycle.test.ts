/**
 * ztnc-service's life as a process: the files it makes in its home, foreground and -d start-up,
 * the single-instance lock, signals (SIGTERM/SIGINT stop cleanly, SIGHUP reopens the log),
 * networks.d joins at start and leaves, identity persistence, and the local API's auth.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_V8_FLAGS, missingV8Flags } from '../../src/service/v8-heap.js';
import { programPath } from '../support/programs.js';
import { rawHttp } from '../support/raw-http.js';
import { combine, needPrograms, requireOrSkip, type Requirement } from '../support/requirements.js';
import { alive, killAll, runService, serviceEnv, startDaemonized, startService, tempDir, trackDaemon, waitFor } from './service-harness.js';

/** A network whose controller does not exist: joining it leaves it REQUESTING_CONFIGURATION. */
const NWID = 'deadbeef00a1b2c3';

afterAll(async () => {
  await killAll();
}, 60_000);

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

describe('the daemon V8 flags', () => {
  it('counts a flag as present in either spelling or with another value', () => {
    expect(missingV8Flags([])).toEqual([...DAEMON_V8_FLAGS]);
    expect(missingV8Flags([...DAEMON_V8_FLAGS, '--cpu-prof'])).toEqual([]);
    expect(missingV8Flags(['--initial-old-space-size=128'])).toEqual([]);
    expect(missingV8Flags(['--initial_old_space_size=16'])).toEqual([]);
    expect(missingV8Flags(['--initial-old-space-sizes=1'])).toEqual([...DAEMON_V8_FLAGS]);
  });
});

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('ztnc-service in the foreground', () => {
  it('makes its home files, logs JSON when not on a terminal, and stops on SIGTERM with exit 0', async () => {
    const home = join(tempDir(), 'home');
    const s = await startService(home, ['--private-planet']);
    expect(mode(home)).toBe(0o700);
    expect(mode(join(home, 'identity.secret'))).toBe(0o600);
    expect(mode(join(home, 'authtoken.secret'))).toBe(0o600);
    expect(mode(join(home, 'sockets'))).toBe(0o700);
    expect(readFileSync(join(home, 'identity.public'), 'utf8')).toMatch(/^[0-9a-f]{10}:0:[0-9a-f]{128}\n$/);
    expect(Number(readFileSync(join(home, 'ztnc.pid'), 'utf8'))).toBe(s.proc!.pid);
    expect(s.apiPort).toBeGreaterThan(0);
    // stock zerotier-cli -D<home> reads the API port from zerotier-one.port
    expect(readFileSync(join(home, 'zerotier-one.port'), 'utf8').trim()).toBe(String(s.apiPort));
    const lines = s.output
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; apiPort?: number; nodeFlags?: string[] });
    const running = lines.find((l) => l.msg === 'ztnc-service running');
    expect(running?.apiPort).toBe(s.apiPort);
    // started without its V8 heap flags, it ran itself again under them, keeping its pid
    expect(running?.nodeFlags).toEqual(expect.arrayContaining([...DAEMON_V8_FLAGS]));
    expect(cmdline(s.proc!.pid!)).toEqual(expect.arrayContaining([...DAEMON_V8_FLAGS]));
    expect(lines.some((l) => /without the V8 heap flags/.test(l.msg))).toBe(false);

    expect(await s.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
    expect(existsSync(join(home, 'ztnc.port'))).toBe(false);
    expect(existsSync(join(home, 'zerotier-one.port'))).toBe(false);
  }, 120_000);

  it('keeps its identity across restarts', async () => {
    const home = join(tempDir(), 'home');
    const first = await startService(home, ['--private-planet']);
    const address = await first.address();
    const st = await first.get<{ planetWorldId: number; config: { settings: { primaryPort: number } } }>('/status');
    const planetId = st.planetWorldId;
    const secret = readFileSync(join(home, 'identity.secret'), 'utf8');
    expect((await first.stop()).code).toBe(0);
    // on "any port" the root takes its previous UDP port again, so its private planet is kept
    const second = await startService(home, ['--private-planet']);
    expect((await second.get<typeof st>('/status')).config.settings.primaryPort).toBe(st.config.settings.primaryPort);
    expect(await second.address()).toBe(address);
    expect(readFileSync(join(home, 'identity.secret'), 'utf8')).toBe(secret);
    // the private planet is kept too: members configured with it keep working
    expect((await second.get<{ planetWorldId: number }>('/status')).planetWorldId).toBe(planetId);
    expect((await second.stop()).code).toBe(0);
  }, 120_000);

  it('joins networks.d/<nwid>.conf at start, keeps settings, and leaving removes the file', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(join(home, 'networks.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'networks.d', `${NWID}.conf`), '');
    let s = await startService(home, ['--private-planet']);
    const n = await s.get<{ nwid: string; status: string; portDeviceName: string; allowDNS: boolean }>(`/network/${NWID}`);
    expect(n).toMatchObject({ nwid: NWID, status: 'REQUESTING_CONFIGURATION', allowDNS: false });
    const sock = join(home, 'sockets', `${NWID}.sock`);
    expect(n.portDeviceName).toBe(sock);
    expect(statSync(sock).isSocket()).toBe(true);
    expect(mode(sock)).toBe(0o600);

    expect((await s.post<{ allowDNS: boolean }>(`/network/${NWID}`, { allowDNS: true })).allowDNS).toBe(true);
    expect((await s.stop()).code).toBe(0);
    expect(existsSync(join(home, 'networks.d', `${NWID}.conf`))).toBe(true);

    s = await startService(home, ['--private-planet']);
    expect((await s.get<{ allowDNS: boolean }>(`/network/${NWID}`)).allowDNS).toBe(true);
    expect((await s.api('DELETE', `/network/${NWID}`)).status).toBe(200);
    expect(existsSync(join(home, 'networks.d', `${NWID}.conf`))).toBe(false);
    expect(existsSync(sock)).toBe(false);
    expect((await s.api('GET', `/network/${NWID}`)).status).toBe(404);
    expect(await s.get('/network')).toEqual([]);
    expect((await s.api('DELETE', `/network/${NWID}`)).status).toBe(404);

    // joining again through the API brings the socket and the networks.d file back, with defaults
    const again = await s.post<{ nwid: string; allowDNS: boolean }>(`/network/${NWID}`);
    expect(again).toMatchObject({ nwid: NWID, allowDNS: false });
    expect(statSync(sock).isSocket()).toBe(true);
    expect(readFileSync(join(home, 'networks.d', `${NWID}.conf`), 'utf8')).toBe('');
    // concurrent joins of one network share one attachment
    const both = await Promise.all([s.api('POST', '/network/deadbeef00a1b2c4', {}), s.api('POST', '/network/deadbeef00a1b2c4', {})]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect((await s.get<{ nwid: string }[]>('/network')).map((n) => n.nwid).sort()).toEqual([NWID, 'deadbeef00a1b2c4']);
    expect((await s.stop()).code).toBe(0);
  }, 120_000);

  it('starts past a FIFO in networks.d, warns about a home open to others, keeps controller.db 0600 and backs it up at start', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(join(home, 'networks.d'), { recursive: true });
    chmodSync(home, 0o755);
    const fifo = join(home, 'networks.d', 'deadbeef00a1b2c9.conf');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(home, 'networks.d', `${NWID}.conf`), '');
    const s = await startService(home, ['--private-planet']);
    expect((await s.get<{ nwid: string }[]>('/network')).map((n) => n.nwid)).toEqual([NWID]);
    const lines = s.output
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: number; file?: string; mode?: string });
    expect(lines.find((l) => /not a regular file/.test(l.msg))).toMatchObject({ file: fifo, level: 40 });
    expect(lines.find((l) => /open to group or others/.test(l.msg))).toMatchObject({ mode: '0755', level: 40 });
    // ztnc does not change a home it did not create; the FIFO is left as it was
    expect(mode(home)).toBe(0o755);
    expect(statSync(fifo).isFIFO()).toBe(true);
    // the controller's database, WAL, SHM and the start-up backup are owner-only
    await waitFor(() => existsSync(join(home, 'controller.db.backup')), 30_000, 'the start-up backup');
    for (const f of ['controller.db', 'controller.db-wal', 'controller.db-shm', 'controller.db.backup'])
      expect(mode(join(home, f)), f).toBe(0o600);
    expect((await s.stop()).code).toBe(0);
  }, 120_000);

  it('answers the local API only with the token', async () => {
    const home = join(tempDir(), 'home');
    const s = await startService(home, ['--private-planet']);
    const token = s.token;
    expect((await s.api('GET', '/status', undefined, {})).status).toBe(401);
    expect((await s.api('GET', '/status', undefined, { 'X-ZT1-Auth': `${token}x` })).status).toBe(401);
    expect((await s.api('GET', '/network', undefined, { 'X-ZT1-Auth': 'wrong' })).status).toBe(401);
    expect((await s.api('GET', '/controller/network', undefined, {})).status).toBe(401);
    expect((await s.api('GET', '/status', undefined, { 'X-ZT1-Auth': token })).status).toBe(200);
    expect((await s.api('GET', '/status', undefined, { Authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await s.api('GET', `/status?auth=${token}`, undefined, {})).status).toBe(200);
    // stock zerotier-cli: HTTP/1.1 with no Host header
    const hostless = await rawHttp('127.0.0.1', s.apiPort, `GET /status HTTP/1.1\r\nX-ZT1-Auth: ${token}\r\nConnection: close\r\n\r\n`);
    expect(hostless.status).toBe(200);
    expect(JSON.parse(hostless.body)).toMatchObject({ address: await s.address() });
    expect((await rawHttp('127.0.0.1', s.apiPort, 'GET /status HTTP/1.1\r\nConnection: close\r\n\r\n')).status).toBe(401);
    expect((await s.stop()).code).toBe(0);
  }, 120_000);
});

describe.runIf(requireOrSkip(needPrograms('script'), 'ztnc-service on a terminal'))('ztnc-service on a terminal', () => {
  it('logs human-readable lines on a terminal and stops on SIGINT', async () => {
    const home = join(tempDir(), 'home');
    const file = await programPath('ztnc-service');
    const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(file)} ${JSON.stringify(home)} --private-planet -p 0 --api-port 0`;
    // `script` gives the daemon a pseudo-terminal; the daemon is told to stop once it answers
    const watcher = (async () => {
      await waitFor(() => existsSync(join(home, 'ztnc.port')), 60_000, 'the daemon to listen');
      const pid = Number(readFileSync(join(home, 'ztnc.pid'), 'utf8'));
      process.kill(pid, 'SIGINT');
      await waitFor(() => !alive(pid), 60_000, 'the daemon to stop');
    })();
    const term = spawn('script', ['-qec', cmd, '/dev/null'], { env: serviceEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    term.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const status = new Promise<number | null>((resolve) => term.once('exit', (code) => resolve(code)));
    try {
      await watcher;
    } finally {
      if (term.exitCode === null) setTimeout(() => term.kill('SIGKILL'), 30_000).unref();
    }
    expect(await status).toBe(0);
    expect(out).toMatch(/INFO.*ztnc-service running/);
    expect(out).not.toMatch(/"level":/);
    expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
  }, 150_000);
});

describe('ztnc-service -d', () => {
  it('returns once the daemon answers, refuses a second daemon on the home, reopens its log on SIGHUP', async () => {
    const home = join(tempDir(), 'home');
    const s = await startDaemonized(home, ['--private-planet']);
    const pid = s.pid;
    expect(alive(pid)).toBe(true);
    expect(cmdline(pid)).toEqual(expect.arrayContaining([...DAEMON_V8_FLAGS]));
    // the parent exited only after the API answered
    expect((await s.api('GET', '/status')).status).toBe(200);
    const log = join(home, 'ztnc.log');
    expect(readFileSync(log, 'utf8')).toMatch(/"msg":"ztnc-service running"/);

    // a second daemon on the same home, foreground or -d, is refused naming the pid file
    const again = await runService([home, '-p', '0', '--api-port', '0']);
    trackDaemon(home);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(join(home, 'ztnc.pid'));
    expect(again.stderr).toContain(`pid ${pid}`);
    expect(again.stderr).toContain('already running');
    const againDetached = await runService([home, '-d', '-p', '0', '--api-port', '0']);
    expect(againDetached.code).not.toBe(0);
    expect(againDetached.stderr).toMatch(/already running/);
    expect(Number(readFileSync(join(home, 'ztnc.pid'), 'utf8'))).toBe(pid);
    expect((await s.api('GET', '/status')).status).toBe(200);

    renameSync(log, `${log}.1`);
    process.kill(pid, 'SIGHUP');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('log reopened'), 30_000, 'the log to be reopened');

    await s.stop('SIGTERM');
    expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
    expect(readFileSync(log, 'utf8')).toMatch(/ztnc-service stopped/);
  }, 180_000);

  it('exits non-zero with the reason when the daemon cannot start', async () => {
    const home = join(tempDir(), 'home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(join(home, 'local.conf'), '{"settings": {"primaryPort": "nine"}}');
    const r = await runService([home, '-d', '--private-planet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(join(home, 'local.conf'));
    expect(r.stderr).toContain('primaryPort');
    expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
  }, 120_000);
});

const NOBODY_UID = 65534;
const asRoot: Requirement =
  process.getuid?.() === 0
    ? { ok: true, reason: '' }
    : { ok: false, reason: 'needs root to start the daemon as another, unprivileged user' };

describe.runIf(requireOrSkip(combine(asRoot, needPrograms('setpriv')), 'ztnc-service as an unprivileged user'))(
  'ztnc-service without privileges',
  () => {
    it('runs, joins a network and stops cleanly as nobody', async () => {
      const dir = tempDir();
      chownSync(dir, NOBODY_UID, NOBODY_UID);
      const home = join(dir, 'home');
      const s = await startService(home, ['--private-planet'], serviceEnv({ HOME: dir }), [
        'setpriv',
        `--reuid=${NOBODY_UID}`,
        `--regid=${NOBODY_UID}`,
        '--clear-groups',
      ]);
      expect(statSync(join(home, 'identity.secret')).uid).toBe(NOBODY_UID);
      expect((await s.post<{ nwid: string }>(`/network/${NWID}`)).nwid).toBe(NWID);
      const sock = join(home, 'sockets', `${NWID}.sock`);
      expect(statSync(sock).uid).toBe(NOBODY_UID);
      expect(await s.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(existsSync(join(home, 'ztnc.pid'))).toBe(false);
    }, 120_000);
  },
);
