/**
 * The daemon's side of the fd keeper (fd-keeper.ts): at start it takes back what a previous
 * daemon on the home left there; afterwards it hands each new listener's end to the keeper and
 * lets ended ones go. The keeper is started on the first listener, as a detached process with
 * its own session, connected from birth through an inherited socketpair (fd 3).
 *
 * A keeper that is gone (killed, crashed) is noticed when its connection ends; the next listener
 * starts a new one and every current listener is handed to it again. Nothing here signals the
 * keeper: it ends by itself once no daemon is connected (see fd-keeper.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { closeFd, dupFd, peerCred, socketpair, takeUnixSocket } from '../native/binding.js';
import { UnixChannel } from '../native/unix-channel.js';
import { type KeptListener, type KeptListenerMeta, type ListenerKeeper, parseKeptMeta } from '../netcon/kept-listeners.js';
import { encodeKeeperMessage, KEEPER_PROTOCOL, type KeeperMessage, KeeperReader } from './fd-keeper-wire.js';

/** Environment: how long the keeper waits for a daemon to come back (default 60 s). */
export const KEEPER_TIMEOUT_ENV = 'ZTNC_FDKEEPER_TIMEOUT_MS';
export const DEFAULT_KEEPER_TIMEOUT_MS = 60_000;
/** How long a stopping daemon waits for a keeper it has just started to serve its socket. */
const KEEPER_READY_WAIT_MS = 10_000;
/** How long the start-up waits for a running keeper to hand over what it holds. */
const TAKE_BACK_TIMEOUT_MS = 5_000;

export const KEEPER_SOCKET_NAME = 'fdkeeper.sock';
export const KEEPER_LOG_NAME = 'fdkeeper.log';

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // already closed
  }
}

function keeperTimeoutMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env[KEEPER_TIMEOUT_ENV]);
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_KEEPER_TIMEOUT_MS;
}

const keeperId = (socket: string, ino: number): string => `${socket}#${ino}`;

export class FdKeeperClient implements ListenerKeeper {
  private channel: UnixChannel | null = null;
  /** What the keeper holds for this daemon: the metadata and the daemon's own end (not owned here). */
  private readonly current = new Map<string, { meta: KeptListenerMeta; fd: number }>();
  /** Taken back from the keeper at start, by RPC socket path, until a server claims them. */
  private readonly unclaimed = new Map<string, KeptListener[]>();
  private readonly socketPath: string;
  private readonly logPath: string;
  private readonly timeoutMs: number;
  private keeperPid = 0;
  /** Resolves once the connected keeper serves its socket (or is gone). */
  private keeperReady: Promise<void> = Promise.resolve();

  private constructor(
    home: string,
    private readonly log: Logger,
    /** argv that runs the keeper (the options are appended); null: never start one. */
    private readonly command: string[] | null,
    env: NodeJS.ProcessEnv,
  ) {
    this.socketPath = join(home, KEEPER_SOCKET_NAME);
    this.logPath = join(home, KEEPER_LOG_NAME);
    this.timeoutMs = keeperTimeoutMs(env);
  }

  /** Connects to a keeper left by a previous daemon (if any) and takes back what it holds. */
  static async open(home: string, log: Logger, command: string[] | null, env: NodeJS.ProcessEnv = process.env): Promise<FdKeeperClient> {
    const c = new FdKeeperClient(home, log.child({ module: 'fd-keeper' }), command, env);
    if (existsSync(c.socketPath))
      await c.takeBack().catch((e: unknown) => c.log.warn({ err: (e as Error).message }, 'kept listeners not taken back'));
    return c;
  }

  keep(meta: KeptListenerMeta, daemonFd: number): void {
    const id = keeperId(meta.socket, meta.ino);
    this.current.set(id, { meta, fd: daemonFd });
    if (this.channel === null) {
      this.startKeeper(); // hands every current listener over, this one included
      return;
    }
    this.send({ t: 'keep', id, meta, fd: true }, daemonFd);
  }

  drop(socket: string, ino: number): void {
    const id = keeperId(socket, ino);
    if (!this.current.delete(id)) return;
    this.channel?.send(encodeKeeperMessage({ t: 'drop', id }));
  }

  claim(socket: string): KeptListener[] {
    const list = this.unclaimed.get(socket) ?? [];
    this.unclaimed.delete(socket);
    for (const k of list) this.current.set(keeperId(k.meta.socket, k.meta.ino), { meta: k.meta, fd: k.fd });
    return list;
  }

  /** Listeners no server took back (their network is no longer joined): let go. */
  dropUnclaimed(): void {
    for (const [, list] of this.unclaimed) {
      for (const k of list) {
        this.log.info({ nwid: k.meta.nwid, socket: k.meta.socket, port: k.meta.port }, 'kept listener of a network not joined: let go');
        closeQuietly(k.fd);
        this.channel?.send(encodeKeeperMessage({ t: 'drop', id: keeperId(k.meta.socket, k.meta.ino) }));
      }
    }
    this.unclaimed.clear();
  }

