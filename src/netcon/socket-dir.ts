/**
 * The RPC socket's directory: created 0700, and refused when it cannot be trusted. The library
 * connects only to a socket in a directory of the user's own that no one else can enter
 * (native/intercept/trust.c), so the daemon makes sure its directories are such, and says which
 * path it cannot serve and why.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import type { Logger } from 'pino';

/** The RPC socket's directory is someone else's, or open to others in a way that cannot be undone. */
export class RpcSocketDirError extends Error {}
/** A live daemon already serves the RPC socket's path. */
export class RpcSocketBusyError extends Error {}

/**
 * Makes sure `dir` exists as a real directory owned by this user with mode 0700: the library
 * trusts nothing else (native/intercept/trust.c), and a directory another user could enter or
 * write would let them stand in for the daemon. A directory of ours that others could only read
 * (0755) is closed to 0700; one others could write (any 0o022 bit: they may have left entries)
 * or that belongs to someone else is refused with an error naming it.
 */
export function checkSocketDir(dir: string, log?: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new RpcSocketDirError(`${dir}: not a directory (a symlink?); the RPC socket cannot be served there`);
  if (uid !== undefined && st.uid !== uid) {
    throw new RpcSocketDirError(`${dir}: owned by uid ${st.uid}, not this user (uid ${uid}); the RPC socket cannot be served there`);
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  if ((mode & 0o022) !== 0) {
    throw new RpcSocketDirError(`${dir}: mode ${mode.toString(8)} lets others write in it; it must be 0700 (remove it or fix it by hand)`);
  }
  chmodSync(dir, 0o700);
  log?.info({ dir, mode: mode.toString(8) }, 'rpc socket directory closed to others (0700)');
}
