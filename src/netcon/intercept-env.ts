/**
 * The environment that puts a program on a network under libztintercept.so (what
 * `ztnc-intercept` sets before starting it).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkEndpointName } from './socket-path.js';

export const NWID_RE = /^[0-9a-fA-F]{16}$/;

/** native/intercept/libztintercept.so of this package (from src/ or dist/src/). */
export function interceptLibraryPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const lib = join(dir, 'native', 'intercept', 'libztintercept.so');
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native', 'intercept'))) return lib;
    const up = dirname(dir);
    if (up === dir) return lib;
    dir = up;
  }
}

export interface InterceptOptions {
  nwid: string;
  /** Daemon home: the library then finds the socket at <home>/sockets/<nwid>.sock. */
  home?: string;
  /**
   * Endpoint of that daemon (ZT_NC_ENDPOINT): the socket is <home>/endpoints/<name>/sockets/<nwid>.sock,
   * with $HOME/.ztnc as the home when none is given. `default` is the daemon's own identity.
   */
  endpoint?: string;
  library?: string;
  debug?: boolean;
}

/**
 * A copy of `base` with the library preloaded (ahead of any other preloads) for network `nwid`.
 * Throws for a network id or endpoint name the library would refuse.
 */
export function interceptEnv(base: NodeJS.ProcessEnv, o: InterceptOptions): NodeJS.ProcessEnv {
  if (!NWID_RE.test(o.nwid)) throw new Error(`network id must be 16 hex digits, not "${o.nwid}"`);
  if (o.endpoint !== undefined) checkEndpointName(o.endpoint);
  const lib = o.library ?? interceptLibraryPath();
  const others = (base.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p !== '' && p !== lib);
  const env: NodeJS.ProcessEnv = { ...base, LD_PRELOAD: [lib, ...others].join(':'), ZT_NC_NWID: o.nwid.toLowerCase() };
  if (o.home !== undefined) {
    env.ZT_NC_HOME = o.home;
    // An explicit home wins over a socket path inherited from elsewhere.
    delete env.ZT_NC_SOCKET;
  }
  if (o.endpoint !== undefined) {
    env.ZT_NC_ENDPOINT = o.endpoint;
    delete env.ZT_NC_SOCKET;
  }
  if (o.debug) env.ZT_NC_DEBUG = '1';
  return env;
}