  /** This daemon is stopping: the keeper goes on holding the listeners for the next one. */
  async close(): Promise<void> {
    // A keeper started moments ago may not serve its socket yet: the next daemon would not find
    // it. Give it a little time (it holds the listeners already, through its inherited socket).
    if (this.channel !== null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.keeperReady, new Promise<void>((resolve) => (timer = setTimeout(resolve, KEEPER_READY_WAIT_MS)))]);
      clearTimeout(timer);
    }
    this.channel?.close();
    this.channel = null;
  }

  private send(m: KeeperMessage, fd: number): void {
    let copy: number;
    try {
      copy = dupFd(fd);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'listener end not handed to the keeper');
      return;
    }
    this.channel?.send(encodeKeeperMessage(m), [copy], { closeFds: true });
  }

  private async takeBack(): Promise<void> {
    const conn = net.connect(this.socketPath);
    conn.pause();
    await new Promise<void>((resolve, reject) => {
      conn.once('connect', resolve);
      conn.once('error', reject);
    });
    const fd = takeUnixSocket(conn);
    const cred = peerCred(fd);
    if (cred.uid !== process.getuid!()) {
      closeQuietly(fd);
      throw new Error(`${this.socketPath} is served by uid ${cred.uid}, not ours`);
    }
    const ch = new UnixChannel(fd, { maxFds: 4 });
    const reader = new KeeperReader();
    const taken: KeptListener[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('the keeper did not answer')), TAKE_BACK_TIMEOUT_MS);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        for (const f of reader.takeUnclaimed()) closeQuietly(f);
        for (const k of taken.splice(0)) closeQuietly(k.fd);
        ch.close();
        reject(e);
      };
      ch.handlers = {
        onMessage: (data, fds) => {
          reader.push(data, fds);
          try {
            for (let m = reader.next(); m !== null; m = reader.next()) {
              if (m.msg.t === 'end') {
                clearTimeout(timer);
                resolve();
                continue;
              }
              const meta = m.msg.t === 'held' ? parseKeptMeta(m.msg.meta) : null;
              if (meta === null || m.fd < 0) {
                if (m.fd >= 0) closeQuietly(m.fd);
                continue;
              }
              taken.push({ meta, fd: m.fd });
            }
          } catch (e) {
            fail(e as Error);
          }
        },
        onClose: () => fail(new Error('the keeper closed the connection')),
      };
    });
    this.adopt(ch, reader, cred.pid, true);
    for (const k of taken) {
      const list = this.unclaimed.get(k.meta.socket) ?? [];
      list.push(k);
      this.unclaimed.set(k.meta.socket, list);
    }
    this.log.info({ keeperPid: cred.pid, listeners: taken.length }, 'kept listeners taken back from the fd keeper');
  }

  /** `ready`: the keeper already answered (taken back); a new one answers once it serves its socket. */
  private adopt(ch: UnixChannel, reader: KeeperReader, pid: number, ready: boolean): void {
    this.channel = ch;
    this.keeperPid = pid;
    let markReady = (): void => {};
    this.keeperReady = ready ? Promise.resolve() : new Promise<void>((resolve) => (markReady = resolve));
    ch.send(encodeKeeperMessage({ t: 'hello', v: KEEPER_PROTOCOL, timeoutMs: this.timeoutMs }));
    ch.handlers = {
      onMessage: (data, fds) => {
        reader.push(data, fds);
        try {
          for (let m = reader.next(); m !== null; m = reader.next()) {
            if (m.fd >= 0) closeQuietly(m.fd); // a new keeper holds nothing to hand back
            if (m.msg.t === 'end') markReady();
          }
        } catch {
          ch.close();
        }
        for (const f of reader.takeUnclaimed()) closeQuietly(f);
      },
      onClose: () => {
        markReady();
        if (this.channel !== ch) return;
        this.channel = null;
        this.log.warn(
          { keeperPid: pid, listeners: this.current.size },
          'fd keeper gone: listeners end with this daemon until the next one is kept',
        );
      },
    };
  }

  private startKeeper(): void {
    if (this.command === null || this.command.length === 0) return;
    const [file, ...args] = this.command;
    let pair: [number, number];
    try {
      pair = socketpair('stream');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'fd keeper not started: listeners end with this daemon');
      return;
    }
    const [mine, theirs] = pair;
    let logFd = -1;
    try {
      logFd = openSync(this.logPath, 'a', 0o600);
      const child = spawn(file!, [...args, '--socket', this.socketPath, '--timeout-ms', String(this.timeoutMs)], {
        detached: true,
        stdio: ['ignore', 'ignore', logFd, theirs],
      });
      child.on('error', (e) => this.log.warn({ err: e.message }, 'fd keeper failed to start'));
      child.unref();
      this.keeperPid = child.pid ?? 0;
    } catch (e) {
      closeQuietly(mine);
      this.log.warn({ err: (e as Error).message }, 'fd keeper not started: listeners end with this daemon');
      return;
    } finally {
      closeQuietly(theirs);
      if (logFd >= 0) closeSync(logFd);
    }
    const ch = new UnixChannel(mine, { maxFds: 4 });
    this.adopt(ch, new KeeperReader(), this.keeperPid, false);
    this.log.info({ keeperPid: this.keeperPid, socket: this.socketPath }, 'fd keeper started');
    for (const [id, c] of this.current) this.send({ t: 'keep', id, meta: c.meta, fd: true }, c.fd);
  }
}
