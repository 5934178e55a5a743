/**
 * Health checks of a reverse proxy's upstreams: every interval, each member address and port the
 * routes may send to is tried from the gateway's stack — a TCP connect, or an HTTP GET of a path
 * where any status below 500 is healthy. One failure marks an upstream down, one success up
 * again. An upstream not checked yet counts as up (a member that just joined is routed at once;
 * a failed request is a 502 anyway). Upstreams the routes no longer select are forgotten.
 */
import { request } from 'node:http';
import type { NetStack } from '../netstack/index.js';
import { formatIpv4 } from '../netstack/index.js';
import type { Upstream } from './proxy-members.js';
import type { ProxyHealth } from './proxy-spec.js';
import { StackStream } from './proxy-stream.js';

/** Longest one check may take (a shorter interval bounds it too). */
const CHECK_TIMEOUT_MS = 5000;

export interface UpstreamHealth {
  member: string;
  addr: string;
  port: number;
  up: boolean;
  checks: number;
  failures: number;
  /** Why the last check failed ('' when it passed or none ran). */
  lastError: string;
}

const keyOf = (u: { addr: number; port: number }): string => `${u.addr}:${u.port}`;

/** One check of `u` from `stack`: resolves with '' when healthy, else why not. */
export function checkOnce(stack: NetStack, u: Upstream, health: ProxyHealth, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const stream = StackStream.connect(stack, u.addr, u.port, timeoutMs);
    let settled = false;
    const done = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done('timed out'), timeoutMs);
    timer.unref();
    if (health.kind === 'tcp') {
      stream.once('connect', () => done(''));
      stream.once('error', (e: Error) => done(e.message));
      return;
    }
    // no agent: with `agent: false` Node would open a kernel socket instead of calling createConnection
    const req = request(
      {
        host: formatIpv4(u.addr),
        port: u.port,
        path: health.path,
        method: 'GET',
        createConnection: () => stream,
        headers: { 'user-agent': 'ztnc-proxy-health' },
      },
      (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 500 ? '' : `HTTP ${res.statusCode}`);
      },
    );
    req.on('error', (e) => done(e.message));
    req.end();
  });
}

export class HealthChecks {
  private readonly states = new Map<string, { upstream: Upstream; view: UpstreamHealth; running: boolean }>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly health: ProxyHealth,
    private readonly stack: () => NetStack | null,
    /** Called when an upstream goes down or comes back up. */
    private readonly onChange: () => void,
  ) {
    this.timer = setInterval(() => this.checkAll(), health.intervalMs);
    this.timer.unref();
  }

  /** The upstreams to watch now; new ones are checked at once. */
  watch(upstreams: readonly Upstream[]): void {
    const keep = new Set(upstreams.map(keyOf));
    for (const k of [...this.states.keys()]) if (!keep.has(k)) this.states.delete(k);
    for (const u of upstreams) {
      if (this.states.has(keyOf(u))) continue;
      const view: UpstreamHealth = {
        member: u.member,
        addr: formatIpv4(u.addr),
        port: u.port,
        up: true,
        checks: 0,
        failures: 0,
        lastError: '',
      };
      this.states.set(keyOf(u), { upstream: u, view, running: false });
      this.checkOne(keyOf(u));
    }
  }

  isUp(u: { addr: number; port: number }): boolean {
    return this.states.get(keyOf(u))?.view.up ?? true;
  }

  snapshot(): UpstreamHealth[] {
    return [...this.states.values()].map((s) => ({ ...s.view }));
  }

  private checkAll(): void {
    for (const k of this.states.keys()) this.checkOne(k);
  }

  private checkOne(key: string): void {
    const s = this.states.get(key);
    const stack = this.stack();
    if (!s || s.running || this.closed) return;
    if (!stack) return this.record(key, 'the network is not up');
    s.running = true;
    void checkOnce(stack, s.upstream, this.health, Math.min(CHECK_TIMEOUT_MS, Math.max(this.health.intervalMs, 1000))).then((why) => {
      s.running = false;
      this.record(key, why);
    });
  }

  private record(key: string, why: string): void {
    const s = this.states.get(key);
    if (!s || this.closed) return;
    const v = s.view;
    v.checks++;
    v.lastError = why;
    if (why !== '') v.failures++;
    const up = why === '';
    if (up !== v.up) {
      v.up = up;
      this.onChange();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.states.clear();
  }
}
