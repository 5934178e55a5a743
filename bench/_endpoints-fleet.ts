/**
 * The endpoints bench's hold on one daemon's endpoints, through its local API (`/endpoint…`):
 * create one (with an identity made here, as ztnc-cli, ztnc-run and ztnc-cni do, or made by the
 * daemon), join it to a network, wait until it holds an address; and a bench Side that runs
 * programs on one endpoint (under the intercept library, in a network namespace of their own so
 * nothing they do reaches the host's network).
 */
import { join } from 'node:path';
import { makeEndpointIdentity } from '../src/cli/cli-client.js';
import type { ServiceDaemon } from '../src/demo/daemon.js';
import { run as runProgram, start, waitFor } from '../src/demo/processes.js';
import { interceptEnv } from '../src/netcon/intercept-env.js';
import type { Side } from './_apps-sides.js';

/** An endpoint as `GET /endpoint/<name>` shows it. */
export interface EndpointView {
  name: string;
  address: string;
  networks: Array<{ id?: string; nwid?: string; status?: string; assignedAddresses?: string[] }>;
  online: boolean;
}

const ADDRESS_RE = /^[0-9a-f]{10}$/;
const IPV4_CIDR_RE = /^\d+\.\d+\.\d+\.\d+\/\d+$/;

/** The IPv4 address (without its prefix length) an endpoint's network JSON shows, once it is OK. */
export function ipv4Of(network: { status?: string; assignedAddresses?: string[] } | null | undefined): string | null {
  if (!network || network.status !== 'OK') return null;
  const a = (network.assignedAddresses ?? []).find((x) => IPV4_CIDR_RE.test(x));
  return a ? a.split('/')[0]! : null;
}

/** Programs run in a fresh network namespace: as root `unshare -n`, otherwise in a user namespace too. */
function isolated(cmd: string, args: readonly string[]): [string, string[]] {
  return ['unshare', [process.getuid?.() === 0 ? '-n' : '-rn', cmd, ...args]];
}

export class EndpointHost {
  constructor(
    readonly daemon: ServiceDaemon,
    private readonly library: string,
  ) {}

  /** A new identity.secret text made in this process (the clients' way: makeEndpointIdentity). */
  makeIdentity(): Promise<string> {
    return makeEndpointIdentity();
  }

  /**
   * Creates an endpoint with `identity` (from makeIdentity), or without one the daemon generates
   * it; returns its ZeroTier address.
   */
  async create(name: string, identity?: string): Promise<string> {
    const body = identity !== undefined ? { identity } : undefined;
    const e = (await this.daemon.apiOk('POST', `/endpoint/${name}`, body)) as Partial<EndpointView> | null;
    const address = e?.address;
    if (typeof address !== 'string' || !ADDRESS_RE.test(address)) {
      throw new Error(`${this.daemon.name}: POST /endpoint/${name} answered without an address: ${JSON.stringify(e)}`);
    }
    return address;
  }

  async join(name: string, nwid: string): Promise<void> {
    await this.daemon.apiOk('POST', `/endpoint/${name}/network/${nwid}`, {});
  }

  /** The endpoint's IPv4 address on `nwid` while it holds one (null before). */
  async address(name: string, nwid: string): Promise<string | null> {
    const r = await this.daemon.api('GET', `/endpoint/${name}/network/${nwid}`);
    if (r.status === 404) return null;
    if (r.status !== 200)
      throw new Error(`${this.daemon.name}: GET /endpoint/${name}/network/${nwid} → ${r.status} ${JSON.stringify(r.body)}`);
    return ipv4Of(r.body as { status?: string; assignedAddresses?: string[] });
  }

  waitForAddress(name: string, nwid: string, timeoutMs = 60_000, intervalMs = 25): Promise<string> {
    return waitFor(
      `endpoint ${name} of ${this.daemon.name} to hold an address on ${nwid}`,
      async () => (await this.address(name, nwid)) ?? false,
      timeoutMs,
      intervalMs,
    );
  }

  async list(): Promise<EndpointView[]> {
    return (await this.daemon.apiOk('GET', '/endpoint')) as EndpointView[];
  }

  /** Where the daemon serves the endpoint's RPC socket for `nwid` (the default endpoint: the home's sockets/). */
  socketPath(name: string, nwid: string): string {
    return name === 'default'
      ? join(this.daemon.home, 'sockets', `${nwid}.sock`)
      : join(this.daemon.home, 'endpoints', name, 'sockets', `${nwid}.sock`);
  }

  /** The environment of a program on endpoint `name`'s network `nwid`. */
  env(name: string, nwid: string): NodeJS.ProcessEnv {
    const env = interceptEnv(this.daemon.env, { nwid, home: this.daemon.home, library: this.library });
    if (name !== 'default') {
      env.ZT_NC_ENDPOINT = name;
      // The socket path is the contract's; naming it keeps the figures independent of how a given
      // build of the library turns ZT_NC_ENDPOINT into a path.
      env.ZT_NC_SOCKET = this.socketPath(name, nwid);
    }
    return env;
  }

  /** Programs on endpoint `name` (address `ip` on `nwid`), each in a network namespace of its own. */
  side(name: string, nwid: string, ip: string): Side {
    const env = this.env(name, nwid);
    return {
      label: `endpoint ${name} of ${this.daemon.name}`,
      ip,
      ip6: null,
      start: (cmd, args) => {
        const [c, a] = isolated(cmd, args);
        return start(c, a, { env });
      },
      run: (cmd, args, timeoutMs) => {
        const [c, a] = isolated(cmd, args);
        return runProgram(c, a, { env, timeoutMs });
      },
    };
  }
}
