/**
 * The client side of the daemon's namespace socket (`<home>/namespace.sock`,
 * src/service/namespace-server.ts) and the TAP it hands over: used from inside the namespace by
 * ns-agent.ts (ztnc-run) and cni-agent.ts (ztnc-cni). A filesystem Unix socket is reachable from
 * any network namespace, so the TAP can be created where it will live and its fd sent from there.
 */
import net from 'node:net';
import { openTap, takeUnixSocket } from '../native/binding.js';
import { UnixChannel } from '../native/unix-channel.js';

export function connectNamespaceSocket(path: string): Promise<UnixChannel> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => resolve(new UnixChannel(takeUnixSocket(s), { maxFds: 1 })));
    s.once('error', (e) => reject(new Error(`cannot reach the daemon at ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
  });
}

/** A TAP (IFF_TAP | IFF_NO_PI) named `ifname` in this network namespace; the error says why not. */
export function createTap(ifname: string): { fd: number; name: string } {
  try {
    return openTap(ifname);
  } catch (e) {
    const denied = (e as NodeJS.ErrnoException).code === 'EACCES';
    const hint = denied ? ' (/dev/net/tun must be open to your user: mode 0666, as most distributions ship it)' : '';
    throw new Error(`cannot create TAP ${ifname} in the namespace: ${(e as Error).message}${hint}`, { cause: e });
  }
}
