/**
 * ztnc's fd keeper: a small process the daemon starts that holds duplicates of the daemon's ends
 * of apps' listening sockets, so that the app's end stays open (its accept() blocks instead of
 * failing) while the daemon stops and starts again. The next daemon on the home connects to
 * `<home>/fdkeeper.sock`, receives every held descriptor with its metadata and serves the
 * listeners again. Like systemd's fd store.
 *
 *   ztnc-fdkeeper --socket <path> --timeout-ms <n>   (fd 3: the starting daemon's connection)
 *
 * Trust: the socket is 0600 in the home (0700), and a peer whose SO_PEERCRED uid is not the
 * keeper's own is refused before anything is sent. One daemon at a time.
 * Lifetime: it never outlives its use. With no daemon connected it exits at once when it holds
 * nothing, when the last app closes its listener, or after the timeout. Nothing signals it.
 */
import { lstatSync, chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { closeFd, dupFd, fdWatcher, fstatIno, peerCred, recvFds, type FdWatcher } from '../native/binding.js';
import { UnixChannel } from '../native/unix-channel.js';
import { encodeKeeperMessage, KEEPER_PROTOCOL, KeeperReader } from './fd-keeper-wire.js';

interface Held {
  meta: unknown;
  fd: number;
  watcher: FdWatcher | null;
}

/** The descriptor the starting daemon passes as the keeper's first connection. */
const INHERITED_FD = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function say(text: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: Date.now(), pid: process.pid, module: 'fd-keeper', msg: text, ...fields })}\n`);
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // already closed
  }
}

class FdKeeper {
  private readonly held = new Map<string, Held>();
  private daemon: UnixChannel | null = null;
  private server: net.Server | null = null;
  private socketIno = -1;
  private timer: NodeJS.Timeout | null = null;
  private exiting = false;

  constructor(
    private readonly socketPath: string,
    private timeoutMs: number,
  ) {}

  async start(inheritedFd: number | null): Promise<void> {
    await this.listen();
    if (inheritedFd !== null) this.attachDaemon(inheritedFd);
    else this.noDaemon();
  }

  private async listen(): Promise<void> {
    try {
      if (lstatSync(this.socketPath).isSocket()) {
        const live = await new Promise<boolean>((resolve) => {
          const probe = net.connect(this.socketPath);
          probe.once('connect', () => {
            probe.destroy();
            resolve(true);
          });
          probe.once('error', () => resolve(false));
        });
        if (live) throw new Error(`${this.socketPath}: another keeper is serving`);
        unlinkSync(this.socketPath);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = net.createServer({ pauseOnConnect: true }, (c) => this.onConnection(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.socketPath, 0o600);
    this.socketIno = lstatSync(this.socketPath).ino;
    this.server = server;
  }

  private onConnection(conn: net.Socket): void {
    const fd = (conn as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let uid = -1;
    try {
      if (typeof fd === 'number') uid = peerCred(fd).uid;
    } catch {
      uid = -1;
    }
    if (uid !== process.getuid!()) {
      say('connection from another user refused', { uid });
      conn.destroy();
      return;
    }
    if (this.daemon !== null) {
      say('a daemon is already connected: second connection refused');
      conn.destroy();
      return;
    }
    const own = dupFd(fd!);
    conn.destroy();
    this.attachDaemon(own);
  }

  private attachDaemon(fd: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ch = new UnixChannel(fd, { maxFds: 4 });
    this.daemon = ch;
    const reader = new KeeperReader();
    ch.handlers = {
      onMessage: (data, fds) => {
        reader.push(data, fds);
        try {
          for (let m = reader.next(); m !== null; m = reader.next()) {
            if (m.msg.t === 'hello') this.hello(m.msg.timeoutMs);
            else this.onMessage(m.msg.t, m.msg.id, m.msg.meta, m.fd);
          }
        } catch (e) {
          say('bad message from the daemon: connection closed', { err: (e as Error).message });
          for (const f of reader.takeUnclaimed()) closeQuietly(f);
          ch.close();
          this.daemonGone(ch);
        }
      },
      onClose: () => {
        for (const f of reader.takeUnclaimed()) closeQuietly(f);
        this.daemonGone(ch);
      },
    };
    for (const [id, h] of this.held) {
      h.watcher?.close();
      h.watcher = null;
      ch.send(encodeKeeperMessage({ t: 'held', id, meta: h.meta, fd: true }), [dupFd(h.fd)], { closeFds: true });
    }
    ch.send(encodeKeeperMessage({ t: 'end', v: KEEPER_PROTOCOL }));
    say('daemon connected', { held: this.held.size });
  }

  /** The connected daemon's settings: the latest daemon's timeout applies once it is gone. */
  private hello(timeoutMs: unknown): void {
    if (typeof timeoutMs === 'number' && Number.isInteger(timeoutMs) && timeoutMs >= 0) this.timeoutMs = timeoutMs;
  }

  private onMessage(t: string, id: string | undefined, meta: unknown, fd: number): void {
    if (typeof id !== 'string') {
      if (fd >= 0) closeQuietly(fd);
      return;
    }
    if (t === 'keep' && fd >= 0) {
      const old = this.held.get(id);
      if (old) closeQuietly(old.fd);
      this.held.set(id, { meta, fd, watcher: null });
    } else if (t === 'drop') {
      this.forget(id);
    } else if (fd >= 0) {
      closeQuietly(fd);
    }
  }

  private forget(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    h.watcher?.close();
    closeQuietly(h.fd);
  }

  private daemonGone(ch: UnixChannel): void {
    if (this.daemon !== ch) return;
    this.daemon = null;
    say('daemon gone', { held: this.held.size, timeoutMs: this.timeoutMs });
    this.noDaemon();
  }

  /** No daemon: watch each app end for its close, and give up after the timeout. */
  private noDaemon(): void {
    if (this.held.size === 0) return this.exit('nothing to keep');
    for (const [id, h] of this.held) {
      if (h.watcher) continue;
      h.watcher = fdWatcher(h.fd, () => this.drain(id));
      h.watcher.start(true, false);
    }
    this.timer = setTimeout(() => this.exit('no daemon came back in time'), this.timeoutMs);
  }

  /**
   * A held end became readable with no daemon to read it: bytes the app wrote to its listening
   * socket are discarded; end of stream means every copy of the app's end is closed.
   */
  private drain(id: string): void {
    const h = this.held.get(id);
    if (!h || this.daemon !== null) return;
    for (;;) {
      let got;
      try {
        got = recvFds(h.fd, 4096, 4);
      } catch {
        got = { data: Buffer.alloc(0), fds: [] as number[] };
      }
      if (got === null) return;
      for (const f of got.fds) closeQuietly(f);
      if (got.data.length === 0) {
        this.forget(id);
        if (this.held.size === 0) this.exit('the apps closed every kept listener');
        return;
      }
    }
  }

  private exit(why: string): void {
    if (this.exiting) return;
    this.exiting = true;
    say('exiting', { why, held: this.held.size });
    for (const id of [...this.held.keys()]) this.forget(id);
    try {
      // only our own socket: a newer keeper may have taken the path
      if (lstatSync(this.socketPath).ino === this.socketIno) unlinkSync(this.socketPath);
    } catch {
      // gone
    }
    this.server?.close();
    process.exit(0);
  }
}

/** The keeper's main: never returns while it keeps something. */
export async function runFdKeeper(): Promise<void> {
  const socketPath = arg('--socket');
  const timeoutMs = Number(arg('--timeout-ms') ?? '60000');
  if (!socketPath || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    process.stderr.write('usage: ztnc-fdkeeper --socket <path> --timeout-ms <n>\n');
    process.exit(2);
  }
  let inherited: number | null;
  try {
    fstatIno(INHERITED_FD);
    inherited = INHERITED_FD;
  } catch {
    inherited = null; // started by hand: wait for a daemon on the socket
  }
  try {
    await new FdKeeper(socketPath, timeoutMs).start(inherited);
  } catch (e) {
    say('cannot start', { err: (e as Error).message });
    process.exit(1);
  }
}
