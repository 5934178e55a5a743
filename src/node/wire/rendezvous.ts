/**
 * RENDEZVOUS (verb 5): flags (1), the peer's address (5), port (2), address length (1: 4 or 16),
 * IP address. Sent by a root to both sides of a relayed conversation.
 */
import { formatIpv6, ipv6Bytes } from '../peer/endpoint.js';
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';
import { formatIpv4, ipv4Bytes, type InetAddress } from './inet-address.js';

export interface Rendezvous {
  flags: number;
  with: bigint;
  endpoint: InetAddress;
}

export function parseRendezvous(payload: Buffer): Parsed<Rendezvous> {
  const r = new Reader(payload);
  const flags = r.u8();
  const withAddr = r.address('peer address');
  const port = r.u16('port');
  const len = r.u8('address length');
  if (!r.failed && len !== 4 && len !== 16) return fail(`RENDEZVOUS: address length ${len}`);
  const ip = r.bytes(len, 'address');
  if (r.failed) return fail(`RENDEZVOUS: ${r.failed}`);
  const endpoint: InetAddress = len === 4 ? { family: 4, ip: formatIpv4(ip), port } : { family: 6, ip: formatIpv6(ip), port };
  return ok({ flags, with: withAddr, endpoint });
}

export function emitRendezvous(rv: Rendezvous): Buffer | null {
  const ip = rv.endpoint.family === 4 ? ipv4Bytes(rv.endpoint.ip) : ipv6Bytes(rv.endpoint.ip);
  if (!ip) return null;
  return Buffer.from(new Writer(25).u8(rv.flags).address(rv.with).u16(rv.endpoint.port).u8(ip.length).bytes(ip).finish());
}
