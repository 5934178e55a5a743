/**
 * Daemons side by side on one machine, as a user runs them: a private root+controller
 * (--private-planet), a network created through its /controller API, two member daemons with
 * --planet (one joining through the API, one through networks.d at start), authorized through the
 * API. Then unmodified programs under libztintercept.so, one per member daemon, talk TCP to each
 * other across the overlay, and a member's shutdown ends its apps' connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptLibrary } from '../support/programs.js';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { createNetwork, killAll, type Service, startRoot, startService, tempDir, waitFor } from './service-harness.js';

const NETWORK_TIMEOUT_MS = 45_000;
const PAYLOAD_SIZE = 4 * 1024 * 1024;

interface NetworkView {
  id: string;
  nwid: string;
  status: string;
  assignedAddresses: string[];
  portDeviceName: string;
  mac: string;
  name: string;
  type: string;
}

async function networkOf(s: Service, nwid: string): Promise<NetworkView> {
  return s.get<NetworkView>(`/network/${nwid}`);
}

async function waitStatus(s: Service, nwid: string, status: string, ms = NETWORK_TIMEOUT_MS): Promise<NetworkView> {
  return waitFor(
    async () => {
      const n = await networkOf(s, nwid);
      return n.status === status ? n : null;
    },
    ms,
    `network ${nwid} to be ${status} in ${s.home}`,
  );
}

async function authorize(root: Service, nwid: string, member: Service): Promise<void> {
  const addr = await member.address();
  const r = await root.post<{ authorized: boolean }>(`/controller/network/${nwid}/member/${addr}`, { authorized: true });
  expect(r.authorized).toBe(true);
}

/** A program under the intercept library on `home`'s daemon, with its output collected. */
class App {
  out = '';
  readonly exited: Promise<number | null>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }
  async waitLine(re: RegExp, ms = NETWORK_TIMEOUT_MS): Promise<RegExpMatchArray> {
    return waitFor(() => re.exec(this.out), ms, `${re} in app output: ${this.out}`);
  }
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

const apps: App[] = [];

/** `home` null: no ZT_NC_HOME, so the library uses the default /tmp/.ztnc_<nwid> socket. */
function startApp(home: string | null, nwid: string, script: string, args: string[]): App {
  const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: interceptLibrary(), ZT_NC_NWID: nwid };
  if (home) env.ZT_NC_HOME = home;
  else delete env.ZT_NC_HOME;
  delete env.ZT_NC_SOCKET;
  const app = new App(spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  apps.push(app);
  return app;
}

const SERVER_JS = `import net from 'node:net'; import crypto from 'node:crypto';
const [host, port, mode] = process.argv.slice(2);
net.createServer((s) => {
  console.log('ACCEPTED');
  const h = crypto.createHash('sha256'); let n = 0;
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { if (mode === 'digest') s.end(n + ' ' + h.digest('hex')); });
  s.on('error', (e) => console.log('SERVER_ERROR ' + e.code));
  s.on('close', () => console.log('SERVER_CLOSED'));
}).listen(Number(port), host, () => console.log('LISTENING'));
`;

const CLIENT_JS = `import net from 'node:net'; import fs from 'node:fs';
const [host, port, file] = process.argv.slice(2);
const s = net.connect(Number(port), host, () => { console.log('CONNECTED'); if (file) s.end(fs.readFileSync(file)); });
let reply = '';
s.on('data', (d) => (reply += d));
s.on('end', () => console.log('REPLY ' + reply));
s.on('error', (e) => console.log('CLIENT_ERROR ' + e.code));
s.on('close', () => { console.log('CLIENT_CLOSED'); process.exit(0); });
`;

