/**
 * Which Unix sockets still exist: /proc/net/unix lists every live Unix socket of this process's
 * network namespace with its inode (the 7th column), including sockets no process holds an fd of
 * but that travel in an SCM_RIGHTS message. Socketpairs the daemon made belong to its namespace
 * whoever holds them now, so the daemon sees its apps' sockets there.
 */
import { readFile } from 'node:fs/promises';

export const PROC_NET_UNIX = '/proc/net/unix';

/** The inodes listed in /proc/net/unix's text (the header line and malformed lines are skipped). */
export function parseUnixInodes(text: string): Set<number> {
  const live = new Set<number>();
  let start = text.indexOf('\n') + 1;
  while (start > 0 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const fields = text.slice(start, end).trim().split(/\s+/);
    const ino = Number(fields[6]);
    if (fields.length >= 7 && Number.isSafeInteger(ino) && ino > 0) live.add(ino);
    start = end + 1;
  }
  return live;
}

/** The live Unix sockets' inodes; null when the list cannot be read (no /proc). */
export async function liveUnixInodes(path = PROC_NET_UNIX): Promise<Set<number> | null> {
  try {
    return parseUnixInodes(await readFile(path, 'latin1'));
  } catch {
    return null;
  }
}
