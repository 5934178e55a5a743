/**
 * A daemon for netcon tests and benchmarks: one NetStack with a static address and no link,
 * served on one RPC socket. Prints "READY <socket>" once serving; SIGTERM stops it cleanly.
 *
 *   node daemon-fixture.mjs --socket <path> [--addr 10.147.17.5/24]
 */
import pino from 'pino';
import { NetconServer } from '../../src/netcon/server.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { createNetStack } from '../../src/netstack/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const socketPath = arg('--socket');
const [addrText, prefixText] = (arg('--addr') ?? '10.147.17.5/24').split('/');
const addr = parseIpv4(addrText ?? '');
if (!socketPath || addr === null) {
  process.stderr.write('usage: daemon-fixture --socket <path> [--addr a.b.c.d/len]\n');
  process.exit(2);
}
const logger = pino({ level: process.env.ZTNC_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([0x02, 0x5a, 0x54, 0x00, 0x00, 0x05]), name: 'fixture' });
stack.addAddress(addr, Number(prefixText ?? 24));
// No link: frames for other hosts on the subnet go nowhere (ARP for them fails).
stack.setLinkOutput(() => {});
const server = new NetconServer(stack, socketPath, logger);
await server.start();
process.stdout.write(`READY ${socketPath}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (process.env.ZTNC_FIXTURE_COUNTERS) process.stderr.write(`COUNTERS ${JSON.stringify(server.counters.snapshot())}\n`);
  await server.close();
  stack.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
