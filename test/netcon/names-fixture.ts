/**
 * What the name-lookup suites share: the table of names both stand-ins answer, the daemon's
 * stand-in for the name ops (test/shim/names_daemon.py rpc, other ops passed to an upstream
 * daemon when given) with its log of the name requests it got, and runs inside a private mount
 * and network namespace (test/shim/names_ns.sh) with the test's /etc/hosts, nsswitch.conf and
 * resolv.conf — optionally with a DNS server answering the same table, the glibc reference.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { combine, needPrograms, type Requirement } from '../support/requirements.js';
import { ROOT, run, type RunResult } from './harness.js';

const NAMES_DAEMON = join(ROOT, 'test', 'shim', 'names_daemon.py');
const NS_SCRIPT = join(ROOT, 'test', 'shim', 'names_ns.sh');

/** The names of the tests' network: the RPC stand-in answers RESOLVE/REVERSE from it, the DNS server A/AAAA/PTR/TXT. */
export const TABLE = {
  names: {
    'alpha.test': { addrs: ['10.147.17.5'] },
    'www.test': { canonical: 'alpha.test', addrs: ['10.147.17.5', '10.147.17.6'] },
    'dual.test': { addrs: ['10.147.17.7', 'fd00::7'] },
    'six.test': { addrs: ['fd00::6'] },
    'nodata.test': { addrs: [] },
    'later.test': { errno: 'EAGAIN' },
    'big.test': { addrs: ['10.147.17.8'] },
    'both.test': { addrs: ['10.147.17.31'] },
  },
  reverse: { '10.147.17.5': 'alpha.test', '10.147.17.9': 'later.test' },
  txt: { 'big.test': 3000 },
};

/** /etc/hosts inside the namespace. */
export const HOSTS = [
  '127.0.0.1 localhost',
  '::1 localhost ip6-localhost ip6-loopback',
  '10.147.17.20 filehost.test fh',
  '10.147.17.21 multi.test m1',
  '10.147.17.22 other.test multi.test m2',
  'fd00::21 multi.test m6',
  '10.147.17.30 both.test',
  '',
].join('\n');

/** Root and unshare for the namespaces, python3 for the stand-ins, cc for the test program. */
export function needNamesRig(): Requirement {
  const root: Requirement =
    process.getuid?.() === 0 ? { ok: true, reason: '' } : { ok: false, reason: 'needs root (private mount and network namespaces)' };
  return combine(root, needPrograms('cc', 'make', 'python3', 'unshare', 'ip', 'mount'));
}

/**
 * A directory with the namespace's files: hosts, nsswitch.conf (`hosts:` line given), and
 * resolv.conf naming 127.0.0.1 (where only the reference runs have a server) with short timeouts,
 * and `resolvExtra` lines (e.g. "search test\n").
 */
export function nsDir(parent: string, name: string, hostsLine = 'files dns', resolvExtra = ''): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hosts'), HOSTS);
  writeFileSync(join(dir, 'nsswitch.conf'), `hosts: ${hostsLine}\n`);
  writeFileSync(join(dir, 'resolv.conf'), `nameserver 127.0.0.1\n${resolvExtra}options timeout:1 attempts:1\n`);
  return dir;
}

/** Writes TABLE as JSON into `dir`; returns its path. */
export function writeTable(dir: string): string {
  const path = join(dir, 'table.json');
  writeFileSync(path, JSON.stringify(TABLE));
  return path;
}

export interface NamesDaemon {
  socketPath: string;
  /** The name requests it has answered so far, in order. */
  requests(): Array<{ op: string; name?: string; addr?: string; family?: number; type?: number }>;
  stop(): void;
}

/** Starts the stand-in serving `socketPath`; other ops go to `upstream` (a daemon socket) when given. */
export async function startNamesDaemon(dir: string, socketPath: string, upstream?: string): Promise<NamesDaemon> {
  const logPath = join(dir, `${socketPath.split('/').pop()}.log`);
  writeFileSync(logPath, '');
  const args = [NAMES_DAEMON, 'rpc', socketPath, writeTable(dir), logPath, ...(upstream ? [upstream] : [])];
  const proc: ChildProcess = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LD_PRELOAD: '' } });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`names daemon exited (${code}): ${err}`)));
  });
  return {
    socketPath,
    requests: () =>
      existsSync(logPath)
        ? readFileSync(logPath, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as { op: string; name?: string })
        : [],
    stop: () => {
      proc.kill('SIGKILL');
    },
  };
}

/** Runs `cmd` in a private mount + network namespace set up from `dir`; with `table`, a DNS server answering it first. */
export function inNamespace(dir: string, cmd: string[], env: NodeJS.ProcessEnv, table?: string, timeoutMs = 60_000): Promise<RunResult> {
  const args = [NS_SCRIPT, dir, ...(table ? ['--dns', table] : []), '--', ...cmd];
  return run('unshare', ['-mn', 'sh', ...args], env, timeoutMs);
}

/**
 * Runs the test program once per case (its arguments, space-separated) in one namespace; returns
 * each case's output. One namespace for all keeps the reference's DNS server to one start.
 */
export async function batch(
  dir: string,
  program: string,
  cases: string[],
  env: NodeJS.ProcessEnv,
  table?: string,
): Promise<Map<string, string>> {
  const list = join(dir, table ? 'cases.reference' : 'cases.library');
  writeFileSync(list, cases.join('\n') + '\n');
  const script = `while read -r line; do echo "### $line"; ${program} $line 2>&1; done < ${list}`;
  const r = await inNamespace(dir, ['sh', '-c', script], env, table, 300_000);
  if (r.code !== 0) throw new Error(`batch failed (${r.code}): ${r.stderr}`);
  const out = new Map<string, string>();
  for (const part of r.stdout.split('### ').slice(1)) {
    const nl = part.indexOf('\n');
    out.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return out;
}
