/**
 * A daemon for netcon tests and benchmarks: one NetStack with a static address and no link,
 * served on one RPC socket. Prints "READY <socket>" once serving; SIGTERM stops it cleanly.
 *
 *   node daemon-fixture.mjs --socket <path> [--addr 10.147.17.5/24] [--names <names.json>]
 *
 * --names: the network's names for the name ops and port-53 queries, answered by the daemon's
 * resolver (src/dns) as for a network whose config holds them, with no servers to forward to:
 * {"domain": "test", "names": [{"name": "alpha", "addrs": ["10.147.17.5"]}, …]}.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { makeDnsRedirect, type NetworkName, parseAddressText, Resolver, stackTransport } from '../../src/dns/index.js';
import type { NetconServerOptions } from '../../src/netcon/server.js';
import { NetconServer } from '../../src/netcon/server.js';
import { parseIpv4 } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { createNetStack, CryptoRandom, type NetStack } from '../../src/netstack/index.js';

/** An option's value; the last one given wins (the harness's defaults come before a test's own). */
function arg(name: string): string | undefined {
  const i = process.argv.lastIndexOf(name);
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
const scheduler = new RealScheduler();
const stack = createNetStack({ scheduler, mac: Buffer.from([0x02, 0x5a, 0x54, 0x00, 0x00, 0x05]), name: 'fixture' });
stack.addAddress(addr, Number(prefixText ?? 24));
// No link: frames for other hosts on the subnet go nowhere (ARP for them fails).
stack.setLinkOutput(() => {});
/** The resolver of a network whose config names these members (no servers, no host resolvers). */
function namesOptions(file: string, of: NetStack): NetconServerOptions {
  const spec = JSON.parse(readFileSync(file, 'utf8')) as { domain: string; names: Array<{ name: string; addrs: string[] }> };
  const names: NetworkName[] = spec.names.map((n) => ({ name: n.name, addrs: n.addrs.map((a) => parseAddressText(a)!) }));
  const config = { domain: spec.domain, servers: [], names, serial: 1 };
  const resolver = new Resolver({ scheduler, random: new CryptoRandom(), config: () => config, network: stackTransport(of), host: null });
  return {
    names: resolver,
    dnsRedirect: makeDnsRedirect(
      () => of.routes(),
      () => [],
    ),
  };
}

const namesFile = arg('--names');
const server = new NetconServer(stack, socketPath, logger, namesFile ? namesOptions(namesFile, stack) : {});
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
