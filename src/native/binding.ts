/**
 * Typed access to the N-API addon in native/binding: what Node cannot do by itself, or not fast
 * enough — AF_UNIX socketpairs, fd passing with SCM_RIGHTS, peer credentials, TAP devices, the
 * batched UDP underlay, AES-GMAC-SIV, the Internet checksum, execve and the open-file limit.
 *
 * Error convention: a failed system call throws a `SystemError` — an Error with `errno` (the
 * positive POSIX errno), `code` ('EBADF', 'EPERM', …) and `syscall`, the same shape as Node's own
 * system errors (`isSystemError` narrows to it). "Would block" is not an error: `sendFds` and
 * `recvFds` return null on EAGAIN. Wrong argument types throw TypeError.
 *
 * For the daemon's side of a stream socketpair, Node's own `net.Socket` works as the data path:
 * `new net.Socket({ fd, readable: true, writable: true })` (see `socketFromFd`) gives ordinary
 * stream reads, writes and backpressure on the fd. Passing fds over a Unix socket needs
 * `sendFds`/`recvFds` here, most easily through `UnixChannel` (./unix-channel.ts); a connection
 * accepted by a net.Server moves into one with `takeUnixSocket`.
 *
 * The addon is loaded on first use, so importing this module never fails; a missing build throws
 * an Error naming `npm run build:native`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

export function isSystemError(e: unknown): e is SystemError {
  return (
    e instanceof Error && typeof (e as Partial<SystemError>).errno === 'number' && typeof (e as Partial<SystemError>).code === 'string'
  );
}

export type SocketPairType = 'stream' | 'seqpacket';

export interface RecvFdsResult {
  /** The bytes received; empty on a stream socket means the peer closed (end of stream). */
  data: Buffer;
  /** Received descriptors, already close-on-exec; the caller owns them. */
  fds: number[];
  /** MSG_CTRUNC: more fds were sent than `maxFds` allowed; the kernel closed the extra ones. */
  ctrunc: boolean;
  /** MSG_TRUNC: a seqpacket message was longer than `maxData`; the rest is lost. */
  trunc: boolean;
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface TapStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** Frames `write`/`writev` could not send (queue full, interface down). */
  writeDrops: number;
  /** errno of the latest dropped write (0 if none). */
  lastWriteErrno: number;
  readErrors: number;
}

/** The native TapDevice object: owns its fd, reads frames by uv_poll readiness. */
export interface NativeTapDevice {
  /** Sends one frame; false = dropped and counted in stats(). Throws EBADF after close(). */
  write(frame: Buffer): boolean;
  /** Sends each frame (one write per frame); returns how many were sent. */
  writev(frames: Buffer[]): number;
  /** Stops reading (frames queue in the kernel, then the kernel drops them). */
  pause(): void;
  resume(): void;
  /** Stops reading and closes the fd. Idempotent. */
  close(): void;
  stats(): TapStats;
}

/** Readiness watcher on an fd (uv_poll); never closes the fd. One watcher per fd. */
export interface FdWatcher {
  /** Arms for the given events (both false = stop). Re-arming replaces the previous set. */
  start(readable: boolean, writable: boolean): void;
  stop(): void;
  /** Stops for good and releases the handle (the fd stays open). */
  close(): void;
}

export interface UdpSocketStats {
  datagramsIn: number;
  bytesIn: number;
  datagramsOut: number;
  bytesOut: number;
  /** Messages that carried several datagrams as UDP_SEGMENT (GSO). */
  gsoMessages: number;
  /** GSO messages the path refused, sent again datagram by datagram. */
  gsoFallbacks: number;
  /** Datagrams dropped on send (unreachable, refused, too big, bad address). */
  sendErrors: number;
  lastSendErrno: number;
  readErrors: number;
  lastReadErrno: number;
  /** Datagrams longer than the receive slots, dropped. */
  truncated: number;
  /** UDP_GRO could be enabled (coalesced datagrams arrive whole and are split here). */
  gro: boolean;
  /** UDP_SEGMENT is still in use (false after the kernel refused it). */
  gso: boolean;
}

/**
 * A bound, nonblocking UDP socket read with recvmmsg and written with sendmmsg (equal-size runs to
 * one destination as one GSO message). Owns its fd.
 */
export interface NativeUdpSocket {
  /** The bound address as [ip, port]. */
  address(): [string, number];
  /**
   * Sends the flat list [ip, port, data, ip, port, data, …]; returns how many datagrams it consumed
   * (sent, or dropped and counted in stats()). Fewer than given only when the kernel's send buffer
   * is full: the rest is the caller's to retry after onWritable.
   */
  send(list: Array<string | number | Buffer>): number;
  close(): void;
  stats(): UdpSocketStats;
}

