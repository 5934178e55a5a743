/**
 * Stock ZeroTier One nodes beside a ztnc cluster, for interoperability tests and for the
 * throughput reference of the apps benchmark: each stock node runs in a network namespace of its
 * own (stock nodes refuse loopback paths and configure a real tap device), on a bridge made for
 * the run. The cluster's root binds to the bridge's host address, so the stock nodes, the root and
 * ztnc container daemons on the host all reach each other over it, and nothing else: the
 * namespaces have no route beyond the bridge and the stock nodes' TCP relay fallback and port
 * mapping are off.
 *
 * A stock node can also be the network's controller (stock `zerotier-one` includes one): its
 * local API, reached with curl inside its namespace, creates networks and (de)authorizes members.
 *
 * Needs root, iproute2, curl and a zerotier-one binary (ZTNC_STOCK_ZEROTIER; none is shipped with ztnc).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from './cluster.js';
import { GiveUp, type LongRunning, run, type RunResult, start, waitFor } from './processes.js';

/** The environment variable naming a stock zerotier-one binary. */
export const STOCK_ZEROTIER_ENV = 'ZTNC_STOCK_ZEROTIER';

const STOCK_START_TIMEOUT_MS = 60_000;

/**
 * Why stock nodes cannot run here (null: they can): no binary named, not executable, not root, or
 * no `ip` command.
 */
export async function stockZeroTierUnavailable(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const binary = env[STOCK_ZEROTIER_ENV];
  if (!binary) return `${STOCK_ZEROTIER_ENV} does not name a zerotier-one binary`;
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    return `${STOCK_ZEROTIER_ENV}=${binary} is not an executable file`;
  }
  if (process.getuid?.() !== 0) return 'stock nodes need root (network namespaces and tap devices)';
  const ip = await run('ip', ['-V'], { timeoutMs: 10_000 }).catch(() => null);
  if (!ip || ip.code !== 0) return 'the ip command (iproute2) is missing';
  return null;
}

/** Who authorizes members of a network and assigns their addresses: the cluster's controller or a stock node's. */
export interface MemberController {
  authorize(nwid: string, address: string, authorized?: boolean): Promise<void>;
  member(nwid: string, address: string): Promise<{ authorized?: boolean; ipAssignments?: unknown }>;
}

/** The ztnc cluster root's controller, through its local API. */
export function clusterController(cluster: Cluster): MemberController {
  const root = (): NonNullable<Cluster['root']> => {
    if (!cluster.root) throw new Error('the cluster root is not started');
    return cluster.root;
  };
  return {
    authorize: async (nwid, address, authorized = true) => {
      await root().apiOk('POST', `/controller/network/${nwid}/member/${address}`, { authorized });
    },
    member: async (nwid, address) =>
      (await root().apiOk('GET', `/controller/network/${nwid}/member/${address}`)) as { authorized?: boolean; ipAssignments?: unknown },
  };
}

/** ICMP counters of a network namespace's kernel (/proc/net/snmp, read inside it). */
export interface IcmpCounters {
  /** Echo requests received. */
  inEchos: number;
  /** Echo replies sent. */
  outEchoReps: number;
}

/** One stock zerotier-one in its namespace. */
export class StockNode {
  constructor(
    readonly name: string,
    readonly netns: string,
    readonly home: string,
    /** Its ZeroTier address (10 hex digits). */
    readonly address: string,
    /** Its address on the virtual network (on its tap device); '' when it joined none. */
    readonly ip: string,
    private readonly proc: LongRunning,
  ) {}

