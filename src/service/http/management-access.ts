/**
 * Who may use the local API, as stock zerotier-one decides it: loopback always; other addresses
 * only inside a network of local.conf's `settings.allowManagementFrom` (CIDRs such as
 * "10.0.0.0/8" or "fd00::/8"). Everyone else is answered 401 before the token is looked at, as
 * stock does. A bare address in the list allows that one address (stock would read it as a /0).
 */
import { BlockList, isIP } from 'node:net';

/** "a.b.c.d/bits", "v6/bits" or a bare address; null when it is neither. */
export function parseManagementNetwork(text: string): { address: string; prefix: number; family: 4 | 6 } | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return null;
  const max = family === 4 ? 32 : 128;
  const bitsText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return null;
  return { address, prefix: Number(bitsText), family };
}

/** The address without the IPv4-mapped prefix a dual-stack socket reports (::ffff:10.0.0.1). */
function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

export function isLoopbackAddress(address: string): boolean {
  const a = unmapped(address);
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

export class ManagementAccess {
  private readonly allowed = new BlockList();

  /** `networks` as parseManagementNetwork accepts them; throws on one it does not. */
  constructor(networks: readonly string[] = []) {
    for (const text of networks) {
      const n = parseManagementNetwork(text);
      if (!n) throw new Error(`not an IPv4 or IPv6 network: ${JSON.stringify(text)}`);
      this.allowed.addSubnet(n.address, n.prefix, n.family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** May a client at `remote` (a socket's remoteAddress) use the API? */
  allows(remote: string | undefined): boolean {
    if (remote === undefined) return false;
    const a = unmapped(remote);
    if (isLoopbackAddress(a)) return true;
    const family = isIP(a);
    return family !== 0 && this.allowed.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
