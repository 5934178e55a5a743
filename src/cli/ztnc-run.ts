#!/usr/bin/env node
/**
 * ztnc-run [-D home] [--planet FILE] -n <nwid> [--name NAME] [--] program args…
 * Namespace mode: runs a program in a new user + network + mount + UTS namespace whose only
 * interfaces are `lo` and a TAP (`zt0`) carried by the home's daemon onto the virtual network —
 * the namespace's own kernel does TCP/IP, so static and Go binaries, UDP, IPv6, ping and raw
 * sockets all work, and nothing inside reaches the host's network. Exits with the program's status
 * (125 when ztnc-run itself fails, as container runners do).
 *
 * With `-e <name>` the namespace is the daemon's endpoint <name> (created when missing, and deleted
 * afterwards when ztnc-run created it, unless --stay): one daemon, a member per container.
 *
 * Steps: start the home's daemon if it is not running (`ztnc-service -d`), join the network, wait
 * until the controller has authorized this member and given it an address, then start
 * `unshare --user --map-root-user --net --mount --uts` around ns-agent.js, which creates the TAP,
 * passes its fd to the daemon, configures the interface and runs the program.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { defaultHome } from '../service/home.js';
import { NAMESPACE_SOCKET } from '../service/namespace-wire.js';
import { ensureDaemon, waitForNetwork } from '../namespace/daemon-control.js';
import type { AgentSpec } from '../namespace/ns-agent.js';
import { isDefaultEndpoint, isEndpointName } from '../netcon/socket-path.js';
import { apiRequest, answerError, CliError, createEndpoint } from './cli-client.js';

const EXIT_RUNNER = 125;
const here = dirname(fileURLToPath(import.meta.url));

interface Options {
  home?: string;
  planet?: string;
  port: number;
  network: string;
  name?: string;
  endpoint?: string;
  ifname: string;
  stay?: boolean;
  timeout: number;
}

function fail(message: string): never {
  process.stderr.write(`ztnc-run: ${message}\n`);
  process.exit(EXIT_RUNNER);
}

async function run(argv: string[], opts: Options): Promise<void> {
  const nwid = opts.network.toLowerCase();
  if (!/^[0-9a-f]{16}$/.test(nwid)) fail(`-n: network id must be 16 hex digits, not "${opts.network}"`);
  const home = resolve(opts.home ?? process.env.ZTNC_HOME ?? defaultHome());
  const unshare = spawnSync('unshare', ['--version'], { encoding: 'utf8' });
  if (unshare.error) fail('util-linux unshare is needed (apt-get install util-linux)');

  const endpoint = opts.endpoint !== undefined && !isDefaultEndpoint(opts.endpoint) ? opts.endpoint : null;
  if (endpoint !== null && !isEndpointName(endpoint)) fail(`-e: "${endpoint}" is not an endpoint name (a-z, 0-9, '.', '_', '-')`);
  const c = await ensureDaemon(home, { port: opts.port, ...(opts.planet ? { planet: opts.planet } : {}) });
  let address = readFileSync(join(home, 'identity.public'), 'utf8').slice(0, 10);
  let created = false;
  if (endpoint !== null) {
    const existing = await apiRequest(c, 'GET', `/endpoint/${endpoint}`);
    const made = existing.status === 200 ? existing : await createEndpoint(c, endpoint);
    if (made.status !== 200) fail(`cannot create endpoint ${endpoint}: ${answerError(made)}`);
    created = existing.status !== 200;
    address = (made.body as { address: string }).address;
  }
  const networkPath = endpoint === null ? `/network/${nwid}` : `/endpoint/${endpoint}/network/${nwid}`;
  const before = await apiRequest(c, 'GET', networkPath);
  // a network the home (or endpoint) had joined already stays joined afterwards
  const stay = opts.stay === true || before.status === 200;
  const joined = await apiRequest(c, 'POST', networkPath, {});
  if (joined.status !== 200) fail(`cannot join ${nwid}: ${answerError(joined)}`);
  const leave = async (): Promise<void> => {
    if (stay) return;
    await apiRequest(c, 'DELETE', networkPath).catch(() => undefined);
    if (created) await apiRequest(c, 'DELETE', `/endpoint/${endpoint}`).catch(() => undefined);
  };
  try {
    await waitForNetwork(c, networkPath, nwid, opts.timeout * 1000, () => address);
  } catch (e) {
    await leave();
    fail((e as Error).message);
  }

  const spec: AgentSpec = {
    socket: join(home, NAMESPACE_SOCKET),
    nwid,
    ifname: opts.ifname,
    stay,
    ...(endpoint !== null ? { endpoint } : {}),
    hostname: opts.name ?? `ztnc-${address}`,
    timeoutMs: opts.timeout * 1000,
  };
  const agent = join(here, '..', 'namespace', 'ns-agent.js');
  if (!existsSync(agent)) fail(`${agent} is missing (npm run build)`);
  const child = spawn(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--net',
      '--mount',
      '--uts',
      '--propagation',
      'private',
      '--',
      process.execPath,
      agent,
      JSON.stringify(spec),
      ...argv,
    ],
    { stdio: 'inherit' },
  );
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.once('error', (e) => fail(`unshare: ${e.message}`));
  child.once('exit', (code, signal) => {
    const done = (): void => {
      if (signal) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
      process.exit(code ?? EXIT_RUNNER);
    };
    // the agent's closing makes the daemon leave the network; an endpoint created here goes too
    if (created && !stay) void apiRequest(c, 'DELETE', `/endpoint/${endpoint}`).then(done, done);
    else done();
  });
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

new Command('ztnc-run')
  .description(
    'run a program in a rootless network namespace whose only interface (besides lo) is on the virtual network <nwid>, carried by the home daemon',
  )
  .requiredOption('-n, --network <nwid>', 'network id (16 hex digits)')
  .option('-D, --home <dir>', 'daemon home directory (default: $ZTNC_HOME, else the usual ztnc home)')
  .option('--planet <file>', 'planet file for a daemon this command starts')
  .option('-p, --port <port>', 'primary UDP port for a daemon this command starts (0 = any free port)', portNumber, 0)
  .option('--name <name>', "the namespace's hostname (default ztnc-<member address>)")
  .option(
    '-e, --endpoint <name>',
    "run as the daemon's endpoint <name>, its own member (created when missing; deleted afterwards when created here, unless --stay)",
  )
  .option('--ifname <name>', "the interface's name inside the namespace", 'zt0')
  .option('--stay', 'stay joined to the network after the program exits (default: leave, unless it was joined before)')
  .option('--timeout <seconds>', 'how long to wait for authorization and an address', positive, 30)
  .argument('<program>', 'program to run')
  .argument('[args...]', 'its arguments')
  .passThroughOptions()
  .addHelpText(
    'after',
    `
The program runs as root mapped to your user in its own namespaces; /etc/resolv.conf and /etc/hosts
are replaced there (yours are untouched). Exit status: the program's, 125 if ztnc-run fails,
126/127 if the program cannot run / is not found. Needs util-linux unshare and iproute2.`,
  )
  .action((cmd: string, args: string[], opts: Options) =>
    run([cmd, ...args], opts).catch((e: unknown) => fail(e instanceof CliError ? e.message : (e as Error).message)),
  )
  .parseAsync(process.argv)
  .catch((e: unknown) => fail((e as Error).message));
