/**
 * Where a network's RPC socket lives. libztintercept.so (native/intercept/location.c) looks in the
 * same places, in this order:
 *   1. ZT_NC_SOCKET, when set: the socket file itself;
 *   2. ZT_NC_HOME, when set: <home>/sockets/<nwid>.sock (the daemon home's 0700 sockets directory);
 *   3. $XDG_RUNTIME_DIR/ztnc/<nwid>.sock, when XDG_RUNTIME_DIR is an absolute path to a directory
 *      owned by the user (the library's effective uid; the daemon's uid);
 *   4. /tmp/.ztnc_<nwid>/<nwid>.sock, in a 0700 directory of the user's own — the fallback, also
 *      tried when nothing serves the runtime path.
 * A daemon serves 2 always and 3 and 4 when it can (network-attachment.ts). The directory and
 * suffix names are mirrored in native/intercept/proto.h (checked by test/netcon/proto-mirror).
 */
import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const DEFAULT_SOCKET_DIR_PREFIX = '/tmp/.ztnc_';
/** The sockets directory inside a daemon home. */
export const HOME_SOCKET_DIR = 'sockets';
/** The directory inside $XDG_RUNTIME_DIR. */
export const RUNTIME_SOCKET_DIR = 'ztnc';
export const SOCKET_SUFFIX = '.sock';

export interface SocketPathOptions {
  /** ZT_NC_SOCKET: used as is. */
  socket?: string;
  /** ZT_NC_HOME: the daemon home. */
  home?: string;
  /** The user's runtime directory (userRuntimeDir()); without it the /tmp default. */
  runtimeDir?: string;
}

/** The first place of the order above that the options name (no runtimeDir: the /tmp default). */
export function netconSocketPath(nwid: string, opts: SocketPathOptions = {}): string {
  const id = nwid.toLowerCase();
  if (opts.socket) return opts.socket;
  if (opts.home) return join(opts.home, HOME_SOCKET_DIR, `${id}${SOCKET_SUFFIX}`);
  if (opts.runtimeDir) return join(opts.runtimeDir, RUNTIME_SOCKET_DIR, `${id}${SOCKET_SUFFIX}`);
  return join(`${DEFAULT_SOCKET_DIR_PREFIX}${id}`, `${id}${SOCKET_SUFFIX}`);
}

/** XDG_RUNTIME_DIR when it applies: an absolute path to a directory owned by this process's user. */
export function userRuntimeDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir || !isAbsolute(dir)) return undefined;
  try {
    const st = statSync(dir);
    const uid = process.geteuid?.();
    return st.isDirectory() && (uid === undefined || st.uid === uid) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The default locations (no ZT_NC_SOCKET, no ZT_NC_HOME), in the library's order: runtime, then /tmp. */
export function netconDefaultSocketPaths(nwid: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const runtimeDir = userRuntimeDir(env);
  const paths = runtimeDir ? [netconSocketPath(nwid, { runtimeDir })] : [];
  paths.push(netconSocketPath(nwid));
  return paths;
}
