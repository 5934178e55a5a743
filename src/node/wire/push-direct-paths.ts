/**
 * PUSH_DIRECT_PATHS (verb 16): path count (2), then per path flags (1; 0x01 forget, 0x02 cluster
 * redirect), extension length (2) and bytes, address type (1; 4 or 6), address length (1), then
 * the IP and port. Paths of unknown address types are skipped.
 */
import { Reader, Writer, fail, ok, type Parsed } from './bytes.js';
import { ipv6Bytes } from '../peer/endpoint.js';
import { ipv4Bytes, readInetAddress, type InetAddress } from './inet-address.js';

export const MAX_PUSHED_PATHS = 32;

export interface PushedPath {
  flags: number;
  endpoint: InetAddress;
}

export function parsePushDirectPaths(payload: Buffer): Parsed<PushedPath[]> {
  const r = new Reader(payload);
  const n = r.u16('path count');
  if (n > MAX_PUSHED_PATHS * 4) return fail(`PUSH_DIRECT_PATHS: ${n} paths`);
  const out: PushedPath[] = [];
  for (let i = 0; i < n && !r.failed; i++) {
    const flags = r.u8('path flags');
    r.bytes(r.u16('extension length'), 'extension');
    const type = r.u8('address type');
    const len = r.u8('address length');
    const addr = r.bytes(len, 'address');
    if (r.failed) break;
    if ((type === 4 && len === 6) || (type === 6 && len === 18)) {
      const ar = new Reader(Buffer.concat([Buffer.from([type]), addr]));
      const endpoint = readInetAddress(ar);
      if (endpoint && out.length < MAX_PUSHED_PATHS) out.push({ flags, endpoint });
    }
  }
  if (r.failed) return fail(`PUSH_DIRECT_PATHS: ${r.failed}`);
  return ok(out);
}

export function emitPushDirectPaths(paths: readonly PushedPath[]): Buffer | null {
  const w = new Writer(8 + paths.length * 24);
  w.u16(paths.length);
  for (const p of paths) {
    const ip = p.endpoint.family === 4 ? ipv4Bytes(p.endpoint.ip) : ipv6Bytes(p.endpoint.ip);
    if (!ip) return null;
    w.u8(p.flags)
      .u16(0)
      .u8(p.endpoint.family)
      .u8(ip.length + 2)
      .bytes(ip)
      .u16(p.endpoint.port);
  }
  return Buffer.from(w.finish());
}
