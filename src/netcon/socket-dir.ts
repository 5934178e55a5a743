/**
 * The RPC socket's directory: created 0700, and refused when it cannot be trusted. The library
 * connects only to a socket in a directory of the user's own that no one else can enter
 * (native/intercept/trust.c), so the daemon makes sure its directories are such, and says which
 * path it cannot serve and why. Also the stale socket file a daemon that is gone left there.
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';

/** The RPC socket's directory is someone else's, or open to others in a way that cannot be undone. */
export class RpcSocketDirError extends Error {}
/** A live daemon already serves the RPC socket's path. */
export class RpcSocketBusyError extends Error {}

/**
 * Makes sure `dir` exists as a real directory owned by this user with mode 0700: the library
 * trusts nothing else (native/intercept/trust.c), and a directory another user could enter or
 * write would let them stand in for the daemon. Anything else — someone else's directory, a
 * symlink, group or other permission bits — is refused with an error naming it; the daemon never
 * changes a directory it did not just create (others may already have left entries in it).
 */
export function checkSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new RpcSocketDirError(`${dir}: not a directory (a symlink?); the RPC socket cannot be served there`);
  if (uid !== undefined && st.uid !== uid) {
    throw new RpcSocketDirError(`${dir}: owned by uid ${st.uid}, not this user (uid ${uid}); the RPC socket cannot be served there`);
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new RpcSocketDirError(`${dir}: others may enter it (mode ${mode.toString(8)}); it must be 0700`);
  }
}

/**
 * Removes a socket file left by a daemon that is gone; RpcSocketBusyError when a live daemon
 * answers on it, an error when the path is something else than a socket.
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`${socketPath}: exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new RpcSocketBusyError(`${socketPath}: another daemon is serving this network`);
  unlinkSync(socketPath);
}
