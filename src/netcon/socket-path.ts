/**
 * Where a network's RPC socket lives; libztintercept.so looks in the same places, in this order:
 *   1. ZT_NC_SOCKET, when set: the socket file itself;
 *   2. ZT_NC_HOME, when set: <home>/sockets/<nwid>.sock (the daemon home's 0700 sockets directory);
 *   3. otherwise /tmp/.ztnc_<nwid>/<nwid>.sock, in a 0700 directory of the user's own.
 */
import { join } from 'node:path';

export const DEFAULT_SOCKET_DIR_PREFIX = '/tmp/.ztnc_';

export function netconSocketPath(nwid: string, opts: { home?: string; socket?: string } = {}): string {
  const id = nwid.toLowerCase();
  if (opts.socket) return opts.socket;
  if (opts.home) return join(opts.home, 'sockets', `${id}.sock`);
  return join(`${DEFAULT_SOCKET_DIR_PREFIX}${id}`, `${id}.sock`);
}