describe.runIf(requireOrSkip(needPrograms('cc', 'make'), 'daemons side by side'))('daemons side by side on one machine', () => {
  const tmp = tempDir('ztnc-overlay-');
  let root: Service;
  let a: Service;
  let b: Service;
  let nwid: string;
  let ipA = '';
  let ipB = '';
  let earlyListener: App;
  const scripts = join(tmp, 'apps');

  beforeAll(async () => {
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, 'server.mjs'), SERVER_JS);
    writeFileSync(join(scripts, 'client.mjs'), CLIENT_JS);
    interceptLibrary();
    root = await startRoot(join(tmp, 'root'));
    nwid = await createNetwork(root);
    a = await startService(join(tmp, 'a'), ['--planet', join(root.home, 'planet')]);
  }, 180_000);

  afterAll(async () => {
    for (const app of apps) app.kill();
    await killAll();
  }, 60_000);

  it('the root writes its private planet and runs the controller', async () => {
    const st = await root.get<{ address: string; online: boolean; planetWorldId: number }>('/status');
    expect(st.address).toMatch(/^[0-9a-f]{10}$/);
    expect(st.online).toBe(true);
    expect(nwid.startsWith(st.address)).toBe(true);
    expect(readFileSync(join(root.home, 'planet')).length).toBeGreaterThan(100);
    expect(existsSync(join(root.home, 'controller.db'))).toBe(true);
    expect(await root.get<string[]>('/controller/network')).toContain(nwid);
  });

  it('a member joins through the API, is refused until authorized, then gets its address', async () => {
    const joined = await a.post<NetworkView>(`/network/${nwid}`, {});
    expect(joined.id).toBe(nwid);
    expect(['REQUESTING_CONFIGURATION', 'ACCESS_DENIED']).toContain(joined.status);
    expect(readFileSync(join(a.home, 'networks.d', `${nwid}.conf`), 'utf8')).toBe('');
    await waitStatus(a, nwid, 'ACCESS_DENIED');
    await authorize(root, nwid, a);
    const ok = await waitStatus(a, nwid, 'OK');
    expect(ok.assignedAddresses).toHaveLength(1);
    expect(ok.assignedAddresses[0]).toMatch(/^10\.91\.0\.\d+\/24$/);
    ipA = ok.assignedAddresses[0]!.split('/')[0]!;
    const members = await root.get<Record<string, number>>(`/controller/network/${nwid}/member`);
    expect(Object.keys(members)).toContain(await a.address());
  }, 120_000);

  it('answers /status, /network, /peer and /moon in stock shapes', async () => {
    const st = await a.get<Record<string, unknown>>('/status');
    expect(st).toMatchObject({ online: true, version: '1.14.1', versionMajor: 1, versionMinor: 14, tcpFallbackActive: false });
    expect(st.address).toMatch(/^[0-9a-f]{10}$/);
    expect(String(st.publicIdentity).startsWith(`${String(st.address)}:0:`)).toBe(true);
    const settings = (st.config as { settings: Record<string, unknown> }).settings;
    expect(typeof settings.primaryPort).toBe('number');
    expect(settings.homeDir).toBe(a.home);

    const list = await a.get<NetworkView[]>('/network');
    expect(list.map((n) => n.nwid)).toEqual([nwid]);
    const n = list[0]!;
    expect(n).toMatchObject({
      id: nwid,
      status: 'OK',
      type: 'PRIVATE',
      name: 'test',
      portDeviceName: join(a.home, 'sockets', `${nwid}.sock`),
    });
    expect(n.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);

    const rootAddr = await root.address();
    const peers = await a.get<{ address: string; role: string; paths: { active: boolean; address: string }[] }[]>('/peer');
    const rp = peers.find((p) => p.address === rootAddr);
    expect(rp?.role).toBe('PLANET');
    expect(rp?.paths.some((p) => p.active && p.address.startsWith('127.0.0.1/'))).toBe(true);
    expect((await a.get<{ address: string }>(`/peer/${rootAddr}`)).address).toBe(rootAddr);
    expect((await a.api('GET', '/peer/0000000001')).status).toBe(404);
    expect((await a.api('GET', `/network/${nwid.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`)).status).toBe(404);
    expect(await a.get('/moon')).toEqual([]);
  });

  it('a second member joins from networks.d at start and reaches OK once authorized', async () => {
    const homeB = join(tmp, 'b');
    mkdirSync(join(homeB, 'networks.d'), { recursive: true, mode: 0o700 });
    writeFileSync(join(homeB, 'networks.d', `${nwid}.conf`), '');
    b = await startService(homeB, ['--planet', join(root.home, 'planet')]);
    expect((await networkOf(b, nwid)).id).toBe(nwid);
    expect(existsSync(join(homeB, 'sockets', `${nwid}.sock`))).toBe(true);

    // before the network has an address, apps already get sockets: a listener waits, a connect
    // finds no route, as on a kernel interface that is not up yet
    expect((await networkOf(b, nwid)).assignedAddresses).toEqual([]);
    earlyListener = startApp(b.home, nwid, join(scripts, 'server.mjs'), ['0.0.0.0', '7200', 'digest']);
    await earlyListener.waitLine(/LISTENING/);
    const noRoute = startApp(b.home, nwid, join(scripts, 'client.mjs'), [ipA, '7200']);
    await noRoute.waitLine(/CLIENT_ERROR ENETUNREACH/);

    await authorize(root, nwid, b);
    const ok = await waitStatus(b, nwid, 'OK');
    expect(ok.assignedAddresses[0]).toMatch(/^10\.91\.0\.\d+\/24$/);
    expect(ok.assignedAddresses[0]).not.toBe(`${ipA}/24`);
    ipB = ok.assignedAddresses[0]!.split('/')[0]!;
  }, 120_000);

  it('a listener opened before the address came accepts once the network is up', async () => {
    const file = join(tmp, 'small.bin');
    const payload = randomBytes(64 * 1024);
    writeFileSync(file, payload);
    const client = startApp(a.home, nwid, join(scripts, 'client.mjs'), [ipB, '7200', file]);
    const m = await client.waitLine(/REPLY (\d+) ([0-9a-f]{64})/);
    expect(Number(m[1])).toBe(payload.length);
    expect(m[2]).toBe(createHash('sha256').update(payload).digest('hex'));
    earlyListener.kill();
  }, 120_000);

  it('a program on one daemon moves 4 MB over TCP to a program on the other', async () => {
    const payload = randomBytes(PAYLOAD_SIZE);
    const file = join(tmp, 'payload.bin');
    writeFileSync(file, payload);
    const server = startApp(a.home, nwid, join(scripts, 'server.mjs'), [ipA, '7100', 'digest']);
    await server.waitLine(/LISTENING/);
    const client = startApp(b.home, nwid, join(scripts, 'client.mjs'), [ipA, '7100', file]);
    const m = await client.waitLine(/REPLY (\d+) ([0-9a-f]{64})/, 90_000);
    expect(Number(m[1])).toBe(PAYLOAD_SIZE);
    expect(m[2]).toBe(createHash('sha256').update(payload).digest('hex'));
    await client.exited;
    server.kill();
  }, 120_000);

  it('a program with only ZT_NC_NWID set reaches the network through the default socket path', async () => {
    const server = startApp(b.home, nwid, join(scripts, 'server.mjs'), [ipB, '7500', 'digest']);
    await server.waitLine(/LISTENING/);
    const file = join(tmp, 'small3.bin');
    const payload = randomBytes(16 * 1024);
    writeFileSync(file, payload);
    // daemon a joined first, so it serves /tmp/.ztnc_<nwid>/<nwid>.sock
    const client = startApp(null, nwid, join(scripts, 'client.mjs'), [ipB, '7500', file]);
    const m = await client.waitLine(/REPLY (\d+) ([0-9a-f]{64})/);
    expect(m[2]).toBe(createHash('sha256').update(payload).digest('hex'));
    server.kill();
  }, 120_000);

  it('a deauthorized member loses its address but keeps its apps sockets, and comes back when authorized again', async () => {
    const listener = startApp(b.home, nwid, join(scripts, 'server.mjs'), ['0.0.0.0', '7400', 'digest']);
    await listener.waitLine(/LISTENING/);
    const addrB = await b.address();
    await root.post(`/controller/network/${nwid}/member/${addrB}`, { authorized: false });
    // as stock, a refused member learns it at its next config refresh (every 60 s)
    const denied = await waitStatus(b, nwid, 'ACCESS_DENIED', 120_000);
    expect(denied.assignedAddresses).toEqual([]);
    expect(existsSync(join(b.home, 'sockets', `${nwid}.sock`))).toBe(true);

    await root.post(`/controller/network/${nwid}/member/${addrB}`, { authorized: true });
    const back = await waitStatus(b, nwid, 'OK');
    expect(back.assignedAddresses).toEqual([`${ipB}/24`]);
    const file = join(tmp, 'small2.bin');
    const payload = randomBytes(32 * 1024);
    writeFileSync(file, payload);
    const client = startApp(a.home, nwid, join(scripts, 'client.mjs'), [ipB, '7400', file]);
    const m = await client.waitLine(/REPLY (\d+) ([0-9a-f]{64})/);
    expect(m[2]).toBe(createHash('sha256').update(payload).digest('hex'));
    listener.kill();
  }, 240_000);

  it('SIGTERM ends the apps connections, keeps networks.d, removes the pid file and exits 0', async () => {
    const server = startApp(a.home, nwid, join(scripts, 'server.mjs'), [ipA, '7101', 'hold']);
    await server.waitLine(/LISTENING/);
    const client = startApp(b.home, nwid, join(scripts, 'client.mjs'), [ipA, '7101']);
    await client.waitLine(/CONNECTED/);
    await server.waitLine(/ACCEPTED/);
    const defaultSocket = `/tmp/.ztnc_${nwid}/${nwid}.sock`;
    // the first daemon on a network also serves it at the library's default path
    expect(existsSync(defaultSocket)).toBe(true);

    const exit = await a.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    // the app on the stopped daemon sees its socket go, and its peer across the overlay is reset
    await server.waitLine(/SERVER_CLOSED/);
    await client.waitLine(/CLIENT_CLOSED/);
    expect(client.out).toMatch(/CLIENT_ERROR ECONNRESET|REPLY/);
    expect(existsSync(join(a.home, 'ztnc.pid'))).toBe(false);
    expect(existsSync(join(a.home, 'networks.d', `${nwid}.conf`))).toBe(true);
    expect(existsSync(join(a.home, 'sockets', `${nwid}.sock`))).toBe(false);
    expect(existsSync(defaultSocket)).toBe(false);
    server.kill();
  }, 120_000);
});