/**
 * A batch of received datagrams, each its own Buffer (GRO-coalesced ones already split);
 * `sourceOf[i]` indexes `sources`, the distinct senders of this batch as [ip, port]; `sourceOf` is
 * null when there is one sender. `sources` is the same array object as the last batch's when the
 * senders are the same (the receiver may keep what it resolved for it).
 */
export type UdpDatagramsHandler = (
  datagrams: Buffer[],
  sourceOf: Uint32Array | null,
  sources: ReadonlyArray<readonly [string, number]>,
) => void;

/** What one recvRecords call took off a seqpacket socket. */
export interface RecvRecordsResult {
  /** The messages back to back, `lengths[i]` bytes each, in order. */
  data: Buffer;
  lengths: Uint32Array;
  /** The peer has ended (shut down its sending side or closed every copy), after these messages. */
  eof: boolean;
  /** Messages longer than any record can be (65,600 bytes), dropped. */
  truncated: number;
  /** Zero-length messages, dropped (no record is empty). */
  empty: number;
}

/** `errno` non-zero: polling failed (e.g. EBADF) and the watcher has stopped. */
export type FdEventHandler = (readable: boolean, writable: boolean, errno: number) => void;

interface NativeBinding {
  socketpair(type: SocketPairType, nonBlocking: boolean): [number, number];
  sendFds(fd: number, data: Buffer, fds: number[]): number | null;
  recvFds(fd: number, maxData: number, maxFds: number): RecvFdsResult | null;
  peerCred(fd: number): PeerCred;
  close(fd: number): void;
  setNonBlocking(fd: number, on: boolean): void;
  fstatIno(fd: number): FileIdentity;
  dup(fd: number): number;
  openTap(name: string): { fd: number; name: string };
  TapDevice: new (fd: number, onFrames: (frames: Buffer[]) => void, onError: (err: SystemError) => void, batch?: number) => NativeTapDevice;
  FdWatcher: new (fd: number, onEvent: FdEventHandler) => FdWatcher;
  UdpSocket: new (
    family: 4 | 6,
    address: string,
    port: number,
    onDatagrams: UdpDatagramsHandler,
    onWritable: () => void,
  ) => NativeUdpSocket;
  recvRecords(fd: number, maxMessages: number): RecvRecordsResult | null;
  pingSocket(): number;
  pingSend(fd: number, ip: string, message: Buffer): number | null;
  pingRecv(fd: number): { data: Buffer; from: string } | null;
  sendRecords(fd: number, parts: Buffer[], partsPerMessage: number): [number, number];
  setSendBuffer(fd: number, bytes: number): number;
  hungUp(fd: number): boolean;
  maxFdsPerMessage: number;
  inetSum16: (buf: Uint8Array, start: number, end: number) => number;
  execve(file: string, argv: readonly string[], env: readonly string[]): never;
  fileCapabilities(path: string): FileCapabilities | null;
  raiseFdLimit(want: number): FdLimit;
}

/** The package root, found by walking up to ztnc's package.json (works from src/ and dist/src/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === 'ztnc') return dir;
      } catch {
        // An unreadable package.json is not ours; keep walking.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('ztnc package root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const BINDING_RELATIVE_PATH = 'native/binding/build/Release/ztnc_binding.node';

let loaded: NativeBinding | undefined;

/** The addon, loaded once. Throws a clear Error if it has not been built. */
export function nativeBinding(): NativeBinding {
  if (loaded) return loaded;
  const root = packageRoot();
  const file = join(root, BINDING_RELATIVE_PATH);
  if (!existsSync(file)) throw new Error(`native binding not built (${file} missing): run npm run build:native`);
  const require = createRequire(join(root, 'package.json'));
  loaded = require(file) as NativeBinding;
  return loaded;
}

/** Linux's SCM_RIGHTS limit per message (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

export interface SocketPairOptions {
  /** O_NONBLOCK on both ends (default false). Both ends are always close-on-exec. */
  nonBlocking?: boolean;
}

/** AF_UNIX socketpair. */
export function socketpair(type: SocketPairType, opts: SocketPairOptions = {}): [number, number] {
  return nativeBinding().socketpair(type, opts.nonBlocking ?? false);
}