  /** Runs a program to completion in the node's namespace (so its traffic uses the tap). */
  run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.netns, cmd, ...args], { timeoutMs });
  }

  /** Starts a long-running program (a server) in the node's namespace. */
  start(cmd: string, args: readonly string[]): LongRunning {
    return start('ip', ['netns', 'exec', this.netns, cmd, ...args]);
  }

  /**
   * Waits until `ip` answers a ping from this node: a node that just got its address may not yet
   * be known to the others (its multicast subscriptions, for ARP, reach the root a moment later).
   */
  async reach(ip: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `stock node ${this.name} to reach ${ip}`,
      async () => {
        if (this.proc.exited()) throw new GiveUp(`zerotier-one exited: ${this.proc.output().trim().slice(-400)}`);
        return (await this.run('ping', ['-c', '1', '-W', '1', ip], 10_000)).code === 0;
      },
      timeoutMs,
      300,
    );
  }

  /**
   * A request to the node's local API (127.0.0.1:9993 inside its namespace, with its authtoken);
   * a non-2xx answer is an error naming the call.
   */
  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const token = readFileSync(join(this.home, 'authtoken.secret'), 'utf8').trim();
    const args = ['-sS', '--max-time', '10', '-X', method, '-H', `X-ZT1-Auth: ${token}`, '-w', '\\n%{http_code}'];
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
    const r = await this.run('curl', [...args, `http://127.0.0.1:9993${path}`], 20_000);
    const cut = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(cut + 1));
    const text = r.stdout.slice(0, Math.max(cut, 0));
    if (r.code !== 0 || status < 200 || status > 299)
      throw new Error(
        `stock node ${this.name}: ${method} ${path} → ${r.code !== 0 ? `curl ${r.code}: ${r.stderr.trim()}` : `${status} ${text}`}`,
      );
    return text === '' ? null : (JSON.parse(text) as unknown);
  }

  /** This node as the controller of its own networks (ids starting with its address). */
  get controller(): MemberController {
    return {
      authorize: async (nwid, address, authorized = true) => {
        await this.api('POST', `/controller/network/${nwid}/member/${address}`, { authorized });
      },
      member: async (nwid, address) =>
        (await this.api('GET', `/controller/network/${nwid}/member/${address}`)) as { authorized?: boolean; ipAssignments?: unknown },
    };
  }

  /**
   * Creates a private network with an IPv4 pool on this node's controller (retried while the
   * controller is still starting); returns its id.
   */
  async createNetwork(name: string, prefix: string): Promise<string> {
    const body = {
      name,
      private: true,
      v4AssignMode: { zt: true },
      routes: [{ target: `${prefix}.0/24`, via: null }],
      ipAssignmentPools: [{ ipRangeStart: `${prefix}.10`, ipRangeEnd: `${prefix}.250` }],
    };
    const net = (await waitFor(
      `stock controller ${this.name} to create a network`,
      async () => {
        if (this.proc.exited()) throw new GiveUp(`zerotier-one exited: ${this.proc.output().trim().slice(-400)}`);
        return (await this.api('POST', `/controller/network/${this.address}______`, body)) as { id?: unknown };
      },
      STOCK_START_TIMEOUT_MS,
      300,
    )) as { id?: unknown };
    if (typeof net.id !== 'string') throw new Error(`stock controller ${this.name} answered without a network id: ${JSON.stringify(net)}`);
    return net.id;
  }

  /** The namespace kernel's ICMP counters. */
  async icmpCounters(): Promise<IcmpCounters> {
    const r = await this.run('cat', ['/proc/net/snmp'], 10_000);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Icmp: '));
    if (lines.length < 2) throw new Error(`no Icmp lines in /proc/net/snmp of ${this.netns}`);
    const names = lines[0]!.split(' ').slice(1);
    const values = lines[1]!.split(' ').slice(1).map(Number);
    const get = (n: string): number => {
      const i = names.indexOf(n);
      if (i < 0) throw new Error(`no Icmp ${n} in /proc/net/snmp`);
      return values[i]!;
    };
    return { inEchos: get('InEchos'), outEchoReps: get('OutEchoReps') };
  }

  /** The zerotier-one process's CPU time so far (user + system), in ms. */
  cpuMs(): number {
    return processCpuMs(this.proc.proc.pid);
  }

  stop(): Promise<void> {
    return this.proc.stop(5_000);
  }
}

/** User + system CPU time of a process from /proc (0 once it is gone). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

async function must(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/**
 * The bridge, its namespaces and the stock nodes in them. Call `create()` before the cluster's
 * root starts (the root binds to `hostIp`), then `addStockNode` once the network exists.
 */
export class StockZeroTierLab {
  readonly nodes: StockNode[] = [];
  private readonly namespaces: string[] = [];
  private nextHost = 2;
  private bridgeUp = false;

  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    readonly bridge: string,
    private readonly tag: string,
    /** The /24 prefix of the bridge's subnet, e.g. "10.213.7". */
    private readonly prefix: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The host's address on the bridge: the root binds here. */
  get hostIp(): string {
    return `${this.prefix}.1`;
  }

