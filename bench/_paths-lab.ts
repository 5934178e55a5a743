/**
 * The real-time part of the paths bench, its lab: two network namespaces, A and B, whose only link
 * is the impairment relay (bench/impair_relay.c, compiled here with the host's cc) running in a
 * third namespace and holding one TAP device in each of A and B; one /24 between them. The
 * relay's path model (delay, loss, reordering, bottleneck) changes between cases through its stdin,
 * so the devices, addresses and daemons stay up for the whole run.
 *
 * On that link: ztnc daemons started as processes in the namespaces — the private root+controller
 * in A (bound to A's address, so its planet names it), one member ("container") in A and one in B —
 * on one network, and programs run in a namespace plain (the kernel's TCP) or under
 * libztintercept.so for a member (the daemon's TCP). Everything is torn down by stop(), which
 * only signals the processes started here (their process groups) and deletes the namespaces made here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveToolsetIn, type Toolset, toolsetEnv } from '../src/demo/commands.js';
import { GiveUp, type LongRunning, run, type RunResult, start, waitFor } from '../src/demo/processes.js';
import { interceptEnv } from '../src/netcon/intercept-env.js';

/** What the relay does to each direction's frames. */
export interface PathModel {
  delayMs: number;
  loss?: number;
  reorder?: number;
  reorderMs?: number;
  rateMbps?: number;
  queueBytes?: number;
  seed?: number;
}

const START_TIMEOUT_MS = 60_000;

/** Why the real-time part cannot run here (null: it can). */
export async function realtimeUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and TAP devices)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  for (const cmd of ['ip', 'cc', 'iperf3', 'curl']) {
    const r = await run('sh', ['-c', `command -v ${cmd}`], { timeoutMs: 10_000 });
    if (r.code !== 0) return `${cmd} is not installed`;
  }
  return null;
}

async function must(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const r = await run(cmd, args, { timeoutMs });
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? r.signal}): ${(r.stderr || r.stdout).trim().slice(-400)}`);
  return r.stdout;
}

/** One ztnc-service inside a namespace; its local API is reached with curl in the same namespace. */
export class NsDaemon {
  address = '';
  private proc: LongRunning | null = null;
  private port = 0;
  private token = '';

  constructor(
    readonly name: string,
    readonly netns: string,
    readonly home: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.proc?.proc.pid;
  }

  async start(opts: { privatePlanet?: boolean; planet?: string; bind?: string[]; join?: string }): Promise<void> {
    mkdirSync(join(this.home, 'networks.d'), { recursive: true, mode: 0o700 });
    if (opts.join) writeFileSync(join(this.home, 'networks.d', `${opts.join}.conf`), '');
    if (opts.bind) writeFileSync(join(this.home, 'local.conf'), `${JSON.stringify({ settings: { bind: opts.bind } })}\n`);
    const args = ['netns', 'exec', this.netns, 'ztnc-service', '-p', '0', '--api-port', '0'];
    if (opts.privatePlanet) args.push('--private-planet');
    if (opts.planet) args.push('--planet', opts.planet);
    this.proc = start('ip', [...args, this.home], { env: this.env, logFile: join(this.home, 'service.out') });
    await waitFor(
      `${this.name} (ztnc-service in ${this.netns}) to answer its API`,
      async () => {
        if (this.proc!.exited()) throw new GiveUp(`ztnc-service exited: ${this.proc!.output().trim().slice(-400)}`);
        const portFile = join(this.home, 'ztnc.port');
        const tokenFile = join(this.home, 'authtoken.secret');
        if (!existsSync(portFile) || !existsSync(tokenFile)) return false;
        this.port = Number(readFileSync(portFile, 'utf8').trim());
        this.token = readFileSync(tokenFile, 'utf8').trim();
        const status = (await this.api('GET', '/status')) as { address?: unknown };
        if (typeof status.address !== 'string') return false;
        this.address = status.address;
        return true;
      },
      START_TIMEOUT_MS,
      300,
    );
  }

  /** A request to the daemon's API from inside its namespace; a non-2xx answer is an error. */
  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const args = ['netns', 'exec', this.netns, 'curl', '-sS', '--max-time', '10', '-X', method, '-H', `X-ZT1-Auth: ${this.token}`];
    args.push('-w', '\\n%{http_code}');
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
    const r = await run('ip', [...args, `http://127.0.0.1:${this.port}${path}`], { timeoutMs: 20_000 });
    const cut = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(cut + 1));
    const text = r.stdout.slice(0, Math.max(cut, 0));
    if (r.code !== 0 || status < 200 || status > 299)
      throw new Error(`${this.name}: ${method} ${path} → ${r.code !== 0 ? r.stderr.trim() : `${status} ${text}`}`);
    return text === '' ? null : (JSON.parse(text) as unknown);
  }

  /** Waits until the network is OK with an IPv4 address on this member; returns it. */
  async waitForAddress(nwid: string): Promise<string> {
    return waitFor(
      `${this.name} to get an address on ${nwid}`,
      async () => {
        if (this.proc!.exited()) throw new GiveUp(`ztnc-service exited: ${this.proc!.output().trim().slice(-400)}`);
        const n = (await this.api('GET', `/network/${nwid}`)) as { status?: string; assignedAddresses?: string[] };
        const v4 = n.status === 'OK' ? n.assignedAddresses?.find((a) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a)) : undefined;
        return v4 ? v4.split('/')[0] : false;
      },
      START_TIMEOUT_MS,
      300,
    );
  }

  stop(): Promise<void> {
    return this.proc?.stop(10_000) ?? Promise.resolve();
  }
}

