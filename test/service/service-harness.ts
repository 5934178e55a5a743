/**
 * ztnc-service as a real process for tests: the bundled program (test/support/programs.ts) started
 * in a unique temp home with random ports, always with a private planet and
 * ZTNC_REFUSE_BUILTIN_PLANET=1, and its local API called with the home's token. Every process
 * started here is killed by `killAll()` (call it in afterAll) even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { programPath } from '../support/programs.js';
import { runCollecting, type CollectedRun } from '../support/run-collecting.js';
import { removeTempDirs } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

// The suites using this harness get the shared temp dirs and waits from here too.
export { tempDir } from '../support/temp-dir.js';
export { waitFor };

export const START_TIMEOUT_MS = 60_000;

const children = new Set<ChildProcess>();

export function serviceEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ZTNC_REFUSE_BUILTIN_PLANET: '1', ZTNC_LOG_LEVEL: 'info', ...extra };
  delete env.ZT_NC_HOME;
  delete env.ZT_NC_SOCKET;
  delete env.ZT_NC_ENDPOINT;
  return env;
}

export type RunResult = Omit<CollectedRun, 'timedOut' | 'ms'>;

/** Runs ztnc-service to completion (for -d and for start-up errors). */
export async function runService(
  args: string[],
  env: NodeJS.ProcessEnv = serviceEnv(),
  timeoutMs = START_TIMEOUT_MS * 2,
): Promise<RunResult> {
  const file = await programPath('ztnc-service');
  const r = await runCollecting(process.execPath, [file, ...args], {
    env,
    timeoutMs,
    onSpawn: (p) => children.add(p),
    onClose: (p) => children.delete(p),
  });
  if (r.timedOut) throw new Error(`ztnc-service ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${r.stderr}`);
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** A running daemon: foreground child process or a -d daemon (known by its pid). */
export class Service {
  private exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  output = '';

  constructor(
    readonly home: string,
    readonly proc: ChildProcess | null,
  ) {
    if (proc) {
      proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
      this.exitPromise = new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
        else proc.once('exit', (code, signal) => resolve({ code, signal }));
      });
    }
  }

  get pid(): number {
    if (this.proc?.pid) return this.proc.pid;
    return Number.parseInt(readFileSync(join(this.home, 'ztnc.pid'), 'utf8'), 10);
  }

  get token(): string {
    return readFileSync(join(this.home, 'authtoken.secret'), 'utf8').trim();
  }

  get apiPort(): number {
    return Number.parseInt(readFileSync(join(this.home, 'ztnc.port'), 'utf8'), 10);
  }

  async api(method: string, path: string, body?: unknown, headers: Record<string, string> | null = null): Promise<ApiAnswer> {
    const res = await fetch(`http://127.0.0.1:${this.apiPort}${path}`, {
      method,
      headers: headers ?? { 'X-ZT1-Auth': this.token },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    const r = await this.api('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as T;
  }

  async post<T = Record<string, unknown>>(path: string, body: unknown = {}): Promise<T> {
    const r = await this.api('POST', path, body);
    if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as T;
  }

  async address(): Promise<string> {
    return (await this.get<{ address: string }>('/status')).address;
  }

  /** Waits until the API answers /status. */
  async ready(): Promise<this> {
    await waitFor(
      async () => {
        if (this.exited) throw new Error(`ztnc-service exited during start-up:\n${this.output}`);
        if (!existsSync(join(this.home, 'ztnc.port'))) return false;
        return (await this.api('GET', '/status')).status === 200;
      },
      START_TIMEOUT_MS,
      `ztnc-service in ${this.home} to answer`,
    );
    return this;
  }

  get exited(): boolean {
    return this.proc !== null && (this.proc.exitCode !== null || this.proc.signalCode !== null);
  }

  /** Sends a signal and waits for the process to end (a -d daemon: until its pid is gone). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitPromise) {
      if (!this.exited) this.proc!.kill(signal);
      return this.exitPromise;
    }
    const pid = this.pid;
    process.kill(pid, signal);
    await waitFor(() => !alive(pid), START_TIMEOUT_MS, `pid ${pid} to exit`);
    return { code: null, signal: null };
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const daemonPids = new Set<number>();

/**
 * Starts ztnc-service in the foreground on `home` with random ports and waits until it answers.
 * `wrapper` runs it under another command (e.g. setpriv to drop privileges), which must exec it.
 */
export async function startService(
  home: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = serviceEnv(),
  wrapper: string[] = [],
): Promise<Service> {
  const file = await programPath('ztnc-service');
  const argv = [...wrapper, process.execPath, file, home, '-p', '0', '--api-port', '0', ...args];
  const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.once('exit', () => children.delete(p));
  const s = new Service(home, p);
  return s.ready();
}

/** Starts ztnc-service -d; resolves once the parent exited 0 (the daemon answers by then). */
export async function startDaemonized(home: string, args: string[] = [], env: NodeJS.ProcessEnv = serviceEnv()): Promise<Service> {
  const r = await runService([home, '-d', '-p', '0', '--api-port', '0', ...args], env);
  if (r.code !== 0) throw new Error(`ztnc-service -d failed (${r.code}): ${r.stderr}`);
  const s = new Service(home, null);
  daemonPids.add(s.pid);
  return s;
}

/** A private root+controller daemon and its planet file. */
export async function startRoot(home: string): Promise<Service> {
  return startService(home, ['--private-planet']);
}

/** Creates a private network on a controller daemon; returns its id. */
export async function createNetwork(controller: Service, pool = '10.91.0'): Promise<string> {
  const body = {
    name: 'test',
    private: true,
    v4AssignMode: { zt: true },
    ipAssignmentPools: [{ ipRangeStart: `${pool}.10`, ipRangeEnd: `${pool}.250` }],
    routes: [{ target: `${pool}.0/24`, via: null }],
  };
  const r = await controller.post<{ id: string }>('/controller/network', body);
  return r.id;
}

/** Authorizes `member` on the controller's network `nwid`. */
export async function authorizeMember(controller: Service, nwid: string, member: Service): Promise<void> {
  await controller.post(`/controller/network/${nwid}/member/${await member.address()}`, { authorized: true });
}

/** Waits until `member` is OK on `nwid` with an address assigned; returns the address without its prefix length. */
export async function assignedIp(member: Service, nwid: string, ms: number): Promise<string> {
  return waitFor(
    async () => {
      const n = await member.get<{ status: string; assignedAddresses: string[] }>(`/network/${nwid}`);
      return n.status === 'OK' && n.assignedAddresses[0] ? n.assignedAddresses[0].split('/')[0]! : null;
    },
    ms,
    `an address on ${nwid} in ${member.home}`,
  );
}

function signalAll(signal: NodeJS.Signals): number[] {
  const pids: number[] = [];
  for (const p of children) if (p.exitCode === null && p.signalCode === null && p.pid) pids.push(p.pid);
  for (const pid of daemonPids) if (alive(pid)) pids.push(pid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
  return pids;
}

/** Stops every process this harness started (SIGTERM, then SIGKILL) and removes the temp dirs. */
export async function killAll(): Promise<void> {
  const pids = signalAll('SIGTERM');
  const end = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  signalAll('SIGKILL');
  daemonPids.clear();
  children.clear();
  removeTempDirs();
}

/** Records a -d daemon's pid for cleanup (tests that start one through runService). */
export function trackDaemon(home: string): void {
  try {
    daemonPids.add(Number.parseInt(readFileSync(join(home, 'ztnc.pid'), 'utf8'), 10));
  } catch {
    // no daemon
  }
}
