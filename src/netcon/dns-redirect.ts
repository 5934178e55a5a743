/**
 * Programs that send their own DNS queries (c-ares, dnspython, haproxy, dig) aim them at the
 * host's resolvers (resolv.conf) or 127.0.0.53, which the virtual network cannot reach and must
 * not leak to. A datagram from an app's UDP socket to port 53 of such an address (the injected
 * predicate says which), that no socket of this stack could be bound at (not one of the stack's
 * own addresses), is not sent: the daemon's resolver answers it, and the answer comes back to
 * that socket as a datagram from that address, port 53 (SPEC §3).
 */
import { DNS_PORT } from '../dns/index.js';
import type { Ipv4Addr, NetStack } from '../netstack/index.js';
/** Queries waiting for the resolver at once, across the server: more are dropped (counted). */
const MAX_PENDING = 256;

export interface DnsRedirect {
  /** Whether a datagram to dst:port goes to the resolver instead of the network. */
  wants(dst: Ipv4Addr, port: number): boolean;
  /** The resolver's answer to one query message (null: none); null instead of a promise when too many are pending. */
  answer(query: Buffer): Promise<Buffer | null> | null;
}

export interface DnsRedirectOptions {
  /** Which destinations (port 53 only is asked) are the resolver's. */
  dnsRedirect?: (dst: Ipv4Addr, port: number) => boolean;
  /** One DNS query message in, its answer out; defaults to `names.answer` (tests inject their own). */
  answerDns?: (query: Buffer) => Promise<Buffer | null>;
  /** The daemon's resolver (NameService of SPEC §3): its `answer` answers redirected queries. */
  names?: { answer(query: Buffer): Promise<Buffer | null> };
}

/** The redirect for one stack, or null when the server was given no predicate or no resolver. */
export function makeDnsRedirect(opts: DnsRedirectOptions, stack: Pick<NetStack, 'addresses'>): DnsRedirect | null {
  const { dnsRedirect, names } = opts;
  const answerDns = opts.answerDns ?? (names ? (q: Buffer) => names.answer(q) : undefined);
  if (dnsRedirect === undefined || answerDns === undefined) return null;
  let pending = 0;
  return {
    wants(dst, port) {
      if (port !== DNS_PORT) return false;
      if (stack.addresses().some((a) => a.addr === dst)) return false;
      try {
        return dnsRedirect(dst, port);
      } catch {
        return false;
      }
    },
    answer(query) {
      if (pending >= MAX_PENDING) return null;
      pending++;
      let p: Promise<Buffer | null>;
      try {
        p = answerDns(query);
      } catch (e) {
        p = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      return p.finally(() => pending--);
    },
  };
}
