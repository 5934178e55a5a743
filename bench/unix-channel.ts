/**
 * `npm run bench -- unix-channel [--json]`: the binding's fd plumbing.
 * - stream throughput of UnixChannel (uv_poll + sendmsg/recvmsg) over a socketpair, beside Node's
 *   own net.Socket on a socketpair in the same run (reference);
 * - fd passing rate: seqpacket messages each carrying one descriptor, received and closed.
 */
import { openSync } from 'node:fs';
import type net from 'node:net';
import { closeFd, dupFd, socketFromFd, socketpair } from '../src/native/binding.js';
import { UnixChannel } from '../src/native/unix-channel.js';

const CHUNK = 64 * 1024;

interface Rate {
  gbps: number;
  seconds: number;
}

function channelThroughput(bytes: number): Promise<Rate> {
  const [a, b] = socketpair('stream');
  const tx = new UnixChannel(a, { highWaterMark: 1 << 20 });
  const rx = new UnixChannel(b, { maxMessage: 256 * 1024 });
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const start = process.hrtime.bigint();
  return new Promise<Rate>((resolve) => {
    let received = 0;
    rx.handlers.onMessage = (data) => {
      received += data.length;
      if (received >= bytes) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        tx.close();
        rx.close();
        resolve({ gbps: (bytes * 8) / seconds / 1e9, seconds });
      }
    };
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += CHUNK;
        if (!tx.send(chunk)) return;
      }
    };
    tx.handlers.onDrain = pump;
    pump();
  });
}

function netSocketThroughput(bytes: number): Promise<Rate> {
  const [a, b] = socketpair('stream');
  const tx: net.Socket = socketFromFd(a);
  const rx: net.Socket = socketFromFd(b);
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const start = process.hrtime.bigint();
  return new Promise<Rate>((resolve) => {
    let received = 0;
    rx.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= bytes) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        tx.destroy();
        rx.destroy();
        resolve({ gbps: (bytes * 8) / seconds / 1e9, seconds });
      }
    });
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += CHUNK;
        if (!tx.write(chunk)) return;
      }
    };
    tx.on('drain', pump);
    pump();
  });
}

/** Messages per second, each carrying one fd (a dup, closed by the sender once sent). */
function fdPassRate(count: number): Promise<{ perSecond: number }> {
  const [a, b] = socketpair('seqpacket');
  const tx = new UnixChannel(a);
  const rx = new UnixChannel(b);
  const file = openSync('/dev/null', 'r');
  const byte = Buffer.from([1]);
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    let got = 0;
    rx.handlers.onMessage = (_d, fds) => {
      for (const fd of fds) closeFd(fd);
      if (++got === count) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        tx.close();
        rx.close();
        closeFd(file);
        resolve({ perSecond: count / seconds });
      }
    };
    let sent = 0;
    const pump = () => {
      while (sent < count) {
        sent++;
        if (!tx.send(byte, [dupFd(file)], { closeFds: true })) return;
      }
    };
    tx.handlers.onDrain = pump;
    pump();
  });
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const bytes = Number(process.env.UNIX_CHANNEL_BENCH_MB ?? 1024) * 1024 * 1024;
  await channelThroughput(64 << 20);
  await netSocketThroughput(64 << 20);
  const ref = await netSocketThroughput(bytes);
  const chan = await channelThroughput(bytes);
  const fds = await fdPassRate(200_000);
  const out = process.stdout;
  out.write(`${'case'.padEnd(36)}${'result'.padStart(16)}\n`);
  out.write(`${'UnixChannel stream, 64 KiB sends'.padEnd(36)}${`${chan.gbps.toFixed(2)} Gbit/s`.padStart(16)}\n`);
  out.write(`${'net.Socket stream (ref)'.padEnd(36)}${`${ref.gbps.toFixed(2)} Gbit/s`.padStart(16)}\n`);
  out.write(`${'fd passing, 1 fd per message'.padEnd(36)}${`${Math.round(fds.perSecond)} msg/s`.padStart(16)}\n`);
  out.write(`ratio (UnixChannel / net.Socket): ${(chan.gbps / ref.gbps).toFixed(3)}\n`);
  if (json) {
    out.write(
      JSON.stringify({
        bench: 'unix-channel',
        gbps: round(chan.gbps),
        ref_gbps: round(ref.gbps),
        ratio: round(chan.gbps / ref.gbps),
        fd_msgs_per_s: Math.round(fds.perSecond),
        bytes,
      }) + '\n',
    );
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
