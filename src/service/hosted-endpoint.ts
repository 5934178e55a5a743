/**
 * One endpoint of the daemon: a ZeroTier identity with its node, its networks (each with its
 * stack and netcon RPC sockets) and its files. The daemon's own identity is the endpoint
 * `default`, whose files are the home's own; every other endpoint lives in
 * `<home>/endpoints/<name>/`, laid out the same way. Each orbits the moons in its own moons.d
 * (moons.ts). Endpoints share the daemon's process, clock, underlay (through the demux, by
 * destination address) and settings.
 */
import { unlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import { createNetStack, parseIp, type Scheduler } from '../netstack/index.js';
import {
  type AssembledNode,
  assembleNode,
  formatNetworkId,
  type Identity,
  macForMember,
  type Network,
  type NetworkControllerBackend,
  type Networks,
  type Node,
  parseNetworkId,
  type PlanetSpec,
  type UdpTransport,
} from '../node/index.js';
import type { ListenerKeeper } from '../netcon/kept-listeners.js';
import { DEFAULT_ENDPOINT } from '../netcon/index.js';
import { type Home, HomeError, writeFileAtomic } from './home.js';
import { networkJson, type NetworkUserSettings } from './json-views.js';
import type { PingAnswer, PingRequest } from './local-api.js';
import { type LocalSettings, tcpCongestionFor } from './local-conf.js';
import { NetworkAttachment, pingSeries } from './network-attachment.js';
import { networkNames } from './network-names.js';
import { joinTokenFor, networkConfText, readNetworkConf } from './network-settings.js';
import { MoonService } from './moons.js';

type Json = Record<string, unknown>;

// the daemon's own identity, whose files are the home's
export { DEFAULT_ENDPOINT };

interface Joined {
  attachment: NetworkAttachment;
  network: Network;
  settings: NetworkUserSettings;
  token: string | null; // the join token in networks.d, kept when the settings are rewritten
}

export interface HostedEndpointOptions {
  name: string;
  /** The endpoint's files (the home itself for `default`). */
  home: Home;
  identity: Identity;
  /** Its share of the daemon's underlay. */
  transport: UdpTransport;
  scheduler: Scheduler;
  planet: PlanetSpec;
  settings: LocalSettings;
  allowLoopbackPaths: boolean;
  refuseBuiltinPlanet: boolean;
  /** The controller, answered by the default endpoint only. */
  controller?: NetworkControllerBackend;
  /** Serve networks at the library's default paths too when free (the default endpoint only). */
  serveDefaultSocketPaths: boolean;
  keeper?: ListenerKeeper;
  logger: Logger;
}

export class HostedEndpoint {
  readonly name: string;
  readonly home: Home;
  readonly node: Node;
  readonly nets: Networks;
  private readonly assembled: AssembledNode;
  private readonly joined = new Map<string, Joined>();
  /** Joins in progress, so that concurrent joins of one network share one attachment. */
  private readonly attaching = new Map<string, Promise<Joined>>();
  private readonly log: Logger;
  keeper: ListenerKeeper | undefined;
  private moonService: MoonService | null = null;

  constructor(private readonly opts: HostedEndpointOptions) {
    this.name = opts.name;
    this.home = opts.home;
    this.keeper = opts.keeper;
    this.log = opts.name === DEFAULT_ENDPOINT ? opts.logger : opts.logger.child({ endpoint: opts.name });
    const joined = this.joined;
    this.assembled = assembleNode({
      identity: opts.identity,
      transport: opts.transport,
      scheduler: opts.scheduler,
      planet: opts.planet,
      allowLoopbackPaths: opts.allowLoopbackPaths,
      refuseBuiltinPlanet: opts.refuseBuiltinPlanet,
      logger: this.log,
      networks: {
        controller: opts.controller,
        stackFactory: (o) => {
          const j = joined.get(formatNetworkId(o.nwid));
          if (j) return j.attachment.interfaceView();
          // a Network joined around the endpoint (not through attach) has no RPC sockets: a plain stack
          return createNetStack({ scheduler: this.node.scheduler, random: this.node.random, mac: o.mac, mtu: o.mtu, name: o.name });
        },
      },
      // started by start(), once the daemon around it exists
      start: false,
    });
    this.node = this.assembled.node;
    this.nets = this.assembled.networks;
  }

  get address(): string {
    return this.node.hex;
  }

  /** The endpoint's moons (orbit, deorbit, list); there once it has started. */
  get moons(): MoonService {
    if (!this.moonService) throw new Error(`endpoint ${this.name} has not started`);
    return this.moonService;
  }

  /**
   * Starts the node, orbits the moons in moons.d and joins the networks listed in networks.d; a
   * network that fails is logged and skipped.
   */
  async start(nwids: string[] = this.home.joinedNetworks()): Promise<void> {
    this.node.start();
    this.moonService = MoonService.start(this.home.dir, this.node, this.log);
    for (const nwid of nwids) await this.attach(nwid);
  }

  // ------------------------------------------------------------------ networks

  private attach(nwid: string, token?: string): Promise<Joined> {
    const existing = this.joined.get(nwid);
    if (existing) return Promise.resolve(existing);
    let pending = this.attaching.get(nwid);
    if (!pending) {
      pending = this.doAttach(nwid, token).finally(() => this.attaching.delete(nwid));
      this.attaching.set(nwid, pending);
    }
    return pending;
  }

  private async doAttach(nwid: string, token?: string): Promise<Joined> {
    const id = parseNetworkId(nwid);
    if (id === null) throw new Error(`network id must be 16 hex digits, not "${nwid}"`);
    let network: Network | null = null;
    const { scheduler, random } = this.node;
    const { settings } = this.opts;
    const attachment = new NetworkAttachment({
      nwid,
      mac: macForMember(this.node.address, id),
      scheduler,
      random,
      home: this.home.dir,
      serveDefaultPath: this.opts.serveDefaultSocketPaths,
      keeper: this.keeper,
      names: networkNames({
        scheduler,
        random,
        config: () => network?.config ?? null,
        allowHostResolvers: settings.allowHostResolvers,
      }),
      fastPath: settings.fastPath,
      tcpCongestion: tcpCongestionFor(settings, nwid),
      logger: this.log,
    });
    try {
      await attachment.start();
    } catch (e) {
      await attachment.close();
      throw e;
    }
    const conf = readNetworkConf(this.home.networkConf(nwid), this.log);
    try {
      network = this.nets.join(id, { joinToken: token ?? joinTokenFor(conf) });
    } catch (e) {
      await attachment.close();
      throw e;
    }
    // the Network asks for its stack when its first config arrives, never within join()
    const entry: Joined = { attachment, network, settings: conf.settings, token: token ?? conf.token };
    this.joined.set(nwid, entry);
    this.log.info({ nwid, socket: attachment.socketPath, defaultSocket: attachment.defaultSocketPath }, 'network joined');
    return entry;
  }

  private async detach(nwid: string): Promise<boolean> {
    const j = this.joined.get(nwid);
    if (!j) return false;
    this.joined.delete(nwid);
    await j.attachment.closeServers();
    this.nets.leave(j.network.nwid);
    await j.attachment.close();
    this.log.info({ nwid }, 'network left');
    return true;
  }

  /** Joins, remembered in networks.d with the join token when given; the network's JSON. */
  async joinNetwork(nwid: string, settings: Partial<NetworkUserSettings> = {}, token?: string): Promise<Json> {
    const fresh = !this.joined.has(nwid);
    const j = await this.attach(nwid, token);
    Object.assign(j.settings, settings);
    if (token !== undefined) j.token = token;
    if (token !== undefined && !fresh) this.nets.join(j.network.nwid, { joinToken: token }); // presented now if not admitted
    try {
      writeFileAtomic(this.home.networkConf(nwid), networkConfText(j.settings, j.token), 0o600);
    } catch (e) {
      if (fresh) await this.detach(nwid);
      throw new HomeError(this.home.networkConf(nwid), `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return this.networkView(j);
  }

  /** Leaves; its networks.d file is removed. */
  async leaveNetwork(nwid: string): Promise<boolean> {
    const left = await this.detach(nwid);
    try {
      unlinkSync(this.home.networkConf(nwid));
    } catch {
      // not there
    }
    return left;
  }

  attachment(nwid: string): NetworkAttachment | undefined {
    return this.joined.get(nwid)?.attachment;
  }

  attachments(): NetworkAttachment[] {
    return [...this.joined.values()].map((j) => j.attachment);
  }

  private networkView(j: Joined): Json {
    return { ...networkJson(j.network, j.attachment.portDeviceName, j.settings), mode: j.attachment.mode };
  }

  networks(): Json[] {
    return [...this.joined.values()].map((j) => this.networkView(j));
  }

  network(nwid: string): Json | null {
    const j = this.joined.get(nwid);
    return j ? this.networkView(j) : null;
  }

  /** Reached a root: online as ZeroTier means it. */
  get online(): boolean {
    return this.node.isRoot || this.node.topology.bestRoot(this.node.now()) !== undefined;
  }

  async ping(nwid: string, req: PingRequest): Promise<PingAnswer> {
    const j = this.joined.get(nwid);
    if (!j) return { status: 404, error: `network ${nwid} not joined` };
    const dst = parseIp(req.address);
    if (dst === null) throw new Error(`not an IP address: ${req.address}`);
    const stack = j.attachment.stack;
    if (stack.addresses().length === 0) return { status: 409, error: `network ${nwid} has no address yet (status ${j.network.status})` };
    const replies = await pingSeries(stack, dst, req.count, req.timeoutMs);
    const rttMs = replies.flatMap((r) => ('rttMs' in r ? [r.rttMs] : []));
    return { status: 200, report: { address: req.address, transmitted: replies.length, received: rttMs.length, rttMs, replies } };
  }

  /** The networks' counters (node, stack, netcon), by network id. */
  networkCounters(): Json {
    const out: Json = {};
    for (const [nwid, j] of this.joined) {
      out[nwid] = { network: j.network.counters.snapshot(), stack: j.attachment.stack.counters(), netcon: j.attachment.counters() };
    }
    return out;
  }

  /** The endpoint as GET /endpoint lists it. */
  json(): Json {
    return { name: this.name, address: this.address, online: this.online, networks: this.networks() };
  }

  /**
   * Stops the RPC servers of every network (apps' sockets torn down; `keepListeners`: the keeper
   * goes on holding listeners for the next daemon). The first half of a stop.
   */
  async closeServers(opts: { keepListeners?: boolean } = {}): Promise<void> {
    await Promise.all(this.attachments().map((a) => a.closeServers(opts)));
  }

  /** Leaves nothing on disk changed: the networks and the node stop (networks.d is kept). */
  async stop(): Promise<void> {
    const attachments = this.attachments();
    this.joined.clear();
    this.assembled.stop();
    for (const a of attachments) await a.close();
  }
}
