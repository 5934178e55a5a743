/**
 * Which datagrams an app sends to port 53 the daemon answers itself instead of sending them
 * (SPEC §3, used by the netcon datagram path): those to one of the host's resolv.conf
 * nameservers (IPv4 or IPv6), to 127.0.0.53 (systemd-resolved's stub), or to any address outside
 * the network's routes of its family — a program that read the host's /etc/resolv.conf would otherwise leak its question to
 * the host, or send it where the network cannot carry it.
 */
import { inPrefix6, inSubnet, ipv6FromBytes, unmapV4, type IpAddr, type Ipv4Addr, type Route } from '../netstack/index.js';
import type { NameAddress } from './names.js';
import { DNS_PORT } from './forwarder.js';

export const SYSTEMD_RESOLVED_STUB: Ipv4Addr = 0x7f000035;

/** `dst` is an IPv4 number or an IPv6 string (an IPv4 address seen by an AF_INET6 socket comes v4-mapped). */
export type DnsRedirect = (dst: IpAddr, port: number) => boolean;

export function makeDnsRedirect(routes: () => readonly Route[], hostNameservers: () => readonly NameAddress[]): DnsRedirect {
  return (dst, port) => {
    if (port !== DNS_PORT) return false;
    const v4 = typeof dst === 'number' ? dst >>> 0 : unmapV4(dst);
    if (v4 === SYSTEMD_RESOLVED_STUB) return true;
    for (const ns of hostNameservers()) {
      const b = ns.bytes;
      if (
        v4 !== null
          ? ns.family === 4 && ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 === v4
          : ns.family === 6 && ipv6FromBytes(b) === dst
      )
        return true;
    }
    if (v4 !== null) return !routes().some((r) => typeof r.dest === 'number' && inSubnet(v4, r.dest, r.prefixLen));
    return !routes().some((r) => typeof r.dest === 'string' && inPrefix6(dst as string, r.dest, r.prefixLen));
  };
}
