/**
 * Where a network's RPC socket lives. libztintercept.so (native/intercept/location.c) looks in the
 * same places, in this order:
 *   1. ZT_NC_SOCKET, when set: the socket file itself;
 *   2. ZT_NC_ENDPOINT, when set to an endpoint other than `default`:
 *      <home>/endpoints/<name>/sockets/<nwid>.sock, <home> being ZT_NC_HOME or else $HOME/.ztnc
 *      (the daemon's default home), and nothing else: endpoints serve no default locations;
 *   3. ZT_NC_HOME, when set: <home>/sockets/<nwid>.sock (the daemon home's 0700 sockets directory);
 *   4. $XDG_RUNTIME_DIR/ztnc/<nwid>.sock, when XDG_RUNTIME_DIR is an absolute path to a directory
 *      owned by the user (the library's effective uid; the daemon's uid);
 *   5. /tmp/.ztnc_<nwid>/<nwid>.sock, in a 0700 directory of the user's own — the fallback, also
 *      tried when nothing serves the runtime path.
 * ZT_NC_ENDPOINT unset, empty or `default` is the daemon's own identity (3 to 5). A daemon serves
 * 3 always and 4 and 5 when it can (network-attachment.ts), and 2 for each endpoint it hosts. The
 * directory names, the suffix and the endpoint name rule are mirrored in native/intercept/proto.h
 * (checked by test/netcon/proto-mirror).
 */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export const DEFAULT_SOCKET_DIR_PREFIX = '/tmp/.ztnc_';
/** The sockets directory inside a daemon home (and inside each endpoint's directory). */
export const HOME_SOCKET_DIR = 'sockets';
/** The directory inside $XDG_RUNTIME_DIR. */
export const RUNTIME_SOCKET_DIR = 'ztnc';
export const SOCKET_SUFFIX = '.sock';
/** The directory of a daemon home that holds one directory per endpoint: <home>/endpoints/<name>/. */
export const ENDPOINTS_DIR = 'endpoints';
/** The endpoint that is the daemon's own identity; its files and sockets stay where they were. */
export const DEFAULT_ENDPOINT = 'default';
/** The daemon's default home inside the user's home directory ($HOME/.ztnc). */
export const DEFAULT_HOME_DIR = '.ztnc';
/** Longest endpoint name. */
export const ENDPOINT_NAME_MAX = 63;
/**
 * An endpoint name: lowercase letters, digits, '_', '.', '-', starting with a letter or digit, at
 * most ENDPOINT_NAME_MAX characters — so it is one safe path component ('.' and '..' cannot match).
 */
export const ENDPOINT_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function isEndpointName(name: string): boolean {
  return ENDPOINT_NAME_PATTERN.test(name);
}

/** Thrown for a name that is not an endpoint name; the message says what one looks like. */
export class EndpointNameError extends Error {
  constructor(readonly endpoint: string) {
    super(
      `"${endpoint}" is not an endpoint name (lowercase letters, digits, '_', '.', '-', starting with a letter or digit, at most ${ENDPOINT_NAME_MAX} characters)`,
    );
    this.name = 'EndpointNameError';
  }
}

/** `name` when it is an endpoint name, else an EndpointNameError. */
export function checkEndpointName(name: string): string {
  if (!isEndpointName(name)) throw new EndpointNameError(name);
  return name;
}

/** True for "no endpoint" (unset or empty) and for the default endpoint: the daemon's own places. */
export function isDefaultEndpoint(name: string | undefined): boolean {
  return name === undefined || name === '' || name === DEFAULT_ENDPOINT;
}

/** <home>/endpoints/<name>/sockets: the 0700 directory of an endpoint's RPC sockets. */
export function endpointSocketDir(home: string, name: string): string {
  return join(home, ENDPOINTS_DIR, checkEndpointName(name), HOME_SOCKET_DIR);
}

export interface SocketPathOptions {
  /** ZT_NC_SOCKET: used as is. */
  socket?: string;
  /** ZT_NC_ENDPOINT: the endpoint; unset, empty or `default`: the daemon's own places. */
  endpoint?: string;
  /** ZT_NC_HOME: the daemon home (for an endpoint without one: $HOME/.ztnc). */
  home?: string;
  /** The user's runtime directory (userRuntimeDir()); without it the /tmp default. */
  runtimeDir?: string;
}

/**
 * The first place of the order above that the options name (no runtimeDir: the /tmp default).
 * Throws EndpointNameError for an endpoint that is not an endpoint name.
 */
export function netconSocketPath(nwid: string, opts: SocketPathOptions = {}): string {
  const id = nwid.toLowerCase();
  if (opts.socket) return opts.socket;
  if (!isDefaultEndpoint(opts.endpoint)) {
    const home = opts.home || join(homedir(), DEFAULT_HOME_DIR);
    return join(endpointSocketDir(home, opts.endpoint!), `${id}${SOCKET_SUFFIX}`);
  }
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
