/**
 * The daemon's namespace control socket, `<home>/namespace.sock` (0600, and a peer whose
 * SO_PEERCRED uid is not the daemon's is refused): how `ztnc-run` and `ztnc-cni` hand the daemon a
 * TAP that lives in another network namespace. One connection serves one network: its `attach`
 * message carries the TAP fd (SCM_RIGHTS); from then on the network's frames go through that TAP
 * (namespace mode, NetworkAttachment.attachTap) and the client hears the network's JSON whenever it
 * changes (addresses, routes, MTU, status), to apply inside the namespace. The connection's end is
 * the namespace's end: the TAP is closed and the network left, unless the client asked to stay.
 * An attach with `hold` (the CNI plugin's agent) outlives its connection: the daemon keeps serving
 * the TAP, the network stays joined, and nobody hears config changes once the connection is gone,
 * until a later connection's `detach` (which also ends a holding connection still open), the TAP's
 * failure, or leaving the network. (A held TAP keeps its namespace
 * alive in the kernel even after `ip netns del`: DEL, or GC, is what ends it.)
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { closeFd, peerCred, takeUnixSocket, unixSocketFd } from '../native/binding.js';
import { UnixChannel } from '../native/unix-channel.js';
import { stringifyJson } from './http/json-text.js';
import { DEFAULT_ENDPOINT } from './hosted-endpoint.js';
import type { NetworkAttachment } from './network-attachment.js';
import {
  encodeMessage,
  LineReader,
  NAMESPACE_SOCKET,
  type AttachMessage,
  type DetachMessage,
  type NamespaceMessage,
} from './namespace-wire.js';

/** What the server needs of one of the daemon's endpoints. */
export interface NamespaceEndpoint {
  attachment(nwid: string): NetworkAttachment | undefined;
  /** The network's local-API JSON, null when not joined. */
  network(nwid: string): Record<string, unknown> | null;
  leaveNetwork(nwid: string): Promise<boolean>;
}

/** What the server needs from the daemon: its endpoints by name (`default`: the daemon's own). */
export interface NamespaceHost {
  endpoint(name: string): NamespaceEndpoint | undefined;
}

/** How often a served network's JSON is compared with what the client last heard. */
const WATCH_MS = 500;

const heldKey = (endpoint: string, nwid: string): string => `${endpoint}/${nwid}`;

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // already closed
  }
}

export class NamespaceServer {
  private readonly clients = new Map<UnixChannel, () => void>();
  /** Held attachments (their connections gone), by endpoint and network: the attachment that holds the TAP. */
  private readonly held = new Map<string, NetworkAttachment>();
  /** Held attachments whose connection is still open (the agent following changes): how to end each. */
  private readonly holders = new Map<string, () => void>();
  private stopping = false;

  private constructor(
    private readonly server: net.Server,
    readonly path: string,
    private readonly host: NamespaceHost,
    private readonly log: Logger,
  ) {}

