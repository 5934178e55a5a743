/**
 * The daemon assembled: home directory, identity, planet, UDP underlay, node, joined networks (each
 * with its stack and netcon RPC sockets), the optional controller and the local JSON API.
 * `Daemon.start` either returns a running daemon or throws an error naming the file or setting at
 * fault; `stop` shuts everything down the way a host going down would.
 */
import { copyFileSync, readFileSync, realpathSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { NetworkController } from '../controller/index.js';
import { RealScheduler, setSum16Accelerator } from '../netstack/index.js';
import { nativeBinding } from '../native/binding.js';
import {
  type Endpoint,
  type Identity,
  IdentityFileError,
  isLoopbackEndpoint,
  loadOrCreateIdentity,
  loopbackOnly,
  NativeUdpTransport,
  type Networks,
  type Node,
  planetFromWorld,
  type PlanetSpec,
  REFUSE_BUILTIN_PLANET_ENV,
  UnderlayDemux,
} from '../node/index.js';
import { builtinPlanet } from './builtin-planet.js';
import { loadOrCreateAuthToken } from './http/auth-token.js';
import { Router } from './http/router.js';
import { mountMetrics } from './metrics/index.js';
import { attachGateway, resolveMemberName, type GatewayService } from '../gateway/index.js';
import type { ApiServer } from './http/server.js';
import { listenLocalApi } from './api-listener.js';
import { mountEndpointApi } from './endpoint-api.js';
import { Endpoints } from './endpoints.js';
import { DaemonStartError } from './start-error.js';
import { FdKeeperClient } from './fd-keeper-client.js';
import { Home, HomeError, writeFileAtomic } from './home.js';
import { DEFAULT_ENDPOINT, HostedEndpoint } from './hosted-endpoint.js';
import { peerJson, statusJson, type NetworkUserSettings } from './json-views.js';
import { mountLocalApi, type LocalService, type PingAnswer, type PingRequest } from './local-api.js';
import { loadLocalConf, type LocalSettings } from './local-conf.js';
import { mountMoonApi } from './moons.js';
import type { NetworkAttachment } from './network-attachment.js';
import { NamespaceServer } from './namespace-server.js';
import { choosePlanet, homeHoldsNewerPlanet, keepPlanetUpdates, readPlanetFile, signedByItsOwnKey } from './planet-setup.js';

type Json = Record<string, unknown>;

export interface DaemonOptions {
  /** Home directory (created 0700). */
  home: string;
  /** `-p`: primary UDP port, overriding local.conf (0 = any free port). */
  port?: number;
  /** `--api-port`: local API TCP port (0 = any free port); default the primary port, as stock. */
  apiPort?: number;
  /** `--private-planet`: be the root of a private planet and run the controller. */
  privatePlanet?: boolean;
  /** `--planet FILE`: use this planet (copied into the home). */
  planetFile?: string;
  logger: Logger;
  /** Serve networks at the library's default /tmp path too when free (default true). */
  serveDefaultSocketPaths?: boolean;
  /**
   * The command that runs the fd keeper (ztnc-service passes itself with `--fd-keeper`); without
   * one, listeners kept by an earlier daemon are still taken back but new ones end with this daemon.
   */
  fdKeeperCommand?: string[];
}

/** Time for the resets sent to apps' peers on shutdown to leave before the underlay closes. */
const SHUTDOWN_FLUSH_MS = 150;

export { DaemonStartError };

/** The UDP port of the private planet in the home when this identity is its root; 0 if none. */
function previousRootPort(home: Home, identity: Identity): number {
  try {
    const world = readPlanetFile(home.planet);
    const root = world.roots.find((r) => r.address === identity.address);
    return root?.stableEndpoints[0]?.port ?? 0;
  } catch {
    return 0;
  }
}

export class Daemon implements LocalService {
  readonly home: Home;
  /** Every identity this daemon hosts; `default` is the home's own. */
  readonly endpoints: Endpoints;
  readonly controller: NetworkController | null;
  readonly settings: LocalSettings;
  /** The local API's TCP port. */
  apiPort = 0;
  /** Any free API port will do when the configured one is taken. */
  private apiPortFlexible = false;
  private readonly apiServers: ApiServer[] = [];
  private readonly log: Logger;
  /** Problems caught in request or timer handling, by kind (the daemon keeps running). */
  readonly faults = new Map<string, number>();
  private stopping: Promise<void> | null = null;
  /** Holds apps' listeners across restarts (see fd-keeper-client.ts). */
  private keeper: FdKeeperClient | null = null;
  private gateway: GatewayService | null = null;
  private namespaces: NamespaceServer | null = null; // namespace mode's control socket

  private constructor(
    home: Home,
    settings: LocalSettings,
    endpoints: (daemon: Daemon) => Endpoints,
    readonly transport: NativeUdpTransport,
    /** The underlay shared by the endpoints, by destination address. */
    readonly demux: UnderlayDemux,
    controller: NetworkController | null,
    private readonly authToken: string,
    opts: DaemonOptions,
  ) {
    this.home = home;
    this.settings = settings;
    this.controller = controller;
    this.log = opts.logger;
    this.endpoints = endpoints(this);
  }

  /** The default endpoint: the daemon's own identity, the one every pre-endpoint command means. */
  get own(): HostedEndpoint {
    return this.endpoints.defaultEndpoint;
  }
  get node(): Node {
    return this.own.node;
  }
  get nets(): Networks {
    return this.own.nets;
  }

  /** Starts a daemon on `opts.home`; throws with a message naming the file or setting at fault. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const log = opts.logger;
    const home = new Home(resolve(opts.home));
    // every stack of this process sums checksums of full-size segments natively (the addon's own
    // function: no wrapper call per segment)
    setSum16Accelerator(nativeBinding().inetSum16);
    home.ensure();
    const loose = home.looseMode();
    if (loose !== null) {
      log.warn(
        { home: home.dir, mode: `0${loose.toString(8)}` },
        'home directory is open to group or others: chmod 700 it (ztnc creates homes 0700)',
      );
    }
    home.acquirePidFile();
    let transport: NativeUdpTransport | null = null;
    let controller: NetworkController | null = null;
    let daemon: Daemon | null = null;
    try {
      const settings = loadLocalConf(home.localConf);
      if (opts.port !== undefined) {
        settings.primaryPort = opts.port;
        settings.apiPort = opts.port;
      }
      if (opts.apiPort !== undefined) settings.apiPort = opts.apiPort;
      const badNames: string[] = [];
      const joins = home.joinedNetworks(
        (f) => badNames.push(f),
        (f) => log.warn({ file: f }, 'networks.d entry is not a regular file: skipped (remove it, or replace it with a file)'),
      );
      if (badNames.length > 0) throw new HomeError(badNames[0]!, 'is not named <16 hex digit network id>.conf (remove or rename it)');

      const { identity, created } = await loadOrCreateIdentity(home.dir);
      if (created) log.info({ address: identity.addressHex, file: home.identitySecret }, 'new identity generated');
      const authToken = loadOrCreateAuthToken(home.authToken);

      // The send guard is decided once the planet is known (a loopback planet keeps traffic home).
      let loopbackOnlyUnderlay = false;
      const openUnderlay = async (port: number): Promise<NativeUdpTransport> => {
        let t: NativeUdpTransport;
        try {
          t = await NativeUdpTransport.open({
            port,
            bind: settings.bind.length > 0 ? settings.bind : undefined,
            allowDestination: (to: Endpoint) => !loopbackOnlyUnderlay || loopbackOnly(to),
            logger: log,
          });
        } catch (e) {
          throw new DaemonStartError(`${(e as Error).message}; choose another with -p or primaryPort in local.conf`);
        }
        // the wildcard binds tolerate a host without IPv6, but IPv4 must be there
        if (settings.bind.length === 0 && !t.localEndpoints().some((e) => e.family === 4)) {
          t.close();
          throw new DaemonStartError(
            `cannot bind UDP port ${port} on 0.0.0.0 (in use?); choose another with -p or primaryPort in local.conf`,
          );
        }
        return t;
      };
      // A private root on "any port" takes its previous port again if it can, so that its planet
      // (which names the port) and every member configured with it stay valid.
      const previous = settings.primaryPort === 0 && opts.privatePlanet ? previousRootPort(home, identity) : 0;
      if (previous > 0) transport = await openUnderlay(previous).catch(() => null);
      transport ??= await openUnderlay(settings.primaryPort);
      const udpPort = transport.localEndpoints()[0]?.port ?? settings.primaryPort;
      // "any port" for both: the API takes the UDP port's number when that TCP port is free
      const apiPortFlexible = settings.primaryPort === 0 && settings.apiPort === 0;
      if (apiPortFlexible) settings.apiPort = udpPort;
      settings.primaryPort = udpPort;

      const refuseBuiltin = settings.refuseBuiltinPlanet || process.env[REFUSE_BUILTIN_PLANET_ENV] === '1';
      const planet = Daemon.planet(home, identity, opts, settings, udpPort, refuseBuiltin);
      if (planet.world && !signedByItsOwnKey(planet.world))
        log.info({ planet: planet.id.toString(16) }, 'the planet is signed by an earlier update key (an update with a new key)');
      const loopbackPlanet =
        planet.roots.length > 0 && planet.roots.every((r) => r.endpoints.length > 0 && r.endpoints.every(isLoopbackEndpoint));
      loopbackOnlyUnderlay = loopbackPlanet && !settings.allowLoopbackPaths;
      const controllerOn = settings.controllerEnabled || opts.privatePlanet === true;

      if (controllerOn) {
        controller = new NetworkController({
          dbFile: home.controllerDb,
          nodeAddress: identity.addressHex,
          logger: log,
          backupIntervalMs: settings.controllerBackupSeconds * 1000,
          backupEveryChanges: settings.controllerBackupChanges,
        });
      }
      const demux = new UnderlayDemux(transport);
      const scheduler = new RealScheduler();
      const allowLoopbackPaths = settings.allowLoopbackPaths || loopbackPlanet;
      const hosted = (name: string, dir: Home, id: Identity, keeper?: FdKeeperClient): HostedEndpoint =>
        new HostedEndpoint({
          name,
          home: dir,
          identity: id,
          transport: demux.port(id.address, { fallback: name === DEFAULT_ENDPOINT }),
          scheduler,
          planet,
          settings,
          allowLoopbackPaths,
          refuseBuiltinPlanet: refuseBuiltin,
          controller: name === DEFAULT_ENDPOINT ? controller?.backend : undefined,
          serveDefaultSocketPaths: name === DEFAULT_ENDPOINT && (opts.serveDefaultSocketPaths ?? true),
          keeper,
          logger: log,
        });
      const own = hosted(DEFAULT_ENDPOINT, home, identity);
      // the planet updates roots send are kept in the home (every endpoint takes them from the same roots)
      keepPlanetUpdates(own.node, home.planet, log);
      daemon = new Daemon(
        home,
        settings,
        () => new Endpoints(home, own, (name, dir, id) => hosted(name, dir, id), log),
        transport,
        demux,
        controller,
        authToken,
        opts,
      );
      daemon.apiPortFlexible = apiPortFlexible;
      const node = own.node;
      daemon.keeper = await FdKeeperClient.open(home.dir, log, opts.fdKeeperCommand ?? null);
      own.keeper = daemon.keeper;
      await own.start(joins);
      daemon.keeper.dropUnclaimed();
      await daemon.endpoints.loadAll();
      await daemon.listenApi();
      const { endpoints } = daemon;
      daemon.namespaces = await NamespaceServer.start(home.dir, { endpoint: (name) => endpoints.get(name) }, log);
      log.info(
        {
          address: node.hex,
          home: home.dir,
          udpPort,
          apiPort: daemon.apiPort,
          planet: `${planet.id.toString(16)}${planet.builtin ? ' (built-in)' : ''}`,
          root: node.isRoot,
          controller: controllerOn,
          networks: joins,
          endpoints: daemon.endpoints.size,
          nodeFlags: process.execArgv,
        },
        'ztnc-service running',
      );
      return daemon;
    } catch (e) {
      if (daemon) await daemon.stop();
      else {
        transport?.close();
        await controller?.close();
        home.releasePidFile();
      }
      if (e instanceof IdentityFileError) throw new DaemonStartError(e.message);
      throw e;
    }
  }

  private static planet(
    home: Home,
    identity: Identity,
    opts: DaemonOptions,
    settings: LocalSettings,
    port: number,
    refuseBuiltin: boolean,
  ): PlanetSpec {
    let planetFile = opts.planetFile ? resolve(opts.planetFile) : undefined;
    if (planetFile) {
      // validate first, then keep a copy in the home as stock keeps its planet (unless the home
      // holds a newer copy of it: an update a root sent since)
      const given = readPlanetFile(planetFile);
      let same: boolean;
      try {
        same = realpathSync(planetFile) === realpathSync(home.planet);
      } catch {
        same = false;
      }
      if (!same && !homeHoldsNewerPlanet(home.planet, given)) {
        try {
          copyFileSync(planetFile, home.planet);
        } catch (e) {
          throw new HomeError(home.planet, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
      }
      planetFile = home.planet;
    }
    const choice = choosePlanet({ home, identity, planetFile, privatePlanet: opts.privatePlanet, bind: settings.bind, port });
    if (choice) return planetFromWorld(choice.world);
    if (refuseBuiltin) {
      throw new HomeError(
        home.planet,
        `does not exist and the built-in planet is refused (${REFUSE_BUILTIN_PLANET_ENV}=1 or refuseBuiltinPlanet): start with --private-planet or --planet FILE`,
      );
    }
    return planetFromWorld(builtinPlanet());
  }

  // ------------------------------------------------------------------ networks (the default endpoint's)

  /** Joins (API POST /network/<nwid>): remembered in networks.d, with the join token when given. */
  joinNetwork(nwid: string, settings: Partial<NetworkUserSettings> = {}, token?: string): Promise<Json> {
    return this.own.joinNetwork(nwid, settings, token);
  }

  /** Leaves (API DELETE /network/<nwid>): its networks.d file is removed. */
  leaveNetwork(nwid: string): Promise<boolean> {
    return this.own.leaveNetwork(nwid);
  }

  /** The attachment of network `nwid` on an endpoint (default: the daemon's own). */
  attachment(nwid: string, endpoint = DEFAULT_ENDPOINT): NetworkAttachment | undefined {
    return this.endpoints.get(endpoint)?.attachment(nwid);
  }

  // ------------------------------------------------------------------ LocalService

  status(): Json {
    return {
      ...statusJson({
        node: this.node,
        homeDir: this.home.dir,
        primaryPort: this.settings.primaryPort,
        bind: this.settings.bind,
        listeningOn: this.transport.localEndpoints().map((e) => `${e.ip}/${e.port}`),
        online: this.own.online,
      }),
      endpoints: this.endpoints.size,
    };
  }

  networks(): Json[] {
    return this.own.networks();
  }

  network(nwid: string): Json | null {
    return this.own.network(nwid);
  }

  async join(nwid: string, settings: Partial<NetworkUserSettings>, token?: string): Promise<Json | { error: string }> {
    try {
      return await this.joinNetwork(nwid, settings, token);
    } catch (e) {
      this.log.warn({ nwid, err: (e as Error).message }, 'join failed');
      return { error: (e as Error).message };
    }
  }

  leave(nwid: string): Promise<boolean> {
    return this.leaveNetwork(nwid);
  }

  peers(): Json[] {
    const now = this.node.now();
    return [...this.node.topology.all()].map((p) => peerJson(this.node, p, now));
  }

  peer(address: string): Json | null {
    const p = this.node.peer(BigInt(`0x${address}`));
    return p ? peerJson(this.node, p, this.node.now()) : null;
  }

  ping(nwid: string, req: PingRequest): Promise<PingAnswer> {
    return this.own.ping(nwid, req);
  }

  /** Every counter the daemon keeps (GET /counters): drops and errors are never silent. */
  counters(): Json {
    const endpoints: Json = {};
    for (const ep of this.endpoints.all()) {
      if (ep !== this.own) endpoints[ep.name] = { node: ep.node.counters.snapshot(), networks: ep.networkCounters() };
    }
    return {
      node: this.node.counters.snapshot(),
      underlay: { ...this.transport.stats, sockets: this.transport.socketStats(), demux: this.demux.stats },
      controller: this.nets.controller ? true : false,
      networks: this.own.networkCounters(),
      endpoints,
      faults: Object.fromEntries(this.faults),
    };
  }

  // ------------------------------------------------------------------ API

  private async listenApi(): Promise<void> {
    const router = new Router();
    mountMoonApi(router, this.own.moons); // before the local API's moonless GET /moon
    mountLocalApi(router, this);
    router.add('GET', '/counters', () => ({ status: 200, body: this.counters() }));
    this.controller?.mount(router);
    mountEndpointApi(router, this.endpoints, this.log);
    mountMetrics(router, this);
    this.gateway = await attachGateway(router, {
      homeDir: this.home.dir,
      logger: this.log,
      stackOf: (nwid) => this.attachment(nwid)?.stack ?? null,
      resolveName: (nwid, name) => resolveMemberName(this.attachment(nwid)?.names?.names ?? null, name),
      configOf: (nwid) => (/^[0-9a-f]{16}$/.test(nwid) ? (this.nets.get(BigInt(`0x${nwid}`))?.config ?? null) : null),
    });
    const { servers, port } = await listenLocalApi({
      router,
      authToken: this.authToken,
      logger: this.log,
      settings: this.settings,
      portFlexible: this.apiPortFlexible,
    });
    this.apiServers.push(...servers);
    this.apiPort = port;
    writeFileAtomic(this.home.portFile, `${port}\n`, 0o644);
    // stock writes the bare number, no newline; zerotier-cli -D<home> reads it
    writeFileAtomic(this.home.stockPortFile, String(port), 0o644);
  }

  // ------------------------------------------------------------------ shutdown

  /** A stale port file would send commands to whatever takes the port next. Only ours are removed. */
  private removePortFiles(): void {
    if (this.apiPort === 0) return;
    for (const file of [this.home.portFile, this.home.stockPortFile]) {
      try {
        if (readFileSync(file, 'utf8').trim() === String(this.apiPort)) unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }

  /** Closes apps' sockets (their connections reset), the networks, the node and the API; keeps networks.d. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    for (const s of this.apiServers.splice(0)) await s.close().catch(() => {});
    await this.gateway?.close();
    await this.namespaces?.close();
    const endpoints = this.endpoints.all();
    const apps = endpoints.reduce((n, ep) => n + ep.attachments().length, 0);
    await Promise.all(endpoints.map((ep) => ep.closeServers({ keepListeners: true })));
    await this.keeper?.close();
    if (apps > 0) await new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS));
    await this.endpoints.stopOthers();
    await this.own.stop();
    this.transport.close();
    await this.controller?.close().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'controller close failed'));
    this.removePortFiles();
    this.home.releasePidFile();
    this.log.info('ztnc-service stopped');
  }
}
