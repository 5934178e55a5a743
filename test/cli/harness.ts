/**
 * For the CLI tests: running ztnc-cli / ztnc-idtool as real processes, and a daemon stand-in that
 * serves the real local API (router, server, auth, local-api.ts routes) over an in-memory
 * LocalService, plus a real controller over a temporary SQLite file, from a temporary home with
 * ztnc.port and authtoken.secret as the daemon writes them.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { NetworkController } from '../../src/controller/index.js';
import { loadOrCreateAuthToken } from '../../src/service/http/auth-token.js';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';
import { mountLocalApi, type LocalService, type PingAnswer, type PingReply, type PingRequest } from '../../src/service/local-api.js';
import { defaultNetworkUserSettings, type NetworkUserSettings } from '../../src/service/json-views.js';
import { programPath, type ProgramName } from '../support/programs.js';
import { removeDir, tempDir } from '../support/temp-dir.js';

export interface ProgramResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A failed command: the given exit code, nothing on stdout, exactly one line on stderr matching
 * `pattern` (and `prefix`, when given: ztnc-cli's own errors start with `ztnc-cli: `).
 */
export function expectOneLineError(r: ProgramResult, code: number, pattern: RegExp, prefix?: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  if (prefix) expect(lines[0]).toMatch(prefix);
  expect(lines[0]).toMatch(pattern);
}

