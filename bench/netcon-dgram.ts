/**
 * UDP through one netcon daemon: a sender and a receiver process (bench/dgram_peer.c, speaking
 * the datagram records of native/intercept/proto.h directly, so the figure is the daemon's path
 * alone) through the daemon's stack, beside the same programs over the kernel's loopback in the
 * same run. Reports datagrams/s with 64-byte datagrams and Mbit/s with 1400-byte ones, as
 * received, and the share lost (the receiving app's end full: counted drops on the daemon).
 *
 * The daemon runs in this process. DGRAM_BENCH_SMALL (default 400000) and DGRAM_BENCH_LARGE
 * (default 200000) set the datagram counts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { NetconServer } from '../src/netcon/server.js';
import { parseIpv4 } from '../src/netstack/addr.js';
import { RealScheduler } from '../src/netstack/clock.js';
import { createNetStack } from '../src/netstack/index.js';
import { packageRoot } from './_package-root.js';

const STACK_ADDR = '10.147.17.5';

interface Flow {
  datagrams: number;
  sent: number;
  seconds: number;
  bytes: number;
}

/** One receiver and one sender; resolves with what the receiver counted. */
function flow(bin: string, socket: string, addr: string, port: number, size: number, count: number): Promise<Flow> {
  return new Promise((resolve, reject) => {
    const rx = spawn(bin, ['recv', socket, String(port), '500'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let rxOut = '';
    let txOut = '';
    rx.stdout.on('data', (d: Buffer) => {
      rxOut += d.toString();
      if (rxOut.startsWith('READY') && txOut === '') {
        txOut = ' ';
        const tx = spawn(bin, ['send', socket, addr, String(port), String(size), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
        tx.stdout.on('data', (b: Buffer) => (txOut += b.toString()));
        tx.on('error', reject);
      }
    });
    rx.on('error', reject);
    rx.on('close', (code) => {
      const line = rxOut.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`receiver failed (${code}): ${rxOut}`));
      const r = JSON.parse(line) as { datagrams: number; bytes: number; seconds: number };
      resolve({ datagrams: r.datagrams, bytes: r.bytes, seconds: r.seconds, sent: count });
    });
  });
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const root = packageRoot();
  const small = Number(process.env.DGRAM_BENCH_SMALL ?? 400_000);
  const large = Number(process.env.DGRAM_BENCH_LARGE ?? 200_000);
  const tmp = mkdtempSync(join(tmpdir(), 'ztnc-bench-dgram-'));
  const bin = join(tmp, 'dgram_peer');
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'bench', 'dgram_peer.c')], { stdio: 'inherit' });
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 7]), name: 'bench' });
  stack.addAddress(parseIpv4(STACK_ADDR)!, 24);
  stack.setLinkOutput(() => {});
  const socketPath = join(tmp, 'rpc', 'net.sock');
  const server = new NetconServer(stack, socketPath, pino({ level: 'warn' }, pino.destination(2)));
  await server.start();
  try {
    await flow(bin, socketPath, STACK_ADDR, 7000, 64, 50_000); // warm-up: JIT the daemon's path
    const ref64 = await flow(bin, 'kernel', '127.0.0.1', 7001, 64, small);
    const z64 = await flow(bin, socketPath, STACK_ADDR, 7002, 64, small);
    const ref1400 = await flow(bin, 'kernel', '127.0.0.1', 7003, 1400, large);
    const z1400 = await flow(bin, socketPath, STACK_ADDR, 7004, 1400, large);
    const pps = (f: Flow): number => f.datagrams / Math.max(f.seconds, 1e-9);
    const mbps = (f: Flow): number => (f.bytes * 8) / 1e6 / Math.max(f.seconds, 1e-9);
    const lost = (f: Flow): number => 1 - f.datagrams / f.sent;
    const result = {
      bench: 'netcon-dgram',
      pps_64: pps(z64),
      ref_pps_64: pps(ref64),
      ratio_pps_64: pps(z64) / pps(ref64),
      mbps_1400: mbps(z1400),
      ref_mbps_1400: mbps(ref1400),
      ratio_mbps_1400: mbps(z1400) / mbps(ref1400),
      lost_64: lost(z64),
      lost_1400: lost(z1400),
      ref_lost_64: lost(ref64),
      ref_lost_1400: lost(ref1400),
      drops: server.counters.snapshot(),
    };
    const rows: [string, string, string][] = [
      ['64-byte datagrams/s received', result.pps_64.toFixed(0), result.ref_pps_64.toFixed(0)],
      ['  lost', (result.lost_64 * 100).toFixed(1) + '%', (result.ref_lost_64 * 100).toFixed(1) + '%'],
      ['1400-byte Mbit/s received', result.mbps_1400.toFixed(0), result.ref_mbps_1400.toFixed(0)],
      ['  lost', (result.lost_1400 * 100).toFixed(1) + '%', (result.ref_lost_1400 * 100).toFixed(1) + '%'],
    ];
    process.stdout.write(`${'measure'.padEnd(32)}${'ztnc'.padStart(12)}${'kernel lo'.padStart(12)}\n`);
    for (const [k, a, b] of rows) process.stdout.write(`${k.padEnd(32)}${a.padStart(12)}${b.padStart(12)}\n`);
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await server.close();
    stack.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