/**
 * sendmsg with the fds as SCM_RIGHTS (at most MAX_FDS_PER_MESSAGE; send at least one data byte
 * with them). Never blocks and never raises SIGPIPE. Returns bytes sent, or null on EAGAIN.
 * The sender keeps its own copies of the fds and closes them when it no longer needs them.
 */
export function sendFds(fd: number, data: Buffer, fds: readonly number[]): number | null {
  return nativeBinding().sendFds(fd, data, [...fds]);
}

/** recvmsg with room for `maxFds` descriptors (MSG_CMSG_CLOEXEC). Never blocks: null on EAGAIN. */
export function recvFds(fd: number, maxData: number, maxFds: number): RecvFdsResult | null {
  return nativeBinding().recvFds(fd, maxData, maxFds);
}

/** SO_PEERCRED: the process that created (connected) the other end of a Unix socket. */
export function peerCred(fd: number): PeerCred {
  return nativeBinding().peerCred(fd);
}

export function closeFd(fd: number): void {
  nativeBinding().close(fd);
}

export function setNonBlocking(fd: number, on = true): void {
  nativeBinding().setNonBlocking(fd, on);
}

/** A new close-on-exec descriptor for the same open file (F_DUPFD_CLOEXEC). */
export function dupFd(fd: number): number {
  return nativeBinding().dup(fd);
}

/** fstat's device and inode: identifies an open file, e.g. to check an fd still is what it was. */
export function fstatIno(fd: number): FileIdentity {
  return nativeBinding().fstatIno(fd);
}

/**
 * Creates (or attaches to) TAP interface `name` ('' lets the kernel pick tapN) in the caller's
 * network namespace, IFF_TAP | IFF_NO_PI, nonblocking. Needs CAP_NET_ADMIN.
 */
export function openTap(name: string): { fd: number; name: string } {
  return nativeBinding().openTap(name);
}

export interface TapDeviceOptions {
  /** Ready frames delivered per callback, at most (default 64). */
  batch?: number;
  /**
   * Reading failed (errno other than EAGAIN) or reached end of file (errno 0, code 'EOF', never
   * from a real TAP): reading has stopped. Default: ignored.
   */
  onError?: (err: SystemError) => void;
}

/** A TAP device read and written without blocking the event loop. Owns `fd` (close() closes it). */
export interface TapDevice extends NativeTapDevice {
  readonly fd: number;
}

/** Starts delivering `fd`'s frames to `onFrames` in batches. */
export function tapDevice(fd: number, onFrames: (frames: Buffer[]) => void, opts: TapDeviceOptions = {}): TapDevice {
  const NativeTap = nativeBinding().TapDevice;
  const onError = opts.onError ?? (() => {});
  const dev = new NativeTap(fd, onFrames, onError, opts.batch ?? 64);
  return Object.assign(dev, { fd });
}

/**
 * Watches `fd` for readiness on Node's event loop. libuv allows one poll handle per fd: never
 * watch an fd that a net.Socket or another watcher is using. An armed watcher keeps the process alive.
 */
export function fdWatcher(fd: number, onEvent: FdEventHandler): FdWatcher {
  const Native = nativeBinding().FdWatcher;
  return new Native(fd, onEvent);
}

/**
 * Binds a UDP socket to `address`:`port` (0 = any free port; IPv6 sockets are v6-only) with 4 MiB
 * buffers and UDP_GRO where the kernel has it. Throws a SystemError (EADDRINUSE, EADDRNOTAVAIL…).
 * An open socket keeps the process alive until close().
 */
export function udpSocket(
  family: 4 | 6,
  address: string,
  port: number,
  onDatagrams: UdpDatagramsHandler,
  onWritable: () => void,
): NativeUdpSocket {
  const Native = nativeBinding().UdpSocket;
  return new Native(family, address, port, onDatagrams, onWritable);
}

/**
 * An unprivileged ICMP echo socket (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)), nonblocking: the
 * kernel sets the echo identifier and checksum. Throws a SystemError — EACCES when the process's
 * group is outside net.ipv4.ping_group_range.
 */
export function pingSocket(): number {
  return nativeBinding().pingSocket();
}

/** Sends an ICMP echo request (header and data) to `ip`: bytes sent, or null when the socket is full. Throws on other errors. */
export function pingSend(fd: number, ip: string, message: Buffer): number | null {
  return nativeBinding().pingSend(fd, ip, message);
}

/** One waiting echo reply (the whole ICMP message) and who sent it, or null when none is waiting. */
export function pingRecv(fd: number): { data: Buffer; from: string } | null {
  return nativeBinding().pingRecv(fd);
}