/** Runs a bundled command to completion (never through a shell). */
export async function runProgram(
  name: ProgramName,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProgramResult> {
  const file = await programPath(name);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      { cwd: opts.cwd, env: { ...process.env, ZTNC_HOME: undefined, ...opts.env }, timeout: 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export const FAKE_ADDRESS = '3ce329f872';
export const FAKE_VERSION = '1.14.1';
export const FAKE_PLANET_ID = 1706756347787900461n;

interface FakeNetwork {
  nwid: string;
  settings: NetworkUserSettings;
  status: string;
  name: string;
  assigned: string[];
}

/** An in-memory daemon: networks joined through the API, a fixed peer list, settings recorded. */
export class FakeService implements LocalService {
  readonly networksById = new Map<string, FakeNetwork>();
  /** The wall clock the fake peer's path times are relative to. */
  peerTimes = { lastSend: 0, lastReceive: 0 };
  online = true;
  /** Addresses that answer pings (each reply 0.25 ms × seq); every other one times out. */
  readonly reachable = new Set<string>();
  /** The ping requests received, in order. */
  readonly pingRequests: { nwid: string; req: PingRequest }[] = [];

  status(): Record<string, unknown> {
    return {
      address: FAKE_ADDRESS,
      online: this.online,
      // a stock planet's id has 63 bits: no double holds it exactly
      planetWorldId: FAKE_PLANET_ID,
      tcpFallbackActive: false,
      version: FAKE_VERSION,
      versionMajor: 1,
      versionMinor: 14,
      versionRev: 1,
    };
  }

  private view(n: FakeNetwork): Record<string, unknown> {
    return {
      ...n.settings,
      assignedAddresses: n.assigned,
      id: n.nwid,
      mac: '32:aa:bb:cc:dd:ee',
      name: n.name,
      nwid: n.nwid,
      portDeviceName: `/home/sockets/${n.nwid}.sock`,
      status: n.status,
      type: 'PRIVATE',
    };
  }

  networks(): Record<string, unknown>[] {
    return [...this.networksById.values()].map((n) => this.view(n));
  }

  network(nwid: string): Record<string, unknown> | null {
    const n = this.networksById.get(nwid);
    return n ? this.view(n) : null;
  }

  join(nwid: string, settings: Partial<NetworkUserSettings>): Record<string, unknown> {
    let n = this.networksById.get(nwid);
    if (!n) {
      n = { nwid, settings: defaultNetworkUserSettings(), status: 'REQUESTING_CONFIGURATION', name: '', assigned: [] };
      this.networksById.set(nwid, n);
    }
    Object.assign(n.settings, settings);
    return this.view(n);
  }

  leave(nwid: string): boolean {
    return this.networksById.delete(nwid);
  }

  peers(): Record<string, unknown>[] {
    return [
      {
        address: '5f5c2b984a',
        latency: 12,
        paths: [
          {
            active: true,
            address: '127.0.0.1/9993',
            expired: false,
            lastReceive: this.peerTimes.lastReceive,
            lastSend: this.peerTimes.lastSend,
            preferred: true,
          },
        ],
        role: 'PLANET',
        tunneled: false,
        version: '1.14.1',
        versionMajor: 1,
        versionMinor: 14,
        versionRev: 1,
      },
      {
        address: '0a1b2c3d4e',
        latency: -1,
        paths: [],
        role: 'LEAF',
        tunneled: false,
        version: '-1.-1.-1',
        versionMajor: -1,
        versionMinor: -1,
        versionRev: -1,
      },
    ];
  }

  peer(address: string): Record<string, unknown> | null {
    return this.peers().find((p) => p.address === address) ?? null;
  }

  async ping(nwid: string, req: PingRequest): Promise<PingAnswer> {
    this.pingRequests.push({ nwid, req });
    const n = this.networksById.get(nwid);
    if (!n) return { status: 404, error: `network ${nwid} not joined` };
    if (n.assigned.length === 0) return { status: 409, error: `network ${nwid} has no address yet (status ${n.status})` };
    const replies = Array.from({ length: req.count }, (_, i): PingReply =>
      this.reachable.has(req.address) ? { seq: i + 1, rttMs: 0.25 * (i + 1), ttl: 64 } : { seq: i + 1, error: 'ETIMEDOUT' },
    );
    const rttMs = replies.flatMap((r) => ('rttMs' in r ? [r.rttMs] : []));
    return { status: 200, report: { address: req.address, transmitted: replies.length, received: rttMs.length, rttMs, replies } };
  }
}

export interface FakeDaemon {
  home: string;
  port: number;
  token: string;
  service: FakeService;
  controller: NetworkController | null;
  stop(): Promise<void>;
}

/** Serves the local API (and the controller's when asked) from `home`, writing ztnc.port. */
export async function startFakeDaemon(home: string, opts: { controller?: boolean; writePortFile?: boolean } = {}): Promise<FakeDaemon> {
  const logger = pino({ level: 'silent' });
  const token = loadOrCreateAuthToken(join(home, 'authtoken.secret'));
  const service = new FakeService();
  const router = new Router();
  mountLocalApi(router, service);
  const controller = opts.controller
    ? new NetworkController({ dbFile: join(home, 'controller.db'), nodeAddress: FAKE_ADDRESS, logger, backupIntervalMs: 0 })
    : null;
  controller?.mount(router);
  const server = new ApiServer({ router, authToken: token, logger });
  const addr = await server.listen();
  if (opts.writePortFile !== false) writeFileSync(join(home, 'ztnc.port'), `${addr.port}\n`);
  return {
    home,
    port: addr.port,
    token,
    service,
    controller,
    async stop() {
      await server.close();
      await controller?.close();
    },
  };
}

/**
 * For a describe block: a private home (made now) and a fake daemon serving it, started before the
 * block's tests and stopped, with the home removed, after them.
 */
export function fakeDaemonForSuite(opts: { controller?: boolean } = {}): { home: string; daemon: () => FakeDaemon } {
  const home = tempDir('ztnc-cli-');
  let daemon: FakeDaemon | undefined;
  beforeAll(async () => {
    daemon = await startFakeDaemon(home, opts);
  });
  afterAll(async () => {
    await daemon?.stop();
    removeDir(home);
  });
  return {
    home,
    daemon: () => {
      if (!daemon) throw new Error('the fake daemon is not running (its beforeAll failed or has not run)');
      return daemon;
    },
  };
}
