/**
 * One ztnc-service in a home of its own, started by the scenario runner: as a child process in
 * the foreground (so the runner can always stop it), on any free UDP and API port, with the
 * built-in planet refused. Talks to it through its local API (token and port from the home, as
 * ztnc-cli does) and through `ztnc-cli`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { GiveUp, type LongRunning, run, start, waitFor } from './processes.js';

export const START_TIMEOUT_MS = 60_000;

export interface ApiReply {
  status: number;
  body: unknown;
}

/** A request to a local API on 127.0.0.1 with the X-ZT1-Auth token. */
export function apiRequest(port: number, token: string, method: string, path: string, body?: unknown): Promise<ApiReply> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          'X-ZT1-Auth': token,
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // Not JSON: keep the text for the error message.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer from 127.0.0.1:${port}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface DaemonOptions {
  /** Name used in messages and log file names. */
  name: string;
  home: string;
  /** Environment with the commands on PATH (see toolsetEnv). */
  env: NodeJS.ProcessEnv;
  /** Become the root+controller of a private planet written to <home>/planet. */
  privatePlanet?: boolean;
  /** Planet file to use (the private root's). */
  planet?: string;
  /** Networks joined at start through networks.d/<nwid>.conf. */
  join?: readonly string[];
  /**
   * Addresses the peer protocol binds to, written to local.conf (a private root's planet then
   * names the first as its endpoint, reachable from network namespaces).
   */
  bind?: readonly string[];
}

export interface NetworkState {
  id: string;
  status: string;
  assignedAddresses: string[];
}

export class ServiceDaemon {
  readonly name: string;
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly opts: DaemonOptions;
  private proc: LongRunning | null = null;
  private apiPort = 0;
  private token = '';
  address = '';

  constructor(opts: DaemonOptions) {
    this.name = opts.name;
    this.home = opts.home;
    this.env = opts.env;
    this.opts = opts;
  }

  /** Where the daemon's output goes (it runs in the foreground, as the runner's child). */
  get logFile(): string {
    return join(this.home, 'service.out');
  }

  get planetFile(): string {
    return join(this.home, 'planet');
  }

  get port(): number {
    return this.apiPort;
  }

  /** The daemon's process id while it runs. */
  get pid(): number | undefined {
    return this.proc?.proc.pid;
  }

  /** Starts the daemon and waits until its API answers /status with its address. */
  async start(): Promise<void> {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    for (const nwid of this.opts.join ?? []) {
      mkdirSync(join(this.home, 'networks.d'), { recursive: true });
      // An empty file joins at start, as a container image's recipe would.
      const conf = join(this.home, 'networks.d', `${nwid}.conf`);
      if (!existsSync(conf)) writeFileSync(conf, '');
    }
    if (this.opts.bind && this.opts.bind.length > 0) {
      writeFileSync(join(this.home, 'local.conf'), `${JSON.stringify({ settings: { bind: this.opts.bind } }, null, 2)}\n`);
    }
    const args = ['-p', '0', '--api-port', '0'];
    if (this.opts.privatePlanet) args.push('--private-planet');
    if (this.opts.planet) args.push('--planet', this.opts.planet);
    args.push(this.home);
    this.proc = start('ztnc-service', args, { env: this.env, logFile: this.logFile });
    await waitFor(
      `${this.name} (ztnc-service in ${this.home}) to answer its API`,
      async () => {
        if (this.proc!.exited()) throw new GiveUp(`ztnc-service exited: ${this.proc!.output().trim().split('\n').slice(-5).join(' | ')}`);
        const portFile = join(this.home, 'ztnc.port');
        const tokenFile = join(this.home, 'authtoken.secret');
        if (!existsSync(portFile) || !existsSync(tokenFile)) return false;
        const port = Number.parseInt(readFileSync(portFile, 'utf8').trim(), 10);
        const token = readFileSync(tokenFile, 'utf8').trim();
        if (!Number.isInteger(port) || port <= 0 || token === '') return false;
        const r = await apiRequest(port, token, 'GET', '/status').catch(() => null);
        if (!r || r.status !== 200) return false;
        const address = (r.body as { address?: unknown }).address;
        if (typeof address !== 'string') throw new Error(`/status has no address: ${JSON.stringify(r.body)}`);
        this.apiPort = port;
        this.token = token;
        this.address = address;
        return true;
      },
      START_TIMEOUT_MS,
    );
  }

  async api(method: string, path: string, body?: unknown): Promise<ApiReply> {
    return apiRequest(this.apiPort, this.token, method, path, body);
  }

  /** Like api() but a non-2xx answer is an error naming the call. */
  async apiOk(method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.api(method, path, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${this.name}: ${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Runs `ztnc-cli -D <home> args…`. */
  cli(args: readonly string[], timeoutMs = 30_000) {
    return run('ztnc-cli', ['-D', this.home, ...args], { env: this.env, timeoutMs });
  }

  /** The network as `ztnc-cli -j listnetworks` shows it (null while not listed). */
  async listedNetwork(nwid: string): Promise<NetworkState | null> {
    const r = await this.cli(['-j', 'listnetworks']);
    if (r.code !== 0) throw new Error(`ztnc-cli listnetworks failed (${r.code}): ${r.stderr.trim()}`);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const n = list.find((x) => x.id === nwid || x.nwid === nwid);
    if (!n) return null;
    return {
      id: nwid,
      status: String(n.status),
      assignedAddresses: Array.isArray(n.assignedAddresses) ? n.assignedAddresses.map(String) : [],
    };
  }

  /** Waits until `ztnc-cli listnetworks` shows the network OK with an IPv4 address; returns it. */
  async waitForAddress(nwid: string, timeoutMs = START_TIMEOUT_MS): Promise<string> {
    let last: NetworkState | null = null;
    try {
      return await waitFor(
        `${this.name} to get an address on ${nwid}`,
        async () => {
          last = await this.listedNetwork(nwid);
          if (!last || last.status !== 'OK') return false;
          const v4 = last.assignedAddresses.find((a) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a));
          return v4 ? v4.split('/')[0] : false;
        },
        timeoutMs,
        300,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message} (last seen: ${JSON.stringify(last)})`, { cause: e });
    }
  }

  /** The member's rfc4193 IPv6 address (fd…) `ztnc-cli listnetworks` shows on the network, or null. */
  async address6(nwid: string): Promise<string | null> {
    const n = await this.listedNetwork(nwid);
    const v6 = n?.assignedAddresses.find((a) => /^fd[0-9a-f]{2}:[0-9a-f:]+\/\d+$/i.test(a));
    return v6 ? v6.split('/')[0]!.toLowerCase() : null;
  }

  /** SIGTERM (SIGKILL after a grace period); resolves once it has exited. */
  async stop(): Promise<void> {
    await this.proc?.stop(10_000);
  }

  running(): boolean {
    return this.proc !== null && !this.proc.exited();
  }

  output(): string {
    return this.proc?.output() ?? '';
  }
}
