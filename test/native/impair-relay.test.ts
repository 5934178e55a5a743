/**
 * bench/impair_relay.c, the paths bench's link between two network namespaces: frames cross it no
 * sooner than the one-way delay it is set to, loss drops them (IP frames only, ARP passes), the
 * same seed drops the same frames, and a bad command is refused without changing anything.
 * Needs root (namespaces, TAP devices); pings run inside the namespaces made here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { runCollecting } from '../support/run-collecting.js';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RIG = combine(needRootNetns(), needPrograms('cc', 'ping'));

describe.runIf(requireOrSkip(RIG, 'impairment relay'))('impair_relay between two namespaces', () => {
  const dir = tempDir('ztnc-relay-');
  const tag = randomBytes(3).toString('hex');
  const ns = { a: `ztncr-${tag}-a`, b: `ztncr-${tag}-b`, m: `ztncr-${tag}-m` };
  const made: string[] = [];
  let relay: ChildProcess;
  let out = '';

  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

  async function command(line: string): Promise<string> {
    const mark = out.length;
    relay.stdin!.write(`${line}\n`);
    return waitFor(
      () => {
        const nl = out.indexOf('\n', mark);
        return nl < 0 ? null : out.slice(mark, nl);
      },
      10_000,
      `the relay's answer to ${line}`,
    );
  }

  /** `count` pings from A to B, one at a time; the replies' round trips in ms. */
  async function pings(count: number): Promise<number[]> {
    const r = await runCollecting('ip', ['netns', 'exec', ns.a, 'ping', '-n', '-c', String(count), '-i', '0.05', '-W', '1', '10.77.0.2'], {
      env: process.env,
      timeoutMs: 60_000,
    });
    return [...r.stdout.matchAll(/time=([0-9.]+) ms/g)].map((m) => Number(m[1]));
  }

  beforeAll(async () => {
    const bin = join(dir, 'impair_relay');
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, join(ROOT, 'bench', 'impair_relay.c')], { stdio: 'inherit' });
    for (const n of [ns.a, ns.b, ns.m]) {
      ip('netns', 'add', n);
      made.push(n);
      // no IPv6 chatter (router and neighbour solicitations): the pings are the only IP frames
      execFileSync('ip', ['netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    relay = spawn('ip', ['netns', 'exec', ns.m, bin, 'rla', 'rlb'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    relay.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    relay.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('READY') || null, 10_000, 'the relay to make its TAP devices');
    for (const [side, dev, addr] of [
      ['a', 'rla', '10.77.0.1'],
      ['b', 'rlb', '10.77.0.2'],
    ] as const) {
      ip('-n', ns.m, 'link', 'set', dev, 'netns', ns[side]);
      ip('-n', ns[side], 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', ns[side], 'link', 'set', dev, 'up');
    }
  });

  afterAll(async () => {
    if (relay && relay.exitCode === null) {
      const gone = new Promise((r) => relay.once('close', r));
      relay.stdin!.end();
      await gone;
    }
    for (const n of made) ip('netns', 'del', n);
    removeDir(dir);
  });

  it('forwards both ways, never sooner than the one-way delay each way', async () => {
    expect(await command('set delay_ms=15')).toBe('ok');
    const rtts = await pings(5);
    expect(rtts.length).toBe(5);
    for (const t of rtts) expect(t).toBeGreaterThanOrEqual(30);
  });

  it('drops every IP frame at loss 1 (ARP still passes), and counts them', async () => {
    expect(await command('set delay_ms=0 loss=1')).toBe('ok');
    expect(await pings(3)).toEqual([]);
    const stats = JSON.parse(await command('stats')) as { a_to_b: { lost: number; out: number } };
    expect(stats.a_to_b.lost).toBe(3);
  });

  it('drops the same frames for the same seed', async () => {
    const run = async (): Promise<string> => {
      expect(await command('set delay_ms=0 loss=0.3 seed=7')).toBe('ok');
      const got = await pings(20);
      const s = JSON.parse(await command('stats')) as Record<string, { lost: number }>;
      return `${got.length} ${s.a_to_b!.lost} ${s.b_to_a!.lost}`;
    };
    const first = await run();
    expect(await run()).toBe(first);
  });

  it('refuses bad settings and unknown commands, keeping what it had', async () => {
    expect(await command('set delay_ms=0 loss=0')).toBe('ok');
    expect(await command('set loss=2')).toBe('error bad setting');
    expect(await command('set delay_ms=-1')).toBe('error bad setting');
    expect(await command('set jitter=3')).toBe('error bad setting');
    expect(await command('set delay_ms=abc')).toBe('error bad setting');
    expect(await command('flood')).toBe('error unknown command');
    expect((await pings(2)).length).toBe(2);
  });
});
