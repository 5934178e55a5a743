/**
 * What netcon needs from the OS beyond Node: socketpairs, fd passing, peer credentials, inodes.
 * An interface so the server can be built and tested apart from the native binding.
 */
import type net from 'node:net';
import {
  closeFd,
  dupFd,
  fstatIno,
  peerCred,
  sendFds,
  setNonBlocking,
  type SocketPairType,
  socketpair,
  unixSocketFd,
} from '../native/binding.js';

export interface FdPlumbing {
  /** A socketpair (stream unless asked), both ends close-on-exec: [app end, daemon end]. Throws on failure. */
  socketpair(type?: SocketPairType): [number, number];
  /** sendmsg with SCM_RIGHTS, never blocking: bytes sent, or null when the socket is full. Throws on error. */
  sendFds(fd: number, data: Buffer, fds: readonly number[]): number | null;
  peerUid(fd: number): number;
  inode(fd: number): number;
  close(fd: number): void;
  /** A new close-on-exec fd for the same open file. Throws on failure. */
  dup(fd: number): number;
  /** O_NONBLOCK on or off: a file status flag, shared by every fd of the open file. */
  setNonBlocking(fd: number, on: boolean): void;
  /** The fd under a connected Unix net.Socket. */
  socketFd(sock: net.Socket): number | undefined;
}

export const nativePlumbing: FdPlumbing = {
  socketpair: (type = 'stream') => socketpair(type),
  sendFds: (fd, data, fds) => sendFds(fd, data, fds),
  peerUid: (fd) => peerCred(fd).uid,
  inode: (fd) => fstatIno(fd).ino,
  close: (fd) => closeFd(fd),
  dup: (fd) => dupFd(fd),
  setNonBlocking: (fd, on) => setNonBlocking(fd, on),
  socketFd: (sock) => unixSocketFd(sock),
};
