/**
 * The daemon's endpoints: the default one (the home's own identity) and those created beside it,
 * each in `<home>/endpoints/<name>/`. Creating one takes the identity its client made (checked:
 * one memory-hard hash, in the hash worker) or, without one, generates it (some fifteen hashes,
 * in the worker too but the daemon's CPU all the same), then starts its node with no networks;
 * deleting one leaves its networks and removes its files. At start every endpoint directory with a
 * usable name comes back with its identity and networks.d.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { isEndpointName } from '../netcon/index.js';
import { Identity, IdentityFormatError, loadOrCreateIdentity, publicKeyOf, writeIdentityFiles } from '../node/index.js';
import { DEFAULT_ENDPOINT, type HostedEndpoint } from './hosted-endpoint.js';
import { Home } from './home.js';

/** A refused endpoint operation, with the HTTP status the local API answers it with. */
export class EndpointError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 503,
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
  return isEndpointName(name)
    ? null
    : `endpoint name "${name}" is not usable: 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`;
}

/**
 * The identity in a create request's body (`{"identity": "<identity.secret text>"}`), parsed and
 * with its secret key matching its public key; null when the body names none. What costs a hash
 * (the address deriving from the key) is checked by `Endpoints.create`.
 */
export function parseClientIdentity(body: unknown): Identity | null {
  if (body === undefined || body === null) return null;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new EndpointError(400, 'the body must be a JSON object: {"identity": "<identity.secret text>"}');
  const text = (body as { identity?: unknown }).identity;
  if (text === undefined) return null;
  if (typeof text !== 'string') throw new EndpointError(400, 'identity must be the text of an identity.secret file');
  let identity: Identity;
  try {
    identity = Identity.fromString(text);
  } catch (e) {
    if (e instanceof IdentityFormatError) throw new EndpointError(400, `identity is not an identity.secret: ${e.message}`);
    throw e;
  }
  if (!identity.privateKey)
    throw new EndpointError(400, `identity ${identity.addressHex} has no secret key (identity.public given for identity.secret?)`);
  let matches = false;
  try {
    matches = publicKeyOf(identity.privateKey).equals(identity.publicKey);
  } catch {
    // a key the curve code refuses matches nothing
  }
  if (!matches) throw new EndpointError(400, `identity ${identity.addressHex}: its secret key does not belong to its public key`);
  return identity;
}

export class Endpoints {
  private readonly others = new Map<string, HostedEndpoint>();
  /** Names being created or deleted: a second request for one is refused, not raced. */
  private readonly busy = new Set<string>();
  /** Addresses of client-made identities being opened, with their endpoint's name. */
  private readonly opening = new Map<string, string>();

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

  /**
   * A new endpoint, started with no networks: with `identity` (its client's, parsed by
   * parseClientIdentity) once its address is checked to derive from its key, else with one
   * generated here.
   */
  async create(name: string, identity: Identity | null = null): Promise<HostedEndpoint> {
    const problem = endpointNameProblem(name);
    if (problem) throw new EndpointError(400, problem);
    const taken = (): void => {
      if (this.get(name) || this.busy.has(name)) throw new EndpointError(409, `endpoint ${name} exists`);
      if (identity) this.refuseTakenAddress(identity);
    };
    taken();
    if (identity) {
      const verdict = await identity.validate();
      if (verdict === 'busy') throw new EndpointError(503, 'the daemon is checking too many identities: try again');
      if (verdict === 'invalid')
        throw new EndpointError(
          400,
          `identity ${identity.addressHex}: the address does not derive from the public key (forged or damaged)`,
        );
      taken(); // again: another request may have taken the name or the address meanwhile
    }
    return this.open(name, true, identity);
  }

  private refuseTakenAddress(identity: Identity): void {
    const holder = this.all().find((ep) => ep.address === identity.addressHex)?.name ?? this.opening.get(identity.addressHex);
    if (holder !== undefined) throw new EndpointError(409, `address ${identity.addressHex} is endpoint ${holder}'s`);
  }

  private async open(name: string, fresh: boolean, given: Identity | null = null): Promise<HostedEndpoint> {
    this.busy.add(name);
    if (given) this.opening.set(given.addressHex, name);
    try {
      const home = new Home(this.home.endpointDir(name));
      if (fresh) mkdirSync(this.home.endpointsDir, { recursive: true, mode: 0o700 });
      home.ensure();
      if (given) await writeIdentityFiles(home.dir, given);
      const { identity, created } = given ? { identity: given, created: true } : await loadOrCreateIdentity(home.dir);
      const ep = this.make(name, home, identity);
      this.others.set(name, ep);
      await ep.start();
      this.log.info(
        { endpoint: name, address: identity.addressHex, created, ...(given ? { identityFrom: 'client' } : {}) },
        fresh ? 'endpoint created' : 'endpoint started',
      );
      return ep;
    } catch (e) {
      const ep = this.others.get(name);
      this.others.delete(name);
      await ep?.stop();
      if (fresh) rmSync(this.home.endpointDir(name), { recursive: true, force: true });
      throw e;
    } finally {
      this.busy.delete(name);
      if (given) this.opening.delete(given.addressHex);
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