/** A place programs run: a namespace, plain or under the library for a member's network. */
export interface Host {
  label: string;
  /** The address servers there listen on. */
  ip: string;
  start(cmd: string, args: string[]): LongRunning;
  run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult>;
}

export class PathsLab {
  readonly dir: string;
  readonly toolset: Toolset;
  readonly env: NodeJS.ProcessEnv;
  readonly ns: { a: string; b: string; m: string };
  readonly prefix: string;
  relayBin = '';
  checkBin = '';
  private relay: ChildProcess | null = null;
  private relayOut = '';
  private readonly made: string[] = [];
  private readonly daemons: NsDaemon[] = [];
  private readonly programs: LongRunning[] = [];
  root: NsDaemon | null = null;
  nwid = '';
  members: { a: NsDaemon; b: NsDaemon; ipA: string; ipB: string } | null = null;

  private constructor(private readonly log: (l: string) => void) {
    this.dir = mkdtempSync(join(tmpdir(), 'ztnc-paths-'));
    this.toolset = resolveToolsetIn(this.dir, {});
    this.env = toolsetEnv(this.toolset);
    const tag = randomBytes(3).toString('hex');
    this.ns = { a: `ztncp-${tag}-a`, b: `ztncp-${tag}-b`, m: `ztncp-${tag}-relay` };
    this.prefix = `10.${randomInt(200, 250)}.${randomInt(1, 255)}`;
  }

  get ipA(): string {
    return `${this.prefix}.1`;
  }

  get ipB(): string {
    return `${this.prefix}.2`;
  }

