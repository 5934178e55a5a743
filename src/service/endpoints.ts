/**
 * The daemon's endpoints: the default one (the home's own identity) and those created beside it,
 * each in `<home>/endpoints/<name>/`. Creating one generates its identity (the memory-hard check
 * runs off the event loop) and starts its node with no networks; deleting one leaves its networks
 * and removes its files. At start every endpoint directory with a usable name comes back with its
 * identity and networks.d.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { type Identity, loadOrCreateIdentity } from '../node/index.js';
import { DEFAULT_ENDPOINT, type HostedEndpoint } from './hosted-endpoint.js';
import { Home } from './home.js';

/** Endpoint names: what a directory, a log field and an environment variable can all carry. */
export const ENDPOINT_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** A refused endpoint operation, with the HTTP status the local API answers it with. */
export class EndpointError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'EndpointError';
  }
}

/** Builds a hosted endpoint (not started) on the daemon's shared parts. */
export type EndpointFactory = (name: string, home: Home, identity: Identity) => HostedEndpoint;

export function endpointNameProblem(name: string): string | null {
  if (name === DEFAULT_ENDPOINT) return null;
  return ENDPOINT_NAME_PATTERN.test(name)
    ? null
    : `endpoint name "${name}" is not usable: 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`;
}

export class Endpoints {
  private readonly others = new Map<string, HostedEndpoint>();
  /** Names being created or deleted: a second request for one is refused, not raced. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly home: Home,
    readonly defaultEndpoint: HostedEndpoint,
    private readonly make: EndpointFactory,
    private readonly log: Logger,
  ) {}

  get(name: string): HostedEndpoint | undefined {
    return name === DEFAULT_ENDPOINT ? this.defaultEndpoint : this.others.get(name);
  }

  /** Default first, then by name. */
  all(): HostedEndpoint[] {
    return [this.defaultEndpoint, ...[...this.others.values()].sort((a, b) => (a.name < b.name ? -1 : 1))];
  }

  get size(): number {
    return this.others.size + 1;
  }

  /** Brings back every endpoint found in the home; one that cannot start is logged and skipped. */
  async loadAll(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.home.endpointsDir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const dir = this.home.endpointDir(name);
      if (name === DEFAULT_ENDPOINT || endpointNameProblem(name) !== null) {
        this.log.warn({ dir }, 'not an endpoint name: directory skipped (rename or remove it)');
        continue;
      }
      try {
        if (!statSync(dir).isDirectory()) continue;
        await this.open(name, false);
      } catch (e) {
        this.log.error({ endpoint: name, dir, err: (e as Error).message }, 'endpoint not started');
      }
    }
  }

  /** A new endpoint with a new identity, started with no networks. */
  async create(name: string): Promise<HostedEndpoint> {
    const problem = endpointNameProblem(name);
    if (problem) throw new EndpointError(400, problem);
    if (this.get(name) || this.busy.has(name)) throw new EndpointError(409, `endpoint ${name} exists`);
    return this.open(name, true);
  }

  private async open(name: string, fresh: boolean): Promise<HostedEndpoint> {
    this.busy.add(name);
    try {
      const home = new Home(this.home.endpointDir(name));
      if (fresh) mkdirSync(this.home.endpointsDir, { recursive: true, mode: 0o700 });
      home.ensure();
      const { identity, created } = await loadOrCreateIdentity(home.dir);
      const ep = this.make(name, home, identity);
      this.others.set(name, ep);
      await ep.start();
      this.log.info({ endpoint: name, address: identity.addressHex, created }, fresh ? 'endpoint created' : 'endpoint started');
      return ep;
    } catch (e) {
      const ep = this.others.get(name);
      this.others.delete(name);
      await ep?.stop();
      if (fresh) rmSync(this.home.endpointDir(name), { recursive: true, force: true });
      throw e;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Leaves the endpoint's networks, stops it and removes its files. */
  async delete(name: string): Promise<void> {
    if (name === DEFAULT_ENDPOINT) throw new EndpointError(400, 'the default endpoint is the daemon itself: it cannot be deleted');
    const ep = this.others.get(name);
    if (!ep || this.busy.has(name)) throw new EndpointError(404, `no endpoint ${name}`);
    this.busy.add(name);
    try {
      for (const n of ep.networks()) await ep.leaveNetwork(String(n.id));
      await ep.stop();
      this.others.delete(name);
      rmSync(ep.home.dir, { recursive: true, force: true });
      this.log.info({ endpoint: name, address: ep.address }, 'endpoint deleted');
    } finally {
      this.busy.delete(name);
    }
  }

  /** Stops every endpoint but the default one (the daemon stops that one itself); files stay. */
  async stopOthers(): Promise<void> {
    for (const ep of this.others.values()) await ep.stop();
    this.others.clear();
  }
}
