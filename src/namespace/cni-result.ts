/**
 * The CNI spec's ADD result (SPEC.md "Success", versions 0.4.0, 1.0.0, 1.1.0) for the interface
 * ztnc-cni made: one interface in the container's sandbox, the member's managed addresses on it,
 * the network's managed routes and its DNS config. 0.4.0 results carry each address's `version`;
 * 1.1.0 results carry the interface MTU. Pure.
 */
import type { LinkState } from './link-config.js';

export interface CniInterface {
  ifname: string;
  /** CNI_NETNS: the sandbox the interface lives in. */
  sandbox: string;
}

const isV6 = (cidrOrIp: string): boolean => cidrOrIp.includes(':');

export function cniResult(cniVersion: string, itf: CniInterface, state: LinkState): Record<string, unknown> {
  const iface: Record<string, unknown> = { name: itf.ifname, ...(state.mac ? { mac: state.mac } : {}), sandbox: itf.sandbox };
  if (cniVersion === '1.1.0') iface.mtu = state.mtu;
  const ips = state.addresses.map((address) => ({
    ...(cniVersion === '0.4.0' ? { version: isV6(address) ? '6' : '4' } : {}),
    address,
    interface: 0,
  }));
  const routes = state.routes.map((r) => ({ dst: r.target, ...(r.via ? { gw: r.via } : {}) }));
  const dns: Record<string, unknown> = {};
  if (state.dns.servers.length > 0) dns.nameservers = state.dns.servers;
  if (state.dns.domain) {
    dns.domain = state.dns.domain;
    dns.search = [state.dns.domain];
  }
  return { cniVersion, interfaces: [iface], ips, routes, dns };
}

/** The addresses (CIDR) a previous result put on interface `ifname`, for CHECK. */
export function resultAddresses(prev: Record<string, unknown>, ifname: string): string[] {
  const interfaces = Array.isArray(prev.interfaces) ? (prev.interfaces as Array<{ name?: unknown }>) : [];
  const index = interfaces.findIndex((i) => i?.name === ifname);
  const ips = Array.isArray(prev.ips) ? (prev.ips as Array<{ address?: unknown; interface?: unknown }>) : [];
  return ips
    .filter((x) => typeof x?.address === 'string' && (x.interface === undefined || x.interface === index))
    .map((x) => x.address as string);
}
