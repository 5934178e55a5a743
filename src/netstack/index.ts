/** The userspace network stack: `createNetStack` and the contracts it implements. */
import { Stack } from './stack.js';
import type { NetStack, NetStackOptions } from './stack-api.js';

export function createNetStack(opts: NetStackOptions): NetStack {
  return new Stack(opts);
}

export { Stack } from './stack.js';
export * from './stack-api.js';
export * from './socket-api.js';
export * from './addr.js';
export { Errno, errnoName } from './errno.js';
export { Counters, type CounterCell } from './counters.js';
export { DEFAULT_TTL } from './ipv4.js';
export { setSum16Accelerator } from './wire/checksum.js';
// TCP's figures that TCP_INFO reports beside TcpInfo: delayed-ACK time, reordering threshold,
// and the ssthresh meaning "not set yet"
export { DELACK_MS } from './tcp/constants.js';
export { DUP_THRESH } from './tcp/sack-scoreboard.js';
export { INFINITE_SSTHRESH } from './tcp/congestion/congestion.js';
// TCP_CONGESTION's names (Linux's: cubic, reno, bbr) and their option values
export { CongestionAlgo, CONGESTION_NAMES, congestionAlgoByName } from './tcp/congestion/select.js';
export { VirtualScheduler, RealScheduler, type Scheduler, type Clock, type Timer } from './clock.js';
export { SeededRandom, CryptoRandom, type RandomSource } from './random.js';
// the Ethernet and ARP codecs, for the overlay that carries this stack's frames (src/node)
export { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, macEqualsAt } from './wire/ethernet.js';
export { ARP_REQUEST, ArpPacket, parseArp } from './wire/arp.js';
