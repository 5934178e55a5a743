/**
 * Which datagrams an app sends to port 53 the daemon answers itself instead of sending them
 * (SPEC §3, used by the netcon datagram path): those to one of the host's resolv.conf
 * nameservers, to 127.0.0.53 (systemd-resolved's stub), or to any address outside the network's
 * routes — a program that read the host's /etc/resolv.conf would otherwise leak its question to
 * the host, or send it where the network cannot carry it.
 */
import { inSubnet, type Ipv4Addr, type Route } from '../netstack/index.js';
import type { NameAddress } from './names.js';
import { DNS_PORT } from './forwarder.js';

export const SYSTEMD_RESOLVED_STUB: Ipv4Addr = 0x7f000035;

export type DnsRedirect = (dst: Ipv4Addr, port: number) => boolean;

export function makeDnsRedirect(routes: () => readonly Route[], hostNameservers: () => readonly NameAddress[]): DnsRedirect {
  return (dst, port) => {
    if (port !== DNS_PORT) return false;
    if (dst >>> 0 === SYSTEMD_RESOLVED_STUB) return true;
    for (const ns of hostNameservers()) {
      if (ns.family !== 4) continue;
      const b = ns.bytes;
      if (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 === dst >>> 0) return true;
    }
    return !routes().some((r) => typeof r.dest === 'number' && inSubnet(dst, r.dest, r.prefixLen));
  };
}