  /** Builds the C programs, makes the namespaces and the relay's link between A and B. */
  static async create(packageRoot: string, log: (l: string) => void): Promise<PathsLab> {
    const lab = new PathsLab(log);
    try {
      lab.relayBin = join(lab.dir, 'impair_relay');
      lab.checkBin = join(lab.dir, 'stream_check');
      execFileSync('cc', ['-O2', '-o', lab.relayBin, join(packageRoot, 'bench', 'impair_relay.c')], { stdio: 'inherit' });
      execFileSync('cc', ['-O2', '-o', lab.checkBin, join(packageRoot, 'bench', 'stream_check.c')], { stdio: 'inherit' });
      const routes = await must('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
      if (routes.includes(`${lab.prefix}.`)) throw new Error(`${lab.prefix}.0/24 is in use on this host; run again`);
      for (const ns of [lab.ns.a, lab.ns.b, lab.ns.m]) {
        await must('ip', ['netns', 'add', ns]);
        lab.made.push(ns);
        await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      await lab.startRelay();
      for (const [side, ip] of [
        ['a', lab.ipA],
        ['b', lab.ipB],
      ] as const) {
        const dev = `zp${side}`;
        await must('ip', ['-n', lab.ns.m, 'link', 'set', dev, 'netns', lab.ns[side]]);
        await must('ip', ['-n', lab.ns[side], 'addr', 'add', `${ip}/24`, 'dev', dev]);
        await must('ip', ['-n', lab.ns[side], 'link', 'set', dev, 'up']);
      }
      log(`namespaces ${lab.ns.a} (${lab.ipA}) and ${lab.ns.b} (${lab.ipB}), joined through the relay in ${lab.ns.m}`);
      return lab;
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  private async startRelay(): Promise<void> {
    const p = spawn('ip', ['netns', 'exec', this.ns.m, this.relayBin, 'zpa', 'zpb'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.relay = p;
    p.stdout!.on('data', (d: Buffer) => (this.relayOut += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.relayOut += d.toString()));
    await waitFor(
      'the impairment relay to make its TAP devices',
      () => {
        if (p.exitCode !== null) throw new GiveUp(`impair_relay exited: ${this.relayOut}`);
        return this.relayOut.includes('READY');
      },
      10_000,
      50,
    );
  }

  /** Sends one command line to the relay; resolves with its one-line answer. */
  private async relayCommand(line: string): Promise<string> {
    const p = this.relay;
    if (!p || p.exitCode !== null) throw new Error(`the relay is not running: ${this.relayOut}`);
    const mark = this.relayOut.length;
    p.stdin!.write(`${line}\n`);
    const answer = await waitFor(
      `the relay to answer "${line}"`,
      () => {
        const nl = this.relayOut.indexOf('\n', mark);
        return nl < 0 ? false : this.relayOut.slice(mark, nl);
      },
      10_000,
      20,
    );
    if (answer.startsWith('error')) throw new Error(`relay: ${line}: ${answer}`);
    return answer;
  }

  async setPath(m: PathModel): Promise<void> {
    await this.relayCommand(
      `set delay_ms=${m.delayMs} loss=${m.loss ?? 0} reorder=${m.reorder ?? 0} reorder_ms=${m.reorderMs ?? 1} ` +
        `rate_mbps=${m.rateMbps ?? 0} queue_bytes=${m.queueBytes ?? 0} seed=${m.seed ?? 1}`,
    );
  }

  /** The relay's counters since the last setPath. */
  async relayStats(): Promise<Record<string, Record<string, number>>> {
    return JSON.parse(await this.relayCommand('stats')) as Record<string, Record<string, number>>;
  }

  /** Root+controller in A, a member in A and one in B, on one private network. */
  async startDaemons(): Promise<void> {
    const root = new NsDaemon('root', this.ns.a, join(this.dir, 'root'), this.env);
    this.daemons.push(root);
    await root.start({ privatePlanet: true, bind: [this.ipA] });
    this.root = root;
    const subnet = `10.${randomInt(100, 199)}.${randomInt(1, 255)}`;
    const net = (await root.api('POST', `/controller/network/${root.address}______`, {
      name: 'paths-bench',
      private: true,
      v4AssignMode: { zt: true },
      routes: [{ target: `${subnet}.0/24`, via: null }],
      ipAssignmentPools: [{ ipRangeStart: `${subnet}.10`, ipRangeEnd: `${subnet}.250` }],
    })) as { id?: string };
    if (typeof net.id !== 'string') throw new Error(`controller answered without a network id: ${JSON.stringify(net)}`);
    this.nwid = net.id;
    const planet = join(root.home, 'planet');
    const member = async (name: string, netns: string): Promise<[NsDaemon, string]> => {
      const d = new NsDaemon(name, netns, join(this.dir, name), this.env);
      this.daemons.push(d);
      await d.start({ planet, join: this.nwid });
      await root.api('POST', `/controller/network/${this.nwid}/member/${d.address}`, { authorized: true });
      return [d, await d.waitForAddress(this.nwid)];
    };
    const [[a, ipA], [b, ipB]] = await Promise.all([member('member-a', this.ns.a), member('member-b', this.ns.b)]);
    this.members = { a, b, ipA, ipB };
    this.log(`ztnc: root ${root.address} in A; members ${a.address} (${ipA}) in A and ${b.address} (${ipB}) in B on ${this.nwid}`);
  }

  /** Programs on the kernel's TCP in namespace `side`. */
  kernelHost(side: 'a' | 'b'): Host {
    return this.host(`kernel ${side.toUpperCase()}`, side, side === 'a' ? this.ipA : this.ipB, {});
  }

  /** Programs under the library for the member in namespace `side`. */
  ztncHost(side: 'a' | 'b'): Host {
    const m = this.members;
    if (!m) throw new Error('the daemons are not started');
    const d = m[side];
    const env = interceptEnv({}, { nwid: this.nwid, home: d.home, library: this.toolset.library });
    return this.host(`ztnc ${side.toUpperCase()}`, side, side === 'a' ? m.ipA : m.ipB, env);
  }

  private host(label: string, side: 'a' | 'b', ip: string, extra: NodeJS.ProcessEnv): Host {
    // `env` applies the library to the program only, never to `ip` itself.
    const wrap = (cmd: string, args: string[]): string[] => [
      'netns',
      'exec',
      this.ns[side],
      'env',
      ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
      cmd,
      ...args,
    ];
    return {
      label,
      ip,
      start: (cmd, args) => {
        const p = start('ip', wrap(cmd, args), { env: this.env });
        this.programs.push(p);
        return p;
      },
      run: (cmd, args, timeoutMs) => run('ip', wrap(cmd, args), { env: this.env, timeoutMs }),
    };
  }

  private stopping: Promise<void> | null = null;

  /**
   * Stops the programs, daemons and relay started here and deletes the namespaces made here. Every
   * caller (the run's own end, a signal) waits for the one teardown.
   */
  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    await Promise.all(this.programs.splice(0).map((p) => p.stop(3000)));
    const members = this.daemons.filter((d) => d !== this.root);
    await Promise.all(members.map((d) => d.stop()));
    await this.root?.stop();
    this.daemons.length = 0;
    const relay = this.relay;
    this.relay = null;
    if (relay && relay.exitCode === null && relay.pid !== undefined) {
      const gone = new Promise((r) => relay.once('close', r));
      relay.stdin!.end();
      const t = setTimeout(() => {
        try {
          process.kill(-relay.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await gone;
      clearTimeout(t);
    }
    for (const ns of this.made.splice(0)) await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 }).catch(() => null);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
