/**
 * An endpoint of a cluster's daemon as a member of a network, used where a Container (a daemon of
 * its own) would be: its programs run as that endpoint (ZT_NC_ENDPOINT beside the daemon's home),
 * and its API paths are the endpoint's. Its identity is made here and handed to the daemon, as
 * ztnc-cli, ztnc-run and ztnc-cni do (makeEndpointIdentity).
 */
import { makeEndpointIdentity } from '../cli/cli-client.js';
import { Container } from './cluster.js';
import type { ServiceDaemon } from './daemon.js';
import { waitFor } from './processes.js';

const IPV4_CIDR_RE = /^\d+\.\d+\.\d+\.\d+\/\d+$/;

export class EndpointMember extends Container {
  constructor(
    /** The endpoint's name in its daemon. */
    readonly endpoint: string,
    daemon: ServiceDaemon,
    nwid: string,
    ip: string,
    library: string,
    /** Its ZeroTier address (the member the controller sees). */
    readonly address: string,
  ) {
    super(endpoint, daemon, nwid, ip, library);
  }

  override env(base: NodeJS.ProcessEnv = this.daemon.env): NodeJS.ProcessEnv {
    return { ...super.env(base), ZT_NC_ENDPOINT: this.endpoint };
  }

  /** `/endpoint/<name>/network/<nwid>`: its network's JSON; `…/ping` pings from its stack. */
  get networkPath(): string {
    return `/endpoint/${this.endpoint}/network/${this.nwid}`;
  }

  /** Its network's counters (`GET /counters`, under `endpoints`). */
  async networkCounters(): Promise<Record<string, number>> {
    type Counters = { endpoints: Record<string, { networks: Record<string, { network: Record<string, number> }> }> };
    const c = (await this.daemon.apiOk('GET', '/counters')) as Counters;
    const n = c.endpoints[this.endpoint]?.networks[this.nwid]?.network;
    if (!n) throw new Error(`no counters of endpoint ${this.endpoint} on ${this.nwid}`);
    return n;
  }
}

/**
 * Creates endpoint `name` on `daemon` with an identity made here, authorizes it (`authorize`, on
 * the network's controller), joins it to `nwid` and waits until it holds an IPv4 address.
 */
export async function addEndpointMember(
  daemon: ServiceDaemon,
  library: string,
  name: string,
  nwid: string,
  authorize: (address: string) => Promise<void>,
  timeoutMs = 60_000,
): Promise<EndpointMember> {
  const identity = await makeEndpointIdentity();
  const made = (await daemon.apiOk('POST', `/endpoint/${name}`, { identity })) as { address: string };
  await authorize(made.address);
  await daemon.apiOk('POST', `/endpoint/${name}/network/${nwid}`, {});
  const ip = await waitFor(
    `endpoint ${name} (${made.address}) of ${daemon.name} to hold an address on ${nwid}`,
    async () => {
      const r = await daemon.api('GET', `/endpoint/${name}/network/${nwid}`);
      const n = r.body as { status?: string; assignedAddresses?: string[] } | null;
      if (r.status !== 200 || n?.status !== 'OK') return false;
      const a = (n.assignedAddresses ?? []).find((x) => IPV4_CIDR_RE.test(x));
      return a ? a.split('/')[0]! : false;
    },
    timeoutMs,
    100,
  );
  return new EndpointMember(name, daemon, nwid, ip, library, made.address);
}