/**
 * Reads up to `maxMessages` (at most 64) waiting messages off a nonblocking SOCK_SEQPACKET socket
 * with one recvmmsg: null when none is waiting. Throws on errors other than EAGAIN.
 */
export function recvRecords(fd: number, maxMessages: number): RecvRecordsResult | null {
  return nativeBinding().recvRecords(fd, maxMessages);
}

/**
 * Sends messages of `partsPerMessage` consecutive buffers each (a record's header and payload,
 * say) with sendmmsg, never blocking: returns [consumed, tooBig]. It stops at the first message
 * the socket has no room for; `consumed` counts the messages before it, of which `tooBig` were
 * larger than the socket's send buffer can ever hold (EMSGSIZE) and dropped. Throws on other
 * errors (EPIPE: every copy of the peer is closed).
 */
export function sendRecords(fd: number, parts: Buffer[], partsPerMessage: number): [number, number] {
  return nativeBinding().sendRecords(fd, parts, partsPerMessage);
}

/**
 * POLLHUP on `fd`: for a socketpair end, the peer closed every copy (or shut down both ways). A
 * peer that shut down only its sending side gives end of stream to readers, not this.
 */
export function hungUp(fd: number): boolean {
  return nativeBinding().hungUp(fd);
}

/** SO_SNDBUF (SO_SNDBUFFORCE where allowed); returns the size the kernel set (it doubles the request). */
export function setSendBuffer(fd: number, bytes: number): number {
  return nativeBinding().setSendBuffer(fd, bytes);
}

/**
 * The Internet checksum's running sum of buf[start, end), folded to 16 bits: the netstack's
 * `fastSum16`, in native code (see setSum16Accelerator).
 */
export function inetSum16(buf: Uint8Array, start: number, end: number): number {
  return nativeBinding().inetSum16(buf, start, end);
}

/**
 * Replaces this process's program (same pid and open fds): returns only by throwing the errno
 * error when the kernel refuses. `env` holds the new environment.
 */
export function execve(file: string, argv: readonly string[], env: NodeJS.ProcessEnv): never {
  const list = Object.entries(env)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([k, v]) => `${k}=${v}`);
  return nativeBinding().execve(file, argv, list);
}

/** A program file's capability sets (its security.capability attribute). */
export interface FileCapabilities {
  /** Non-zero when the file grants some permitted capability. */
  permitted: number;
  /** Non-zero when the file names some inheritable capability. */
  inheritable: number;
  /** The set's effective bit: granted capabilities are effective at once. */
  effective: boolean;
}

/** The capabilities a program file carries, null when none. Throws the errno error when it cannot be read. */
export function fileCapabilities(path: string): FileCapabilities | null {
  return nativeBinding().fileCapabilities(path);
}

/** RLIMIT_NOFILE after raiseFdLimit (-1: unlimited). */
export interface FdLimit {
  soft: number;
  hard: number;
}

/**
 * Raises the open-file limit towards `want`: the soft limit up to the hard one, and the hard one
 * too where the process may (CAP_SYS_RESOURCE, at most fs.nr_open). Never lowers a limit.
 */
export function raiseFdLimit(want: number): FdLimit {
  return nativeBinding().raiseFdLimit(want);
}

/** Wraps a stream socket fd (e.g. the daemon's end of a socketpair) as a Node stream. It owns the fd. */
export function socketFromFd(fd: number): net.Socket {
  return new net.Socket({ fd, readable: true, writable: true });
}

/**
 * Takes a connected Unix socket away from a net.Socket: returns a duplicate of its fd (the
 * caller owns it, e.g. for a UnixChannel) and destroys the net.Socket. Use it on sockets that
 * have not read yet — a server made with `net.createServer({ pauseOnConnect: true })` — or bytes
 * the net.Socket already buffered are lost. Throws if the socket has no fd.
 */
export function takeUnixSocket(socket: net.Socket): number {
  const fd = unixSocketFd(socket);
  if (fd === undefined) throw new Error('socket has no fd (not connected, or destroyed)');
  const own = dupFd(fd);
  socket.destroy();
  return own;
}

/**
 * The fd under a connected Unix-domain net.Socket (or server), for sendFds/recvFds on it.
 * Returns undefined when the socket has no fd (not yet connected, or destroyed). Data sent with
 * sendFds bypasses the socket's write queue: only use it when that queue is empty
 * (`socket.writableLength === 0`).
 */
export function unixSocketFd(socket: net.Socket | net.Server): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