  static async start(homeDir: string, host: NamespaceHost, log: Logger): Promise<NamespaceServer> {
    const path = join(homeDir, NAMESPACE_SOCKET);
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path); // the home's pid file says no other daemon runs
    } catch {
      // not there
    }
    let self: NamespaceServer | null = null;
    const server = net.createServer({ pauseOnConnect: true }, (c) => self?.onConnection(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    self = new NamespaceServer(server, path, host, log.child({ module: 'namespace' }));
    return self;
  }

  private onConnection(conn: net.Socket): void {
    const fd = unixSocketFd(conn);
    let uid = -1;
    try {
      if (fd !== undefined) uid = peerCred(fd).uid;
    } catch {
      uid = -1;
    }
    if (uid !== process.getuid!()) {
      this.log.warn({ uid }, 'namespace connection from another user refused');
      conn.destroy();
      return;
    }
    this.serve(new UnixChannel(takeUnixSocket(conn), { maxFds: 1 }));
  }

  private serve(ch: UnixChannel): void {
    const reader = new LineReader();
    let nwid: string | null = null;
    let host: NamespaceEndpoint | null = null; // the endpoint whose network is served
    let stay = false;
    let hold: { key: string; endpoint: string; attachment: NetworkAttachment } | null = null;
    let timer: NodeJS.Timeout | null = null;
    let last = '';
    const say = (m: NamespaceMessage): void => void ch.send(encodeMessage(m));
    const end = (): void => {
      if (timer) clearInterval(timer);
      timer = null;
      this.clients.delete(ch);
      const served = nwid;
      nwid = null;
      if (served === null || host === null) return;
      if (hold !== null && this.holders.get(hold.key) === release) this.holders.delete(hold.key);
      if (hold !== null && hold.attachment.mode === 'namespace' && !this.stopping) {
        this.held.set(hold.key, hold.attachment);
        this.log.info({ nwid: served, endpoint: hold.endpoint }, 'namespace connection closed: the TAP is held until detach');
        return;
      }
      const owner = host;
      owner.attachment(served)?.detachTap();
      if (!stay && !this.stopping) {
        this.log.info({ nwid: served }, 'namespace ended: leaving the network');
        owner.leaveNetwork(served).catch((e: unknown) => this.log.warn({ nwid: served, err: (e as Error).message }, 'leave failed'));
      } else this.log.info({ nwid: served }, 'namespace ended: network stays joined');
    };
    /** `detach` from another connection: the TAP closes, the network stays joined, this connection ends. */
    const release = (): void => {
      hold = null;
      end();
      setTimeout(() => ch.close(), 50);
    };
    const refuse = (message: string): void => {
      say({ t: 'error', message });
      // the answer leaves before the socket closes: close once it is written
      setTimeout(() => ch.close(), 50);
      end();
    };
    const watch = (): void => {
      if (nwid === null || host === null) return;
      let view: Record<string, unknown> | null;
      let text: string;
      try {
        view = host.network(nwid);
        text = stringifyJson(view);
      } catch (e) {
        return refuse(`network ${nwid} cannot be shown: ${(e as Error).message}`);
      }
      if (view === null) return refuse(`network ${nwid} was left`);
      if (text !== last) {
        last = text;
        say({ t: 'network', network: view });
      }
    };
    const attach = (m: AttachMessage, fds: number[]): void => {
      if (fds.length !== 1) {
        for (const f of fds) closeQuietly(f);
        return refuse('attach needs exactly one TAP fd');
      }
      const endpointName = m.endpoint ?? DEFAULT_ENDPOINT;
      const ep = this.host.endpoint(endpointName);
      if (!ep) {
        closeQuietly(fds[0]!);
        return refuse(`no endpoint ${endpointName}`);
      }
      const a = ep.attachment(m.nwid);
      if (!a) {
        closeQuietly(fds[0]!);
        return refuse(`network ${m.nwid} is not joined${endpointName === DEFAULT_ENDPOINT ? '' : ` by endpoint ${endpointName}`}`);
      }
      if (a.mode === 'namespace') {
        closeQuietly(fds[0]!);
        return refuse(`network ${m.nwid} is already served through a namespace`);
      }
      const key = heldKey(endpointName, m.nwid);
      this.held.delete(key);
      a.attachTap(fds[0]!, m.ifname, (message) => {
        if (this.held.get(key) === a) {
          this.held.delete(key);
          this.log.info({ nwid: m.nwid, endpoint: endpointName, reason: message }, 'held namespace TAP ended');
        } else refuse(`TAP failed: ${message}`);
      });
      nwid = m.nwid;
      host = ep;
      stay = m.stay === true || m.hold === true;
      hold = m.hold === true ? { key, endpoint: endpointName, attachment: a } : null;
      if (hold !== null) this.holders.set(key, release);
      this.clients.set(ch, end);
      watch();
      timer = setInterval(watch, WATCH_MS);
    };
    ch.handlers = {
      onMessage: (data, fds) => {
        let msgs: NamespaceMessage[];
        try {
          msgs = reader.push(data);
        } catch (e) {
          for (const f of fds) closeQuietly(f);
          return refuse((e as Error).message);
        }
        for (const m of msgs) {
          if (m.t === 'attach' && nwid === null) attach(m, fds.splice(0));
          else if (m.t === 'detach' && nwid === null) {
            say(this.detach(m));
            setTimeout(() => ch.close(), 50);
          } else {
            for (const f of fds.splice(0)) closeQuietly(f);
            return refuse(`unexpected ${m.t} message`);
          }
        }
        for (const f of fds) closeQuietly(f);
      },
      onClose: () => end(),
    };
  }

  /** A held attachment's end: its TAP closes, the network stays joined (the client leaves it if it wants). */
  private detach(m: DetachMessage): NamespaceMessage {
    const endpoint = m.endpoint ?? DEFAULT_ENDPOINT;
    const key = heldKey(endpoint, m.nwid);
    const live = this.holders.get(key);
    if (live !== undefined) {
      this.holders.delete(key);
      live();
      this.log.info({ nwid: m.nwid, endpoint }, 'held namespace TAP detached (its connection ended)');
      return { t: 'detached', nwid: m.nwid, detached: true };
    }
    const a = this.held.get(key);
    this.held.delete(key);
    // a held entry whose network was left and joined again names an attachment that is gone
    const current = a !== undefined && this.host.endpoint(endpoint)?.attachment(m.nwid) === a && a.mode === 'namespace';
    if (current) {
      a.detachTap();
      this.log.info({ nwid: m.nwid, endpoint }, 'held namespace TAP detached');
    }
    return { t: 'detached', nwid: m.nwid, detached: current };
  }

  /** Stops listening and ends every namespace connection (their TAPs close; networks.d is kept). */
  async close(): Promise<void> {
    this.stopping = true;
    for (const [ch, end] of [...this.clients]) {
      end();
      ch.close();
    }
    for (const a of this.held.values()) a.detachTap();
    this.held.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // gone
    }
  }
}
