/**
 * Where the apps bench runs a program: inside a container (under the intercept library), on the
 * kernel's loopback (the reference) or on a stock ZeroTier One node; shared by bench/apps.ts and
 * the UDP figures (bench/_apps-udp.ts). A leading underscore keeps it out of the bench list.
 */
import { createServer } from 'node:net';
import type { Cluster, Container } from '../src/demo/cluster.js';
import { type LongRunning, run as runProgram, type RunResult, start } from '../src/demo/processes.js';
import type { StockNode } from '../src/demo/stock-zerotier.js';

/** Where a server runs: inside a container (under the library) or on the kernel's loopback. */
export interface Side {
  label: string;
  ip: string;
  /** Its IPv6 address (a container's rfc4193 address, ::1 on the kernel), null when it has none. */
  ip6: string | null;
  start(cmd: string, args: string[]): LongRunning;
  run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult>;
}

export function containerSide(c: Container, cluster: Cluster): Side {
  return {
    label: `container ${c.name}`,
    ip: c.ip,
    ip6: c.ip6,
    start: (cmd, args) => cluster.track(c.start(cmd, args)),
    run: (cmd, args, timeoutMs) => c.run(cmd, args, { timeoutMs }),
  };
}

export function kernelSide(env: NodeJS.ProcessEnv, started: LongRunning[]): Side {
  return {
    label: 'kernel loopback',
    ip: '127.0.0.1',
    ip6: '::1',
    start: (cmd, args) => {
      const p = start(cmd, args, { env });
      started.push(p);
      return p;
    },
    run: (cmd, args, timeoutMs) => runProgram(cmd, args, { env, timeoutMs }),
  };
}

export function stockSide(n: StockNode): Side {
  return {
    label: `stock node ${n.name}`,
    ip: n.ip,
    ip6: null,
    start: (cmd, args) => n.start(cmd, args),
    run: (cmd, args, timeoutMs) => n.run(cmd, args, timeoutMs),
  };
}

/** The same side reached over IPv6: `ip` is its IPv6 address (throws when it has none). */
export function overIpv6(side: Side): Side {
  if (!side.ip6) throw new Error(`${side.label} has no IPv6 address`);
  return { ...side, label: `${side.label} over IPv6`, ip: side.ip6 };
}

/** "addr:port" as URLs and listen directives write it: an IPv6 address in brackets. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A TCP port free on the host's loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The program's stdout, or an error naming what failed and the end of what it said. */
export function must(r: RunResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code ?? r.signal}): ${(r.stderr || r.stdout).trim().slice(-400)}`);
  return r.stdout;
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
