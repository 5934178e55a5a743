/**
 * A private ztnc network on one machine, made of plain processes: a root+controller daemon with a
 * private planet, a network created through its controller API, and container daemons (each a
 * separate home, like separate containers on one host) authorized by the controller and waiting
 * for their addresses through `ztnc-cli listnetworks`. Programs run in a container under the
 * intercept library. Everything lives in one temp directory and is torn down by stop().
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interceptEnv } from '../netcon/intercept-env.js';
import { resolveToolsetIn, type Toolset, toolsetEnv } from './commands.js';
import { ServiceDaemon } from './daemon.js';
import { type LongRunning, run, type RunOptions, type RunResult, start, type StartOptions } from './processes.js';

export interface ClusterOptions {
  /** Parent of the cluster's temp directory (default: the OS temp dir). */
  baseDir?: string;
  /** Directory holding the ztnc-* commands (see resolveToolset). */
  binDir?: string;
  library?: string;
  /** Progress lines (each step), e.g. console output of the demo. */
  log?: (line: string) => void;
  /** Leave the temp directory behind after stop() (for inspection). */
  keep?: boolean;
  /** Addresses the root binds to (default all, with 127.0.0.1 in its planet). */
  rootBind?: readonly string[];
}

export interface NetworkOptions {
  name?: string;
  /** IPv4 /24 the controller assigns from, e.g. "10.144.7.0/24" (default: a random 10.x.y.0/24). */
  subnet?: string;
  /** Dual stack: each member also gets its rfc4193 IPv6 address (v6AssignMode rfc4193). */
  rfc4193?: boolean;
}

/** A member daemon on the network: where programs run "inside the container". */
export class Container {
  constructor(
    readonly name: string,
    readonly daemon: ServiceDaemon,
    readonly nwid: string,
    /** Its address on the virtual network. */
    readonly ip: string,
    private readonly library: string,
    /** Its rfc4193 IPv6 address on the network (null when the network gives none). */
    readonly ip6: string | null = null,
  ) {}

  get home(): string {
    return this.daemon.home;
  }

  /** `base` with the intercept library preloaded for this container's network and home. */
  env(base: NodeJS.ProcessEnv = this.daemon.env): NodeJS.ProcessEnv {
    return interceptEnv(base, { nwid: this.nwid, home: this.daemon.home, library: this.library });
  }

  /** Runs a program to completion inside the container. */
  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(cmd, args, { ...opts, env: this.env(opts.env) });
  }

  /** Starts a long-running program (a server) inside the container. */
  start(cmd: string, args: readonly string[], opts: StartOptions = {}): LongRunning {
    return start(cmd, args, { ...opts, env: this.env(opts.env) });
  }
}

export class Cluster {
  readonly dir: string;
  readonly toolset: Toolset;
  readonly env: NodeJS.ProcessEnv;
  root: ServiceDaemon | null = null;
  private readonly daemons: ServiceDaemon[] = [];
  private readonly programs: LongRunning[] = [];
  private readonly log: (line: string) => void;
  private readonly keep: boolean;
  private readonly rootBind: readonly string[] | undefined;
  private stopping: Promise<void> | null = null;

  constructor(opts: ClusterOptions = {}) {
    this.dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'ztnc-cluster-'));
    this.log = opts.log ?? (() => undefined);
    this.keep = opts.keep ?? false;
    this.rootBind = opts.rootBind;
    this.toolset = resolveToolsetIn(this.dir, opts);
    this.env = toolsetEnv(this.toolset);
  }

  /** Starts the root+controller daemon of a private planet. */
  async startRoot(): Promise<ServiceDaemon> {
    const root = new ServiceDaemon({ name: 'root', home: join(this.dir, 'root'), env: this.env, privatePlanet: true, bind: this.rootBind });
    this.daemons.push(root);
    await root.start();
    this.root = root;
    this.log(`root+controller ${root.address} up (API 127.0.0.1:${root.port}, planet ${root.planetFile})`);
    return root;
  }

  /** Creates a private network with an IPv4 pool (and rfc4193 IPv6 if asked) through the root's controller API; returns its id. */
  async createNetwork(opts: NetworkOptions = {}): Promise<string> {
    const root = this.requireRoot();
    const subnet = opts.subnet ?? `10.${randomInt(100, 250)}.${randomInt(1, 255)}.0/24`;
    const m = /^(\d+)\.(\d+)\.(\d+)\.0\/24$/.exec(subnet);
    if (!m) throw new Error(`subnet must be an IPv4 /24 ending in .0/24, not ${subnet}`);
    const prefix = `${m[1]}.${m[2]}.${m[3]}`;
    const body = {
      name: opts.name ?? 'ztnc-demo',
      private: true,
      v4AssignMode: { zt: true },
      routes: [{ target: subnet, via: null }],
      ipAssignmentPools: [{ ipRangeStart: `${prefix}.10`, ipRangeEnd: `${prefix}.250` }],
      ...(opts.rfc4193 ? { v6AssignMode: { zt: false, rfc4193: true, '6plane': false } } : {}),
    };
    const net = (await root.apiOk('POST', `/controller/network/${root.address}______`, body)) as { id?: unknown; nwid?: unknown };
    const nwid = typeof net.id === 'string' ? net.id : typeof net.nwid === 'string' ? net.nwid : null;
    if (!nwid) throw new Error(`controller answered without a network id: ${JSON.stringify(net)}`);
    this.log(`private network ${nwid} created (${subnet})`);
    return nwid;
  }

  /** Authorizes a member on a network through the controller API. */
  async authorize(nwid: string, address: string): Promise<void> {
    await this.requireRoot().apiOk('POST', `/controller/network/${nwid}/member/${address}`, { authorized: true });
  }

  /**
   * Starts a container daemon on the root's planet, joined to `nwid` through networks.d,
   * authorizes it (by default on the root's controller; `authorize` for a network another
   * controller runs) and waits for its address.
   */
  async addContainer(
    name: string,
    nwid: string,
    authorize = (address: string): Promise<void> => this.authorize(nwid, address),
  ): Promise<Container> {
    const root = this.requireRoot();
    const d = new ServiceDaemon({ name, home: join(this.dir, name), env: this.env, planet: root.planetFile, join: [nwid] });
    this.daemons.push(d);
    await d.start();
    this.log(`container ${name}: daemon ${d.address} up (home ${d.home})`);
    await authorize(d.address);
    this.log(`container ${name}: member ${d.address} authorized on ${nwid}`);
    const ip = await d.waitForAddress(nwid);
    // The config that carried the IPv4 address carries the IPv6 ones too.
    const ip6 = await d.address6(nwid);
    this.log(`container ${name}: address ${ip}${ip6 ? ` and ${ip6}` : ''} (ztnc-cli listnetworks shows OK)`);
    return new Container(name, d, nwid, ip, this.toolset.library, ip6);
  }

  /** Keeps a program to be stopped by stop() (servers started inside containers). */
  track(p: LongRunning): LongRunning {
    this.programs.push(p);
    return p;
  }

  /** Stops every tracked program and daemon (containers first, then the root); removes the temp dir. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await Promise.all(this.programs.splice(0).map((p) => p.stop(3000)));
    const members = this.daemons.filter((d) => d !== this.root);
    await Promise.all(members.map((d) => d.stop()));
    await this.root?.stop();
    this.daemons.length = 0;
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }

  private requireRoot(): ServiceDaemon {
    if (!this.root) throw new Error('the root daemon is not started (call startRoot first)');
    return this.root;
  }
}