  /** Makes the bridge on a /24 no route of this host uses yet. */
  static async create(opts: { binary: string; dir: string; log?: (line: string) => void }): Promise<StockZeroTierLab> {
    const routes = await must('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
    let prefix = '';
    for (let i = 0; i < 50 && prefix === ''; i++) {
      const p = `10.${randomInt(200, 250)}.${randomInt(1, 255)}`;
      if (!routes.includes(`${p}.`)) prefix = p;
    }
    if (prefix === '') throw new Error("no free 10.x.y.0/24 for the stock nodes' bridge");
    const tag = randomBytes(3).toString('hex');
    const lab = new StockZeroTierLab(opts.binary, opts.dir, `ztncbr${tag}`, tag, prefix, opts.log ?? (() => undefined));
    await must('ip', ['link', 'add', lab.bridge, 'type', 'bridge']);
    lab.bridgeUp = true;
    await must('ip', ['addr', 'add', `${lab.hostIp}/24`, 'dev', lab.bridge]);
    await must('ip', ['link', 'set', lab.bridge, 'up']);
    lab.log(`bridge ${lab.bridge} ${prefix}.0/24 (host ${lab.hostIp})`);
    return lab;
  }

  /**
   * Starts a stock node in a new namespace on the bridge, on the cluster's planet. Given `nwid`,
   * joins it through networks.d (as stock persists joins), authorizes it on `controller` (by
   * default the cluster's) and waits until its tap carries the address the controller assigned;
   * without, it joins nothing (a stock controller).
   */
  async addStockNode(
    name: string,
    cluster: Cluster,
    nwid: string | null,
    controller: MemberController = clusterController(cluster),
  ): Promise<StockNode> {
    const root = cluster.root;
    if (!root) throw new Error('the cluster root is not started');
    const host = this.nextHost++;
    const netns = `ztnc-${this.tag}-${name}`;
    const veth = `ztv${this.tag}${host}`;
    await must('ip', ['netns', 'add', netns]);
    this.namespaces.push(netns);
    await must('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await must('ip', ['link', 'set', veth, 'master', this.bridge, 'up']);
    const inNs = (args: string[]): Promise<string> => must('ip', ['netns', 'exec', netns, ...args]);
    await inNs(['ip', 'addr', 'add', `${this.prefix}.${host}/24`, 'dev', 'eth0']);
    await inNs(['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);

    const home = join(this.dir, `stock-${name}`);
    mkdirSync(join(home, 'networks.d'), { recursive: true });
    writeFileSync(join(home, 'planet'), readFileSync(root.planetFile));
    if (nwid !== null) writeFileSync(join(home, 'networks.d', `${nwid}.conf`), '');
    const settings = { allowTcpFallbackRelay: false, portMappingEnabled: false, allowSecondaryPort: false, primaryPort: 9993 };
    writeFileSync(join(home, 'local.conf'), `${JSON.stringify({ settings }, null, 2)}\n`);
    const proc = start('ip', ['netns', 'exec', netns, this.binary, '-U', home], { logFile: join(home, 'zerotier-one.out') });
    const address = await waitFor(
      `stock zerotier-one ${name} to write its identity`,
      () => {
        if (proc.exited()) throw new GiveUp(`zerotier-one exited: ${proc.output().trim().slice(-400)}`);
        const file = join(home, 'identity.public');
        return existsSync(file) ? readFileSync(file, 'utf8').slice(0, 10) : false;
      },
      STOCK_START_TIMEOUT_MS,
      200,
    );
    if (nwid === null) {
      const node = new StockNode(name, netns, home, address, '', proc);
      this.nodes.push(node);
      this.log(`stock node ${name}: zerotier-one ${address} in ${netns}, on no network`);
      return node;
    }
    await controller.authorize(nwid, address);
    const ip = await waitFor(
      `stock node ${name} (${address}) to get its address on ${nwid}`,
      async () => {
        if (proc.exited()) throw new GiveUp(`zerotier-one exited: ${proc.output().trim().slice(-400)}`);
        const member = await controller.member(nwid, address);
        const assigned = Array.isArray(member.ipAssignments)
          ? member.ipAssignments.map(String).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))
          : undefined;
        if (!assigned) return false;
        const onTap = await run('ip', ['netns', 'exec', netns, 'ip', '-4', '-o', 'addr', 'show'], { timeoutMs: 10_000 });
        return onTap.stdout.includes(` ${assigned}/`) ? assigned : false;
      },
      STOCK_START_TIMEOUT_MS,
      300,
    );
    const node = new StockNode(name, netns, home, address, ip, proc);
    this.nodes.push(node);
    this.log(`stock node ${name}: zerotier-one ${address} in ${netns}, address ${ip}`);
    return node;
  }

  /** Stops the stock nodes and removes the namespaces and the bridge. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((n) => n.stop()));
    for (const ns of this.namespaces.splice(0)) await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 }).catch(() => null);
    if (this.bridgeUp) {
      this.bridgeUp = false;
      await run('ip', ['link', 'del', this.bridge], { timeoutMs: 10_000 }).catch(() => null);
    }
  }
}

/**
 * Pings back to back until two in a row go unanswered; returns the time from `since` to the
 * start of the first of them (the cut was in place by the time its reply came back).
 */
export async function pingsStop(what: string, since: number, ping: () => Promise<boolean>, deadlineMs = 60_000): Promise<number> {
  let firstFailedAt: number | null = null;
  for (;;) {
    const sentAt = Date.now();
    if (await ping()) {
      firstFailedAt = null;
      if (Date.now() - since > deadlineMs) throw new Error(`${what}: still answered ${deadlineMs} ms after the de-authorization`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } else if (firstFailedAt === null) firstFailedAt = sentAt;
    else return firstFailedAt - since;
  }
}
