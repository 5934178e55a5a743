/**
 * `npm run bench -- tap [--json]` (root): TCP between the userspace stack, attached to a TAP
 * device through the binding, and the kernel in a network namespace, both directions, at MTU
 * 1500 (the TAP's). Reference in the same run: kernel TCP to kernel TCP across a veth pair
 * between two namespaces, same MTU, same python3 programs. The veth path keeps its segmentation
 * offloads (64 KiB super-packets), so it is an upper bound for a virtual link, not like for like.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openTap } from '../src/native/binding.js';
import { attachTap } from '../src/native/tap-link.js';
import { parseIpv4, parseMac } from '../src/netstack/addr.js';
import { RealScheduler } from '../src/netstack/clock.js';
import { Errno } from '../src/netstack/errno.js';
import { createNetStack } from '../src/netstack/index.js';
import { SHUT_WR } from '../src/netstack/socket-api.js';
import type { NetStack } from '../src/netstack/stack-api.js';

const CHUNK = 1 << 20;

/** Reads everything from host:port and prints "<bytes> <seconds>". */
const PY_SINK = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
t, n = time.time(), 0
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
print(n, time.time() - t)
`;

/** Sends <mb> MiB to host:port. */
const PY_SOURCE = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
b = b'x' * (1 << 20)
for _ in range(int(sys.argv[3])):
    s.sendall(b)
s.close()
`;

/** Listens on host:port, sends <mb> MiB to the first client. */
const PY_SERVER_SOURCE = `
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(1)
print('ready', flush=True)
c, _ = l.accept()
b = b'x' * (1 << 20)
for _ in range(int(sys.argv[3])):
    c.sendall(b)
c.close()
`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

interface Result {
  mbps: number;
  cpuPct: number;
}

function cpuPercent(start: NodeJS.CpuUsage, seconds: number): number {
  const c = process.cpuUsage(start);
  return ((c.user + c.system) / 1e6 / seconds) * 100;
}

/** The stack sends `mb` MiB to a python sink in the namespace. */
async function stackToKernel(ns: string, stack: NetStack, stackIp: string, port: number, mb: number): Promise<Result> {
  const payload = randomBytes(CHUNK);
  const l = stack.tcpSocket();
  if (l.bind(0, port) !== 0 || l.listen(4) !== 0) throw new Error(`stack cannot listen on ${port}`);
  l.handlers = {
    onAcceptable: () => {
      const c = l.accept();
      if (!c) return;
      let left = mb * CHUNK;
      const pump = () => {
        while (left > 0) {
          const n = c.write(payload.subarray(0, Math.min(left, CHUNK)));
          if (n === -Errno.EAGAIN || n === 0) return;
          if (n < 0) throw new Error(`write failed: ${n}`);
          left -= n;
        }
        c.shutdown(SHUT_WR);
      };
      c.handlers = { onWritable: pump, onReadable: () => void c.read() };
      pump();
    },
  };
  const cpu = process.cpuUsage();
  const out = await inNs(ns, 'python3', ['-c', PY_SINK, stackIp, String(port)]);
  const [bytes, seconds] = out.trim().split(' ').map(Number) as [number, number];
  l.close();
  return { mbps: (bytes * 8) / seconds / 1e6, cpuPct: cpuPercent(cpu, seconds) };
}

/** A python source in the namespace sends `mb` MiB to the stack. */
async function kernelToStack(ns: string, stack: NetStack, stackIp: string, mb: number): Promise<Result> {
  const l = stack.tcpSocket();
  if (l.bind(0, 7001) !== 0 || l.listen(4) !== 0) throw new Error('stack cannot listen on 7001');
  let started = 0;
  let received = 0;
  const done = new Promise<number>((resolve) => {
    l.handlers = {
      onAcceptable: () => {
        const c = l.accept();
        if (!c) return;
        started = performance.now();
        c.handlers = {
          onReadable: () => {
            for (;;) {
              const r = c.read(CHUNK);
              if (typeof r !== 'number') {
                received += r.length;
                continue;
              }
              if (r === 0) {
                c.close();
                resolve(performance.now());
              }
              return;
            }
          },
        };
      },
    };
  });
  const cpu = process.cpuUsage();
  const sender = inNs(ns, 'python3', ['-c', PY_SOURCE, stackIp, '7001', String(mb)]);
  const ended = await done;
  await sender;
  l.close();
  const seconds = (ended - started) / 1000;
  return { mbps: (received * 8) / seconds / 1e6, cpuPct: cpuPercent(cpu, seconds) };
}

