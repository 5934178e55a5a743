/**
 * What ztnc-run and ztnc-cni ask of the home's daemon before a namespace can use a network: that
 * it runs (started as `ztnc-service -d` when its local API does not answer) and that the member
 * is authorized and addressed on the network. Failures are CliErrors naming what is missing.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest, answerError, CliError, resolveConnection, type Connection } from '../cli/cli-client.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface DaemonStart {
  /** Planet file for a daemon started here. */
  planet?: string;
  /** Primary UDP port for a daemon started here (0 = any free port). */
  port?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The home's daemon's API connection when it answers, else null. */
export async function daemonAnswers(home: string): Promise<Connection | null> {
  try {
    const c = resolveConnection({ home });
    const a = await apiRequest(c, 'GET', '/status');
    return a.status === 200 ? c : null;
  } catch {
    return null;
  }
}

/** The home's daemon, started (`ztnc-service -d`) when it does not answer. */
export async function ensureDaemon(home: string, opts: DaemonStart = {}): Promise<Connection> {
  const running = await daemonAnswers(home);
  if (running) return running;
  const args = [join(here, '..', 'cli', 'ztnc-service.js'), '-d', '-p', String(opts.port ?? 0)];
  if (opts.planet) args.push('--planet', resolve(opts.planet));
  args.push(home);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0)
    throw new CliError(`could not start the daemon for ${home}: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  const c = await daemonAnswers(home);
  if (!c) throw new CliError(`the daemon for ${home} started but its local API does not answer`);
  return c;
}

type NetworkJson = Record<string, unknown> & { status?: string; assignedAddresses?: string[] };

/**
 * Waits until the member is authorized and addressed on the network the API shows at
 * `networkPath` (`/network/<nwid>`, or an endpoint's); returns its JSON. `member` names the member
 * in the error that says whom to authorize.
 */
export async function waitForNetwork(
  c: Connection,
  networkPath: string,
  nwid: string,
  timeoutMs: number,
  member: () => string,
): Promise<NetworkJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await apiRequest(c, 'GET', networkPath);
    if (a.status !== 200) throw new CliError(`network ${nwid}: ${answerError(a)}`);
    const n = a.body as NetworkJson;
    const last = String(n.status);
    if (last === 'OK' && (n.assignedAddresses ?? []).length > 0) return n;
    if (last === 'ACCESS_DENIED' || last === 'NOT_FOUND') {
      throw new CliError(
        last === 'ACCESS_DENIED'
          ? `not authorized on network ${nwid}: authorize member ${member()} at the network's controller`
          : `network ${nwid} does not exist at its controller`,
      );
    }
    if (Date.now() >= deadline) {
      throw new CliError(
        last === 'OK'
          ? `network ${nwid} gave this member no managed address within ${timeoutMs / 1000} s`
          : `no config for network ${nwid} within ${timeoutMs / 1000} s (status ${last})`,
      );
    }
    await sleep(250);
  }
}