/** Kernel to kernel across a veth pair between two namespaces: python source → python sink. */
async function vethReference(id: string, mb: number): Promise<number> {
  const a = `ztnc-bv-a-${id}`;
  const b = `ztnc-bv-b-${id}`;
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('-n', a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b);
    ip('-n', a, 'addr', 'add', '10.78.0.1/24', 'dev', 'va');
    ip('-n', b, 'addr', 'add', '10.78.0.2/24', 'dev', 'vb');
    ip('-n', a, 'link', 'set', 'va', 'up');
    ip('-n', b, 'link', 'set', 'vb', 'up');
    const server = spawn('ip', ['netns', 'exec', a, 'python3', '-c', PY_SERVER_SOURCE, '10.78.0.1', '7002', String(mb)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    const out = await inNs(b, 'python3', ['-c', PY_SINK, '10.78.0.1', '7002']);
    const [bytes, seconds] = out.trim().split(' ').map(Number) as [number, number];
    return (bytes * 8) / seconds / 1e6;
  } finally {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  }
}

export async function run({ json }: { json: boolean }): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench tap: needs root (network namespace and TAP device)\n');
    process.exitCode = 2;
    return;
  }
  const mb = Number(process.env.TAP_BENCH_MB ?? 256);
  const id = randomBytes(3).toString('hex');
  const ns = `ztnc-b-${id}`;
  const tapName = `ztb${id}`;
  const stack = createNetStack({ scheduler: new RealScheduler(), mac: parseMac('02:7a:74:6e:63:33')!, mtu: 1500, name: 'bench-tap' });
  let link: ReturnType<typeof attachTap> | undefined;
  try {
    ip('netns', 'add', ns);
    const tap = openTap(tapName);
    ip('link', 'set', tapName, 'netns', ns);
    ip('-n', ns, 'addr', 'add', '10.79.0.1/24', 'dev', tapName);
    ip('-n', ns, 'link', 'set', tapName, 'up');
    stack.addAddress(parseIpv4('10.79.0.2')!, 24);
    link = attachTap(stack, tap.fd);
    await stackToKernel(ns, stack, '10.79.0.2', 7010, 16); // warm-up
    const out = await stackToKernel(ns, stack, '10.79.0.2', 7000, mb);
    const inbound = await kernelToStack(ns, stack, '10.79.0.2', mb);
    const ref = await vethReference(id, mb);
    const drops = link.stats().writeDrops;
    const o = process.stdout;
    o.write(`${'case (MTU 1500)'.padEnd(34)}${'Mbit/s'.padStart(10)}${'node CPU %'.padStart(12)}\n`);
    o.write(`${'stack -> kernel over TAP'.padEnd(34)}${out.mbps.toFixed(0).padStart(10)}${out.cpuPct.toFixed(0).padStart(12)}\n`);
    o.write(`${'kernel -> stack over TAP'.padEnd(34)}${inbound.mbps.toFixed(0).padStart(10)}${inbound.cpuPct.toFixed(0).padStart(12)}\n`);
    o.write(`${'kernel -> kernel, veth+GSO (ref)'.padEnd(34)}${ref.toFixed(0).padStart(10)}${'-'.padStart(12)}\n`);
    o.write(`TAP write drops: ${drops}\n`);
    if (json) {
      o.write(
        JSON.stringify({
          bench: 'tap',
          mbps_stack_to_kernel: Math.round(out.mbps),
          mbps_kernel_to_stack: Math.round(inbound.mbps),
          ref_mbps: Math.round(ref),
          ratio: Math.round((Math.min(out.mbps, inbound.mbps) / ref) * 1000) / 1000,
          cpu_pct_stack_to_kernel: Math.round(out.cpuPct),
          cpu_pct_kernel_to_stack: Math.round(inbound.cpuPct),
          tap_write_drops: drops,
          mb,
        }) + '\n',
      );
    }
  } finally {
    link?.close();
    stack.close();
    try {
      ip('netns', 'del', ns);
    } catch {
      // not created
    }
  }
}
